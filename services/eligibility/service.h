// The eligibility gRPC API: CheckEligibility (read-only, for the Call button), ReserveCall (the
// authoritative gate that takes the rate-limit token), and the writes that feed the rules.
// Handlers validate everything before touching a store, read facts (Redis, falling back to
// PostgreSQL), and leave every decision to rules::Evaluate.
#pragma once

#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "services/eligibility/policy.h"
#include "services/eligibility/rules/eligibility.h"
#include "services/eligibility/rules/text_signals.h"
#include "services/eligibility/store/durable.h"
#include "services/eligibility/store/hot_state.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"

namespace prometheus {
class Registry;
}

namespace switchboard::eligibility {

class Service final : public v1::EligibilityService::Service {
 public:
  Service(store::HotState& hot, store::Durable& durable, const core::Clock& clock,
          prometheus::Registry* metrics);
  ~Service() override;

  grpc::Status CheckEligibility(grpc::ServerContext* ctx, const v1::CheckEligibilityRequest* req,
                                v1::CheckEligibilityResponse* resp) override;
  grpc::Status ReserveCall(grpc::ServerContext* ctx, const v1::ReserveCallRequest* req,
                           v1::ReserveCallResponse* resp) override;
  grpc::Status RecordInboundMessage(grpc::ServerContext* ctx,
                                    const v1::RecordInboundMessageRequest* req,
                                    v1::RecordInboundMessageResponse* resp) override;
  grpc::Status RecordConsent(grpc::ServerContext* ctx, const v1::RecordConsentRequest* req,
                             v1::RecordConsentResponse* resp) override;
  grpc::Status RecordCallOffer(grpc::ServerContext* ctx, const v1::RecordCallOfferRequest* req,
                               v1::RecordCallOfferResponse* resp) override;
  grpc::Status RecordOptOut(grpc::ServerContext* ctx, const v1::RecordOptOutRequest* req,
                            v1::RecordOptOutResponse* resp) override;
  grpc::Status RecordDecline(grpc::ServerContext* ctx, const v1::RecordDeclineRequest* req,
                             v1::RecordDeclineResponse* resp) override;
  grpc::Status SetAutomationState(grpc::ServerContext* ctx,
                                  const v1::SetAutomationStateRequest* req,
                                  v1::SetAutomationStateResponse* resp) override;
  grpc::Status SetQualityRating(grpc::ServerContext* ctx, const v1::SetQualityRatingRequest* req,
                                v1::SetQualityRatingResponse* resp) override;
  grpc::Status ListConsentAudit(grpc::ServerContext* ctx, const v1::ListConsentAuditRequest* req,
                                v1::ListConsentAuditResponse* resp) override;
  grpc::Status GetTenantPolicy(grpc::ServerContext* ctx, const v1::GetTenantPolicyRequest* req,
                               v1::GetTenantPolicyResponse* resp) override;
  grpc::Status UpdateTenantPolicy(grpc::ServerContext* ctx,
                                  const v1::UpdateTenantPolicyRequest* req,
                                  v1::UpdateTenantPolicyResponse* resp) override;

  // How long a tenant's policy is used from memory before it is read again; other replicas see
  // an update within this.
  static constexpr absl::Duration kPolicyCacheTtl = absl::Seconds(5);

  // Kafka consumers. Both are idempotent: a redelivered event changes nothing twice.
  // whatsapp.events.v1: inbound messages, call-permission replies, quality updates.
  absl::Status OnWhatsAppEvent(const kafka::Message& message);
  // calls.state.v1: missed outbound calls (suspension, Meta's unanswered-call revoke).
  absl::Status OnCallStateChanged(const kafka::Message& message);
  // billing.usage.v1: the tenant's monthly minutes (UsageUpdated).
  absl::Status OnUsage(const kafka::Message& message);
  // routing.availability.v1: whether each agent can call (AgentAvailabilityChanged).
  absl::Status OnAgentAvailability(const kafka::Message& message);

 private:
  struct Metrics;
  struct Target {
    store::NumberKeys keys;
    store::ContactRef contact;
  };
  absl::StatusOr<Target> Resolve(absl::string_view tenant, const events::v1::ContactRef& contact,
                                 absl::string_view business_number) const;
  absl::StatusOr<rules::Facts> Gather(const Target& target, absl::string_view agent_id,
                                      absl::Time now, const rules::Policy& policy);
  absl::StatusOr<store::ApplyResult> Change(const Target& target, store::Change change);
  // Queues a CallingSuspensionChanged on eligibility.state.v1 (through the outbox).
  absl::Status AnnounceSuspension(const Target& target, absl::Time until,
                                  const std::vector<absl::Time>& missed,
                                  const rules::Policy& policy);
  // An inbound message: refreshes the service window and records what its text says.
  absl::StatusOr<v1::MessageSignal> ApplyMessage(const Target& target, absl::string_view text,
                                                 absl::Time at, std::string request_id,
                                                 absl::string_view language,
                                                 absl::string_view actor);
  // The tenant's effective settings, from a short-lived cache. If PostgreSQL cannot be read,
  // the last known settings (or the defaults) serve, and the failure is logged.
  std::shared_ptr<const TenantSettings> SettingsFor(absl::string_view tenant);
  rules::Policy PolicyFor(absl::string_view tenant) { return SettingsFor(tenant)->rules; }
  template <typename Request, typename Response>
  grpc::Status RecordRefusal(grpc::ServerContext* ctx, const Request* req, Response* resp,
                             v1::ConsentAction action,
                             std::optional<absl::Time> rules::ContactFacts::*field);
  void CountDecision(const char* method, const rules::Decision& d);

  store::HotState& hot_;
  store::Durable& durable_;
  const core::Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  struct CachedSettings {
    std::shared_ptr<const TenantSettings> settings;
    absl::Time loaded;
  };
  absl::Mutex policy_mu_;
  absl::flat_hash_map<std::string, CachedSettings> policies_ ABSL_GUARDED_BY(policy_mu_);
};

}  // namespace switchboard::eligibility
