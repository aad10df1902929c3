// The two questions: CheckEligibility (read-only, for the Call button) and ReserveCall (the
// authoritative gate that takes the rate-limit token). Both read the facts (Redis, falling back
// to PostgreSQL for a contact Redis does not hold) and leave every decision to rules::Evaluate.
//
//   Checks checks(contacts, settings, hot, durable, clock, &probe);
//   RETURN_IF_ERROR(checks.Reserve(ctx, caller, *req, resp));
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "services/eligibility/contacts.h"
#include "services/eligibility/probe.h"
#include "services/eligibility/rules/eligibility.h"
#include "services/eligibility/settings.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"

namespace switchboard::eligibility {

class Checks {
 public:
  Checks(Contacts& contacts, Settings& settings, store::HotState& hot, store::Durable& durable,
         const core::Clock& clock, Probe* probe = nullptr);

  // With `may_block` false, answers only from memory (the tenant's settings, the number's
  // owner, facts read a moment ago); when that is not enough it sets *blocks and answers
  // nothing, for the caller to run it again where it may block.
  absl::Status Check(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                     const v1::CheckEligibilityRequest& req, v1::CheckEligibilityResponse* resp,
                     bool may_block, bool* blocks);
  // Always reads afresh. A retry (same request_id) gets its first grant back; the same
  // request_id with another request is REQUEST_ID_REUSED.
  absl::Status Reserve(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                       const v1::ReserveCallRequest& req, v1::ReserveCallResponse* resp);

  // How long CheckEligibility may reuse the facts it read (the button is re-rendered often);
  // each entry lives a random 50-100 % of it.
  // Writes through this replica end the reuse at once; another replica's writes show within
  // this. Rules are always evaluated at the current time; ReserveCall never reuses facts.
  static constexpr absl::Duration kFactsTtl = absl::Seconds(1);

 private:
  // The facts the rules need, from Redis (PostgreSQL for a contact Redis does not hold). With
  // `request_id`, also the grant an earlier ReserveCall with that id got, in the same round trip.
  absl::StatusOr<rules::Facts> Gather(const Target& target, absl::string_view agent_id,
                                      absl::Time now, const rules::Policy& policy,
                                      absl::string_view request_id = "",
                                      std::optional<std::string>* prior_grant = nullptr);
  // CheckEligibility's facts: read (Gather) and reused for up to kFactsTtl, unless a write went
  // through this replica since (Contacts::Wrote).
  static std::string FactsKey(const Target& target, absl::string_view agent_id);
  std::optional<rules::Facts> CachedFacts(const Target& target, absl::string_view agent_id,
                                          absl::Time now);
  absl::StatusOr<rules::Facts> FreshFacts(const Target& target, absl::string_view agent_id,
                                          absl::Time now, const rules::Policy& policy);

  Contacts& contacts_;
  Settings& settings_;
  store::HotState& hot_;
  store::Durable& durable_;
  const core::Clock& clock_;
  Probe* probe_;

  struct Cached {
    rules::Facts facts;
    absl::Time read;
    absl::Time expires;
    uint64_t generation = 0;
  };
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, Cached> entries ABSL_GUARDED_BY(mu);
  };
  static constexpr int kShards = 16;
  static constexpr size_t kPerShard = 4096;
  std::array<Shard, kShards> cache_;
};

}  // namespace switchboard::eligibility
