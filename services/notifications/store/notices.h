// The tenants' notice settings (migrations/0003_notices.sql). SQL only.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"

namespace switchboard::notifications::store {

// The tenant's settings, or nullopt when never set.
absl::StatusOr<std::optional<v1::NoticeSettings>> LoadNoticeSettings(pg::Pool& pool,
                                                                     absl::string_view tenant);
// Replaces them (valid settings only; update_time and updated_by are set from `now`, `by`) and
// returns what is stored.
absl::StatusOr<v1::NoticeSettings> SaveNoticeSettings(pg::Pool& pool, absl::string_view tenant,
                                                      const v1::NoticeSettings& settings,
                                                      absl::string_view by, absl::Time now);

}  // namespace switchboard::notifications::store
