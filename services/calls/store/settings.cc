#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/calls/store/sql.h"
#include "services/calls/store/store.h"

namespace switchboard::calls {

using core::FromProto;
using namespace store_sql;  // NOLINT: the store's own helpers

// ---- settings -------------------------------------------------------------------------------

absl::StatusOr<v1::CallsSettings> Store::LoadSettings(pg::Conn& conn, absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result r,
                   conn.Exec("SELECT record FROM settings WHERE tenant_id = $1", {tenant}));
  v1::CallsSettings s;
  if (r.rows() > 0 && !s.ParseFromString(r.GetBytes(0, 0))) return Unparsable("settings");
  if (s.time_zone().empty()) s.set_time_zone("UTC");
  if (s.language().empty()) s.set_language("en");
  return s;
}

v1::CallsSettings Store::SettingsVia(pg::Conn& conn, absl::string_view tenant) {
  absl::Time now = clock_.Now();
  std::optional<v1::CallsSettings> stale;
  {
    absl::MutexLock lock(&settings_mu_);
    auto it = settings_.find(tenant);
    if (it != settings_.end()) {
      if (now - it->second.loaded < kSettingsCacheTtl) return it->second.settings;
      stale = it->second.settings;
    }
  }
  absl::StatusOr<v1::CallsSettings> loaded = LoadSettings(conn, tenant);
  if (!loaded.ok()) {
    log::Warning("calls settings unavailable; using the last known or the defaults",
                 {{"tenant", std::string(tenant)}, {"error", loaded.status().ToString()}});
    if (stale) return *stale;
    v1::CallsSettings defaults;
    defaults.set_time_zone("UTC");
    defaults.set_language("en");
    return defaults;
  }
  absl::MutexLock lock(&settings_mu_);
  settings_[tenant] = {*loaded, now};
  return *loaded;
}

absl::StatusOr<v1::CallsSettings> Store::Settings(absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Pool::Lease conn, pool_.Acquire());
  return SettingsVia(*conn, tenant);
}

absl::Status Store::SaveSettings(absl::string_view tenant, const v1::CallsSettings& settings) {
  RETURN_IF_ERROR(pool_
                      .Exec("INSERT INTO settings (tenant_id, record, update_time) "
                            "VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO UPDATE SET "
                            "record = $2, update_time = $3",
                            {tenant, pg::Param::Bytes(settings.SerializeAsString()), clock_.Now()})
                      .status());
  absl::MutexLock lock(&settings_mu_);
  settings_.erase(tenant);
  return absl::OkStatus();
}

}  // namespace switchboard::calls
