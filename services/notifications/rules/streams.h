// Which stream sees which event, and what each stream's reset snapshot keeps (ADR 0017). Pure:
// the feature (streams.h) stores what these return and the hub delivers it.
//
// Two kinds of stream per tenant: each agent's own (the alerts offered to them, the state of
// the calls they are on, the callbacks due for them) and the tenant-wide one a supervisor's
// dashboard reads (every call state, usage and suspension alerts, callbacks due). Incoming-call
// alerts never go to the tenant-wide stream.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"

namespace switchboard::notifications::rules {

// One stream: an agent's (agent_id set) or the tenant-wide one (agent_id empty).
struct StreamRef {
  std::string tenant_id;
  std::string agent_id;

  bool tenant_wide() const { return agent_id.empty(); }
  friend bool operator==(const StreamRef&, const StreamRef&) = default;
};

// How one event changes one stream's snapshot (what a reset shows): an alert ringing or a call
// in progress is put under its field, or removed.
struct SnapshotChange {
  enum class Op { kNone, kPut, kRemove };
  Op op = Op::kNone;
  // "ring:<call_id>" (an IncomingCallAlert) or "call:<call_id>" (a calls.v1.Call).
  std::string field;
  // The serialized message for kPut.
  std::string value;
};

// What one event appends to one stream.
struct Entry {
  StreamRef stream;
  // Without notification_id (the store gives it). Unset: only the snapshot changes.
  std::optional<v1::Notification> notification;
  SnapshotChange snapshot;
};

std::string RingField(absl::string_view call_id);
std::string CallField(absl::string_view call_id);

// Each offered agent's alert (OFFERED) or its withdrawal (CLAIMED, WITHDRAWN).
std::vector<Entry> FromOffer(const routing::v1::CallOffer& offer);
// The tenant-wide stream and the call's agent (answered_by_agent_id), when there is one.
std::vector<Entry> FromCallState(const calls::v1::CallStateChanged& event);
// The assigned agent (when there is one) and the tenant-wide stream.
std::vector<Entry> FromCallbackDue(const calls::v1::CallbackDue& event);
// Only the updates that raise an alert (UsageUpdated.alert), to the tenant-wide stream.
std::vector<Entry> FromUsage(const billing::v1::UsageUpdated& event);
// Suspensions and resumptions, to the tenant-wide stream.
std::vector<Entry> FromSuspension(const eligibility::v1::CallingSuspensionChanged& event);

// The kind a notification is filtered by (SubscribeRequest.kinds); UNSPECIFIED for the
// stream's own messages (SubscriptionStarted, resets), which are always sent.
v1::NotificationKind KindOf(const v1::Notification& notification);

// Whether a call in `state` is over (it leaves the snapshot).
bool IsTerminal(calls::v1::CallState state);

// ---- resume ids ------------------------------------------------------------------------------

// A position in a stream as the store numbers it: the stream's epoch (random, new whenever the
// stream is created anew) and an entry id ("<ms>-<seq>", increasing within the epoch).
struct Position {
  std::string epoch;
  std::string entry_id;
};

// "<epoch>.<entry_id>", what clients see as notification_id.
std::string FormatId(const Position& position);
// nullopt when `id` is not one FormatId gives.
std::optional<Position> ParseId(absl::string_view id);
// Entry ids compared as (ms, seq); false for ids that do not parse.
bool EntryIdLess(absl::string_view a, absl::string_view b);

// ---- resets ----------------------------------------------------------------------------------

inline constexpr int kMaxSnapshotCalls = 200;

// A reset from a stream's stored snapshot (field -> serialized value): the alerts whose ring
// deadline is still ahead of `now`, the calls not yet over, most recent first, at most
// kMaxSnapshotCalls. Fields that do not parse are skipped.
v1::StreamReset BuildReset(v1::ResetReason reason,
                           const std::vector<std::pair<std::string, std::string>>& snapshot,
                           absl::Time now);

}  // namespace switchboard::notifications::rules
