// Times and zones for the calls service's unit tests, written the way the tests read best.
//
//   absl::Time t = testing::At("2026-03-29T00:00:00+01:00");
//   absl::TimeZone berlin = testing::Zone("Europe/Berlin");
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "absl/time/time.h"

namespace switchboard::calls::testing {

// An RFC 3339 time; fails the test when it does not parse.
inline absl::Time At(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  INFO(rfc3339);
  REQUIRE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error));
  return t;
}

// An IANA zone; fails the test when it is not installed.
inline absl::TimeZone Zone(const std::string& name) {
  absl::TimeZone zone;
  INFO(name);
  REQUIRE(absl::LoadTimeZone(name, &zone));
  return zone;
}

}  // namespace switchboard::calls::testing
