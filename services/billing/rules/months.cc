#include "services/billing/rules/months.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "libs/core/error.h"

namespace switchboard::billing::rules {
namespace {

// Local midnight of `day`; where midnight is skipped (a DST jump at 00:00), the first instant
// after it.
absl::Time StartOf(absl::CivilDay day, absl::TimeZone zone) {
  const absl::TimeZone::TimeInfo info = zone.At(absl::CivilSecond(day));
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

Month Of(absl::CivilMonth m, absl::TimeZone zone) {
  return {absl::StrFormat("%04d-%02d", m.year(), m.month()), StartOf(absl::CivilDay(m), zone),
          StartOf(absl::CivilDay(m + 1), zone)};
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

Days LastDays(absl::Time now, absl::TimeZone zone, int days) {
  const absl::CivilDay today(zone.At(now).cs);
  const absl::CivilDay first = today - (days - 1);
  Days out{.start = StartOf(first, zone), .end = StartOf(today + 1, zone)};
  for (absl::CivilDay d = first; d <= today; ++d) {
    out.dates.push_back(absl::StrFormat("%04d-%02d-%02d", d.year(), d.month(), d.day()));
  }
  return out;
}

}  // namespace switchboard::billing::rules
