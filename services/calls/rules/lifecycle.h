// The call lifecycle as a pure function: one event (a Meta webhook, an agent's command, a
// timer) applied to a call record. No I/O and no clock: every time comes with its event.
//
//   OFFERED → RINGING → ANSWERED → ENDED, and the terminal outcomes MISSED, REJECTED, FAILED.
//
// Meta's events arrive at least once and in any order, so they never fail: a duplicate or a
// late one changes no state (a terminal state never changes again), and may only fill in what
// the record does not know yet (a timestamp, the contact's name). Timestamps come from the
// evidence that is authoritative whatever the order (Meta's terminate start/end times over the
// connect's), so every ordering of one call's webhooks ends in the same record. Commands (an
// agent answering, rejecting, hanging up) are refused with FAILED_PRECONDITION and the current
// state when the state does not allow them.
//
//   ASSIGN_OR_RETURN(calls::Transition t, calls::Apply(call, event));
//   if (t.publish) ... CallStateChanged{previous_state = t.from, state = t.to}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

enum class EventKind {
  // Meta webhooks.
  kConnect,    // calls[] connect: inbound, the user's offer; outbound, the user's SDP answer
  kRinging,    // statuses[] RINGING (outbound)
  kAccepted,   // statuses[] ACCEPTED (outbound)
  kRejected,   // statuses[] REJECTED (outbound)
  kTerminate,  // calls[] terminate
  // Switchboard.
  kRoutingRang,      // routing rang agents (inbound); agent_ids
  kRoutingEnded,     // routing stopped ringing with no winner (inbound); reason, fallback
  kRoutingClaimed,   // an agent won routing's claim to answer (inbound); agent_id
  kAgentAnswered,    // an agent's AnswerCall went through at Meta (inbound); agent_id
  kAgentRejected,    // RejectCall (inbound); agent_id
  kHangupRequested,  // EndCall on an answered call: Graph terminate sent, Meta to confirm
  kAgentEnded,       // EndCall before an answer, or the hang-up grace ran out; agent_id
  kRingTimeout,      // the durable ring timer fired
  kMaxDuration,      // an answered call outlived the longest a call may last (its end never came)
  kConnectRefused,   // Graph `connect` failed (outbound); meta_error_code
};

struct Event {
  EventKind kind;
  // When it happened: Meta's timestamp for webhooks, the service's clock for the rest.
  absl::Time at;
  // kTerminate: Meta's status (COMPLETED, FAILED, or neither when absent), and the times Meta
  // gives when the call was picked up. A picked-up call Meta says FAILED failed, with or
  // without errors[]; one never picked up is Missed unless errors[] name a fault, since Meta
  // reports every unanswered call as FAILED. errors[] otherwise only add detail.
  bool completed = false;
  bool failed = false;
  std::optional<absl::Time> start_time;
  std::optional<absl::Time> end_time;
  std::optional<absl::Duration> duration;
  // kTerminate (first of errors[]) or kConnectRefused; 0 when none. With Meta's title, message
  // and details of it, kept on the call.
  int meta_error_code = 0;
  std::string meta_error_title;
  std::string meta_error_message;
  std::string meta_error_details;
  std::vector<std::string> agent_ids;  // kRoutingRang
  // kRoutingEnded: the end reason (RING_TIMEOUT, NO_AGENTS_AVAILABLE, AFTER_HOURS) and the
  // fallback routing ran (AUTO_REPLY, VOICEMAIL, NONE).
  std::string reason;
  std::string fallback;
  std::string agent_id;  // agent commands
};

struct Transition {
  v1::CallState from = v1::CALL_STATE_UNSPECIFIED;
  v1::CallState to = v1::CALL_STATE_UNSPECIFIED;
  // The state changed: publish CallStateChanged.
  bool publish = false;
  // The record changed (a transition, or details filled in): save it.
  bool changed = false;
};

bool IsTerminal(v1::CallState state);

// Applies `event` to `call`. A call first seen through this event has state UNSPECIFIED and
// its direction set. Errors (commands only): FAILED_PRECONDITION with reason CALL_NOT_RINGING
// (answer or reject a call that no longer waits), CALL_NOT_ANSWERED (hang up a call before its
// answer), CALL_ALREADY_FINISHED or WRONG_DIRECTION, and metadata "state". Which agent may
// answer is routing's to say (ClaimCall, asked before an answer is applied).
absl::StatusOr<Transition> Apply(v1::Call& call, const Event& event);

// Meta's error codes for calls that failed in media setup or transport (138019-138023).
bool IsMediaError(int meta_error_code);

}  // namespace switchboard::calls
