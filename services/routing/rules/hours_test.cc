#include "services/routing/rules/hours.h"

#include <catch2/catch.hpp>
#include <string>

#include "absl/time/civil_time.h"
#include "libs/core/error.h"

namespace rules = switchboard::routing::rules;
namespace v1 = switchboard::webhooks::v1;
using rules::OpenAt;
using rules::Openness;
using switchboard::core::MetadataOf;
using switchboard::core::ReasonOf;

namespace {

// June 2026 has no DST change: Mon 1, Wed 3, Fri 5, Sat 6, Sun 7, Mon 8, Fri 12, Mon 15.
// Berlin is UTC+2 throughout.

v1::CallHours Hours(const std::string& zone = "Europe/Berlin") {
  v1::CallHours h;
  h.set_enabled(true);
  h.set_timezone_id(zone);
  return h;
}

void AddRange(v1::CallHours& h, v1::DayOfWeek day, const std::string& open,
              const std::string& close) {
  v1::OperatingHours* r = h.add_weekly_operating_hours();
  r->set_day_of_week(day);
  r->set_open_time(open);
  r->set_close_time(close);
}

void AddHoliday(v1::CallHours& h, const std::string& date, const std::string& start,
                const std::string& end) {
  v1::Holiday* d = h.add_holiday_schedule();
  d->set_date(date);
  d->set_start_time(start);
  d->set_end_time(end);
}

// Monday to Friday 09:00-17:00 in Berlin.
v1::CallHours Office() {
  v1::CallHours h = Hours();
  for (v1::DayOfWeek day :
       {v1::DAY_OF_WEEK_MONDAY, v1::DAY_OF_WEEK_TUESDAY, v1::DAY_OF_WEEK_WEDNESDAY,
        v1::DAY_OF_WEEK_THURSDAY, v1::DAY_OF_WEEK_FRIDAY}) {
    AddRange(h, day, "0900", "1700");
  }
  return h;
}

absl::Time Utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone());
}

// A Berlin wall-clock time in June 2026 (CEST, UTC+2, never skipped or repeated).
absl::Time June(int d, int h, int mi, int s = 0) { return Utc(2026, 6, d, h - 2, mi, s); }

Openness At(const v1::CallHours& h, absl::Time now) {
  absl::StatusOr<Openness> o = OpenAt(h, now);
  INFO(o.status());
  REQUIRE(o.ok());
  return *o;
}

// `h` at `t`: open or not, and when that next changes.
void Expect(const v1::CallHours& h, absl::Time t, bool open, absl::Time changes) {
  INFO(absl::FormatTime(t));
  const Openness o = At(h, t);
  CHECK(o.open == open);
  CHECK(o.changes == changes);
}

// The status of hours that must be refused, whatever the time.
absl::Status Refused(const v1::CallHours& h) {
  absl::StatusOr<Openness> o = OpenAt(h, June(3, 10, 0));
  REQUIRE_FALSE(o.ok());
  CHECK(o.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(ReasonOf(o.status()) == "INVALID_CALL_HOURS");
  return o.status();
}

}  // namespace

TEST_CASE("disabled hours are open around the clock, whatever they hold") {
  v1::CallHours h;  // enabled = false, no zone, no ranges
  AddRange(h, v1::DAY_OF_WEEK_UNSPECIFIED, "bad", "bad");
  Expect(h, June(6, 3, 0), true, absl::InfiniteFuture());
}

TEST_CASE("inside a range is open, outside it closed") {
  v1::CallHours h = Office();
  Expect(h, June(3, 10, 0), true, June(3, 17, 0));
  Expect(h, June(3, 8, 0), false, June(3, 9, 0));
  Expect(h, June(3, 20, 0), false, June(4, 9, 0));
}

TEST_CASE("the opening minute is open and the closing minute closed") {
  v1::CallHours h = Hours();
  AddRange(h, v1::DAY_OF_WEEK_WEDNESDAY, "0900", "1730");
  CHECK_FALSE(At(h, June(3, 8, 59, 59)).open);
  CHECK(At(h, June(3, 9, 0, 0)).open);
  CHECK(At(h, June(3, 17, 29, 59)).open);
  Expect(h, June(3, 17, 30, 0), false, June(10, 9, 0));
}

