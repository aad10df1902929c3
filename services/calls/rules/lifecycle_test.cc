#include "services/calls/rules/lifecycle.h"

#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "libs/core/error.h"

namespace switchboard::calls {
namespace {

using v1::CallState;

const absl::Time kT0 = absl::FromUnixSeconds(1749197000);

absl::Time T(int seconds) { return kT0 + absl::Seconds(seconds); }

v1::Call NewCall(v1::CallDirection direction) {
  v1::Call c;
  c.set_call_id("call-1");
  c.set_direction(direction);
  return c;
}

// An outbound call as StartCall creates it.
v1::Call Placed() {
  v1::Call c = NewCall(v1::CALL_DIRECTION_OUTBOUND);
  c.set_state(v1::CALL_STATE_OFFERED);
  c.set_answered_by_agent_id("agent-1");
  c.mutable_offered_time()->set_seconds(absl::ToUnixSeconds(T(0)));
  return c;
}

Event Meta(EventKind kind, int at) { return {.kind = kind, .at = T(at)}; }

Event Terminate(int at, bool completed, std::optional<int> start = std::nullopt,
                std::optional<int> end = std::nullopt, std::optional<int> duration = std::nullopt,
                int error = 0) {
  Event e{.kind = EventKind::kTerminate, .at = T(at), .completed = completed, .failed = !completed};
  if (start) e.start_time = T(*start);
  if (end) e.end_time = T(*end);
  if (duration) e.duration = absl::Seconds(*duration);
  e.meta_error_code = error;
  return e;
}

Event Agent(EventKind kind, int at, std::string agent = "agent-1") {
  return {.kind = kind, .at = T(at), .agent_id = std::move(agent)};
}

Event Rang(int at, std::vector<std::string> agents) {
  return {.kind = EventKind::kRoutingRang, .at = T(at), .agent_ids = std::move(agents)};
}

Transition MustApply(v1::Call& c, const Event& e) {
  auto t = Apply(c, e);
  INFO(t.status().ToString());
  REQUIRE(t.ok());
  return *t;
}

// A call in `state`, reached the ordinary way.
v1::Call In(v1::CallDirection direction, CallState state) {
  v1::Call c = direction == v1::CALL_DIRECTION_OUTBOUND ? Placed() : NewCall(direction);
  bool inbound = direction == v1::CALL_DIRECTION_INBOUND;
  auto step = [&](const Event& e) { MustApply(c, e); };
  if (inbound) step(Meta(EventKind::kConnect, 0));
  if (state == v1::CALL_STATE_OFFERED) return c;
  step(inbound ? Rang(1, {"agent-1", "agent-2"}) : Meta(EventKind::kRinging, 1));
  if (state == v1::CALL_STATE_RINGING) return c;
  switch (state) {
    case v1::CALL_STATE_ANSWERED:
      step(inbound ? Agent(EventKind::kAgentAnswered, 5) : Meta(EventKind::kConnect, 5));
      break;
    case v1::CALL_STATE_ENDED:
      step(inbound ? Agent(EventKind::kAgentAnswered, 5) : Meta(EventKind::kConnect, 5));
      step(Terminate(65, true, 5, 65, 60));
      break;
    case v1::CALL_STATE_MISSED:
      step(Meta(EventKind::kRingTimeout, 30));
      break;
    case v1::CALL_STATE_REJECTED:
      step(inbound ? Agent(EventKind::kAgentRejected, 3) : Meta(EventKind::kRejected, 3));
      break;
    case v1::CALL_STATE_FAILED:
      step(Terminate(4, false, std::nullopt, std::nullopt, std::nullopt, 138021));
      break;
    default:
      FAIL("no such state");
  }
  REQUIRE(c.state() == state);
  return c;
}

const CallState kAll[] = {v1::CALL_STATE_OFFERED, v1::CALL_STATE_RINGING, v1::CALL_STATE_ANSWERED,
                          v1::CALL_STATE_ENDED,   v1::CALL_STATE_MISSED,  v1::CALL_STATE_REJECTED,
                          v1::CALL_STATE_FAILED};

TEST_CASE("an inbound call: offered, rung, answered, ended with Meta's times") {
  v1::Call c = NewCall(v1::CALL_DIRECTION_INBOUND);
  Transition t = MustApply(c, Meta(EventKind::kConnect, 0));
  CHECK(t.from == v1::CALL_STATE_UNSPECIFIED);
  CHECK(t.to == v1::CALL_STATE_OFFERED);
  CHECK(t.publish);
  CHECK(c.offered_time().seconds() == absl::ToUnixSeconds(T(0)));

  t = MustApply(c, Rang(1, {"agent-2", "agent-1"}));
  CHECK(t.to == v1::CALL_STATE_RINGING);
  CHECK(c.offered_agent_ids_size() == 2);

  t = MustApply(c, Agent(EventKind::kAgentAnswered, 6, "agent-2"));
  CHECK(t.to == v1::CALL_STATE_ANSWERED);
  CHECK(c.answered_by_agent_id() == "agent-2");

  t = MustApply(c, Terminate(70, true, 5, 70, 65));
  CHECK(t.to == v1::CALL_STATE_ENDED);
  CHECK(c.end_reason() == "COMPLETED");
  CHECK(c.disconnected_by() == v1::DISCONNECTOR_CONTACT);
  CHECK(c.duration().seconds() == 65);
  CHECK(c.answered_time().seconds() == absl::ToUnixSeconds(T(5)));  // Meta's start_time wins
  CHECK(c.ended_time().seconds() == absl::ToUnixSeconds(T(70)));
}

TEST_CASE("an outbound call: ringing, answered by the contact, ended by the agent") {
  v1::Call c = Placed();
  CHECK(MustApply(c, Meta(EventKind::kRinging, 2)).to == v1::CALL_STATE_RINGING);
  CHECK(MustApply(c, Meta(EventKind::kConnect, 8)).to == v1::CALL_STATE_ANSWERED);
  Transition accepted = MustApply(c, Meta(EventKind::kAccepted, 9));  // audit only, after media
  CHECK_FALSE(accepted.publish);
  CHECK_FALSE(accepted.changed);
  Transition ended = MustApply(c, Agent(EventKind::kAgentEnded, 98));
  CHECK(ended.to == v1::CALL_STATE_ENDED);
  CHECK(c.disconnected_by() == v1::DISCONNECTOR_AGENT);
  CHECK(c.duration().seconds() == 90);
  // Meta's terminate follows our own; its times are authoritative, the state stays.
  Transition confirmed = MustApply(c, Terminate(99, true, 8, 99, 91));
  CHECK_FALSE(confirmed.publish);
  CHECK(confirmed.changed);
  CHECK(c.duration().seconds() == 91);
  CHECK(c.state() == v1::CALL_STATE_ENDED);
  CHECK(c.disconnected_by() == v1::DISCONNECTOR_AGENT);
}

TEST_CASE(
    "an agent hangs up an answered call: Meta's terminate confirms it, or the grace ends it") {
  SECTION("the terminate confirms: ENDED by the agent with Meta's duration") {
    v1::Call c = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_ANSWERED);
    Transition asked = MustApply(c, Agent(EventKind::kHangupRequested, 60));
    CHECK(asked.changed);
    CHECK_FALSE(asked.publish);  // still ANSWERED until Meta says so
    CHECK(c.state() == v1::CALL_STATE_ANSWERED);
    CHECK(c.hangup_requested_time().seconds() == absl::ToUnixSeconds(T(60)));
    CHECK_FALSE(MustApply(c, Agent(EventKind::kHangupRequested, 61)).changed);  // a retry
    Transition ended = MustApply(c, Terminate(62, true, 5, 61, 56));
    CHECK(ended.to == v1::CALL_STATE_ENDED);
    CHECK(c.disconnected_by() == v1::DISCONNECTOR_AGENT);
    CHECK(c.duration().seconds() == 56);
  }
  SECTION("no terminate: the grace ends it from the hang-up time") {
    v1::Call c = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_ANSWERED);
    c.mutable_answered_time()->set_seconds(absl::ToUnixSeconds(T(10)));
    MustApply(c, Agent(EventKind::kHangupRequested, 70));
    CHECK(MustApply(c, Agent(EventKind::kAgentEnded, 70)).to == v1::CALL_STATE_ENDED);
    CHECK(c.duration().seconds() == 60);
    CHECK(c.disconnected_by() == v1::DISCONNECTOR_AGENT);
  }
  SECTION("the contact hung up first: ENDED by the contact") {
    v1::Call c = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_ANSWERED);
    MustApply(c, Terminate(50, true, 5, 50, 45));
    CHECK(c.disconnected_by() == v1::DISCONNECTOR_CONTACT);
    Transition late = MustApply(c, Agent(EventKind::kHangupRequested, 51));  // nothing to hang up
    CHECK_FALSE(late.changed);
    CHECK_FALSE(c.has_hangup_requested_time());
  }
  SECTION("only an answered call can be hung up") {
    for (CallState s : {v1::CALL_STATE_OFFERED, v1::CALL_STATE_RINGING}) {
      v1::Call c = In(v1::CALL_DIRECTION_OUTBOUND, s);
      auto t = Apply(c, Agent(EventKind::kHangupRequested, 5));
      CHECK(core::ReasonOf(t.status()) == "CALL_NOT_ANSWERED");
      CHECK(core::MetadataOf(t.status()).at("state") == v1::CallState_Name(s));
    }
  }
}

