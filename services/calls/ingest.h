// What happens to calls without an agent asking: Meta's call webhooks (whatsapp.events.v1),
// billing's ratings (billing.usage.v1), and the durable timers (ring timeouts, unconfirmed
// outbound calls, hang-up grace, callbacks coming due). Each is applied in one PostgreSQL
// transaction with the events it causes (outbox), and each consumed event's ce_id is
// remembered in that transaction, so a redelivery changes nothing.
//
// An inbound call is created by the first of its webhooks to arrive (connect, or a terminate
// that beat it). Webhooks of outbound calls find the call StartCall created, by Meta's call id
// or by biz_opaque_callback_data (our call id); one that finds neither (the connect carrying
// the user's SDP answer can beat the Graph response that tells us Meta's id) is parked, and
// StartCall applies it when it stores the id.
//
//   Ingest ingest(store, clock, Service::kClaimLease, [&] { relay.Notify(); });
//   consumer(kafka::kWhatsAppEvents, [&](const kafka::Message& m) {
//     return ingest.OnWhatsAppEvent(m);
//   });
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "services/calls/store.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

// A call a timer ended, with the timer that did it (the Graph follow-up depends on it).
struct Fired {
  v1::Call call;
  TimerKind kind = TimerKind::kNone;
};

class Ingest {
 public:
  // `written` runs after a transaction enqueued events (to wake the outbox relay).
  // `claim_lease`: how long an agent's answer claim holds (AnswerCall); a ring timeout that
  // falls due while an agent is answering waits for the claim to end.
  Ingest(Store& store, const core::Clock& clock, absl::Duration claim_lease,
         std::function<void()> written = nullptr);

  // The calls.whatsapp consumer group (whatsapp.events.v1).
  absl::Status OnWhatsAppEvent(const kafka::Message& message);
  // The calls.billing consumer group (billing.usage.v1): CallRated sets the call's cost.
  absl::Status OnBillingEvent(const kafka::Message& message);

  // Applies the webhooks parked for `call`, which was just given its Meta call id, inside `tx`.
  // Returns whether events were enqueued.
  absl::StatusOr<bool> ApplyParked(pg::Conn& tx, v1::Call& call);

  // Fires the call timers due now (at most `limit`); returns the calls they ended. Safe on
  // several replicas (SKIP LOCKED).
  absl::StatusOr<std::vector<Fired>> FireTimers(int limit = 100);
  // Turns due callbacks into DUE and publishes CallbackDue; returns how many.
  absl::StatusOr<int> FireCallbacks(int limit = 100);

 private:
  Store& store_;
  const core::Clock& clock_;
  absl::Duration claim_lease_;
  std::function<void()> written_;
};

}  // namespace switchboard::calls
