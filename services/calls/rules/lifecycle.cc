#include "services/calls/rules/lifecycle.h"

#include <algorithm>

#include "libs/core/error.h"
#include "libs/core/proto_time.h"

namespace switchboard::calls {
namespace {

using v1::CallState;

// One of the call's timestamps: whether it is set, and where it lives.
using Has = bool (v1::Call::*)() const;
using Mutable = google::protobuf::Timestamp* (v1::Call::*)();

// Sets a timestamp the record does not have yet.
bool Fill(v1::Call& call, Has has, Mutable field, absl::Time t) {
  if ((call.*has)()) return false;
  *(call.*field)() = core::ToProto(t);
  return true;
}

// Sets a timestamp from authoritative evidence (Meta's terminate), whatever was there.
bool Overwrite(v1::Call& call, Has has, Mutable field, absl::Time t) {
  google::protobuf::Timestamp p = core::ToProto(t);
  if ((call.*has)()) {
    const google::protobuf::Timestamp& now = *(call.*field)();
    if (now.seconds() == p.seconds() && now.nanos() == p.nanos()) return false;
  }
  *(call.*field)() = p;
  return true;
}

absl::Status Refuse(absl::string_view reason, absl::string_view message, CallState state) {
  return core::Error(absl::StatusCode::kFailedPrecondition, reason, message,
                     {{"state", v1::CallState_Name(state)}});
}

class Machine {
 public:
  Machine(v1::Call& call, const Event& e) : call_(call), e_(e), t_{.from = call.state()} {}