TEST_CASE("two ranges a day leave a lunch gap") {
  v1::CallHours h = Hours();
  AddRange(h, v1::DAY_OF_WEEK_MONDAY, "1300", "1700");  // order does not matter
  AddRange(h, v1::DAY_OF_WEEK_MONDAY, "0900", "1200");
  Expect(h, June(1, 11, 59, 59), true, June(1, 12, 0));
  Expect(h, June(1, 12, 0), false, June(1, 13, 0));
  CHECK_FALSE(At(h, June(1, 12, 59, 59)).open);
  Expect(h, June(1, 13, 0), true, June(1, 17, 0));
}

TEST_CASE("a weekday without ranges is closed all day") {
  v1::CallHours h = Office();
  for (absl::Time t : {June(6, 0, 0), June(6, 12, 0), June(6, 23, 59, 59), June(7, 9, 30)}) {
    Expect(h, t, false, June(8, 9, 0));
  }
}

TEST_CASE("changes runs across the weekend: Friday 17:00 close to Monday 09:00 open") {
  v1::CallHours h = Office();
  Expect(h, June(5, 16, 59, 59), true, Utc(2026, 6, 5, 15, 0));
  Expect(h, June(5, 17, 0), false, Utc(2026, 6, 8, 7, 0));
}

TEST_CASE("a whole-day holiday closes a working day") {
  v1::CallHours h = Office();
  AddHoliday(h, "2026-06-03", "0000", "2359");
  Expect(h, June(2, 16, 0), true, June(2, 17, 0));
  for (absl::Time t : {June(2, 17, 0), June(3, 0, 0), June(3, 10, 0), June(3, 23, 59, 30)}) {
    Expect(h, t, false, June(4, 9, 0));
  }
}

TEST_CASE("a partial holiday closes part of a day") {
  v1::CallHours h = Office();
  AddHoliday(h, "2026-06-03", "1200", "1400");
  Expect(h, June(3, 11, 59, 59), true, June(3, 12, 0));
  Expect(h, June(3, 12, 0), false, June(3, 14, 0));
  CHECK_FALSE(At(h, June(3, 13, 59, 59)).open);
  Expect(h, June(3, 14, 0), true, June(3, 17, 0));
  CHECK(At(h, June(4, 12, 30)).open);  // only that date
}

TEST_CASE("a holiday overrides the opening hours, up to a week and past the weekend") {
  v1::CallHours h = Office();
  SECTION("holidays Monday to Thursday: Friday's close reopens the Friday after") {
    for (const char* date : {"2026-06-08", "2026-06-09", "2026-06-10", "2026-06-11"}) {
      AddHoliday(h, date, "0000", "2359");
    }
    Expect(h, June(5, 17, 0), false, June(12, 9, 0));
    CHECK_FALSE(At(h, June(10, 10, 0)).open);
  }
  SECTION("an afternoon holiday ending 2359 closes through midnight") {
    AddHoliday(h, "2026-06-03", "1500", "2359");
    Expect(h, June(3, 14, 0), true, June(3, 15, 0));
    Expect(h, June(3, 15, 0), false, June(4, 9, 0));
  }
  SECTION("a closure past the 8-day search reads as never changing") {
    for (const char* date :
         {"2026-06-08", "2026-06-09", "2026-06-10", "2026-06-11", "2026-06-12"}) {
      AddHoliday(h, date, "0000", "2359");
    }
    Expect(h, June(5, 17, 0), false, absl::InfiniteFuture());  // reopens Monday 15th, 10 days on
  }
}

TEST_CASE("enabled hours without ranges are closed for good") {
  Openness o = At(Hours("America/New_York"), Utc(2026, 6, 3, 12, 0));
  CHECK_FALSE(o.open);
  CHECK(o.changes == absl::InfiniteFuture());
}

// Europe/Berlin 2026-03-29 (a Sunday): 02:00 CET (UTC+1) jumps to 03:00 CEST (UTC+2) at 01:00Z.
TEST_CASE("Berlin spring forward: 0100-0400 is open two real hours") {
  v1::CallHours h = Hours("Europe/Berlin");
  AddRange(h, v1::DAY_OF_WEEK_SUNDAY, "0100", "0400");
  Openness o = At(h, Utc(2026, 3, 28, 23, 59, 59));  // 00:59:59 CET
  CHECK_FALSE(o.open);
  CHECK(o.changes == Utc(2026, 3, 29, 0, 0));
  o = At(h, Utc(2026, 3, 29, 0, 0));  // 01:00 CET
  CHECK(o.open);
  CHECK(o.changes == Utc(2026, 3, 29, 2, 0));  // 04:00 CEST
  CHECK(At(h, Utc(2026, 3, 29, 1, 59, 59)).open);
  Expect(h, Utc(2026, 3, 29, 2, 0), false, Utc(2026, 4, 4, 23, 0));  // next Sunday 01:00 CEST
}

