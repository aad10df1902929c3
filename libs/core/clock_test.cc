#include "libs/core/clock.h"

#include <catch2/catch.hpp>

using switchboard::core::Clock;
using switchboard::core::FakeClock;

TEST_CASE("FakeClock moves only when told") {
  FakeClock clock(absl::FromUnixSeconds(100));
  CHECK(clock.Now() == absl::FromUnixSeconds(100));
  clock.Advance(absl::Seconds(61));
  CHECK(clock.Now() == absl::FromUnixSeconds(161));
  clock.Set(absl::FromUnixSeconds(5));
  CHECK(clock.Now() == absl::FromUnixSeconds(5));
}

TEST_CASE("the real clock is close to absl::Now") {
  absl::Duration skew = Clock::Real().Now() - absl::Now();
  CHECK(absl::AbsDuration(skew) < absl::Seconds(1));
}
