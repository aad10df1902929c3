#include "services/calls/rules/timers.h"

#include <catch2/catch.hpp>

#include "libs/core/proto_time.h"

namespace switchboard::calls {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1796000000);

v1::Call CallIn(v1::CallState state, v1::CallDirection direction) {
  v1::Call c;
  c.set_state(state);
  c.set_direction(direction);
  return c;
}

TEST_CASE("a waiting call carries the ring or the unconfirmed timer") {
  Timing timing{.ring_timeout = absl::Seconds(30), .unconfirmed_timeout = absl::Seconds(120)};
  // Inbound: until routing rings it; from RINGING on, routing's deadlines own the ring time.
  auto offered = TimerFor(CallIn(v1::CALL_STATE_OFFERED, v1::CALL_DIRECTION_INBOUND), timing, kNow);
  REQUIRE(offered.has_value());
  CHECK(offered->kind == TimerKind::kRing);
  CHECK(offered->due == kNow + absl::Seconds(30));
  CHECK_FALSE(TimerFor(CallIn(v1::CALL_STATE_RINGING, v1::CALL_DIRECTION_INBOUND), timing, kNow)
                  .has_value());
  for (v1::CallState waiting : {v1::CALL_STATE_OFFERED, v1::CALL_STATE_RINGING}) {
    auto outbound = TimerFor(CallIn(waiting, v1::CALL_DIRECTION_OUTBOUND), timing, kNow);
    REQUIRE(outbound.has_value());
    CHECK(outbound->kind == TimerKind::kUnconfirmed);
    CHECK(outbound->due == kNow + absl::Seconds(120));
  }
}

TEST_CASE("an answered call has a timer only once the agent hung up; a finished one none") {
  Timing timing{.hangup_grace = absl::Seconds(15)};
  v1::Call answered = CallIn(v1::CALL_STATE_ANSWERED, v1::CALL_DIRECTION_INBOUND);
  CHECK_FALSE(TimerFor(answered, timing, kNow).has_value());
  *answered.mutable_hangup_requested_time() = core::ToProto(kNow - absl::Seconds(5));
  auto grace = TimerFor(answered, timing, kNow);
  REQUIRE(grace.has_value());
  CHECK(grace->kind == TimerKind::kHangupGrace);
  CHECK(grace->due == kNow + absl::Seconds(10));  // from the hang-up, not from now
  for (v1::CallState done : {v1::CALL_STATE_ENDED, v1::CALL_STATE_MISSED, v1::CALL_STATE_REJECTED,
                             v1::CALL_STATE_FAILED}) {
    CHECK_FALSE(TimerFor(CallIn(done, v1::CALL_DIRECTION_INBOUND), timing, kNow).has_value());
  }
}

TEST_CASE("a fired timer times the call out, or ends it as the agent's hang-up") {
  v1::Call ringing = CallIn(v1::CALL_STATE_RINGING, v1::CALL_DIRECTION_INBOUND);
  Event ring = Fire(ringing, TimerKind::kRing, kNow);
  CHECK(ring.kind == EventKind::kRingTimeout);
  CHECK(ring.at == kNow);
  REQUIRE(Apply(ringing, ring).ok());
  CHECK(ringing.state() == v1::CALL_STATE_MISSED);
  CHECK(ringing.end_reason() == "RING_TIMEOUT");

  v1::Call answered = CallIn(v1::CALL_STATE_ANSWERED, v1::CALL_DIRECTION_INBOUND);
  answered.set_answered_by_agent_id("agent-1");
  *answered.mutable_answered_time() = core::ToProto(kNow - absl::Minutes(2));
  *answered.mutable_hangup_requested_time() = core::ToProto(kNow - absl::Seconds(15));
  Event grace = Fire(answered, TimerKind::kHangupGrace, kNow);
  CHECK(grace.kind == EventKind::kAgentEnded);
  CHECK(grace.at == kNow - absl::Seconds(15));  // when the agent hung up
  CHECK(grace.agent_id == "agent-1");
  REQUIRE(Apply(answered, grace).ok());
  CHECK(answered.state() == v1::CALL_STATE_ENDED);
}

TEST_CASE(
    "an answered call nobody hangs up is ended at the maximum duration, billed on Meta's word") {
  Timing timing{.max_call_duration = absl::Hours(4)};
  v1::Call answered = CallIn(v1::CALL_STATE_ANSWERED, v1::CALL_DIRECTION_INBOUND);
  answered.set_answered_by_agent_id("agent-1");
  *answered.mutable_answered_time() = core::ToProto(kNow - absl::Minutes(10));
  auto max = TimerFor(answered, timing, kNow);
  REQUIRE(max.has_value());
  CHECK(max->kind == TimerKind::kMaxDuration);
  CHECK(max->due == kNow - absl::Minutes(10) + absl::Hours(4));  // from the answer, not from now
  CHECK_FALSE(TimerFor(answered, Timing{.max_call_duration = absl::ZeroDuration()}, kNow));
  // Once the agent hangs up, the hang-up grace is the timer that matters.
  v1::Call hung_up = answered;
  *hung_up.mutable_hangup_requested_time() = core::ToProto(kNow);
  CHECK(TimerFor(hung_up, timing, kNow)->kind == TimerKind::kHangupGrace);

  Event fired = Fire(answered, TimerKind::kMaxDuration, max->due);
  CHECK(fired.kind == EventKind::kMaxDuration);
  v1::Call ended = answered;
  auto t = Apply(ended, fired);
  REQUIRE(t.ok());
  CHECK(t->publish);
  CHECK(ended.state() == v1::CALL_STATE_ENDED);
  CHECK(ended.end_reason() == "MAX_DURATION");
  CHECK(ended.disconnected_by() == v1::DISCONNECTOR_SYSTEM);
  CHECK(core::FromProto(ended.ended_time()) == max->due);
  CHECK_FALSE(ended.has_duration());  // billing rates nothing on a guess
  CHECK_FALSE(TimerFor(ended, timing, kNow).has_value());

  // Meta's terminate, late: its talk time is the authority, the end reason stays.
  Event terminate{.kind = EventKind::kTerminate, .at = max->due + absl::Minutes(1)};
  terminate.completed = true;
  terminate.start_time = kNow - absl::Minutes(10);
  terminate.end_time = kNow + absl::Minutes(5);
  terminate.duration = absl::Minutes(15);
  REQUIRE(Apply(ended, terminate).ok());
  CHECK(ended.state() == v1::CALL_STATE_ENDED);
  CHECK(ended.duration().seconds() == 15 * 60);

  // Fired on a call that ended meanwhile: nothing changes.
  v1::Call over = CallIn(v1::CALL_STATE_ENDED, v1::CALL_DIRECTION_INBOUND);
  auto nothing = Apply(over, fired);
  REQUIRE(nothing.ok());
  CHECK_FALSE(nothing->changed);
}

}  // namespace
}  // namespace switchboard::calls