TEST_CASE("terminal outcomes and their reasons") {
  SECTION("inbound: the caller hangs up before anyone answers") {
    v1::Call c = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(c, Terminate(20, false)).to == v1::CALL_STATE_MISSED);
    CHECK(c.end_reason() == "CALLER_HUNG_UP");
    CHECK(c.disconnected_by() == v1::DISCONNECTOR_CONTACT);
    CHECK(c.duration().seconds() == 0);
  }
  SECTION("inbound: nobody answers before the ring timeout") {
    v1::Call c = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(c, Meta(EventKind::kRingTimeout, 30)).to == v1::CALL_STATE_MISSED);
    CHECK(c.end_reason() == "RING_TIMEOUT");
    CHECK(c.disconnected_by() == v1::DISCONNECTOR_SYSTEM);
    CHECK(c.ended_time().seconds() == absl::ToUnixSeconds(T(30)));
  }
  SECTION("inbound: an agent rejects") {
    v1::Call c = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(c, Agent(EventKind::kAgentRejected, 3)).to == v1::CALL_STATE_REJECTED);
    CHECK(c.end_reason() == "BUSINESS_REJECTED");
    CHECK(c.disconnected_by() == v1::DISCONNECTOR_AGENT);
  }
  SECTION("outbound: the contact rejects") {
    v1::Call c = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(c, Meta(EventKind::kRejected, 3)).to == v1::CALL_STATE_REJECTED);
    CHECK(c.end_reason() == "CONTACT_REJECTED");
    CHECK_FALSE(MustApply(c, Terminate(4, false)).changed);  // Meta's terminate follows
  }
  SECTION("outbound: the contact does not pick up") {
    v1::Call c = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(c, Terminate(45, false)).to == v1::CALL_STATE_MISSED);
    CHECK(c.end_reason() == "CONTACT_UNANSWERED");
  }
  SECTION("outbound: the agent hangs up before the contact answers") {
    v1::Call c = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(c, Agent(EventKind::kAgentEnded, 10)).to == v1::CALL_STATE_MISSED);
    CHECK(c.end_reason() == "CANCELED");
  }
  SECTION("outbound: Meta refuses the connect") {
    v1::Call c = Placed();
    Event refused = Meta(EventKind::kConnectRefused, 0);
    refused.meta_error_code = 138006;
    CHECK(MustApply(c, refused).to == v1::CALL_STATE_FAILED);
    CHECK(c.end_reason() == "GRAPH_API_ERROR");
    CHECK(c.meta_error_code() == 138006);
  }
  SECTION("media errors, before or after the answer") {
    v1::Call ringing = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(ringing, Terminate(4, false, std::nullopt, std::nullopt, std::nullopt, 138021))
              .to == v1::CALL_STATE_FAILED);
    CHECK(ringing.end_reason() == "MEDIA_TIMEOUT");
    CHECK(ringing.disconnected_by() == v1::DISCONNECTOR_META);
    v1::Call answered = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_ANSWERED);
    CHECK(MustApply(answered, Terminate(40, false, 5, 40, 35, 131000)).to == v1::CALL_STATE_FAILED);
    CHECK(answered.end_reason() == "META_ERROR");
    CHECK(answered.duration().seconds() == 35);
    CHECK(answered.meta_error_code() == 131000);
  }
}

