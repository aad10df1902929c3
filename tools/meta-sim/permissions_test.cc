#include "tools/meta-sim/permissions.h"

#include <catch2/catch.hpp>

namespace switchboard::metasim {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'767'225'600);  // 2026-01-01
const std::string kNumber = "1001";
const std::string kUser = "4917000000001";

TEST_CASE("permission requests: 1 per 24 h and 2 per 7 days, reset by a connected call") {
  PermissionBook book({});
  REQUIRE_FALSE(book.CheckRequest(kNumber, kUser, kT0));
  book.RecordRequest(kNumber, kUser, kT0);

  auto second = book.CheckRequest(kNumber, kUser, kT0 + absl::Hours(24) - absl::Seconds(1));
  REQUIRE(second);
  CHECK(second->code == 138009);
  CHECK_FALSE(book.CheckRequest(kNumber, kUser, kT0 + absl::Hours(24)));
  book.RecordRequest(kNumber, kUser, kT0 + absl::Hours(24));

  // Two in the last 7 days: the third waits for the first to leave the week.
  absl::Time day3 = kT0 + absl::Hours(72);
  auto third = book.CheckRequest(kNumber, kUser, day3);
  REQUIRE(third);
  CHECK(third->code == 138009);
  CHECK(book.CheckRequest(kNumber, kUser, kT0 + absl::Hours(24 * 7) - absl::Seconds(1)));
  CHECK_FALSE(book.CheckRequest(kNumber, kUser, kT0 + absl::Hours(24 * 7)));

  // A connected call wipes both counters.
  book.RecordConnected(kNumber, kUser, day3);
  CHECK_FALSE(book.CheckRequest(kNumber, kUser, day3));
  // Other users and numbers are counted apart.
  CHECK_FALSE(book.CheckRequest("1002", kUser, kT0));
}

TEST_CASE("temporary permission lasts 7 days, permanent does not expire") {
  PermissionBook book({});
  CHECK(book.Current(kNumber, kUser, kT0) == Permission::kNone);
  CHECK(book.CheckCall(kNumber, kUser, kT0)->code == 138006);
  auto expires = book.Grant(kNumber, kUser, /*permanent=*/false, kT0);
  REQUIRE(expires);
  CHECK(*expires == kT0 + absl::Hours(24 * 7));
  CHECK(book.Current(kNumber, kUser, *expires - absl::Seconds(1)) == Permission::kTemporary);
  CHECK(book.Current(kNumber, kUser, *expires) == Permission::kNone);

  CHECK_FALSE(book.Grant(kNumber, kUser, /*permanent=*/true, kT0));
  CHECK(book.Current(kNumber, kUser, kT0 + absl::Hours(24 * 365)) == Permission::kPermanent);
  // A later temporary grant does not downgrade it.
  book.Grant(kNumber, kUser, /*permanent=*/false, kT0);
  CHECK(book.Current(kNumber, kUser, kT0 + absl::Hours(24 * 30)) == Permission::kPermanent);
}

TEST_CASE("4 consecutive unanswered calls revoke; an answered one resets the streak") {
  PermissionBook book({});
  book.Grant(kNumber, kUser, /*permanent=*/true, kT0);
  CHECK_FALSE(book.RecordUnanswered(kNumber, kUser));
  CHECK_FALSE(book.RecordUnanswered(kNumber, kUser));
  CHECK_FALSE(book.RecordUnanswered(kNumber, kUser));
  book.RecordConnected(kNumber, kUser, kT0);
  CHECK(book.UnansweredStreak(kNumber, kUser) == 0);
  for (int i = 0; i < 3; ++i) CHECK_FALSE(book.RecordUnanswered(kNumber, kUser));
  CHECK(book.RecordUnanswered(kNumber, kUser));
  CHECK(book.Current(kNumber, kUser, kT0) == Permission::kNone);
}

TEST_CASE("connected business-initiated calls are capped per user per 24 h") {
  PermissionBook book({.connected_calls_per_day = 2});
  book.Grant(kNumber, kUser, /*permanent=*/true, kT0);
  book.RecordConnected(kNumber, kUser, kT0);
  CHECK_FALSE(book.CheckCall(kNumber, kUser, kT0 + absl::Minutes(1)));
  book.RecordConnected(kNumber, kUser, kT0 + absl::Hours(1));
  auto capped = book.CheckCall(kNumber, kUser, kT0 + absl::Hours(2));
  REQUIRE(capped);
  CHECK(capped->code == 138012);
  CHECK(capped->details.find("2026-01-02T00:00:00Z") != std::string::npos);
  PermissionView view = book.View(kNumber, kUser, kT0 + absl::Hours(2));
  REQUIRE(view.actions.size() == 2);
  CHECK(view.actions[1].action_name == "start_call");
  CHECK_FALSE(view.actions[1].can_perform_action);
  CHECK(view.actions[1].limits[0].current_usage == 2);
  CHECK(view.actions[1].limits[0].limit_expiration_time == kT0 + absl::Hours(24));
  CHECK_FALSE(view.actions[0].can_perform_action);  // permanent: nothing to request
  CHECK_FALSE(book.CheckCall(kNumber, kUser, kT0 + absl::Hours(24)));
}

}  // namespace
}  // namespace switchboard::metasim
