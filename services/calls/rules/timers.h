// Which durable timer a live call carries, and what it does when it fires: the whole answer
// to "why did this call go MISSED without anyone touching it?". Pure: the journal keeps the
// timer row in step with the call (TimerFor after every change), the timer loop applies
// Fire's event when one falls due.
//
//   std::optional<Timer> t = TimerFor(call, timing, now);   // after a save
//   Event e = Fire(call, timer_kind, due);                   // when it is due
#pragma once

#include <optional>

#include "absl/time/time.h"
#include "services/calls/rules/lifecycle.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

// The durable timer a live call carries (call_timers.kind; the numbers are stored).
enum class TimerKind {
  kNone = 0,
  kRing = 1,         // inbound, not yet rung by routing: MISSED RING_TIMEOUT
  kUnconfirmed = 2,  // outbound, no answer nor terminate from Meta: MISSED RING_TIMEOUT
  kHangupGrace = 3,  // EndCall sent on an answered call: ENDED by the agent without Meta
  kMaxDuration = 4,  // answered, nobody hung up: ENDED MAX_DURATION once it outlives the maximum
};

// The range of a maximum call duration, the deployment's flag and a tenant's setting alike.
inline constexpr absl::Duration kMinMaxCallDuration = absl::Seconds(1);
inline constexpr absl::Duration kMaxMaxCallDuration = absl::Hours(24);

struct Timing {
  absl::Duration ring_timeout = absl::Seconds(30);
  // Meta ends an unanswered business-initiated call itself within about a minute; this only
  // closes calls whose terminate never came (or whose connect was lost in transit).
  absl::Duration unconfirmed_timeout = absl::Seconds(120);
  absl::Duration hangup_grace = absl::Seconds(15);
  // The longest an answered call may last: past it, a call whose terminate never came is ended
  // (its agent freed, nothing billed unless Meta reports the call). Zero: no limit. A tenant's
  // CallsSettings.max_call_duration replaces it (Journal::Save).
  absl::Duration max_call_duration = absl::Hours(4);
};

struct Timer {
  TimerKind kind = TimerKind::kNone;
  absl::Time due;
};

// The timer `call` should carry after a change made at `now`; nullopt: none (it ended, or is
// answered and nobody hung up). An inbound call routing has not rung yet (OFFERED) has the
// ring timer, in case routing never does; once routing rings it (RINGING) routing's durable
// deadlines own its ring time (the final CallOffer, or Meta's terminate, ends it), so the two
// never race. An outbound call waiting for the contact has the unconfirmed timer from when it
// started waiting: ringing does not extend it (the store keeps the due time of a timer of the
// same kind). An answered call nobody hung up has the maximum-duration timer, from its answer.
std::optional<Timer> TimerFor(const v1::Call& call, const Timing& timing, absl::Time now);

// The lifecycle event a due timer applies to `call`: the ring and unconfirmed timers time the
// call out at `due`; the hang-up grace ends it as the agent's hang-up, at the time they asked;
// the maximum duration ends it MAX_DURATION at `due`.
Event Fire(const v1::Call& call, TimerKind kind, absl::Time due);

}  // namespace switchboard::calls