TEST_CASE("Berlin spring forward: a skipped local time opens at the jump") {
  v1::CallHours h = Hours("Europe/Berlin");
  SECTION("0230-0500 opens at 03:00 CEST, the first instant past 02:30") {
    AddRange(h, v1::DAY_OF_WEEK_SUNDAY, "0230", "0500");
    Openness o = At(h, Utc(2026, 3, 29, 0, 30));  // 01:30 CET
    CHECK_FALSE(o.open);
    CHECK(o.changes == Utc(2026, 3, 29, 1, 0));
    CHECK_FALSE(At(h, Utc(2026, 3, 29, 0, 59, 59)).open);
    Expect(h, Utc(2026, 3, 29, 1, 0), true, Utc(2026, 3, 29, 3, 0));  // 05:00 CEST
  }
  SECTION("a range inside the gap is never open that day") {
    AddRange(h, v1::DAY_OF_WEEK_SUNDAY, "0215", "0245");
    Expect(h, Utc(2026, 3, 29, 0, 30), false, Utc(2026, 4, 5, 0, 15));  // next Sunday 02:15 CEST
  }
}

// Europe/Berlin 2026-10-25 (a Sunday): 03:00 CEST (UTC+2) goes back to 02:00 CET (UTC+1) at
// 01:00Z, so 02:00-02:59 happens twice.
TEST_CASE("Berlin fall back: 0100-0400 is open four real hours") {
  v1::CallHours h = Hours("Europe/Berlin");
  AddRange(h, v1::DAY_OF_WEEK_SUNDAY, "0100", "0400");
  Openness o = At(h, Utc(2026, 10, 24, 22, 59, 59));  // 00:59:59 CEST
  CHECK_FALSE(o.open);
  CHECK(o.changes == Utc(2026, 10, 24, 23, 0));
  o = At(h, Utc(2026, 10, 24, 23, 0));  // 01:00 CEST
  CHECK(o.open);
  CHECK(o.changes == Utc(2026, 10, 25, 3, 0));  // 04:00 CET
  CHECK(At(h, Utc(2026, 10, 25, 2, 59, 59)).open);
  CHECK_FALSE(At(h, Utc(2026, 10, 25, 3, 0)).open);
}

TEST_CASE("Berlin fall back: a repeated local time means its first occurrence") {
  v1::CallHours h = Hours("Europe/Berlin");
  AddRange(h, v1::DAY_OF_WEEK_SUNDAY, "0230", "0300");
  Openness o = At(h, Utc(2026, 10, 25, 0, 30));  // the first 02:30, CEST
  CHECK(o.open);
  CHECK(o.changes == Utc(2026, 10, 25, 2, 0));  // 03:00 CET, after the second 02:00-02:59
  CHECK(At(h, Utc(2026, 10, 25, 1, 15)).open);  // 02:15 CET, the second pass
  CHECK_FALSE(At(h, Utc(2026, 10, 25, 0, 29, 59)).open);
}

// America/New_York 2026-03-08 (a Sunday): 02:00 EST (UTC-5) jumps to 03:00 EDT (UTC-4) at 07:00Z.
TEST_CASE("New York spring forward: 0100-0400 is open two real hours") {
  v1::CallHours h = Hours("America/New_York");
  AddRange(h, v1::DAY_OF_WEEK_SUNDAY, "0100", "0400");
  Expect(h, Utc(2026, 3, 8, 5, 59, 59), false, Utc(2026, 3, 8, 6, 0));  // 01:00 EST
  Expect(h, Utc(2026, 3, 8, 6, 0), true, Utc(2026, 3, 8, 8, 0));        // 04:00 EDT
  CHECK_FALSE(At(h, Utc(2026, 3, 8, 8, 0)).open);
}

