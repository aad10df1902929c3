// What happens to calls without an agent asking: Meta's call webhooks (whatsapp.events.v1),
// routing's ringing (routing.offers.v1), billing's ratings (billing.usage.v1), and the durable
// timers (ring timeouts, unconfirmed
// outbound calls, hang-up grace, callbacks coming due). Each is applied in one PostgreSQL
// transaction through the journal, and each consumed event's ce_id is remembered in that
// transaction, so a redelivery changes nothing.
//
// An inbound call is created by the first of its webhooks to arrive (connect, or a terminate
// that beat it). Webhooks of outbound calls find the call StartCall created, by Meta's call id
// or by biz_opaque_callback_data (our call id); one that finds neither (the connect carrying
// the user's SDP answer can beat the Graph response that tells us Meta's id) is parked, and
// StartCall applies it when it stores the id.
//
//   Ingest ingest(journal, clock);
//   Consume(ctx, "whatsapp", kafka::kWhatsAppEvents, kafka::Dispatch().On<WhatsAppEvent>(
//       [&](const auto& e, const kafka::Message& m) { return ingest.OnWhatsAppEvent(e, m); }));
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "libs/core/clock.h"
#include "libs/kafka/dispatch.h"
#include "libs/kafka/kafka.h"
#include "services/calls/commands.h"
#include "services/calls/journal.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::calls {

struct CallWebhook;  // a webhook about a call, as read (ingest.cc)

class Ingest {
 public:
  Ingest(Journal& journal, const core::Clock& clock);

  // The calls.whatsapp consumer group (whatsapp.events.v1).
  absl::Status OnWhatsAppEvent(const webhooks::v1::WhatsAppEvent& event,
                               const kafka::Message& message);
  // The same for a batch of webhooks, in one transaction of a few statements whatever its size:
  // the inbox marks, the calls locked by Meta's ids, then the journal's writes (Store::Write).
  // Order per call is the batch's. ABORTED BATCH_REFUSED when a webhook is about an outbound
  // call not yet known by Meta's id (the rare race with StartCall's Graph response): the
  // consumer then hands the batch to OnWhatsAppEvent one webhook at a time.
  absl::Status OnWhatsAppEvents(
      const std::vector<kafka::Typed<webhooks::v1::WhatsAppEvent>>& batch);
  // The calls.routing consumer group (routing.offers.v1): the first OFFERED moves the call to
  // RINGING, the WITHDRAWN that ends the ringing to MISSED (rules/offers.h). Returns the call
  // when routing's end missed it, for Meta to be told (Commands::AfterTimers).
  absl::StatusOr<std::optional<Fired>> OnCallOffer(const routing::v1::CallOffer& offer,
                                                   const kafka::Message& message);
  // The calls.billing consumer group (billing.usage.v1): CallRated sets the call's cost.
  absl::Status OnCallRated(const billing::v1::CallRated& rated, const kafka::Message& message);

  // Fires the call timers due now (at most `limit`); returns the calls they ended. Safe on
  // several replicas (SKIP LOCKED).
  absl::StatusOr<std::vector<Fired>> FireTimers(int limit = 100);
  // Turns due callbacks into DUE and publishes CallbackDue; returns how many.
  absl::StatusOr<int> FireCallbacks(int limit = 100);

 private:
  // A call webhook (CallWebhook, ingest.cc) applied to `call`, its writes staged, with the
  // user's SDP offer of an inbound connect.
  absl::Status ApplyCallWebhook(pg::Conn& tx, CallWrites& writes, v1::Call& call,
                                const CallWebhook& c, bool existing, bool filled_id);
  // Applies a consumed event about `call_id` once: in one transaction with its ce_id remembered,
  // the call locked (an unknown call is logged and skipped).
  absl::Status OnceForCall(const kafka::Message& message, const std::string& tenant,
                           const std::string& call_id,
                           const std::function<absl::Status(pg::Conn&, v1::Call*)>& apply);

  Journal& journal_;
  Store& store_;
  const core::Clock& clock_;
};

}  // namespace switchboard::calls
