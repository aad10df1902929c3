// The eligibility gRPC API: CheckEligibility (read-only, for the Call button), ReserveCall (the
// authoritative gate that takes the rate-limit token), and the writes that feed the rules.
// Handlers validate everything before touching a store, read facts (Redis, falling back to
// PostgreSQL), and leave every decision to rules::Evaluate.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/clock.h"
#include "libs/core/work_queue.h"
#include "libs/kafka/kafka.h"
#include "libs/runtime/numbers.h"
#include "services/eligibility/policy.h"
#include "services/eligibility/rules/eligibility.h"
#include "services/eligibility/rules/text_signals.h"
#include "services/eligibility/store/durable.h"
#include "services/eligibility/store/hot_state.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"

namespace prometheus {
class Registry;
}

namespace switchboard::eligibility {

// CheckEligibility and ReserveCall, the hot paths, run on gRPC's callback API: the handler runs
// on the thread that read the request, where the synchronous server would hand every call to a
// worker thread (the profile was dominated by those hand-offs). The handlers are short and
// their Redis round trip is bounded by the pool's 20-25 ms timeouts. The rest stay synchronous.
using ServiceBase = v1::EligibilityService::WithCallbackMethod_CheckEligibility<
    v1::EligibilityService::WithCallbackMethod_ReserveCall<v1::EligibilityService::Service>>;

class Service final : public ServiceBase {
 public:
  // `numbers`: whether a number a request names is the caller's tenant's (the registry's
  // fact); requests naming another are NOT_FOUND PHONE_NUMBER_NOT_FOUND and change nothing.
  Service(store::HotState& hot, store::Durable& durable, runtime::Numbers& numbers,
          const core::Clock& clock, prometheus::Registry* metrics);
  ~Service() override;

