// The registry of business phone numbers in PostgreSQL (the webhooks schema): which tenant a
// Meta phone_number_id (or WABA) belongs to, which Meta app may sign its webhooks, and its
// calling settings. SQL only: what may be registered is rules/numbers.h's, who may register it
// the service's. The edge reads through a small per-process cache (hits for 30 s, misses for
// 5 s, stale entries served while PostgreSQL is unreachable), so a registration is seen at once
// by the replica that made it and within 30 s by the others.
//
//   ASSIGN_OR_RETURN(std::optional<NumberOwner> owner, registry.ByPhoneNumberId(id));
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/api/page.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "switchboard/webhooks/v1/webhooks_service.pb.h"

namespace switchboard::webhooks {

struct NumberOwner {
  std::string tenant_id;
  std::string app_id;
  std::string phone_number_id;
};

class Registry {
 public:
  Registry(pg::Pool& pool, const core::Clock& clock);
  pg::Pool& pool() { return pool_; }

  // ---- the edge's lookups (cached) ----------------------------------------------------------

  // The owner of a number; nullopt when unregistered. UNAVAILABLE only when PostgreSQL is
  // down and nothing is cached.
  absl::StatusOr<std::optional<NumberOwner>> ByPhoneNumberId(const std::string& phone_number_id);
  // For WABA-level changes (account and quality updates) that may not name the number: the
  // number of `waba_id` whose display number matches (digits compared), else the WABA's tenant
  // with an empty phone_number_id.
  absl::StatusOr<std::optional<NumberOwner>> ByWaba(const std::string& waba_id,
                                                    const std::string& display_phone_number);
  // Drops what the cache holds for a number (and every WABA lookup): after a change.
  void Forget(const std::string& phone_number_id);

  // ---- rows, scoped by tenant ----------------------------------------------------------------

  // Whether another tenant holds numbers of this WABA.
  static absl::StatusOr<bool> WabaHeldByAnother(pg::Conn& tx, absl::string_view waba_id,
                                                absl::string_view tenant);
  // Inserts the number for `tenant`, or updates it when the tenant holds it already; nullopt
  // when another tenant holds it.
  static absl::StatusOr<std::optional<v1::PhoneNumber>> Upsert(
      pg::Conn& tx, absl::string_view tenant, const v1::RegisterPhoneNumberRequest& req,
      absl::Time now);
  // Numbers ordered by id, after `after_id` (empty: from the start), at most `limit`.
  absl::StatusOr<std::vector<v1::PhoneNumber>> List(absl::string_view tenant,
                                                    absl::string_view after_id, int limit);
  absl::StatusOr<std::optional<v1::PhoneNumber>> Get(absl::string_view tenant,
                                                     absl::string_view phone_number_id);
  static absl::Status Delete(pg::Conn& tx, absl::string_view tenant,
                             absl::string_view phone_number_id);
  // Keeps an item that can never be published (once per event id).
  absl::Status DeadLetter(absl::string_view tenant, absl::string_view event_id,
                          absl::string_view kind, absl::string_view reason,
                          const std::string& payload, absl::Time now);
  // The tenant's dead letters, newest first, after `after` (nullopt: from the newest).
  absl::StatusOr<std::vector<v1::DeadLetter>> ListDeadLetters(
      absl::string_view tenant, const std::optional<api::Cursor>& after, int limit);

  // nullopt when the tenant has no such number.
  static absl::StatusOr<std::optional<v1::PhoneNumber>> SaveSettings(
      pg::Conn& tx, absl::string_view tenant, absl::string_view phone_number_id,
      const v1::CallingSettings& settings, absl::Time now);

 private:
  struct Cached {
    std::optional<NumberOwner> owner;
    absl::Time expires;
  };
  // The owner cached under `key` while fresh, else `load`'s, remembered for kHitTtl (kMissTtl
  // when there is none). When `load` fails, a stale entry serves: better stale than a 5xx storm.
  absl::StatusOr<std::optional<NumberOwner>> Remembered(
      const std::string& key,
      const std::function<absl::StatusOr<std::optional<NumberOwner>>()>& load);

  pg::Pool& pool_;
  const core::Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace switchboard::webhooks
