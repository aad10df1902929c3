#include "services/billing/rules/entry_filter.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace rules = switchboard::billing::rules;
namespace v1 = switchboard::billing::v1;

TEST_CASE("the ledger's filter: month, kind, call and a creation range") {
  absl::StatusOr<rules::EntryFilter> f = rules::ParseEntryFilter(
      R"(month = "2026-11" AND kind = CALL AND call_id = "c-1" AND )"
      R"(create_time >= "2026-11-02T00:00:00Z" AND create_time < "2026-11-03T00:00:00Z")");
  REQUIRE(f.ok());
  CHECK(f->month == "2026-11");
  CHECK(f->kind == v1::USAGE_ENTRY_KIND_CALL);
  CHECK(f->call_id == "c-1");
  CHECK(f->created_from == absl::FromCivil(absl::CivilDay(2026, 11, 2), absl::UTCTimeZone()));
  CHECK(f->created_until == absl::FromCivil(absl::CivilDay(2026, 11, 3), absl::UTCTimeZone()));
  // The same meaning, written otherwise, pages alike.
  absl::StatusOr<rules::EntryFilter> g = rules::ParseEntryFilter(
      R"(create_time > "2026-11-01T23:59:59.999999Z" AND kind = USAGE_ENTRY_KIND_CALL AND )"
      R"(call_id = "c-1" AND month = "2026-11" AND create_time <= "2026-11-02T23:59:59.999999Z")");
  REQUIRE(g.ok());
  CHECK(g->Canonical() == f->Canonical());
  CHECK(rules::ParseEntryFilter("")->Canonical().empty());
}

TEST_CASE("a filter the ledger cannot read is INVALID_FILTER") {
  for (const char* bad : {R"(month = "2026-13")", "kind = REFUND", R"(amount > "5")",
                          R"(month = "2026-11" AND month = "2026-12")", "kind = UNSPECIFIED",
                          R"(create_time = "2026-11-01T00:00:00Z")"}) {
    INFO(bad);
    absl::StatusOr<rules::EntryFilter> f = rules::ParseEntryFilter(bad);
    REQUIRE_FALSE(f.ok());
    CHECK(switchboard::core::ReasonOf(f.status()) == "INVALID_FILTER");
  }
}
