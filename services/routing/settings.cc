#include "services/routing/settings.h"

#include "libs/api/validate.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "services/routing/store/store.h"

namespace switchboard::routing {

Settings::Settings(pg::Pool& pool, const core::Clock& clock, rules::Policy defaults)
    : pool_(pool), clock_(clock), defaults_(defaults) {}

rules::Policy Settings::PolicyOf(pg::Conn& conn, absl::string_view tenant) {
  const absl::Time now = clock_.Now();
  std::optional<rules::Policy> stale;
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(tenant);
    if (it != cache_.end()) {
      if (now - it->second.loaded < kCacheTtl) return it->second.policy;
      stale = it->second.policy;
    }
  }
  absl::StatusOr<rules::TenantSettings> set = store::LoadSettings(conn, tenant);
  if (!set.ok()) {
    log::Warning("routing settings unavailable; using the last known or the defaults",
                 {{"tenant", std::string(tenant)}, {"error", set.status().ToString()}});
    return stale.value_or(defaults_);
  }
  const rules::Policy policy = rules::Resolve(*set, defaults_);
  absl::MutexLock lock(&mu_);
  cache_[tenant] = {policy, now};
  return policy;
}

absl::StatusOr<rules::Policy> Settings::PolicyOf(absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Pool::Lease conn, pool_.Acquire());
  return PolicyOf(*conn, tenant);
}

absl::StatusOr<v1::RoutingSettings> Settings::Get(const auth::Principal& caller) {
  ASSIGN_OR_RETURN(rules::Policy policy, PolicyOf(caller.tenant_id));
  return rules::ToProto(policy);
}

absl::StatusOr<v1::RoutingSettings> Settings::Update(const auth::Principal& caller,
                                                     const v1::UpdateRoutingSettingsRequest& req) {
  RETURN_IF_ERROR(api::RequireRole(caller, "admin", "changing the routing settings"));
  const std::string& tenant = caller.tenant_id;
  rules::TenantSettings set;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(set, store::LockSettings(tx, tenant, clock_.Now()));
    ASSIGN_OR_RETURN(set, rules::Update(set, req));
    return store::SaveSettings(tx, tenant, set, clock_.Now());
  }));
  const rules::Policy policy = rules::Resolve(set, defaults_);
  {
    absl::MutexLock lock(&mu_);
    cache_[tenant] = {policy, clock_.Now()};
  }
  return rules::ToProto(policy);
}

}  // namespace switchboard::routing