TEST_CASE("Meta's terminate status decides; its errors only add detail") {
  SECTION("picked up, FAILED without errors: failed, with its duration") {
    v1::Call c = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_ANSWERED);
    CHECK(MustApply(c, Terminate(40, false, 5, 40, 35)).to == v1::CALL_STATE_FAILED);
    CHECK(c.end_reason() == "META_ERROR");
    CHECK(c.disconnected_by() == v1::DISCONNECTOR_META);
    CHECK(c.duration().seconds() == 35);
    CHECK(c.meta_error_code() == 0);
  }
  SECTION("picked up, FAILED, Meta's answer before ours: failed all the same") {
    v1::Call c = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(c, Terminate(40, false, 5, 40, 35)).to == v1::CALL_STATE_FAILED);
  }
  SECTION("COMPLETED with errors: ended, the error kept with its words") {
    v1::Call c = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_ANSWERED);
    Event e = Terminate(70, true, 5, 70, 65, 138022);
    e.meta_error_title = "Media timeout";
    e.meta_error_message = "No media for 20 seconds";
    e.meta_error_details = "relay 3";
    CHECK(MustApply(c, e).to == v1::CALL_STATE_ENDED);
    CHECK(c.end_reason() == "COMPLETED");
    CHECK(c.meta_error_code() == 138022);
    CHECK(c.meta_error_title() == "Media timeout");
    CHECK(c.meta_error_message() == "No media for 20 seconds");
    CHECK(c.meta_error_details() == "relay 3");
  }
  SECTION("FAILED with an error, never picked up: failed, with Meta's words") {
    v1::Call c = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_RINGING);
    Event e = Terminate(9, false, std::nullopt, std::nullopt, std::nullopt, 138020);
    e.meta_error_title = "Relay timeout";
    CHECK(MustApply(c, e).to == v1::CALL_STATE_FAILED);
    CHECK(c.meta_error_title() == "Relay timeout");
  }
  SECTION("FAILED without errors, never picked up: missed, as Meta reports every unanswered call") {
    v1::Call c = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_RINGING);
    CHECK(MustApply(c, Terminate(45, false)).to == v1::CALL_STATE_MISSED);
    CHECK(c.end_reason() == "CONTACT_UNANSWERED");
  }
}