  absl::StatusOr<Transition> Run() {
    bool inbound = call_.direction() == v1::CALL_DIRECTION_INBOUND;
    switch (e_.kind) {
      case EventKind::kConnect:
        if (inbound) {
          if (State() == v1::CALL_STATE_UNSPECIFIED) Move(v1::CALL_STATE_OFFERED);
          // New, late or repeated: the offer time is all it adds otherwise.
          Note(Fill(call_, &v1::Call::has_offered_time, &v1::Call::mutable_offered_time, e_.at));
        } else {
          Answered();
        }
        break;
      case EventKind::kRinging:
        if (Live() && Before(v1::CALL_STATE_RINGING)) Move(v1::CALL_STATE_RINGING);
        Note(Fill(call_, &v1::Call::has_ringing_time, &v1::Call::mutable_ringing_time, e_.at));
        break;
      case EventKind::kAccepted:
        Answered();
        break;
      case EventKind::kRejected:
        if (Live() && Before(v1::CALL_STATE_ANSWERED)) {
          Finish(v1::CALL_STATE_REJECTED, "CONTACT_REJECTED", v1::DISCONNECTOR_CONTACT, e_.at);
        }
        break;
      case EventKind::kTerminate:
        Terminate();
        break;
      case EventKind::kRoutingRang: {
        if (!inbound) return Refuse("WRONG_DIRECTION", "only inbound calls ring agents", State());
        if (!Live() || !Before(v1::CALL_STATE_ANSWERED)) return t_;  // too late to ring
        std::vector<std::string> agents = e_.agent_ids;
        std::sort(agents.begin(), agents.end());
        std::vector<std::string> current(call_.offered_agent_ids().begin(),
                                         call_.offered_agent_ids().end());
        if (agents != current) {
          call_.clear_offered_agent_ids();
          for (auto& a : agents) call_.add_offered_agent_ids(a);
          Note(true);
        }
        if (Before(v1::CALL_STATE_RINGING)) Move(v1::CALL_STATE_RINGING);
        Note(Fill(call_, &v1::Call::has_ringing_time, &v1::Call::mutable_ringing_time, e_.at));
        break;
      }
      case EventKind::kRoutingClaimed:
        // The intent to answer, recorded before Meta is asked to accept: the answer's own
        // record may never come (a crash after Meta accepted), and Meta's terminate then
        // attributes the call to this agent, whichever of the two arrives first. Changes no
        // state.
        if (!inbound || !call_.claimed_by_agent_id().empty() || e_.agent_id.empty()) return t_;
        call_.set_claimed_by_agent_id(e_.agent_id);
        if (State() == v1::CALL_STATE_ENDED && call_.answered_by_agent_id().empty()) {
          call_.set_answered_by_agent_id(e_.agent_id);  // Meta's terminate came first
        }
        Note(true);
        break;
      case EventKind::kAgentAnswered:
        if (!inbound)
          return Refuse("WRONG_DIRECTION", "outbound calls are answered by the contact", State());
        if (!Live() || !Before(v1::CALL_STATE_ANSWERED)) {
          return Refuse("CALL_NOT_RINGING", "the call is no longer waiting to be answered",
                        State());
        }
        // Who may answer is routing's to say (ClaimCall, before Meta is asked): the agents
        // listed here can lag behind its latest step.
        call_.set_answered_by_agent_id(e_.agent_id);
        Answered();
        break;
      case EventKind::kAgentRejected:
        if (!inbound) return Refuse("WRONG_DIRECTION", "end an outbound call instead", State());
        if (!Live() || !Before(v1::CALL_STATE_ANSWERED)) {
          return Refuse("CALL_NOT_RINGING", "only a ringing call can be rejected", State());
        }
        Finish(v1::CALL_STATE_REJECTED, "BUSINESS_REJECTED", v1::DISCONNECTOR_AGENT, e_.at);
        break;
      case EventKind::kHangupRequested:
        if (!Live()) return t_;  // already over: nothing left to hang up
        if (State() != v1::CALL_STATE_ANSWERED) {
          return Refuse("CALL_NOT_ANSWERED", "only an answered call can be hung up", State());
        }
        Note(Fill(call_, &v1::Call::has_hangup_requested_time,
                  &v1::Call::mutable_hangup_requested_time, e_.at));
        break;
      case EventKind::kAgentEnded:
        if (!Live()) return Refuse("CALL_ALREADY_FINISHED", "the call has already ended", State());
        if (State() == v1::CALL_STATE_ANSWERED) {
          absl::Duration talk = e_.at - core::FromProto(call_.answered_time());
          call_.mutable_duration()->set_seconds(
              absl::ToInt64Seconds(std::max(talk, absl::ZeroDuration())));
          Finish(v1::CALL_STATE_ENDED, "COMPLETED", v1::DISCONNECTOR_AGENT, e_.at);
        } else if (inbound) {
          return Refuse("CALL_NOT_ANSWERED", "reject a ringing call instead of ending it", State());
        } else {
          Finish(v1::CALL_STATE_MISSED, "CANCELED", v1::DISCONNECTOR_AGENT, e_.at);
        }
        break;
      case EventKind::kRingTimeout:
        if (Live() && Before(v1::CALL_STATE_ANSWERED)) {
          Finish(v1::CALL_STATE_MISSED, "RING_TIMEOUT", v1::DISCONNECTOR_SYSTEM, e_.at);
        }
        break;
      case EventKind::kMaxDuration:
        // Meta's terminate never came. The talk time is Meta's to report: without one the call
        // has none, so billing rates nothing on the suite's guess; a late terminate brings it.
        if (State() == v1::CALL_STATE_ANSWERED) {
          call_.clear_duration();
          Finish(v1::CALL_STATE_ENDED, "MAX_DURATION", v1::DISCONNECTOR_SYSTEM, e_.at);
        }
        break;
      case EventKind::kRoutingEnded:
        if (!inbound) return Refuse("WRONG_DIRECTION", "only inbound calls ring agents", State());
        if (Live() && Before(v1::CALL_STATE_ANSWERED)) {
          call_.set_fallback_action(e_.fallback);
          Finish(v1::CALL_STATE_MISSED, e_.reason.c_str(), v1::DISCONNECTOR_SYSTEM, e_.at);
        }
        break;
      case EventKind::kConnectRefused:
        if (Live() && Before(v1::CALL_STATE_ANSWERED)) {
          KeepMetaError();
          Finish(v1::CALL_STATE_FAILED, "GRAPH_API_ERROR", v1::DISCONNECTOR_META, e_.at);
        }
        break;
    }
    t_.to = State();
    return t_;
  }

 private:
  CallState State() const { return call_.state(); }
  bool Live() const { return !IsTerminal(State()); }
  // Whether the live call has not reached `s` yet (UNSPECIFIED < OFFERED < RINGING < ANSWERED).
  bool Before(CallState s) const { return State() < s; }
  void Note(bool changed) { t_.changed = t_.changed || changed; }

  void Move(CallState to) {
    call_.set_state(to);
    t_.publish = t_.changed = true;
  }

  void Answered() {
    if (Live() && Before(v1::CALL_STATE_ANSWERED)) {
      Note(Fill(call_, &v1::Call::has_answered_time, &v1::Call::mutable_answered_time, e_.at));
      Move(v1::CALL_STATE_ANSWERED);
    }
  }

