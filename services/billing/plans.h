// Rate plans: GetRatePlan and UpdateRatePlan, and the effective plan each feature rates with,
// kept a few seconds in memory (ADR 0009's way: another replica sees an update within
// kCacheTtl, this one at once).
//
//   Plans plans(pool, clock);
//   v1::RatePlan plan = plans.Of(tx, tenant);   // inside a feature's transaction
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "switchboard/billing/v1/billing_service.pb.h"

namespace switchboard::billing {

class Plans {
 public:
  Plans(pg::Pool& pool, const core::Clock& clock);

  // The tenant's effective plan, read on `conn` when not in memory.
  absl::StatusOr<v1::RatePlan> Of(pg::Conn& conn, absl::string_view tenant);
  absl::StatusOr<v1::RatePlan> Of(absl::string_view tenant);

  absl::StatusOr<v1::RatePlan> Get(const auth::Principal& caller);
  // Admins only; idempotent by request_id; applies to calls rated afterwards.
  absl::StatusOr<v1::RatePlan> Update(const auth::Principal& caller,
                                      const v1::UpdateRatePlanRequest& req);

  static constexpr absl::Duration kCacheTtl = absl::Seconds(5);

 private:
  pg::Pool& pool_;
  const core::Clock& clock_;
  struct Cached {
    v1::RatePlan plan;
    absl::Time loaded;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchboard::billing
