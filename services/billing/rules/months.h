// Usage months: calendar months in the plan's IANA time zone. A call belongs to the month in
// which it ended there, so Asia/Kolkata's December starts at 18:30Z on November 30 and
// America/New_York's months start at 05:00Z or 04:00Z depending on DST.
//
//   rules::Month m = rules::MonthOf(ended, zone);          // {"2026-12", start, end}
//   ASSIGN_OR_RETURN(rules::Month asked, rules::ParseMonth("2026-11", zone));
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace switchboard::billing::rules {

struct Month {
  std::string id;  // "YYYY-MM"
  absl::Time start;
  absl::Time end;  // the next month's start
  bool operator==(const Month&) const = default;
};

Month MonthOf(absl::Time t, absl::TimeZone zone);

// "YYYY-MM" (years 2000-2999) in `zone`; INVALID_ARGUMENT INVALID_MONTH otherwise.
absl::StatusOr<Month> ParseMonth(absl::string_view id, absl::TimeZone zone);

// The month after `month`.
Month Next(const Month& month, absl::TimeZone zone);

// The last `days` days up to `now`'s, today included, in `zone`: their dates ("YYYY-MM-DD",
// oldest first) and [start, end) from the first one's local midnight to tomorrow's.
struct Days {
  std::vector<std::string> dates;
  absl::Time start;
  absl::Time end;
};
Days LastDays(absl::Time now, absl::TimeZone zone, int days);

}  // namespace switchboard::billing::rules
