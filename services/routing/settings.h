// A tenant's routing settings: read and changed (Get/UpdateRoutingSettings), and the policy the
// features decide with, kept a few seconds in memory (ADR 0009's way: another replica sees an
// update within kCacheTtl; this one at once).
//
//   Settings settings(pool, clock, defaults);          // defaults: the process's flags
//   rules::Policy p = settings.PolicyOf(tx, tenant);   // inside a feature's transaction
#pragma once

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "services/routing/rules/settings.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing {

class Settings {
 public:
  Settings(pg::Pool& pool, const core::Clock& clock, rules::Policy defaults);

  // The tenant's policy, read on `conn` (the caller's transaction) when not in memory. If it
  // cannot be read, the last known policy (or the defaults) serves, and the failure is logged.
  rules::Policy PolicyOf(pg::Conn& conn, absl::string_view tenant);
  // The same on a connection of the pool.
  absl::StatusOr<rules::Policy> PolicyOf(absl::string_view tenant);

  absl::StatusOr<v1::RoutingSettings> Get(const auth::Principal& caller);
  // Admins only. Every agent of the tenant is looked at again by the next sweep.
  absl::StatusOr<v1::RoutingSettings> Update(const auth::Principal& caller,
                                             const v1::UpdateRoutingSettingsRequest& req);

  static constexpr absl::Duration kCacheTtl = absl::Seconds(5);

 private:
  pg::Pool& pool_;
  const core::Clock& clock_;
  const rules::Policy defaults_;

  struct Cached {
    rules::Policy policy;
    absl::Time loaded;
  };
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchboard::routing