TEST_CASE("terminal states never change: every event on every terminal call") {
  const Event events[] = {
      Meta(EventKind::kConnect, 200),     Meta(EventKind::kRinging, 200),
      Meta(EventKind::kAccepted, 200),    Meta(EventKind::kRejected, 200),
      Terminate(200, true, 190, 200, 10), Terminate(200, false),
      Meta(EventKind::kRingTimeout, 200), Meta(EventKind::kConnectRefused, 200)};
  for (auto direction : {v1::CALL_DIRECTION_INBOUND, v1::CALL_DIRECTION_OUTBOUND}) {
    for (CallState s : {v1::CALL_STATE_MISSED, v1::CALL_STATE_REJECTED, v1::CALL_STATE_FAILED}) {
      for (const Event& e : events) {
        v1::Call c = In(direction, s);
        v1::Call before = c;
        Transition t = MustApply(c, e);
        CAPTURE(v1::CallDirection_Name(direction), v1::CallState_Name(s), static_cast<int>(e.kind));
        CHECK_FALSE(t.publish);
        CHECK(c.state() == s);
        CHECK(c.end_reason() == before.end_reason());
        CHECK(c.ended_time().seconds() == before.ended_time().seconds());
      }
    }
  }
  // A late RINGING after ENDED changes nothing at all.
  v1::Call ended = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_ENDED);
  v1::Call before = ended;
  Transition late = MustApply(ended, Meta(EventKind::kRinging, 300));
  CHECK_FALSE(late.changed);
  CHECK(google::protobuf::util::MessageDifferencer::Equals(ended, before));
}

