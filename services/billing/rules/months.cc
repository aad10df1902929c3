#include "services/billing/rules/months.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "libs/core/error.h"

namespace switchboard::billing::rules {
namespace {

Month Of(absl::CivilMonth m, absl::TimeZone zone) {
  // A month starts at local midnight of its first day; where midnight is skipped (a DST jump at
  // 00:00), at the first instant after it.
  auto start = [&](absl::CivilMonth civil) {
    const absl::TimeZone::TimeInfo info = zone.At(absl::CivilSecond(civil));
    return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
  };
  return {absl::StrFormat("%04d-%02d", m.year(), m.month()), start(m), start(m + 1)};
}

}  // namespace

Month MonthOf(absl::Time t, absl::TimeZone zone) {
  return Of(absl::CivilMonth(zone.At(t).cs), zone);
}

absl::StatusOr<Month> ParseMonth(absl::string_view id, absl::TimeZone zone) {
  int year = 0, month = 0;
  const bool shaped = id.size() == 7 && id[4] == '-' &&
                      std::all_of(id.begin(), id.begin() + 4, absl::ascii_isdigit) &&
                      absl::ascii_isdigit(id[5]) && absl::ascii_isdigit(id[6]);
  if (!shaped || !absl::SimpleAtoi(id.substr(0, 4), &year) ||
      !absl::SimpleAtoi(id.substr(5, 2), &month) || year < 2000 || year > 2999 || month < 1 ||
      month > 12) {
    return core::InvalidArgument("INVALID_MONTH", "month must be YYYY-MM, e.g. 2026-11",
                                 {{"field", "month"}});
  }
  return Of(absl::CivilMonth(year, month), zone);
}

Month Next(const Month& month, absl::TimeZone zone) { return MonthOf(month.end, zone); }

}  // namespace switchboard::billing::rules
