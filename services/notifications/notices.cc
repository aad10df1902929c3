#include "services/notifications/notices.h"

#include "libs/api/events.h"
#include "libs/api/validate.h"
#include "libs/core/status_macros.h"
#include "libs/pg/outbox.h"
#include "services/notifications/rules/current.h"
#include "services/notifications/rules/notices.h"
#include "services/notifications/store/notices.h"

namespace switchboard::notifications {

absl::StatusOr<v1::NoticeSettings> Notices::Get(const auth::Principal& caller) {
  RETURN_IF_ERROR(api::RequireRole(caller, "admin", "reading the notice settings"));
  ASSIGN_OR_RETURN(std::optional<v1::NoticeSettings> settings,
                   store::LoadNoticeSettings(pool_, caller.tenant_id));
  return settings.value_or(v1::NoticeSettings());
}

absl::StatusOr<v1::NoticeSettings> Notices::Update(const grpc::ServerContextBase* ctx,
                                                   const auth::Principal& caller,
                                                   const v1::UpdateNoticeSettingsRequest& request) {
  RETURN_IF_ERROR(api::RequireRole(caller, "admin", "changing the notice settings"));
  if (!request.has_settings()) return api::Missing("settings");
  const v1::NoticeSettings& settings = request.settings();
  RETURN_IF_ERROR(rules::ValidateNoticeSettings(settings));
  if (!settings.business_phone_number_id().empty()) {
    RETURN_IF_ERROR(numbers_.Check(ctx, caller.tenant_id, settings.business_phone_number_id()));
  }
  return store::SaveNoticeSettings(pool_, caller.tenant_id, settings, caller.subject, clock_.Now());
}

template <typename Event>
absl::Status Notices::Enqueue(const Event& event, const kafka::Message& message) {
  const std::string& tenant = event.header().tenant_id();
  if (tenant.empty()) return absl::OkStatus();
  // A replay of an event no longer news (a month over, a suspension ended) tells nobody.
  const absl::Time now = clock_.Now();
  if (!rules::NoticeIsCurrent(event, rules::EventTime(event.header(), message.event.time, now), now,
                              max_age_)) {
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(std::optional<v1::NoticeSettings> settings,
                   store::LoadNoticeSettings(pool_, tenant));
  if (!settings.has_value()) return absl::OkStatus();
  std::vector<rules::Notice> notices = rules::NoticesFor(*settings, event, message.event.id);
  if (notices.empty()) return absl::OkStatus();
  return pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    for (rules::Notice& n : notices) {
      const std::string& wa_id = n.message.contact().wa_id();
      *n.message.mutable_header() =
          api::Header(tenant, wa_id, 1, now, event.header().correlation_id(), message.event.id);
      RETURN_IF_ERROR(pg::Outbox::Enqueue(tx, kafka::kWhatsAppOutbound, n.message, wa_id,
                                          n.event_id, now, "notifications"));
    }
    return absl::OkStatus();
  });
}

absl::Status Notices::OnUsage(const billing::v1::UsageUpdated& event,
                              const kafka::Message& message) {
  // Most updates raise no alert (every rated call sends one): no settings read for those.
  if (event.alert() == billing::v1::USAGE_LEVEL_UNSPECIFIED) return absl::OkStatus();
  return Enqueue(event, message);
}

absl::Status Notices::OnSuspension(const eligibility::v1::CallingSuspensionChanged& event,
                                   const kafka::Message& message) {
  return Enqueue(event, message);
}

}  // namespace switchboard::notifications
