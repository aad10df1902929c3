#include "services/notifications/store/notices.h"

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::notifications::store {
namespace {

// Recipients travel as one comma-separated text: WhatsApp ids are digits only.
constexpr char kColumns[] =
    "business_phone_number_id, array_to_string(recipient_wa_ids, ','), usage_alerts, "
    "suspension_alerts, template_name, template_language_code, update_time, updated_by";

v1::NoticeSettings FromRow(const pg::Result& r) {
  v1::NoticeSettings s;
  s.set_business_phone_number_id(std::string(r.Get(0, 0)));
  for (absl::string_view wa_id : absl::StrSplit(r.Get(0, 1), ',', absl::SkipEmpty())) {
    s.add_recipient_wa_ids(std::string(wa_id));
  }
  s.set_usage_alerts(r.GetBool(0, 2));
  s.set_suspension_alerts(r.GetBool(0, 3));
  if (!r.Get(0, 4).empty()) {
    s.mutable_fallback_template()->set_name(std::string(r.Get(0, 4)));
    s.mutable_fallback_template()->set_language_code(std::string(r.Get(0, 5)));
  }
  *s.mutable_update_time() = core::ToProto(r.GetTime(0, 6));
  s.set_updated_by(std::string(r.Get(0, 7)));
  return s;
}

}  // namespace

absl::StatusOr<std::optional<v1::NoticeSettings>> LoadNoticeSettings(pg::Pool& pool,
                                                                     absl::string_view tenant) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      pool.Exec(absl::StrCat("SELECT ", kColumns, " FROM notice_settings WHERE tenant_id = $1"),
                {tenant}));
  if (r.rows() == 0) return std::nullopt;
  return FromRow(r);
}

absl::StatusOr<v1::NoticeSettings> SaveNoticeSettings(pg::Pool& pool, absl::string_view tenant,
                                                      const v1::NoticeSettings& s,
                                                      absl::string_view by, absl::Time now) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      pool.Exec(
          absl::StrCat(
              "INSERT INTO notice_settings (tenant_id, business_phone_number_id, "
              "recipient_wa_ids, usage_alerts, suspension_alerts, template_name, "
              "template_language_code, update_time, updated_by) VALUES ($1, $2, "
              "string_to_array($3, ','), $4, $5, $6, $7, $8, $9) ON CONFLICT (tenant_id) DO "
              "UPDATE SET business_phone_number_id = excluded.business_phone_number_id, "
              "recipient_wa_ids = excluded.recipient_wa_ids, usage_alerts = "
              "excluded.usage_alerts, suspension_alerts = excluded.suspension_alerts, "
              "template_name = excluded.template_name, template_language_code = "
              "excluded.template_language_code, update_time = excluded.update_time, updated_by "
              "= excluded.updated_by RETURNING ",
              kColumns),
          {tenant, s.business_phone_number_id(), absl::StrJoin(s.recipient_wa_ids(), ","),
           s.usage_alerts(), s.suspension_alerts(), s.fallback_template().name(),
           s.fallback_template().language_code(), now, by}));
  return FromRow(r);
}

}  // namespace switchboard::notifications::store
