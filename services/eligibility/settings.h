// What a tenant has set: its policy (read, updated, and kept a few seconds in memory for the
// features that decide, ADR 0009), a number's quality rating and a contact's automation state.
//
//   std::shared_ptr<const TenantSettings> s = settings.For(tenant);  // s->rules for the rules
//   RETURN_IF_ERROR(settings.UpdatePolicy(caller, *req, resp));
#pragma once

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/core/work_queue.h"
#include "services/eligibility/contacts.h"
#include "services/eligibility/policy.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"

namespace switchboard::eligibility {

class Settings {
 public:
  // Stale policies are reloaded on `blocking`, where waiting for PostgreSQL is allowed.
  Settings(Contacts& contacts, store::HotState& hot, store::Durable& durable,
           core::WorkQueue& blocking, const core::Clock& clock);

  // The tenant's effective settings, from a short-lived cache. If PostgreSQL cannot be read,
  // the last known settings (or the defaults) serve, and the failure is logged.
  std::shared_ptr<const TenantSettings> For(absl::string_view tenant);
  // The cached settings, never reading PostgreSQL: stale ones are returned while a reload runs
  // on `blocking`; nullptr when there are none.
  std::shared_ptr<const TenantSettings> Cached(absl::string_view tenant, absl::Time now);
  rules::Policy PolicyFor(absl::string_view tenant) { return For(tenant)->rules; }

  absl::Status SetAutomationState(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                                  const v1::SetAutomationStateRequest& req);
  // Remembered with the request id, so a reused id with another rating is refused.
  absl::Status SetQualityRating(const grpc::ServerContextBase* ctx, const auth::Principal& caller,
                                const v1::SetQualityRatingRequest& req);
  // The stored policy with every default filled in.
  absl::Status GetPolicy(const auth::Principal& caller, v1::GetTenantPolicyResponse* resp);
  // Admins only; the cached copy here is dropped, other replicas see it within kPolicyCacheTtl.
  absl::Status UpdatePolicy(const auth::Principal& caller, const v1::UpdateTenantPolicyRequest& req,
                            v1::UpdateTenantPolicyResponse* resp);

  // How long a tenant's policy is used from memory before it is read again; other replicas see
  // an update within this.
  static constexpr absl::Duration kPolicyCacheTtl = absl::Seconds(5);

 private:
  // The policy as the tenant stored it (sparse); DATA_LOSS UNPARSABLE_POLICY if it does not
  // parse.
  absl::StatusOr<v1::TenantPolicy> Stored(absl::string_view tenant);

  Contacts& contacts_;
  store::HotState& hot_;
  store::Durable& durable_;
  core::WorkQueue& blocking_;
  const core::Clock& clock_;

  struct CachedSettings {
    std::shared_ptr<const TenantSettings> settings;
    absl::Time loaded;
    bool refreshing = false;  // a reload is queued (Cached)
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, CachedSettings> policies_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchboard::eligibility
