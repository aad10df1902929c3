#include "services/routing/rules/ringing.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"
#include "libs/core/proto_time.h"

namespace rules = switchboard::routing::rules;
namespace v1 = switchboard::routing::v1;
using rules::Candidate;
using rules::Round;
using rules::Step;
using Agents = std::vector<std::string>;

namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'780'000'000);

v1::Team MakeTeam(v1::RoutingMode mode, absl::Duration ring = absl::Seconds(30)) {
  v1::Team t;
  t.set_team_id("support");
  t.set_routing_mode(mode);
  *t.mutable_ring_timeout() = switchboard::core::ToProto(ring);
  return t;
}

Round Start(const v1::Team& team, absl::Time at = kNow) {
  return {.started = at, .deadline = at + rules::RingTimeout(team)};
}

std::vector<Candidate> Members() {
  return {
      {.agent_id = "carol",
       .roles = {"tier2"},
       .offerable = true,
       .last_call_end = kNow - absl::Minutes(5)},
      {.agent_id = "alice",
       .roles = {},
       .offerable = true,
       .last_call_end = kNow - absl::Minutes(20)},
      {.agent_id = "bob", .roles = {"tier2"}, .offerable = false},  // busy
      {.agent_id = "dave",
       .roles = {"tier2"},
       .offerable = true,
       .last_call_end = kNow - absl::Minutes(20)},
  };
}

std::string ReasonOf(const absl::Status& s) { return switchboard::core::ReasonOf(s); }

}  // namespace

TEST_CASE("broadcast rings every available member at once for the ring timeout") {
  const v1::Team team = MakeTeam(v1::ROUTING_MODE_BROADCAST);
  const Round round = Start(team);
  const Step step = rules::FirstStep(team, Members(), "", round, kNow);
  CHECK(step.agents == Agents{"alice", "carol", "dave"});
  CHECK(step.deadline == kNow + absl::Seconds(30));
  CHECK(rules::NextStep(team, Members(), round, kNow + absl::Seconds(30)).agents.empty());
}

TEST_CASE("role-based rings the available members holding the role") {
  v1::Team team = MakeTeam(v1::ROUTING_MODE_ROLE_BASED);
  team.set_required_role("tier2");
  const Step step = rules::FirstStep(team, Members(), "", Start(team), kNow);
  CHECK(step.agents == Agents{"carol", "dave"});
}

TEST_CASE("round-robin rings the longest idle first, ties by agent id, one at a time") {
  v1::Team team = MakeTeam(v1::ROUTING_MODE_ROUND_ROBIN);
  *team.mutable_agent_ring_timeout() = switchboard::core::ToProto(absl::Seconds(10));
  Round round = Start(team);
  Step step = rules::FirstStep(team, Members(), "", round, kNow);
  CHECK(step.agents == Agents{"alice"});  // alice and dave idle 20 min; alice < dave
  CHECK(step.deadline == kNow + absl::Seconds(10));
  round.tried = {"alice"};
  step = rules::NextStep(team, Members(), round, kNow + absl::Seconds(10));
  CHECK(step.agents == Agents{"dave"});
  CHECK(step.deadline == kNow + absl::Seconds(20));
  round.tried = {"alice", "dave"};
  step = rules::NextStep(team, Members(), round, kNow + absl::Seconds(20));
  CHECK(step.agents == Agents{"carol"});
  CHECK(step.deadline == kNow + absl::Seconds(30));  // capped at the round's end
  round.tried = {"alice"};                           // someone left to ring, but the round is over
  CHECK(rules::NextStep(team, Members(), round, round.deadline).agents.empty());
  round.tried = {"alice", "dave", "carol"};
  CHECK(rules::NextStep(team, Members(), round, kNow + absl::Seconds(25)).agents.empty());
}

TEST_CASE("round-robin: an agent who never had a call is the longest idle") {
  const v1::Team team = MakeTeam(v1::ROUTING_MODE_ROUND_ROBIN);
  std::vector<Candidate> members = Members();
  members.push_back({.agent_id = "zed", .offerable = true});
  CHECK(rules::FirstStep(team, members, "", Start(team), kNow).agents == Agents{"zed"});
}

TEST_CASE("sticky rings the assigned agent alone, then the team at once") {
  const v1::Team team = MakeTeam(v1::ROUTING_MODE_STICKY);
  Round round = Start(team);
  Step step = rules::FirstStep(team, Members(), "carol", round, kNow);
  CHECK(step.agents == Agents{"carol"});
  CHECK(step.deadline == kNow + rules::kDefaultAgentRingTimeout);
  round.tried = {"carol"};
  step = rules::NextStep(team, Members(), round, step.deadline);
  CHECK(step.agents == Agents{"alice", "dave"});
  CHECK(step.deadline == round.deadline);
}

TEST_CASE("sticky rings the team at once when the assigned agent cannot take it") {
  const v1::Team team = MakeTeam(v1::ROUTING_MODE_STICKY);
  for (const std::string& assigned : {std::string("bob"), std::string(""), std::string("ghost")}) {
    const Step step = rules::FirstStep(team, Members(), assigned, Start(team), kNow);
    CHECK(step.agents == Agents{"alice", "carol", "dave"});
    CHECK(step.deadline == kNow + absl::Seconds(30));
  }
}