// America/New_York 2026-11-01 (a Sunday): 02:00 EDT (UTC-4) goes back to 01:00 EST (UTC-5) at
// 06:00Z, so 01:00-01:59 happens twice and the range opens at the first 01:00.
TEST_CASE("New York fall back: 0100-0400 is open four real hours") {
  v1::CallHours h = Hours("America/New_York");
  AddRange(h, v1::DAY_OF_WEEK_SUNDAY, "0100", "0400");
  Expect(h, Utc(2026, 11, 1, 4, 59, 59), false, Utc(2026, 11, 1, 5, 0));  // 01:00 EDT
  Expect(h, Utc(2026, 11, 1, 5, 0), true, Utc(2026, 11, 1, 9, 0));        // 04:00 EST
  CHECK(At(h, Utc(2026, 11, 1, 6, 30)).open);  // 01:30 EST, the second pass
  CHECK_FALSE(At(h, Utc(2026, 11, 1, 9, 0)).open);
}

TEST_CASE("an unknown zone is INVALID_CALL_HOURS") {
  for (const char* zone : {"Mars/Olympus_Mons", "", "Europe/"}) {
    INFO(zone);
    v1::CallHours h = Office();
    h.set_timezone_id(zone);
    CHECK(MetadataOf(Refused(h)).at("field") == "timezone_id");
  }
}

TEST_CASE("a time that is not HHMM is INVALID_CALL_HOURS") {
  for (const char* bad : {"2460", "9:00", "abcd", "0960", "900", "09000", "+900", " 900", ""}) {
    INFO(bad);
    v1::CallHours open = Hours();
    AddRange(open, v1::DAY_OF_WEEK_MONDAY, bad, "1700");
    CHECK(MetadataOf(Refused(open)).at("field") == "weekly_operating_hours[0].open_time");
    v1::CallHours close = Hours();
    AddRange(close, v1::DAY_OF_WEEK_MONDAY, "0000", bad);
    CHECK(MetadataOf(Refused(close)).at("field") == "weekly_operating_hours[0].close_time");
    v1::CallHours holiday = Office();
    AddHoliday(holiday, "2026-06-03", bad, "2359");
    CHECK(MetadataOf(Refused(holiday)).at("field") == "holiday_schedule[0].start_time");
  }
}

TEST_CASE("a range that does not open before it closes is INVALID_CALL_HOURS") {
  for (auto [open, close] : {std::pair{"1700", "0900"}, std::pair{"0900", "0900"}}) {
    v1::CallHours h = Hours();
    AddRange(h, v1::DAY_OF_WEEK_MONDAY, open, close);
    CHECK(MetadataOf(Refused(h)).at("field") == "weekly_operating_hours[0]");
  }
}

TEST_CASE("a weekday outside MONDAY..SUNDAY is INVALID_CALL_HOURS") {
  for (int day : {0, 8, -1, 100000}) {
    INFO(day);
    v1::CallHours h = Office();
    AddRange(h, static_cast<v1::DayOfWeek>(day), "0900", "1700");
    CHECK(MetadataOf(Refused(h)).at("field") == "weekly_operating_hours[5].day_of_week");
  }
}

TEST_CASE("a bad holiday is INVALID_CALL_HOURS") {
  for (const char* date :
       {"2026-13-01", "2026-02-30", "2026-3-9", "03/06/2026", "", "2026-06-03x"}) {
    INFO(date);
    v1::CallHours h = Office();
    AddHoliday(h, date, "0000", "2359");
    CHECK(MetadataOf(Refused(h)).at("field") == "holiday_schedule[0].date");
  }
  v1::CallHours h = Office();
  AddHoliday(h, "2026-06-03", "1400", "1200");
  CHECK(MetadataOf(Refused(h)).at("field") == "holiday_schedule[0]");
}

TEST_CASE("a range closing at 2359 runs to midnight: 0000-2359 every day never closes") {
  v1::CallHours h = Hours();
  for (int d = v1::DAY_OF_WEEK_MONDAY; d <= v1::DAY_OF_WEEK_SUNDAY; ++d) {
    AddRange(h, static_cast<v1::DayOfWeek>(d), "0000", "2359");
  }
  absl::StatusOr<Openness> late = OpenAt(h, June(3, 23, 59, 30));
  REQUIRE(late.ok());
  CHECK(late->open);
  CHECK(late->changes == absl::InfiniteFuture());
  v1::CallHours evening = Hours();
  AddRange(evening, v1::DAY_OF_WEEK_WEDNESDAY, "1800", "2359");
  absl::StatusOr<Openness> at = OpenAt(evening, June(3, 23, 59, 30));
  REQUIRE(at.ok());
  CHECK(at->open);
  CHECK(at->changes == June(4, 0, 0));
}
