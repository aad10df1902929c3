#include "services/routing/rules/hours.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::routing::rules {
namespace {

namespace v1 = webhooks::v1;

constexpr int kMinutesPerDay = 24 * 60;
// A week of holidays plus the day the business reopens.
constexpr int kSearchDays = 8;

// Minutes since local midnight, end exclusive.
struct Range {
  int begin;
  int end;
};

// The call hours, checked once; weekly ranges indexed Monday = 0.
struct Schedule {
  absl::TimeZone zone;
  std::array<std::vector<Range>, 7> weekly;
  std::map<absl::CivilDay, std::vector<Range>> holidays;
};

struct Interval {
  absl::Time begin;
  absl::Time end;  // exclusive
};

// The weekly ranges and holidays of some run of local days, as instants.
struct Timeline {
  std::vector<Interval> open;
  std::vector<Interval> closed;
};

absl::Status Invalid(absl::string_view message, std::string field) {
  return core::InvalidArgument("INVALID_CALL_HOURS", message, {{"field", std::move(field)}});
}

// Exactly four ASCII digits with HH <= 23 and MM <= 59 (absl::SimpleAtoi would take "+900").
std::optional<int> ParseHhmm(absl::string_view s) {
  auto digit = [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); };
  if (s.size() != 4 || !std::all_of(s.begin(), s.end(), digit)) return std::nullopt;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[2] - '0') * 10 + (s[3] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

absl::Status AddRange(const v1::OperatingHours& h, int i, Schedule& s) {
  std::string field = absl::StrCat("weekly_operating_hours[", i, "]");
  // Checked as an int before it indexes anything: an open proto3 enum holds whatever was sent.
  int day = h.day_of_week();
  if (day < v1::DAY_OF_WEEK_MONDAY || day > v1::DAY_OF_WEEK_SUNDAY) {
    return Invalid("day_of_week must be MONDAY to SUNDAY", field + ".day_of_week");
  }
  std::optional<int> open = ParseHhmm(h.open_time());
  if (!open) return Invalid("open_time must be HHMM", field + ".open_time");
  std::optional<int> close = ParseHhmm(h.close_time());
  if (!close) return Invalid("close_time must be HHMM", field + ".close_time");
  if (*open >= *close) return Invalid("open_time must be before close_time", field);
  // Meta's whole day is "0000" to "2359": a range closing at "2359" runs to midnight, so a
  // 24/7 schedule has no closed minute each night.
  if (*close == kMinutesPerDay - 1) close = kMinutesPerDay;
  s.weekly[day - v1::DAY_OF_WEEK_MONDAY].push_back({*open, *close});
  return absl::OkStatus();
}

absl::Status AddHoliday(const v1::Holiday& h, int i, Schedule& s) {
  std::string field = absl::StrCat("holiday_schedule[", i, "]");
  absl::CivilDay date;
  // The round trip refuses what the lenient parser takes, e.g. "2026-3-9".
  if (!absl::ParseCivilTime(h.date(), &date) || absl::FormatCivilTime(date) != h.date()) {
    return Invalid("date must be YYYY-MM-DD", field + ".date");
  }
  std::optional<int> start = ParseHhmm(h.start_time());
  if (!start) return Invalid("start_time must be HHMM", field + ".start_time");
  std::optional<int> end = ParseHhmm(h.end_time());
  if (!end) return Invalid("end_time must be HHMM", field + ".end_time");
  if (*start > *end) return Invalid("start_time must not be after end_time", field);
  // Meta's whole day is "0000" to "2359", so "2359" runs to midnight.
  if (*end == kMinutesPerDay - 1) end = kMinutesPerDay;
  s.holidays[date].push_back({*start, *end});
  return absl::OkStatus();
}

absl::StatusOr<Schedule> Parse(const webhooks::v1::CallHours& hours) {
  Schedule s;
  if (hours.timezone_id().empty() || !absl::LoadTimeZone(hours.timezone_id(), &s.zone)) {
    return Invalid("timezone_id must be an IANA zone such as Europe/Berlin", "timezone_id");
  }
  for (int i = 0; i < hours.weekly_operating_hours_size(); ++i) {
    RETURN_IF_ERROR(AddRange(hours.weekly_operating_hours(i), i, s));
  }
  for (int i = 0; i < hours.holiday_schedule_size(); ++i) {
    RETURN_IF_ERROR(AddHoliday(hours.holiday_schedule(i), i, s));
  }
  return s;
}

// The first moment the wall clock reads `cs` or later (see the header). Unlike `.pre` alone,
// this keeps later local times at later instants across a skipped hour.
absl::Time Instant(const absl::TimeZone& zone, absl::CivilSecond cs) {
  absl::TimeZone::TimeInfo info = zone.At(cs);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

// Monday = 0, counted from a known Monday rather than relying on absl::Weekday's values.
int WeekdayIndex(absl::CivilDay day) {
  constexpr absl::CivilDay kMonday(2024, 1, 1);
  return static_cast<int>(((day - kMonday) % 7 + 7) % 7);
}

Interval ToInterval(const absl::TimeZone& zone, absl::CivilDay day, Range r) {
  absl::CivilMinute midnight(day);
  return {Instant(zone, midnight + r.begin), Instant(zone, midnight + r.end)};
}

Timeline Expand(const Schedule& s, absl::CivilDay first, absl::CivilDay last) {
  Timeline t;
  for (absl::CivilDay day = first; day <= last; ++day) {
    for (Range r : s.weekly[WeekdayIndex(day)]) t.open.push_back(ToInterval(s.zone, day, r));
    auto holidays = s.holidays.find(day);
    if (holidays == s.holidays.end()) continue;
    for (Range r : holidays->second) t.closed.push_back(ToInterval(s.zone, day, r));
  }
  return t;
}

bool IsOpen(const Timeline& t, absl::Time at) {
  auto contains = [at](const Interval& i) { return i.begin <= at && at < i.end; };
  return std::any_of(t.open.begin(), t.open.end(), contains) &&
         std::none_of(t.closed.begin(), t.closed.end(), contains);
}

// Openness only flips at an interval's edge and holds until the next edge, so the first edge
// whose state differs from now's is the exact instant of the flip.
absl::Time NextChange(const Timeline& t, absl::Time now, absl::Time limit) {
  std::vector<absl::Time> edges;
  for (const std::vector<Interval>* list : {&t.open, &t.closed}) {
    for (const Interval& i : *list) {
      for (absl::Time edge : {i.begin, i.end}) {
        if (now < edge && edge <= limit) edges.push_back(edge);
      }
    }
  }
  std::sort(edges.begin(), edges.end());
  bool open = IsOpen(t, now);
  for (absl::Time edge : edges) {
    if (IsOpen(t, edge) != open) return edge;
  }
  return absl::InfiniteFuture();
}

}  // namespace

absl::StatusOr<Openness> OpenAt(const webhooks::v1::CallHours& hours, absl::Time now) {
  if (!hours.enabled()) return Openness{.open = true, .changes = absl::InfiniteFuture()};
  ASSIGN_OR_RETURN(Schedule s, Parse(hours));
  absl::CivilDay today(s.zone.At(now).cs);
  absl::CivilDay last = today + kSearchDays;
  // One day past the window, so an edge at its closing midnight sees the next day's ranges.
  Timeline t = Expand(s, today, last + 1);
  absl::Time limit = Instant(s.zone, absl::CivilSecond(last + 1));
  return Openness{.open = IsOpen(t, now), .changes = NextChange(t, now, limit)};
}

}  // namespace switchboard::routing::rules
