#include "services/webhooks/rules/numbers.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::webhooks::rules {
namespace {

absl::Status Invalid(absl::string_view reason, absl::string_view message, absl::string_view field) {
  return core::InvalidArgument(reason, message, {{"field", std::string(field)}});
}

// "HHMM" -> minutes since midnight, or -1.
int Minutes(absl::string_view hhmm) {
  int v;
  if (hhmm.size() != 4 || !absl::SimpleAtoi(hhmm, &v)) return -1;
  int h = v / 100, m = v % 100;
  if (h > 23 || m > 59) return -1;
  return h * 60 + m;
}

absl::Status BadHours(absl::string_view why) {
  return core::InvalidArgument("INVALID_CALL_HOURS", why);
}

}  // namespace

bool IsMetaId(absl::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); });
}

std::string Digits(absl::string_view text) {
  std::string out;
  for (char c : text) {
    if (absl::ascii_isdigit(static_cast<unsigned char>(c))) out.push_back(c);
  }
  return out;
}

absl::Status ValidatePhoneNumberId(absl::string_view id, absl::string_view field) {
  if (!IsMetaId(id)) {
    return Invalid("INVALID_PHONE_NUMBER_ID", absl::StrCat(field, " must be Meta's numeric id"),
                   field);
  }
  return absl::OkStatus();
}

absl::Status ValidateRegistration(const v1::RegisterPhoneNumberRequest& req) {
  RETURN_IF_ERROR(ValidatePhoneNumberId(req.phone_number_id(), "phone_number_id"));
  if (!IsMetaId(req.waba_id())) {
    return Invalid("INVALID_WABA_ID", "waba_id must be Meta's numeric id", "waba_id");
  }
  std::string digits = Digits(req.display_phone_number());
  if (digits.size() < 6 || digits.size() > 15 || req.display_phone_number().size() > 32) {
    return Invalid("INVALID_DISPLAY_PHONE_NUMBER",
                   "display_phone_number must be a phone number (6-15 digits)",
                   "display_phone_number");
  }
  RETURN_IF_ERROR(api::OptionalId(req.app_id(), "app_id"));
  return api::OptionalId(req.request_id(), "request_id");
}

absl::Status ValidateCallingSettings(const v1::CallingSettings& settings) {
  const v1::CallHours& hours = settings.call_hours();
  // Whatever is enabled, the values must be ones the API defines: the settings are pushed to
  // Meta as they are.
  for (int i = 0; i < hours.weekly_operating_hours_size(); ++i) {
    RETURN_IF_ERROR(api::RequireEnum(
        hours.weekly_operating_hours(i).day_of_week(), v1::DayOfWeek_descriptor(),
        absl::StrCat("calling_settings.call_hours.weekly_operating_hours[", i, "].day_of_week")));
  }
  if (!hours.enabled()) return absl::OkStatus();
  absl::TimeZone tz;
  if (hours.timezone_id().empty() || hours.timezone_id().size() > 64 ||
      !api::IsValidUtf8(hours.timezone_id(), false) ||
      !absl::LoadTimeZone(hours.timezone_id(), &tz)) {
    return BadHours("call_hours.timezone_id must be an IANA zone such as Europe/Berlin");
  }
  std::map<int, std::vector<std::pair<int, int>>> by_day;
  for (const v1::OperatingHours& h : hours.weekly_operating_hours()) {
    int open = Minutes(h.open_time()), close = Minutes(h.close_time());
    if (open < 0 || close < 0 || open >= close) {
      return BadHours("open_time and close_time are HHMM with open before close");
    }
    by_day[h.day_of_week()].emplace_back(open, close);
  }
  for (auto& [day, ranges] : by_day) {
    if (ranges.size() > 2) return BadHours("at most 2 ranges per weekday");
    std::sort(ranges.begin(), ranges.end());
    if (ranges.size() == 2 && ranges[1].first < ranges[0].second) {
      return BadHours("a weekday's ranges overlap");
    }
  }
  if (hours.holiday_schedule_size() > 20) return BadHours("at most 20 holidays");
  for (const v1::Holiday& h : hours.holiday_schedule()) {
    absl::CivilDay day;
    if (h.date().size() != 10 || !absl::ParseCivilTime(h.date(), &day)) {
      return BadHours("holiday date must be YYYY-MM-DD");
    }
    int start = Minutes(h.start_time()), end = Minutes(h.end_time());
    if (start < 0 || end < 0 || start > end) {
      return BadHours("holiday start_time and end_time are HHMM with start not after end");
    }
  }
  return absl::OkStatus();
}

whatsapp::CallingSettings ToGraph(const v1::CallingSettings& s) {
  whatsapp::CallingSettings out;
  out.enabled = s.calling_enabled();
  out.call_icon_visible = s.call_icon_visible();
  out.callback_permission_enabled = s.callback_permission_enabled();
  whatsapp::CallHours hours;
  hours.enabled = s.call_hours().enabled();
  hours.timezone_id = s.call_hours().timezone_id();
  for (const auto& h : s.call_hours().weekly_operating_hours()) {
    // DAY_OF_WEEK_MONDAY = 1 ... SUNDAY = 7 (ValidateCallingSettings refused anything else).
    hours.weekly_operating_hours.push_back(
        {.day_of_week = static_cast<whatsapp::DayOfWeek>(h.day_of_week() - 1),
         .open_time = h.open_time(),
         .close_time = h.close_time()});
  }
  for (const auto& h : s.call_hours().holiday_schedule()) {
    hours.holiday_schedule.push_back(
        {.date = h.date(), .start_time = h.start_time(), .end_time = h.end_time()});
  }
  out.call_hours = std::move(hours);
  return out;
}

}  // namespace switchboard::webhooks::rules
