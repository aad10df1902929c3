// The registry of business phone numbers: which tenant a Meta phone_number_id (or WABA) belongs
// to, and which Meta app may sign its webhooks. PostgreSQL is the truth; the edge reads
// through a small per-process cache (hits for 30 s, misses for 5 s, stale entries served while
// PostgreSQL is unreachable), so a registration is seen at once by the replica that made it
// and within 30 s by the others.
#pragma once

#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "switchboard/webhooks/v1/webhooks_service.pb.h"

namespace switchboard::webhooks {

struct NumberOwner {
  std::string tenant_id;
  std::string app_id;
  std::string phone_number_id;
};

struct Page {
  std::vector<v1::PhoneNumber> numbers;
  std::string next_page_token;
};

class Registry {
 public:
  Registry(pg::Pool& pool, const core::Clock& clock);

  // The owner of a number; nullopt when unregistered. UNAVAILABLE only when PostgreSQL is
  // down and nothing is cached.
  absl::StatusOr<std::optional<NumberOwner>> ByPhoneNumberId(const std::string& phone_number_id);
  // For WABA-level changes (account and quality updates) that may not name the number: the
  // number of `waba_id` whose display number matches (digits compared), else the WABA's tenant
  // with an empty phone_number_id.
  absl::StatusOr<std::optional<NumberOwner>> ByWaba(const std::string& waba_id,
                                                    const std::string& display_phone_number);

  // Admin operations, all scoped by the caller's tenant.
  absl::StatusOr<v1::PhoneNumber> Register(const std::string& tenant,
                                           const v1::RegisterPhoneNumberRequest& req);
  absl::StatusOr<Page> List(const std::string& tenant, int page_size,
                            const std::string& page_token);
  absl::Status Delete(const std::string& tenant, const std::string& phone_number_id,
                      const std::string& request_id);
  absl::StatusOr<v1::PhoneNumber> Get(const std::string& tenant,
                                      const std::string& phone_number_id);
  // The result of an earlier UpdateCallingSettings with this request id, if any.
  absl::StatusOr<std::optional<v1::PhoneNumber>> EarlierSettings(const std::string& tenant,
                                                                 const std::string& request_id);
  absl::StatusOr<v1::PhoneNumber> SaveSettings(const std::string& tenant,
                                               const std::string& phone_number_id,
                                               const v1::CallingSettings& settings,
                                               const std::string& request_id);

 private:
  struct Cached {
    std::optional<NumberOwner> owner;
    absl::Time expires;
  };
  void Forget(const std::string& key);

  pg::Pool& pool_;
  const core::Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Cached> cache_ ABSL_GUARDED_BY(mu_);
};

// Ids Meta gives (phone_number_id, waba_id): digits, 1-32 characters.
bool IsMetaId(absl::string_view id);

}  // namespace switchboard::webhooks