TEST_CASE("commands are refused where the state does not allow them, with the state") {
  struct Case {
    EventKind kind;
    v1::CallDirection direction;
    std::set<CallState> allowed;
    const char* reason;
  };
  const Case cases[] = {
      {EventKind::kAgentAnswered,
       v1::CALL_DIRECTION_INBOUND,
       {v1::CALL_STATE_OFFERED, v1::CALL_STATE_RINGING},
       "CALL_NOT_RINGING"},
      {EventKind::kAgentRejected,
       v1::CALL_DIRECTION_INBOUND,
       {v1::CALL_STATE_OFFERED, v1::CALL_STATE_RINGING},
       "CALL_NOT_RINGING"},
      {EventKind::kAgentEnded, v1::CALL_DIRECTION_INBOUND, {v1::CALL_STATE_ANSWERED}, ""},
      {EventKind::kAgentEnded,
       v1::CALL_DIRECTION_OUTBOUND,
       {v1::CALL_STATE_OFFERED, v1::CALL_STATE_RINGING, v1::CALL_STATE_ANSWERED},
       "CALL_ALREADY_FINISHED"},
  };
  for (const Case& k : cases) {
    for (CallState s : kAll) {
      v1::Call c = In(k.direction, s);
      auto t = Apply(c, Agent(k.kind, 100));
      CAPTURE(static_cast<int>(k.kind), v1::CallDirection_Name(k.direction), v1::CallState_Name(s));
      if (k.allowed.count(s)) {
        REQUIRE(t.ok());
        CHECK(t->publish);
        CHECK(IsTerminal(c.state()) == (k.kind != EventKind::kAgentAnswered));
      } else {
        REQUIRE_FALSE(t.ok());
        CHECK(t.status().code() == absl::StatusCode::kFailedPrecondition);
        CHECK(core::MetadataOf(t.status()).at("state") == v1::CallState_Name(s));
        if (*k.reason != '\0') {
          bool finished = IsTerminal(s);
          if (finished || k.kind != EventKind::kAgentEnded)
            CHECK(core::ReasonOf(t.status()) == k.reason);
        }
      }
    }
  }
  // Direction-bound commands.
  v1::Call outbound = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_RINGING);
  CHECK(core::ReasonOf(Apply(outbound, Agent(EventKind::kAgentAnswered, 5)).status()) ==
        "WRONG_DIRECTION");
  CHECK(core::ReasonOf(Apply(outbound, Agent(EventKind::kAgentRejected, 5)).status()) ==
        "WRONG_DIRECTION");
  CHECK(core::ReasonOf(Apply(outbound, Rang(5, {"a"})).status()) == "WRONG_DIRECTION");
  // Routing's claim decides who answers: the agents listed may lag behind its latest step, so
  // an agent routing let win is answered even if not listed yet.
  v1::Call inbound = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_RINGING);
  MustApply(inbound, Rang(4, {"agent-1"}));
  MustApply(inbound, Agent(EventKind::kAgentAnswered, 5, "agent-9"));
  CHECK(inbound.state() == v1::CALL_STATE_ANSWERED);
  CHECK(inbound.answered_by_agent_id() == "agent-9");
}

TEST_CASE("routing ending the ringing misses the call with its reason and fallback") {
  v1::Call inbound = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_RINGING);
  const Event ended{.kind = EventKind::kRoutingEnded,
                    .at = T(40),
                    .reason = "NO_AGENTS_AVAILABLE",
                    .fallback = "AUTO_REPLY"};
  MustApply(inbound, ended);
  CHECK(inbound.state() == v1::CALL_STATE_MISSED);
  CHECK(inbound.end_reason() == "NO_AGENTS_AVAILABLE");
  CHECK(inbound.fallback_action() == "AUTO_REPLY");
  CHECK(inbound.disconnected_by() == v1::DISCONNECTOR_SYSTEM);
  CHECK(inbound.ended_time().seconds() == absl::ToUnixSeconds(T(40)));
  // Again, or after an answer: nothing changes.
  absl::StatusOr<Transition> again = Apply(inbound, ended);
  REQUIRE(again.ok());
  CHECK_FALSE(again->changed);
  v1::Call answered = In(v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_ANSWERED);
  REQUIRE(Apply(answered, ended).ok());
  CHECK(answered.state() == v1::CALL_STATE_ANSWERED);
  v1::Call outbound = In(v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_RINGING);
  CHECK(core::ReasonOf(Apply(outbound, ended).status()) == "WRONG_DIRECTION");
}