TEST_CASE("nobody available rings nobody") {
  std::vector<Candidate> members = Members();
  for (Candidate& c : members) c.offerable = false;
  for (v1::RoutingMode mode : {v1::ROUTING_MODE_BROADCAST, v1::ROUTING_MODE_ROUND_ROBIN,
                               v1::ROUTING_MODE_STICKY, v1::ROUTING_MODE_ROLE_BASED}) {
    v1::Team team = MakeTeam(mode);
    team.set_required_role("tier2");
    CHECK(rules::FirstStep(team, members, "alice", Start(team), kNow).agents.empty());
  }
}

TEST_CASE("the fallback after a round: a final action, or one more round") {
  v1::Team team = MakeTeam(v1::ROUTING_MODE_BROADCAST);
  CHECK(rules::AfterRound(team, 1).action == v1::FALLBACK_ACTION_NONE);  // unset
  team.mutable_fallback()->set_action(v1::FALLBACK_ACTION_AUTO_REPLY);
  CHECK(rules::AfterRound(team, 1).action == v1::FALLBACK_ACTION_AUTO_REPLY);
  team.mutable_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
  team.mutable_fallback()->set_escalation_team_id("managers");
  team.mutable_fallback()->add_escalation_agent_ids("boss");
  rules::Next next = rules::AfterRound(team, 1);
  CHECK(next.action == v1::FALLBACK_ACTION_ESCALATION);
  CHECK(next.team_id == "managers");
  CHECK(next.agent_ids == Agents{"boss"});
  // However the chain was edited since it was checked, ringing ends.
  CHECK(rules::AfterRound(team, rules::kMaxRounds).action == v1::FALLBACK_ACTION_NONE);
}

TEST_CASE("after hours never escalates") {
  v1::Team team = MakeTeam(v1::ROUTING_MODE_BROADCAST);
  CHECK(rules::AfterHours(team).action == v1::FALLBACK_ACTION_NONE);
  team.mutable_after_hours_fallback()->set_action(v1::FALLBACK_ACTION_VOICEMAIL);
  CHECK(rules::AfterHours(team).action == v1::FALLBACK_ACTION_VOICEMAIL);
  team.mutable_after_hours_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
  CHECK(rules::AfterHours(team).action == v1::FALLBACK_ACTION_NONE);
}

TEST_CASE("a team is checked whole before it is stored") {
  v1::Team good = MakeTeam(v1::ROUTING_MODE_BROADCAST);
  good.add_members()->set_agent_id("alice");
  good.add_business_phone_number_ids("106540352242922");
  REQUIRE(rules::Validate(good).ok());

  auto refused = [](const v1::Team& t) { return ReasonOf(rules::Validate(t)); };
  v1::Team t = good;
  *t.mutable_ring_timeout() = switchboard::core::ToProto(absl::Seconds(4));
  CHECK(refused(t) == "INVALID_RING_TIMEOUT");
  *t.mutable_ring_timeout() = switchboard::core::ToProto(absl::Seconds(61));
  CHECK(refused(t) == "INVALID_RING_TIMEOUT");
  *t.mutable_ring_timeout() = switchboard::core::ToProto(absl::Seconds(5));
  CHECK(rules::Validate(t).ok());
  *t.mutable_ring_timeout() = switchboard::core::ToProto(absl::Seconds(60));
  CHECK(rules::Validate(t).ok());
  *t.mutable_agent_ring_timeout() = switchboard::core::ToProto(absl::Seconds(61));
  CHECK(refused(t) == "INVALID_RING_TIMEOUT");

  t = good;
  t.set_routing_mode(static_cast<v1::RoutingMode>(42));
  CHECK(rules::Validate(t).code() == absl::StatusCode::kInvalidArgument);
  t.set_routing_mode(v1::ROUTING_MODE_UNSPECIFIED);
  CHECK(rules::Validate(t).code() == absl::StatusCode::kInvalidArgument);

  t = good;
  t.set_routing_mode(v1::ROUTING_MODE_ROLE_BASED);
  CHECK(rules::Validate(t).code() == absl::StatusCode::kInvalidArgument);  // no role

  t = good;
  t.add_members()->set_agent_id("alice");
  CHECK(refused(t) == "DUPLICATE_MEMBER");

  t = good;
  t.mutable_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
  CHECK(refused(t) == "INVALID_FALLBACK");  // escalation to nobody
  t.mutable_fallback()->set_escalation_team_id("support");
  CHECK(refused(t) == "ESCALATION_LOOP");

  t = good;
  t.mutable_after_hours_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
  t.mutable_after_hours_fallback()->set_escalation_team_id("managers");
  CHECK(refused(t) == "INVALID_FALLBACK");

  t = good;
  t.set_team_id("Not An Id!");
  CHECK(rules::Validate(t).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("an escalation chain that comes back is found, with its path") {
  auto escalating = [](const std::string& id, const std::string& to) {
    v1::Team t = MakeTeam(v1::ROUTING_MODE_BROADCAST);
    t.set_team_id(id);
    if (!to.empty()) {
      t.mutable_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
      t.mutable_fallback()->set_escalation_team_id(to);
    }
    return t;
  };
  const std::vector<v1::Team> stored = {escalating("b", "c"), escalating("c", "a"),
                                        escalating("d", "")};
  CHECK(rules::Loops(escalating("a", "b"), stored) == "a → b → c → a");
  CHECK(rules::Loops(escalating("a", "d"), stored).empty());
  CHECK(rules::Loops(escalating("a", "nowhere"), stored).empty());
  // `a` replaces its stored version: the old a → b edge no longer counts.
  CHECK(rules::Loops(escalating("c", "d"), {escalating("a", "b"), escalating("b", "c")}).empty());
  CHECK(rules::Loops(escalating("c", "a"), {escalating("a", "b"), escalating("b", "c")}) ==
        "c → a → b → c");
}
