#include "services/routing/rules/agent_filter.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace rules = switchboard::routing::rules;
namespace v1 = switchboard::routing::v1;

namespace {

rules::AgentFilter Parse(absl::string_view text) {
  absl::StatusOr<rules::AgentFilter> f = rules::ParseAgentFilter(text);
  INFO(text << ": " << f.status().ToString());
  REQUIRE(f.ok());
  return *f;
}

std::string ReasonOf(absl::string_view text) {
  return switchboard::core::ReasonOf(rules::ParseAgentFilter(text).status());
}

}  // namespace

TEST_CASE("an empty agent filter admits every availability") {
  rules::AgentFilter f = Parse("");
  for (int a = v1::AVAILABILITY_AVAILABLE; a <= v1::AVAILABILITY_OFFLINE; ++a) {
    CHECK(f.Admits(static_cast<v1::Availability>(a)));
  }
  CHECK(f.Canonical().empty());
}

TEST_CASE("availability = keeps one state, != drops each one named") {
  rules::AgentFilter eq = Parse("availability = AVAILABLE");
  CHECK(eq.Admits(v1::AVAILABILITY_AVAILABLE));
  CHECK_FALSE(eq.Admits(v1::AVAILABILITY_BUSY));

  rules::AgentFilter ne = Parse("availability != OFFLINE AND availability != DND");
  CHECK(ne.Admits(v1::AVAILABILITY_BUSY));
  CHECK_FALSE(ne.Admits(v1::AVAILABILITY_OFFLINE));
  CHECK_FALSE(ne.Admits(v1::AVAILABILITY_DND));
}

TEST_CASE("the same meaning gives the same canonical text") {
  CHECK(Parse("availability != DND AND availability != OFFLINE").Canonical() ==
        Parse("availability != OFFLINE AND availability != \"AVAILABILITY_DND\"").Canonical());
  CHECK(Parse("team_id = \"support\"").team_id == "support");
  CHECK(Parse("team_id = \"a\"").Canonical() != Parse("team_id = \"b\"").Canonical());
}

TEST_CASE("a malformed agent filter is INVALID_FILTER") {
  for (const char* bad :
       {"availability = SLEEPING", "availability = AVAILABLE AND availability = BUSY",
        "team_id != \"a\"", "mood = \"happy\"", "availability = UNSPECIFIED"}) {
    INFO(bad);
    CHECK(ReasonOf(bad) == "INVALID_FILTER");
  }
}
