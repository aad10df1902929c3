#include "services/notifications/rules/notices.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/api/reasons.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::notifications::rules {
namespace {

absl::Status Invalid(absl::string_view reason, std::string message, std::string field) {
  return core::InvalidArgument(reason, std::move(message), {{"field", std::move(field)}});
}

// A WhatsApp id is the number with its country code, digits only.
bool IsWaId(absl::string_view wa_id) {
  if (wa_id.empty() || wa_id.size() > 15) return false;
  for (char c : wa_id) {
    if (c < '0' || c > '9') return false;
  }
  return api::IsE164(absl::StrCat("+", wa_id));
}

std::vector<Notice> ToRecipients(const v1::NoticeSettings& settings, const std::string& text,
                                 absl::string_view kind, absl::string_view source_event_id) {
  std::vector<Notice> out;
  if (settings.business_phone_number_id().empty()) return out;
  for (const std::string& wa_id : settings.recipient_wa_ids()) {
    Notice n;
    n.event_id = absl::StrCat("notice.", kind, ".", source_event_id, ".", wa_id);
    v1::OutboundMessageRequested& m = n.message;
    m.set_business_phone_number_id(settings.business_phone_number_id());
    m.mutable_contact()->set_wa_id(wa_id);
    m.set_text(text);
    m.set_reason(v1::OUTBOUND_REASON_SYSTEM_NOTICE);
    if (settings.has_fallback_template() && !settings.fallback_template().name().empty()) {
      v1::TemplateMessage* t = m.mutable_fallback_template();
      t->set_name(settings.fallback_template().name());
      t->set_language_code(settings.fallback_template().language_code());
      t->add_body_parameters(text);
    }
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace

absl::Status ValidateNoticeSettings(const v1::NoticeSettings& s) {
  RETURN_IF_ERROR(
      api::OptionalId(s.business_phone_number_id(), "settings.business_phone_number_id"));
  const bool alerts = s.usage_alerts() || s.suspension_alerts();
  if (s.business_phone_number_id().empty() && (alerts || s.recipient_wa_ids_size() > 0)) {
    return api::Missing("settings.business_phone_number_id",
                        "notices need the number they are sent from");
  }
  if (alerts && s.recipient_wa_ids_size() == 0) {
    return api::Missing("settings.recipient_wa_ids", "notices need at least one recipient");
  }
  if (s.recipient_wa_ids_size() > kMaxNoticeRecipients) {
    return Invalid("TOO_MANY_RECIPIENTS",
                   absl::StrCat("at most ", kMaxNoticeRecipients, " recipients"),
                   "settings.recipient_wa_ids");
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (int i = 0; i < s.recipient_wa_ids_size(); ++i) {
    const std::string& wa_id = s.recipient_wa_ids(i);
    const std::string field = absl::StrCat("settings.recipient_wa_ids[", i, "]");
    if (!IsWaId(wa_id)) {
      return Invalid(api::kInvalidPhoneNumber,
                     absl::StrCat(field,
                                  " must be a WhatsApp id: the number with its country code, "
                                  "digits only (e.g. 5511999990000)"),
                     field);
    }
    if (!seen.insert(wa_id).second) {
      return Invalid("DUPLICATE_RECIPIENT", absl::StrCat(field, " is listed twice"), field);
    }
  }
  const v1::TemplateMessage& t = s.fallback_template();
  RETURN_IF_ERROR(api::Text(t.name(), "settings.fallback_template.name",
                            {.max_chars = 512, .single_line = true}));
  RETURN_IF_ERROR(api::Text(t.language_code(), "settings.fallback_template.language_code",
                            {.max_chars = 16, .single_line = true}));
  if (!t.name().empty() && t.language_code().empty()) {
    return api::Missing("settings.fallback_template.language_code",
                        "a fallback template needs its language");
  }
  return absl::OkStatus();
}

std::vector<Notice> NoticesFor(const v1::NoticeSettings& settings,
                               const billing::v1::UsageUpdated& event,
                               absl::string_view source_event_id) {
  if (!settings.usage_alerts()) return {};
  std::string text;
  switch (event.alert()) {
    case billing::v1::USAGE_LEVEL_WARNING:
      text = absl::StrFormat(
          "Switchboard: calling minutes for %s are at %d%% of the monthly limit (%d / %d min). "
          "Calls stop when the limit is reached; buy more minutes in Billing > Usage.",
          event.month(), event.percent_used(), event.minutes_used(), event.minutes_limit());
      break;
    case billing::v1::USAGE_LEVEL_EXHAUSTED:
      text = absl::StrFormat(
          "Switchboard: the monthly calling limit for %s is reached (%d / %d min). Calls to "
          "contacts are blocked until the month ends or more minutes are bought in Billing > "
          "Usage.",
          event.month(), event.minutes_used(), event.minutes_limit());
      break;
    default:
      return {};
  }
  return ToRecipients(settings, text, "usage", source_event_id);
}

std::vector<Notice> NoticesFor(const v1::NoticeSettings& settings,
                               const eligibility::v1::CallingSuspensionChanged& event,
                               absl::string_view source_event_id) {
  if (!settings.suspension_alerts()) return {};
  const std::string text = absl::StrCat("Switchboard, number ", event.business_phone_number_id(),
                                        ": ", SuspensionText(event));
  return ToRecipients(settings, text, "suspension", source_event_id);
}

std::string SuspensionText(const eligibility::v1::CallingSuspensionChanged& event) {
  if (!event.suspended()) return "Calling from this number is allowed again.";
  return absl::StrFormat(
      "Calling from this number is suspended until %s after %d missed calls.",
      absl::FormatTime("%H:%M UTC", core::FromProto(event.suspended_until_time()),
                       absl::UTCTimeZone()),
      event.missed_call_count());
}

}  // namespace switchboard::notifications::rules
