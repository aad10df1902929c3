#include "services/billing/plans.h"

#include "libs/api/validate.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "services/billing/rules/months.h"
#include "services/billing/rules/plan.h"
#include "services/billing/store/store.h"

namespace switchboard::billing {

Plans::Plans(pg::Pool& pool, const core::Clock& clock) : pool_(pool), clock_(clock) {}

absl::StatusOr<v1::RatePlan> Plans::Of(pg::Conn& conn, absl::string_view tenant) {
  const absl::Time now = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(tenant);
    if (it != cache_.end() && now - it->second.loaded < kCacheTtl) return it->second.plan;
  }
  // No stale fallback: rating with a plan that may be wrong is worse than retrying.
  ASSIGN_OR_RETURN(v1::RatePlan stored, store::LoadPlan(conn, tenant));
  v1::RatePlan plan = rules::Effective(std::move(stored));
  absl::MutexLock lock(&mu_);
  cache_[tenant] = {plan, now};
  return plan;
}

absl::StatusOr<v1::RatePlan> Plans::Of(absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Pool::Lease conn, pool_.Acquire());
  return Of(*conn, tenant);
}

absl::StatusOr<v1::RatePlan> Plans::Get(const auth::Principal& caller) {
  return Of(caller.tenant_id);
}

absl::StatusOr<v1::RatePlan> Plans::Update(const auth::Principal& caller,
                                           const v1::UpdateRatePlanRequest& req) {
  RETURN_IF_ERROR(api::RequireRole(caller, "admin", "changing the rate plan"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  const std::string& tenant = caller.tenant_id;
  v1::UpdateRatePlanResponse resp;
  RETURN_IF_ERROR(pg::Once(pool_, tenant, req, &resp, [&](pg::Conn& tx) -> absl::Status {
    // One update of a tenant's plan at a time: two updates of different fields both land.
    RETURN_IF_ERROR(
        tx.Exec("SELECT pg_advisory_xact_lock(hashtext('billing.plan.' || $1))", {tenant})
            .status());
    ASSIGN_OR_RETURN(v1::RatePlan stored, store::LoadPlan(tx, tenant));
    const std::string zone_before = rules::Effective(stored).time_zone();
    ASSIGN_OR_RETURN(stored, rules::Update(std::move(stored), req));
    const v1::RatePlan effective = rules::Effective(stored);
    if (effective.time_zone() != zone_before) {  // open months now close at another instant
      ASSIGN_OR_RETURN(std::vector<std::string> open, store::OpenMonthsOf(tx, tenant));
      for (const std::string& id : open) {
        ASSIGN_OR_RETURN(rules::Month month, rules::ParseMonth(id, rules::ZoneOf(effective)));
        RETURN_IF_ERROR(store::SetCloseTime(tx, tenant, id, month.end));
      }
    }
    *stored.mutable_update_time() = core::ToProto(clock_.Now());
    RETURN_IF_ERROR(store::SavePlan(tx, tenant, stored, clock_.Now()));
    *resp.mutable_rate_plan() = rules::Effective(stored);
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&mu_);
  cache_.erase(tenant);
  return resp.rate_plan();
}

}  // namespace switchboard::billing
