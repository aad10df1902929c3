#include "services/routing/rules/availability.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace rules = switchboard::routing::rules;
namespace v1 = switchboard::routing::v1;
using rules::Agent;
using rules::Effective;
using rules::OfferEnd;
using rules::Policy;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

// An agent who chose AVAILABLE at kNow.
Agent Ready(const std::string& id = "agent-1") {
  Agent a{.agent_id = id};
  REQUIRE(rules::Choose(a, v1::AVAILABILITY_AVAILABLE, kNow).ok());
  return a;
}

v1::Availability At(const Agent& a, absl::Time t, const Policy& p = {}) {
  return Effective(a, t, p).availability;
}

}  // namespace

TEST_CASE("an agent never heard from is offline and never offered") {
  Agent a{.agent_id = "agent-1"};
  CHECK(At(a, kNow) == v1::AVAILABILITY_OFFLINE);
  CHECK_FALSE(rules::Offerable(a, kNow, {}));
  CHECK_FALSE(rules::Due(a, kNow, {}).has_value());
}

TEST_CASE("agents set AVAILABLE, DND and OFFLINE; BUSY and COOLDOWN follow their calls") {
  Agent a = Ready();
  CHECK(At(a, kNow) == v1::AVAILABILITY_AVAILABLE);
  CHECK(rules::Offerable(a, kNow, {}));
  for (v1::Availability v : {v1::AVAILABILITY_BUSY, v1::AVAILABILITY_COOLDOWN,
                             v1::AVAILABILITY_UNSPECIFIED, static_cast<v1::Availability>(99)}) {
    absl::StatusOr<bool> set = rules::Choose(a, v, kNow);
    REQUIRE_FALSE(set.ok());
    CHECK(set.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(switchboard::core::ReasonOf(set.status()) == "AVAILABILITY_NOT_SETTABLE");
  }
  CHECK(At(a, kNow) == v1::AVAILABILITY_AVAILABLE);  // a refused choice changed nothing
  REQUIRE(rules::Choose(a, v1::AVAILABILITY_DND, kNow).ok());
  CHECK(At(a, kNow) == v1::AVAILABILITY_DND);
  CHECK_FALSE(rules::Offerable(a, kNow, {}));
}

TEST_CASE("a call makes the agent busy, then cools down for 60 s, then available by itself") {
  Policy p;
  Agent a = Ready();
  rules::CallStarted(a, "call-1");
  CHECK(At(a, kNow + absl::Seconds(10), p) == v1::AVAILABILITY_BUSY);
  CHECK_FALSE(rules::Due(a, kNow, p).has_value());  // only the call's end ends it
  const absl::Time ended = kNow + absl::Minutes(3);
  rules::Heartbeat(a, ended);
  rules::CallEnded(a, "call-1", ended, /*talked=*/true, p);
  CHECK(At(a, ended, p) == v1::AVAILABILITY_COOLDOWN);
  CHECK(Effective(a, ended, p).reason == rules::kCoolingDown);
  CHECK(At(a, ended + absl::Seconds(59), p) == v1::AVAILABILITY_COOLDOWN);
  CHECK(At(a, ended + absl::Seconds(60), p) == v1::AVAILABILITY_AVAILABLE);
  CHECK(rules::Due(a, ended, p) == ended + absl::Seconds(60));
  CHECK(a.last_call_end == ended);
}

TEST_CASE("the cooldown is the tenant's") {
  Policy p{.cooldown = absl::Seconds(10)};
  Agent a = Ready();
  rules::CallStarted(a, "call-1");
  rules::CallEnded(a, "call-1", kNow, true, p);
  CHECK(At(a, kNow + absl::Seconds(9), p) == v1::AVAILABILITY_COOLDOWN);
  CHECK(At(a, kNow + absl::Seconds(10), p) == v1::AVAILABILITY_AVAILABLE);
}

TEST_CASE("a call that never connected leaves no cooldown") {
  Agent a = Ready();
  rules::CallStarted(a, "call-1");
  rules::CallEnded(a, "call-1", kNow, /*talked=*/false, {});
  CHECK(At(a, kNow) == v1::AVAILABILITY_AVAILABLE);
  CHECK_FALSE(a.last_call_end.has_value());
}

TEST_CASE("the chosen status survives a call: DND chosen during a call is DND after it") {
  Agent a = Ready();
  rules::CallStarted(a, "call-1");
  REQUIRE(rules::Choose(a, v1::AVAILABILITY_DND, kNow + absl::Seconds(5)).ok());
  CHECK(At(a, kNow + absl::Seconds(6)) == v1::AVAILABILITY_BUSY);
  rules::CallEnded(a, "call-1", kNow + absl::Minutes(1), true, {});
  CHECK(At(a, kNow + absl::Minutes(1)) == v1::AVAILABILITY_DND);
  CHECK(At(a, kNow + absl::Minutes(5)) == v1::AVAILABILITY_OFFLINE);  // presence still counts
}

TEST_CASE("AVAILABLE during a cooldown ends it early; DND takes effect at once") {
  Agent a = Ready();
  rules::CallStarted(a, "call-1");
  rules::CallEnded(a, "call-1", kNow, true, {});
  REQUIRE(rules::Choose(a, v1::AVAILABILITY_DND, kNow + absl::Seconds(1)).ok());
  CHECK(At(a, kNow + absl::Seconds(2)) == v1::AVAILABILITY_DND);
  REQUIRE(rules::Choose(a, v1::AVAILABILITY_AVAILABLE, kNow + absl::Seconds(3)).ok());
  CHECK(At(a, kNow + absl::Seconds(3)) == v1::AVAILABILITY_AVAILABLE);
}

TEST_CASE("the end of another call, or a repeated end, changes nothing") {
  Agent a = Ready();
  rules::CallStarted(a, "call-1");
  rules::CallEnded(a, "call-2", kNow, true, {});
  CHECK(At(a, kNow) == v1::AVAILABILITY_BUSY);
  rules::CallEnded(a, "call-1", kNow, true, {});
  const Agent once = a;
  rules::CallEnded(a, "call-1", kNow + absl::Seconds(30), true, {});
  CHECK(a.cooldown_end == once.cooldown_end);
}

TEST_CASE("presence expires without heartbeats and comes back with one") {
  Policy p{.presence_ttl = absl::Seconds(90)};
  Agent a = Ready();
  CHECK(rules::Due(a, kNow, p) == kNow + absl::Seconds(90));
  CHECK(At(a, kNow + absl::Seconds(89), p) == v1::AVAILABILITY_AVAILABLE);
  CHECK(Effective(a, kNow + absl::Seconds(90), p) ==
        rules::View{v1::AVAILABILITY_OFFLINE, rules::kPresenceExpired});
  CHECK_FALSE(rules::Offerable(a, kNow + absl::Seconds(90), p));
  rules::Heartbeat(a, kNow + absl::Seconds(120));
  CHECK(At(a, kNow + absl::Seconds(120), p) == v1::AVAILABILITY_AVAILABLE);
  rules::Heartbeat(a, kNow);  // a late heartbeat never moves presence back
  CHECK(a.last_seen == kNow + absl::Seconds(120));
}

TEST_CASE("a busy agent stays busy whatever its presence") {
  Agent a = Ready();
  rules::CallStarted(a, "call-1");
  CHECK(At(a, kNow + absl::Hours(2)) == v1::AVAILABILITY_BUSY);
}

TEST_CASE("an agent holds one offer at a time") {
  Agent a = Ready();
  rules::Offered(a, "call-1");
  CHECK(At(a, kNow) == v1::AVAILABILITY_AVAILABLE);
  CHECK_FALSE(rules::Offerable(a, kNow, {}));
  rules::OfferEnded(a, "call-1", OfferEnd::kWithdrawn, {});
  CHECK(rules::Offerable(a, kNow, {}));
}

TEST_CASE("three offers in a row rung out move the agent to DND, and saying so") {
  Policy p{.max_unanswered_offers = 3};
  Agent a = Ready();
  for (int i = 1; i <= 2; ++i) {
    rules::Offered(a, "call-" + std::to_string(i));
    rules::OfferEnded(a, "call-" + std::to_string(i), OfferEnd::kRangOut, p);
    CHECK(At(a, kNow, p) == v1::AVAILABILITY_AVAILABLE);
  }
  rules::Offered(a, "call-w");  // withdrawn (someone else answered): does not count
  rules::OfferEnded(a, "call-w", OfferEnd::kWithdrawn, p);
  CHECK(a.unanswered_offers == 2);
  rules::Offered(a, "call-3");
  rules::OfferEnded(a, "call-3", OfferEnd::kRangOut, p);
  CHECK(Effective(a, kNow, p) == rules::View{v1::AVAILABILITY_DND, rules::kMaxNoAnswer});
  rules::OfferEnded(a, "call-3", OfferEnd::kRangOut, p);  // a replay counts nothing
  CHECK(a.unanswered_offers == 3);
  REQUIRE(rules::Choose(a, v1::AVAILABILITY_AVAILABLE, kNow).ok());
  CHECK(Effective(a, kNow, p) == rules::View{v1::AVAILABILITY_AVAILABLE, rules::kAgentChose});
  CHECK(a.unanswered_offers == 0);
}

TEST_CASE("an answered call resets the no-answer count") {
  Policy p{.max_unanswered_offers = 2};
  Agent a = Ready();
  rules::Offered(a, "call-1");
  rules::OfferEnded(a, "call-1", OfferEnd::kRangOut, p);
  rules::Offered(a, "call-2");
  rules::CallStarted(a, "call-2");
  CHECK(a.offered_call_id.empty());
  rules::CallEnded(a, "call-2", kNow, true, p);
  rules::Offered(a, "call-3");
  rules::OfferEnded(a, "call-3", OfferEnd::kRangOut, p);
  CHECK(a.chosen == v1::AVAILABILITY_AVAILABLE);
}

TEST_CASE("choosing DND or OFFLINE while ringing gives the offer up") {
  Agent a = Ready();
  rules::Offered(a, "call-1");
  absl::StatusOr<bool> give_up = rules::Choose(a, v1::AVAILABILITY_DND, kNow);
  REQUIRE(give_up.ok());
  CHECK(*give_up);
  Agent b = Ready();
  rules::Offered(b, "call-1");
  give_up = rules::Choose(b, v1::AVAILABILITY_AVAILABLE, kNow);
  REQUIRE(give_up.ok());
  CHECK_FALSE(*give_up);
}

TEST_CASE("Publish remembers what was announced") {
  Agent a = Ready();
  const rules::View v = Effective(a, kNow, {});
  CHECK(rules::Publish(a, v, kNow) == v1::AVAILABILITY_OFFLINE);
  CHECK(a.published == v1::AVAILABILITY_AVAILABLE);
  CHECK(a.published_reason == rules::kAgentChose);
  CHECK(a.published_time == kNow);
}

TEST_CASE("since when: the announcement's time, or the instant it changed by itself") {
  Policy p{.cooldown = absl::Seconds(60), .presence_ttl = absl::Hours(1)};
  Agent a = Ready();
  rules::Publish(a, Effective(a, kNow, p), kNow);
  CHECK(rules::Since(a, Effective(a, kNow + absl::Seconds(5), p), kNow + absl::Seconds(5), p) ==
        kNow);
  rules::CallStarted(a, "call-1");
  rules::CallEnded(a, "call-1", kNow + absl::Seconds(10), /*talked=*/true, p);
  rules::Publish(a, Effective(a, kNow + absl::Seconds(10), p), kNow + absl::Seconds(10));
  // Looked at 5 s after the cooldown ended: available since it ended.
  const absl::Time later = kNow + absl::Seconds(75);
  CHECK(rules::Since(a, Effective(a, later, p), later, p) == kNow + absl::Seconds(70));
  // Presence lapsing: offline since the TTL ran out after the last sign of life.
  const absl::Time gone = kNow + absl::Hours(2);
  CHECK(Effective(a, gone, p).reason == rules::kPresenceExpired);
  CHECK(rules::Since(a, Effective(a, gone, p), gone, p) == kNow + absl::Hours(1));
}