TEST_CASE("an answer Meta accepted but never recorded: the claim's agent is credited") {
  v1::Call c = NewCall(v1::CALL_DIRECTION_INBOUND);
  MustApply(c, Meta(EventKind::kConnect, 0));
  MustApply(c, Rang(1, {"agent-1", "agent-2"}));
  // agent-2 won routing's claim; the process died after Meta accepted, before the answer was
  // recorded.
  Transition t = MustApply(c, Agent(EventKind::kRoutingClaimed, 3, "agent-2"));
  CHECK(t.changed);
  CHECK_FALSE(t.publish);
  CHECK(c.state() == v1::CALL_STATE_RINGING);
  CHECK(c.claimed_by_agent_id() == "agent-2");
  CHECK_FALSE(MustApply(c, Agent(EventKind::kRoutingClaimed, 3, "agent-2")).changed);

  t = MustApply(c, Terminate(70, true, 5, 70, 65));  // Meta: picked up, 65 s of talk
  CHECK(t.to == v1::CALL_STATE_ENDED);
  CHECK(c.answered_by_agent_id() == "agent-2");
  CHECK(c.duration().seconds() == 65);
  CHECK(c.answered_time().seconds() == absl::ToUnixSeconds(T(5)));

  SECTION("Meta's terminate before routing's claim: the same record") {
    v1::Call late = NewCall(v1::CALL_DIRECTION_INBOUND);
    MustApply(late, Meta(EventKind::kConnect, 0));
    MustApply(late, Rang(1, {"agent-1", "agent-2"}));
    MustApply(late, Terminate(70, true, 5, 70, 65));
    MustApply(late, Agent(EventKind::kRoutingClaimed, 3, "agent-2"));
    late.clear_sequence();
    v1::Call first = c;
    first.clear_sequence();
    CHECK(google::protobuf::util::MessageDifferencer::Equals(late, first));
  }
  SECTION("Meta refused the accept: nobody answered") {
    v1::Call refused = NewCall(v1::CALL_DIRECTION_INBOUND);
    MustApply(refused, Meta(EventKind::kConnect, 0));
    MustApply(refused, Rang(1, {"agent-2"}));
    MustApply(refused, Agent(EventKind::kRoutingClaimed, 3, "agent-2"));
    MustApply(refused, Terminate(40, false));  // never picked up
    CHECK(refused.state() == v1::CALL_STATE_MISSED);
    CHECK(refused.answered_by_agent_id().empty());
  }
  SECTION("the answer recorded first: the claim changes nothing") {
    v1::Call answered = NewCall(v1::CALL_DIRECTION_INBOUND);
    MustApply(answered, Meta(EventKind::kConnect, 0));
    MustApply(answered, Rang(1, {"agent-2"}));
    MustApply(answered, Agent(EventKind::kAgentAnswered, 4, "agent-2"));
    t = MustApply(answered, Agent(EventKind::kRoutingClaimed, 3, "agent-2"));
    CHECK_FALSE(t.publish);
    CHECK(answered.state() == v1::CALL_STATE_ANSWERED);
    CHECK(answered.answered_by_agent_id() == "agent-2");
  }
}

TEST_CASE("every event delivered twice changes the record once") {
  v1::Call c = Placed();
  for (const Event& e : {Meta(EventKind::kRinging, 2), Meta(EventKind::kConnect, 8),
                         Meta(EventKind::kAccepted, 9), Terminate(70, true, 8, 70, 62)}) {
    MustApply(c, e);
    v1::Call once = c;
    Transition again = MustApply(c, e);
    CHECK_FALSE(again.publish);
    CHECK_FALSE(again.changed);
    CHECK(google::protobuf::util::MessageDifferencer::Equals(c, once));
  }
}

