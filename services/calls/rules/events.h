// The events a call's changes announce, built from the call and its transition: the
// CallStateChanged every transition publishes on calls.state.v1 (a full Call snapshot and a
// per-call sequence) and, when the call ends, the TimelineEntry for the contact's conversation.
// Pure: the journal enqueues them in the transaction that saves the call.
//
//   v1::CallStateChanged changed = rules::StateChanged(call, t, cause);   // after the sequence
#pragma once

#include <optional>
#include <string>

#include "absl/time/time.h"
#include "services/calls/rules/lifecycle.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace switchboard::calls {

// What caused a change, for the events it publishes.
struct Cause {
  absl::Time at;               // when it happened (header.occurred_time, ce_time)
  std::string correlation_id;  // from the triggering request or event
  std::string causation_id;    // the ce_id of the triggering event, if any
};

namespace rules {

// `call` as saved (its sequence already advanced).
v1::CallStateChanged StateChanged(const v1::Call& call, const Transition& t, const Cause& cause);
// ce_id of a state change: "<call_id>/<sequence>", the same however often it is written.
std::string StateChangedId(const v1::Call& call);

// The conversation's system message for a call that ended, in `language`; nullopt when the
// call has no contact to write to. Its causation is the state change's ce_id.
std::optional<v1::TimelineEntry> Timeline(const v1::Call& call, absl::string_view language,
                                          const Cause& cause);
// ce_id of the timeline entry: one per call.
std::string TimelineId(const v1::Call& call);

}  // namespace rules
}  // namespace switchboard::calls
