// Meta's call webhooks (whatsapp.events.v1) applied to call records: each event is mapped to a
// lifecycle event (lifecycle.h), the record changes and its CallStateChanged are written in one
// PostgreSQL transaction (the outbox publishes the event on calls.state.v1), and the webhook's
// ce_id is remembered in the same transaction, so a redelivery changes nothing.
//
// An inbound call is created by the first of its webhooks to arrive (connect, or a terminate
// that beat it). Webhooks of outbound calls find the call StartCall created, by Meta's call id
// or by biz_opaque_callback_data (our call id), and are skipped while there is none.
#pragma once

#include "absl/status/status.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"

namespace switchboard::calls {

class Ingest {
 public:
  // `written` runs after a transaction enqueued events (e.g. to wake the outbox relay).
  Ingest(pg::Pool& pool, const core::Clock& clock, std::function<void()> written = nullptr);

  // Handler for the calls.whatsapp consumer group.
  absl::Status OnWhatsAppEvent(const kafka::Message& message);

 private:
  pg::Pool& pool_;
  const core::Clock& clock_;
  std::function<void()> written_;
};

}  // namespace switchboard::calls
