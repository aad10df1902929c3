#include "services/billing/rules/months.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace rules = switchboard::billing::rules;

namespace {

absl::TimeZone Zone(const char* name) {
  absl::TimeZone z;
  REQUIRE(absl::LoadTimeZone(name, &z));
  return z;
}

absl::Time Utc(const char* rfc3339) {
  absl::Time t;
  std::string err;
  REQUIRE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err));
  return t;
}

}  // namespace

TEST_CASE("a call belongs to the month in which it ended in the plan's zone") {
  const absl::TimeZone kolkata = Zone("Asia/Kolkata");
  // Kolkata's December starts at 18:30Z on November 30.
  CHECK(rules::MonthOf(Utc("2026-11-30T18:29:59Z"), kolkata).id == "2026-11");
  CHECK(rules::MonthOf(Utc("2026-11-30T18:30:00Z"), kolkata).id == "2026-12");
  const rules::Month dec = rules::MonthOf(Utc("2026-12-15T00:00:00Z"), kolkata);
  CHECK(dec.start == Utc("2026-11-30T18:30:00Z"));
  CHECK(dec.end == Utc("2026-12-31T18:30:00Z"));
  CHECK(rules::MonthOf(Utc("2026-11-30T18:30:00Z"), absl::UTCTimeZone()).id == "2026-11");
}

TEST_CASE("America/New_York's months move with DST, both ways") {
  const absl::TimeZone ny = Zone("America/New_York");
  // March starts in EST (-05:00); April in EDT (-04:00): March is an hour short.
  const rules::Month march = *rules::ParseMonth("2026-03", ny);
  CHECK(march.start == Utc("2026-03-01T05:00:00Z"));
  CHECK(march.end == Utc("2026-04-01T04:00:00Z"));
  CHECK(march.end - march.start == absl::Hours(31 * 24 - 1));
  // November starts in EDT and December in EST: November is an hour long.
  const rules::Month november = *rules::ParseMonth("2026-11", ny);
  CHECK(november.start == Utc("2026-11-01T04:00:00Z"));
  CHECK(november.end == Utc("2026-12-01T05:00:00Z"));
  CHECK(november.end - november.start == absl::Hours(30 * 24 + 1));
  CHECK(rules::MonthOf(Utc("2026-11-01T03:59:59Z"), ny).id == "2026-10");
  CHECK(rules::MonthOf(Utc("2026-11-01T04:00:00Z"), ny).id == "2026-11");
  CHECK(rules::Next(november, ny).id == "2026-12");
  CHECK(rules::Next(*rules::ParseMonth("2026-12", ny), ny).id == "2027-01");
}

TEST_CASE("the last N days in the zone: today included, from local midnight, across DST") {
  const absl::TimeZone ny = Zone("America/New_York");
  // 2026-11-02T03:00Z is Nov 1, 22:00 in New York (EST since 06:00Z that day).
  const rules::Days d = rules::LastDays(Utc("2026-11-02T03:00:00Z"), ny, 3);
  CHECK(d.dates == std::vector<std::string>{"2026-10-30", "2026-10-31", "2026-11-01"});
  CHECK(d.start == Utc("2026-10-30T04:00:00Z"));  // EDT
  CHECK(d.end == Utc("2026-11-02T05:00:00Z"));    // EST: the window is 73 hours
  CHECK(rules::LastDays(Utc("2026-11-30T18:30:00Z"), Zone("Asia/Kolkata"), 1).dates ==
        std::vector<std::string>{"2026-12-01"});
}

TEST_CASE("a month string that does not parse is INVALID_MONTH") {
  for (const char* bad : {"", "2026-13", "2026-00", "2026-1", "26-11", "2026/11", "+026-11",
                          "2026-+1", " 2026-11", "1999-12", "2026-11-01", "abcd-ef"}) {
    INFO(bad);
    absl::StatusOr<rules::Month> m = rules::ParseMonth(bad, absl::UTCTimeZone());
    REQUIRE_FALSE(m.ok());
    CHECK(switchboard::core::ReasonOf(m.status()) == "INVALID_MONTH");
  }
  CHECK(rules::ParseMonth("2026-02", absl::UTCTimeZone())->end ==
        absl::FromCivil(absl::CivilDay(2026, 3, 1), absl::UTCTimeZone()));
}
