#include "services/calls/rules/timers.h"

#include "libs/core/proto_time.h"

namespace switchboard::calls {

std::optional<Timer> TimerFor(const v1::Call& call, const Timing& timing, absl::Time now) {
  const bool inbound = call.direction() == v1::CALL_DIRECTION_INBOUND;
  if (inbound && call.state() == v1::CALL_STATE_OFFERED) {
    return Timer{TimerKind::kRing, now + timing.ring_timeout};
  }
  if (!inbound &&
      (call.state() == v1::CALL_STATE_OFFERED || call.state() == v1::CALL_STATE_RINGING)) {
    return Timer{TimerKind::kUnconfirmed, now + timing.unconfirmed_timeout};
  }
  if (call.state() == v1::CALL_STATE_ANSWERED && call.has_hangup_requested_time()) {
    return Timer{TimerKind::kHangupGrace,
                 core::FromProto(call.hangup_requested_time()) + timing.hangup_grace};
  }
  if (call.state() == v1::CALL_STATE_ANSWERED && timing.max_call_duration > absl::ZeroDuration() &&
      call.has_answered_time()) {
    return Timer{TimerKind::kMaxDuration,
                 core::FromProto(call.answered_time()) + timing.max_call_duration};
  }
  return std::nullopt;
}

Event Fire(const v1::Call& call, TimerKind kind, absl::Time due) {
  if (kind == TimerKind::kHangupGrace) {
    // Ended by the agent when they hung up; Meta never confirmed it.
    return {.kind = EventKind::kAgentEnded,
            .at = call.has_hangup_requested_time() ? core::FromProto(call.hangup_requested_time())
                                                   : due,
            .agent_id = call.answered_by_agent_id()};
  }
  if (kind == TimerKind::kMaxDuration) return {.kind = EventKind::kMaxDuration, .at = due};
  return {.kind = EventKind::kRingTimeout, .at = due};
}

}  // namespace switchboard::calls
