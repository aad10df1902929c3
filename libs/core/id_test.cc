#include "libs/core/id.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

using switchboard::core::FakeClock;
using switchboard::core::IdTime;
using switchboard::core::IsUuid;
using switchboard::core::NewId;

TEST_CASE("ids are UUIDv7 carrying their creation time") {
  FakeClock clock(absl::FromUnixMillis(1'767'225'600'123));
  std::string id = NewId(clock);
  CHECK(IsUuid(id));
  CHECK(id[14] == '7');                                          // version
  CHECK(std::string("89ab").find(id[19]) != std::string::npos);  // RFC 9562 variant
  CHECK(IdTime(id) == absl::FromUnixMillis(1'767'225'600'123));
}

TEST_CASE("ids within one millisecond are unique and strictly increasing") {
  FakeClock clock(absl::FromUnixMillis(1'767'225'700'000));
  std::vector<std::string> ids;
  for (int i = 0; i < 20'000; ++i) ids.push_back(NewId(clock));
  for (size_t i = 1; i < ids.size(); ++i) REQUIRE(ids[i - 1] < ids[i]);
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == ids.size());
}

TEST_CASE("a later clock gives a later id; a clock going back does not break order") {
  FakeClock clock(absl::FromUnixMillis(1'767'225'800'000));
  std::string a = NewId(clock);
  clock.Advance(absl::Milliseconds(1));
  std::string b = NewId(clock);
  clock.Advance(absl::Seconds(-10));
  std::string c = NewId(clock);
  CHECK(a < b);
  CHECK(b < c);
}

TEST_CASE("IsUuid rejects other text") {
  CHECK_FALSE(IsUuid(""));
  CHECK_FALSE(IsUuid("not-a-uuid"));
  CHECK_FALSE(IsUuid("019a6c1e-7a3b-7c41-9e2d-5b0f3a1c2d4g"));
  CHECK(IdTime("x") == absl::InfinitePast());
}