  grpc::ServerUnaryReactor* CheckEligibility(grpc::CallbackServerContext* ctx,
                                             const v1::CheckEligibilityRequest* req,
                                             v1::CheckEligibilityResponse* resp) override;
  grpc::ServerUnaryReactor* ReserveCall(grpc::CallbackServerContext* ctx,
                                        const v1::ReserveCallRequest* req,
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
  // How long CheckEligibility may reuse the facts it read (the button is re-rendered often);
  // each entry lives a random 50-100 % of it.
  // Writes through this replica end the reuse at once; another replica's writes show within
  // this. Rules are always evaluated at the current time; ReserveCall never reuses facts.
  static constexpr absl::Duration kCheckFactsTtl = absl::Seconds(1);

  // Kafka consumers. Both are idempotent: a redelivered event changes nothing twice.
  // whatsapp.events.v1: inbound messages, call-permission replies, quality updates.
  absl::Status OnWhatsAppEvent(const webhooks::v1::WhatsAppEvent& event,
                               const kafka::Message& message);
  // calls.state.v1: missed outbound calls (suspension, Meta's unanswered-call revoke).
  absl::Status OnCallStateChanged(const calls::v1::CallStateChanged& changed,
                                  const kafka::Message& message);
  // billing.usage.v1: the tenant's monthly minutes (UsageUpdated).
  absl::Status OnUsage(const billing::v1::UsageUpdated& usage, const kafka::Message& message);
  // routing.availability.v1: whether each agent can call (AgentAvailabilityChanged).
  absl::Status OnAgentAvailability(const routing::v1::AgentAvailabilityChanged& availability,
                                   const kafka::Message& message);

 private:
  struct Metrics;
  // With `may_block` false, answers only from memory; when that is not enough it sets *blocks
  // and answers nothing.
  grpc::Status Check(grpc::ServerContextBase* ctx, const v1::CheckEligibilityRequest* req,
                     v1::CheckEligibilityResponse* resp, bool may_block, bool* blocks);
  grpc::Status Reserve(grpc::ServerContextBase* ctx, const v1::ReserveCallRequest* req,
                       v1::ReserveCallResponse* resp);
  struct Target {
    store::NumberKeys keys;
    store::ContactRef contact;
  };
  absl::StatusOr<Target> Resolve(absl::string_view tenant, const events::v1::ContactRef& contact,
                                 absl::string_view business_number) const;
  // Resolve, for a request: the number must be the caller's tenant's.
  absl::StatusOr<Target> ResolveOwned(const grpc::ServerContextBase* ctx, absl::string_view tenant,
                                      const events::v1::ContactRef& contact,
                                      absl::string_view business_number);
  // The facts the rules need, from Redis (PostgreSQL for a contact Redis does not hold). With
  // `request_id`, also the grant an earlier ReserveCall with that id got, in the same round trip.
  absl::StatusOr<rules::Facts> Gather(const Target& target, absl::string_view agent_id,
                                      absl::Time now, const rules::Policy& policy,
                                      absl::string_view request_id = "",
                                      std::optional<std::string>* prior_grant = nullptr);
  // CheckEligibility's facts: read (Gather) and reused for up to kCheckFactsTtl, unless this
  // replica wrote anything since (Wrote()). ReserveCall always reads afresh.
  static std::string FactsKey(const Target& target, absl::string_view agent_id);
  std::optional<rules::Facts> CachedCheckFacts(const Target& target, absl::string_view agent_id,
                                               absl::Time now);
  absl::StatusOr<rules::Facts> FreshCheckFacts(const Target& target, absl::string_view agent_id,
                                               absl::Time now, const rules::Policy& policy);
  // After any write that can change facts: cached check facts read before it are not used.
  void Wrote() { facts_generation_.fetch_add(1, std::memory_order_acq_rel); }
  absl::StatusOr<store::ApplyResult> Change(const Target& target, store::Change change);
  // Queues a CallingSuspensionChanged on eligibility.state.v1 (through the outbox).
  absl::Status AnnounceSuspension(const Target& target, absl::Time until,
                                  const std::vector<absl::Time>& missed,
                                  const rules::Policy& policy);
  // An inbound message: refreshes the service window and records what its text says.
  absl::StatusOr<v1::MessageSignal> ApplyMessage(const Target& target, absl::string_view text,
                                                 absl::Time at, std::string request_id,
                                                 absl::string_view language,
                                                 absl::string_view actor,
                                                 const pg::RequestKey* key = nullptr,
                                                 v1::RecordInboundMessageResponse* resp = nullptr);
  // The tenant's effective settings, from a short-lived cache. If PostgreSQL cannot be read,
  // the last known settings (or the defaults) serve, and the failure is logged.
  std::shared_ptr<const TenantSettings> SettingsFor(absl::string_view tenant);
  // The cached settings, never reading PostgreSQL: stale ones are returned while a reload runs
  // on `blocking_`; nullptr when there are none.
  std::shared_ptr<const TenantSettings> CachedSettingsFor(absl::string_view tenant, absl::Time now);
  rules::Policy PolicyFor(absl::string_view tenant) { return SettingsFor(tenant)->rules; }
  template <typename Request, typename Response>
  grpc::Status RecordRefusal(grpc::ServerContext* ctx, const Request* req, Response* resp,
                             v1::ConsentAction action,
                             void (*apply)(rules::ContactFacts&, absl::Time));
  void CountDecision(const char* method, const rules::Decision& d);

  store::HotState& hot_;
  store::Durable& durable_;
  runtime::Numbers& numbers_;
  const core::Clock& clock_;
  std::unique_ptr<Metrics> metrics_;
  struct CachedSettings {
    std::shared_ptr<const TenantSettings> settings;
    absl::Time loaded;
    bool refreshing = false;  // a reload is queued (CachedSettingsFor)
  };
  absl::Mutex policy_mu_;
  absl::flat_hash_map<std::string, CachedSettings> policies_ ABSL_GUARDED_BY(policy_mu_);

  struct CachedFacts {
    rules::Facts facts;
    absl::Time read;
    absl::Time expires;
    uint64_t generation = 0;
  };
  struct FactsShard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, CachedFacts> entries ABSL_GUARDED_BY(mu);
  };
  static constexpr int kFactsShards = 16;
  static constexpr size_t kFactsPerShard = 4096;
  std::atomic<uint64_t> facts_generation_{0};
  std::array<FactsShard, kFactsShards> facts_cache_;

  // Where the callback methods' blocking work runs (Redis and PostgreSQL round trips), so
  // gRPC's own threads keep reading requests. Declared last: destroyed first, draining the work
  // that still uses the members above.
  core::WorkQueue blocking_{"elig-blocking", 16};
};

}  // namespace switchboard::eligibility
