// Meta's call webhooks (whatsapp.events.v1) applied to call records: each event is mapped to a
// lifecycle event (lifecycle.h), the record changes and its CallStateChanged are written in one
// PostgreSQL transaction (the outbox publishes the event on calls.state.v1), and the webhook's
// ce_id is remembered in the same transaction, so a redelivery changes nothing.
//
// An inbound call is created by the first of its webhooks to arrive (connect, or a terminate
// that beat it). Webhooks of outbound calls find the call StartCall created, by Meta's call id
// or by biz_opaque_callback_data (our call id), and are skipped while there is none.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "services/calls/lifecycle.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

class Ingest {
 public:
  // `ring_timeout`: an inbound call nobody answered is MISSED (RING_TIMEOUT) this long after
  // it was offered. `written` runs after a transaction enqueued events (e.g. to wake the
  // outbox relay).
  Ingest(pg::Pool& pool, const core::Clock& clock, absl::Duration ring_timeout,
         std::function<void()> written = nullptr);

  // Handler for the calls.whatsapp consumer group.
  absl::Status OnWhatsAppEvent(const kafka::Message& message);

  // Ends the inbound calls whose ring timer is due (table ring_timers, written with the call,
  // so timers survive restarts). Returns how many calls it ended. Safe on several replicas.
  absl::StatusOr<int> FireRingTimeouts();

 private:
  // Saves `call` after `t` and, when the state changed, enqueues its CallStateChanged;
  // returns whether it did.
  absl::StatusOr<bool> Save(pg::Conn& tx, v1::Call& call, const Transition& t, absl::Time at,
                            const std::string& correlation_id, const std::string& causation_id);
  // Starts the ring timer of a new inbound call; drops it once the call stops ringing.
  absl::Status KeepTimer(pg::Conn& tx, const v1::Call& call, const Transition& t, absl::Time now);

  pg::Pool& pool_;
  const core::Clock& clock_;
  absl::Duration ring_timeout_;
  std::function<void()> written_;
};

}  // namespace switchboard::calls