  void Finish(CallState to, const char* reason, v1::Disconnector by, absl::Time at) {
    call_.set_end_reason(reason);
    call_.set_disconnected_by(by);
    Note(Fill(call_, &v1::Call::has_ended_time, &v1::Call::mutable_ended_time, at));
    Move(to);
  }

  void Terminate() {
    bool picked_up = e_.start_time.has_value() ||
                     (e_.duration.has_value() && *e_.duration > absl::ZeroDuration());
    if (State() == v1::CALL_STATE_ENDED ||
        (Live() && (picked_up || State() == v1::CALL_STATE_ANSWERED))) {
      // Meta's times are the authority on an answered call, whatever arrived first.
      if (call_.answered_by_agent_id().empty() && !call_.claimed_by_agent_id().empty()) {
        // Picked up, but the answer was never recorded: the claim's agent answered it.
        call_.set_answered_by_agent_id(call_.claimed_by_agent_id());
        Note(true);
      }
      if (e_.start_time) {
        Note(Overwrite(call_, &v1::Call::has_answered_time, &v1::Call::mutable_answered_time,
                       *e_.start_time));
      } else if (!call_.has_answered_time()) {
        Note(Fill(call_, &v1::Call::has_answered_time, &v1::Call::mutable_answered_time, e_.at));
      }
      absl::Time ended = e_.end_time.value_or(e_.at);
      if (e_.duration.has_value()) {
        if (call_.duration().seconds() != absl::ToInt64Seconds(*e_.duration)) {
          call_.mutable_duration()->set_seconds(absl::ToInt64Seconds(*e_.duration));
          Note(true);
        }
      } else if (!call_.has_duration()) {
        call_.mutable_duration()->set_seconds(
            absl::ToInt64Seconds(ended - core::FromProto(call_.answered_time())));
        Note(true);
      }
      if (e_.end_time) {
        Note(Overwrite(call_, &v1::Call::has_ended_time, &v1::Call::mutable_ended_time,
                       *e_.end_time));
      }
      if (State() == v1::CALL_STATE_ENDED) return;  // a repeat: times settled, nothing else
      KeepMetaError();                              // errors[] add detail; Meta's status decides
      if (e_.failed || (!e_.completed && e_.meta_error_code != 0)) {
        Fail(ended);
        return;
      }
      // Meta's terminate confirms an agent's hang-up, or else the contact ended the call.
      Finish(v1::CALL_STATE_ENDED, "COMPLETED",
             call_.has_hangup_requested_time() ? v1::DISCONNECTOR_AGENT : v1::DISCONNECTOR_CONTACT,
             ended);
      return;
    }
    if (!Live()) return;  // rejected, missed or failed already: Meta's terminate confirms it
    // Never picked up: Meta says FAILED for every unanswered call, so only an error in
    // errors[] makes it a failure rather than a missed call.
    KeepMetaError();
    if (!e_.completed && e_.meta_error_code != 0) {
      Fail(e_.end_time.value_or(e_.at));
      return;
    }
    bool inbound = call_.direction() == v1::CALL_DIRECTION_INBOUND;
    Finish(v1::CALL_STATE_MISSED, inbound ? "CALLER_HUNG_UP" : "CONTACT_UNANSWERED",
           v1::DISCONNECTOR_CONTACT, e_.end_time.value_or(e_.at));
  }

  // Meta failed the call: a media timeout when its error says so, else Meta's error (which may
  // come without errors[], then the call carries no code).
  void Fail(absl::Time at) {
    Finish(v1::CALL_STATE_FAILED, IsMediaError(e_.meta_error_code) ? "MEDIA_TIMEOUT" : "META_ERROR",
           v1::DISCONNECTOR_META, at);
  }

  // Meta's error, with its words, on the call (nothing when the event carries none).
  void KeepMetaError() {
    if (e_.meta_error_code == 0) return;
    call_.set_meta_error_code(e_.meta_error_code);
    call_.set_meta_error_title(e_.meta_error_title);
    call_.set_meta_error_message(e_.meta_error_message);
    call_.set_meta_error_details(e_.meta_error_details);
  }

  v1::Call& call_;
  const Event& e_;
  Transition t_;
};

}  // namespace

bool IsTerminal(v1::CallState state) {
  return state == v1::CALL_STATE_ENDED || state == v1::CALL_STATE_MISSED ||
         state == v1::CALL_STATE_REJECTED || state == v1::CALL_STATE_FAILED;
}

bool IsMediaError(int code) { return code >= 138019 && code <= 138023; }

absl::StatusOr<Transition> Apply(v1::Call& call, const Event& event) {
  return Machine(call, event).Run();
}

}  // namespace switchboard::calls
