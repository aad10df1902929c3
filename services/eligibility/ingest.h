// What eligibility is told: inbound messages (over the API and on whatsapp.events.v1), Meta's
// permission replies, quality ratings and account restrictions, the tenant's usage from
// billing, agents' availability from routing, and the outcomes of outbound calls from calls
// (which can suspend calling on a number, announced on eligibility.state.v1). Consumers are
// idempotent: a redelivered event changes nothing twice.
//
//   Ingest ingest(contacts, settings, hot, durable, clock);
//   Consume(ctx, "usage", kafka::kBillingUsage, kafka::Dispatch().On<billing::v1::UsageUpdated>(
//       [&](const auto& e, const kafka::Message& m) { return ingest.OnUsage(e, m); }));
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/idempotency.h"
#include "services/eligibility/contacts.h"
#include "services/eligibility/settings.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace switchboard::eligibility {

class Ingest {
 public:
  Ingest(Contacts& contacts, Settings& settings, store::HotState& hot, store::Durable& durable,
         const core::Clock& clock);

  // An inbound message recorded over the API: refreshes the service window and records what
  // its text says (a repeat of the request or of meta_message_id applies it once).
  absl::Status RecordMessage(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                             const v1::RecordInboundMessageRequest& req,
                             v1::RecordInboundMessageResponse* resp);

  // whatsapp.events.v1: inbound messages, call-permission replies, quality updates, account
  // restrictions on calling.
  absl::Status OnWhatsAppEvent(const webhooks::v1::WhatsAppEvent& event,
                               const kafka::Message& message);
  // calls.state.v1: missed outbound calls (suspension, Meta's unanswered-call revoke) and
  // answered ones (Meta's daily cap per contact).
  absl::Status OnCallStateChanged(const calls::v1::CallStateChanged& changed,
                                  const kafka::Message& message);
  // billing.usage.v1: the tenant's monthly minutes (UsageUpdated).
  absl::Status OnUsage(const billing::v1::UsageUpdated& usage, const kafka::Message& message);
  // routing.availability.v1: whether each agent can call (AgentAvailabilityChanged).
  absl::Status OnAgentAvailability(const routing::v1::AgentAvailabilityChanged& availability,
                                   const kafka::Message& message);

 private:
  // An inbound message: refreshes the service window and records what its text says.
  absl::StatusOr<v1::MessageSignal> ApplyMessage(const Target& target, absl::string_view text,
                                                 absl::Time at, std::string request_id,
                                                 absl::string_view language,
                                                 absl::string_view actor,
                                                 const pg::RequestKey* key = nullptr,
                                                 v1::RecordInboundMessageResponse* resp = nullptr);
  absl::Status OnPermissionReply(const webhooks::v1::WhatsAppEvent& event,
                                 const kafka::Message& message);
  absl::Status OnAccountUpdate(const webhooks::v1::WhatsAppEvent& event,
                               const kafka::Message& message);
  // Counts a missed call in the number's window; a suspension it starts or extends is announced.
  absl::Status RecordMissedCall(const Target& target, absl::string_view call_id, absl::Time at,
                                const rules::Policy& policy);
  // Queues a CallingSuspensionChanged on eligibility.state.v1 (through the outbox).
  absl::Status AnnounceSuspension(const Target& target, absl::Time until,
                                  const std::vector<absl::Time>& missed,
                                  const rules::Policy& policy);

  Contacts& contacts_;
  Settings& settings_;
  store::HotState& hot_;
  store::Durable& durable_;
  const core::Clock& clock_;
};

}  // namespace switchboard::eligibility