// Applies every distinct ordering of `events` (a multiset: repeats are duplicates) to `start`
// and checks they all end in the same record, and that exactly `transitions` publishes happen
// in the in-order run.
void EveryOrderEndsTheSame(const v1::Call& start, const std::vector<Event>& events,
                           CallState final_state) {
  std::vector<int> order(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    // Equal events share an index so next_permutation skips identical orderings.
    order[i] = static_cast<int>(i);
    for (size_t j = 0; j < i; ++j) {
      if (events[j].kind == events[i].kind && events[j].at == events[i].at) order[i] = order[j];
    }
  }
  std::sort(order.begin(), order.end());
  std::optional<v1::Call> first;
  int orderings = 0;
  do {
    v1::Call c = start;
    for (int i : order) MustApply(c, events[i]);
    c.clear_sequence();
    ++orderings;
    if (!first) {
      first = c;
      CHECK(c.state() == final_state);
      continue;
    }
    std::string diff;
    google::protobuf::util::MessageDifferencer d;
    d.ReportDifferencesToString(&diff);
    INFO("ordering #" << orderings << ": " << diff);
    CHECK(d.Compare(*first, c));
  } while (std::next_permutation(order.begin(), order.end()));
  CHECK(orderings > 1);
}

TEST_CASE("every ordering of a call's webhooks, duplicates included, ends in the same record") {
  SECTION("outbound, answered and completed") {
    EveryOrderEndsTheSame(Placed(),
                          {Meta(EventKind::kRinging, 2), Meta(EventKind::kRinging, 2),
                           Meta(EventKind::kConnect, 8), Meta(EventKind::kAccepted, 9),
                           Terminate(70, true, 8, 70, 62), Terminate(70, true, 8, 70, 62)},
                          v1::CALL_STATE_ENDED);
  }
  SECTION("outbound, never picked up") {
    EveryOrderEndsTheSame(Placed(),
                          {Meta(EventKind::kRinging, 2), Meta(EventKind::kRinging, 2),
                           Terminate(45, false), Terminate(45, false)},
                          v1::CALL_STATE_MISSED);
  }
  SECTION("outbound, media failure after the answer") {
    EveryOrderEndsTheSame(Placed(),
                          {Meta(EventKind::kRinging, 2), Meta(EventKind::kConnect, 8),
                           Meta(EventKind::kConnect, 8), Terminate(30, false, 8, 30, 22, 138021)},
                          v1::CALL_STATE_FAILED);
  }
  SECTION("inbound, answered and completed (terminate may come first)") {
    EveryOrderEndsTheSame(NewCall(v1::CALL_DIRECTION_INBOUND),
                          {Meta(EventKind::kConnect, 0), Meta(EventKind::kConnect, 0),
                           Terminate(70, true, 5, 70, 65), Terminate(70, true, 5, 70, 65)},
                          v1::CALL_STATE_ENDED);
  }
  SECTION("inbound, the caller gave up") {
    EveryOrderEndsTheSame(NewCall(v1::CALL_DIRECTION_INBOUND),
                          {Meta(EventKind::kConnect, 0), Meta(EventKind::kConnect, 0),
                           Terminate(20, false), Terminate(20, false)},
                          v1::CALL_STATE_MISSED);
  }
  SECTION("inbound, failed") {
    EveryOrderEndsTheSame(NewCall(v1::CALL_DIRECTION_INBOUND),
                          {Meta(EventKind::kConnect, 0),
                           Terminate(4, false, std::nullopt, std::nullopt, std::nullopt, 138020),
                           Terminate(4, false, std::nullopt, std::nullopt, std::nullopt, 138020)},
                          v1::CALL_STATE_FAILED);
  }
}

TEST_CASE("a terminate that beats its connect still yields the right inbound call") {
  v1::Call c = NewCall(v1::CALL_DIRECTION_INBOUND);
  Transition t = MustApply(c, Terminate(70, true, 5, 70, 65));
  CHECK(t.from == v1::CALL_STATE_UNSPECIFIED);
  CHECK(t.to == v1::CALL_STATE_ENDED);
  CHECK_FALSE(c.has_offered_time());
  Transition late = MustApply(c, Meta(EventKind::kConnect, 0));
  CHECK_FALSE(late.publish);
  CHECK(late.changed);  // the offer time is filled in
  CHECK(c.offered_time().seconds() == absl::ToUnixSeconds(T(0)));
  CHECK(c.state() == v1::CALL_STATE_ENDED);
  CHECK(c.duration().seconds() == 65);
}

}  // namespace
}  // namespace switchboard::calls
