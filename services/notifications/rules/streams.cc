#include "services/notifications/rules/streams.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "libs/core/proto_time.h"
#include "services/notifications/rules/notices.h"

namespace switchboard::notifications::rules {
namespace {

using calls::v1::CallState;
using routing::v1::CallOffer;

v1::Notification Base(const events::v1::EventHeader& header) {
  v1::Notification n;
  *n.mutable_occurred_time() = header.occurred_time();
  return n;
}

Entry To(const StreamRef& stream, v1::Notification notification, SnapshotChange snapshot = {}) {
  return {
      .stream = stream, .notification = std::move(notification), .snapshot = std::move(snapshot)};
}

v1::WithdrawnReason WithdrawnFor(routing::v1::WithdrawReason reason) {
  switch (reason) {
    case routing::v1::WITHDRAW_REASON_CALL_ENDED:
      return v1::WITHDRAWN_REASON_CALL_ENDED;
    case routing::v1::WITHDRAW_REASON_AGENT_UNAVAILABLE:
      return v1::WITHDRAWN_REASON_AGENT_UNAVAILABLE;
    // This agent's turn ended unanswered, whatever comes next for the call.
    default:
      return v1::WITHDRAWN_REASON_RING_TIMEOUT;
  }
}

// "<ms>-<seq>" as two numbers.
std::optional<std::pair<uint64_t, uint64_t>> SplitEntryId(absl::string_view id) {
  size_t dash = id.find('-');
  if (dash == absl::string_view::npos) return std::nullopt;
  uint64_t ms = 0, seq = 0;
  if (!absl::SimpleAtoi(id.substr(0, dash), &ms) || !absl::SimpleAtoi(id.substr(dash + 1), &seq)) {
    return std::nullopt;
  }
  // SimpleAtoi accepts a sign and spaces; an id has digits only.
  for (char c : id) {
    if (c != '-' && (c < '0' || c > '9')) return std::nullopt;
  }
  return std::make_pair(ms, seq);
}

}  // namespace

std::string RingField(absl::string_view call_id) { return absl::StrCat("ring:", call_id); }
std::string CallField(absl::string_view call_id) { return absl::StrCat("call:", call_id); }

std::vector<Entry> FromOffer(const CallOffer& offer) {
  const std::string& tenant = offer.header().tenant_id();
  std::vector<Entry> out;
  std::vector<std::string> agents(offer.offered_agent_ids().begin(),
                                  offer.offered_agent_ids().end());
  if (offer.kind() == routing::v1::CALL_OFFER_KIND_CLAIMED &&
      !offer.claimed_by_agent_id().empty() &&
      std::find(agents.begin(), agents.end(), offer.claimed_by_agent_id()) == agents.end()) {
    agents.push_back(offer.claimed_by_agent_id());
  }
  for (const std::string& agent : agents) {
    if (agent.empty()) continue;
    const StreamRef stream{tenant, agent};
    v1::Notification n = Base(offer.header());
    switch (offer.kind()) {
      case routing::v1::CALL_OFFER_KIND_OFFERED: {
        v1::IncomingCallAlert* alert = n.mutable_incoming_call();
        alert->set_call_id(offer.call_id());
        *alert->mutable_contact() = offer.contact();
        alert->set_business_phone_number_id(offer.business_phone_number_id());
        alert->set_business_display_number(offer.business_display_number());
        *alert->mutable_ring_deadline_time() = offer.ring_deadline_time();
        alert->set_team_id(offer.team_id());
        SnapshotChange put{SnapshotChange::Op::kPut, RingField(offer.call_id()),
                           alert->SerializeAsString()};
        out.push_back(To(stream, std::move(n), std::move(put)));
        break;
      }
      case routing::v1::CALL_OFFER_KIND_CLAIMED: {
        v1::AlertWithdrawn* withdrawn = n.mutable_alert_withdrawn();
        withdrawn->set_call_id(offer.call_id());
        withdrawn->set_reason(agent == offer.claimed_by_agent_id()
                                  ? v1::WITHDRAWN_REASON_ANSWERED_HERE
                                  : v1::WITHDRAWN_REASON_ANSWERED_ELSEWHERE);
        withdrawn->set_answered_by_agent_id(offer.claimed_by_agent_id());
        out.push_back(To(stream, std::move(n),
                         {SnapshotChange::Op::kRemove, RingField(offer.call_id()), ""}));
        break;
      }
      case routing::v1::CALL_OFFER_KIND_WITHDRAWN: {
        v1::AlertWithdrawn* withdrawn = n.mutable_alert_withdrawn();
        withdrawn->set_call_id(offer.call_id());
        withdrawn->set_reason(WithdrawnFor(offer.withdraw_reason()));
        out.push_back(To(stream, std::move(n),
                         {SnapshotChange::Op::kRemove, RingField(offer.call_id()), ""}));
        break;
      }
      default:
        break;
    }
  }
  return out;
}

bool IsTerminal(CallState state) {
  switch (state) {
    case calls::v1::CALL_STATE_ENDED:
    case calls::v1::CALL_STATE_MISSED:
    case calls::v1::CALL_STATE_REJECTED:
    case calls::v1::CALL_STATE_FAILED:
      return true;
    default:
      return false;
  }
}

std::vector<Entry> FromCallState(const calls::v1::CallStateChanged& event) {
  const calls::v1::Call& call = event.call();
  const std::string& tenant = event.header().tenant_id();
  v1::Notification n = Base(event.header());
  *n.mutable_call_state()->mutable_call() = call;
  n.mutable_call_state()->set_previous_state(event.previous_state());
  SnapshotChange change =
      IsTerminal(call.state())
          ? SnapshotChange{SnapshotChange::Op::kRemove, CallField(call.call_id()), ""}
          : SnapshotChange{SnapshotChange::Op::kPut, CallField(call.call_id()),
                           call.SerializeAsString()};
  std::vector<Entry> out;
  out.push_back(To(StreamRef{tenant, ""}, n, change));
  if (!call.answered_by_agent_id().empty()) {
    out.push_back(
        To(StreamRef{tenant, call.answered_by_agent_id()}, std::move(n), std::move(change)));
  }
  return out;
}

std::vector<Entry> FromCallbackDue(const calls::v1::CallbackDue& event) {
  const std::string& tenant = event.header().tenant_id();
  v1::Notification n = Base(event.header());
  *n.mutable_callback_due()->mutable_callback() = event.callback();
  std::vector<Entry> out;
  out.push_back(To(StreamRef{tenant, ""}, n));
  if (!event.callback().assigned_agent_id().empty()) {
    out.push_back(To(StreamRef{tenant, event.callback().assigned_agent_id()}, std::move(n)));
  }
  return out;
}

std::vector<Entry> FromUsage(const billing::v1::UsageUpdated& event) {
  if (event.alert() == billing::v1::USAGE_LEVEL_UNSPECIFIED) return {};
  v1::Notification n = Base(event.header());
  v1::UsageAlert* alert = n.mutable_usage_alert();
  alert->set_month(event.month());
  alert->set_minutes_used(event.minutes_used());
  alert->set_minutes_limit(event.minutes_limit());
  alert->set_percent_used(event.percent_used());
  alert->set_level(event.alert());
  std::vector<Entry> out;
  out.push_back(To(StreamRef{event.header().tenant_id(), ""}, std::move(n)));
  return out;
}

std::vector<Entry> FromSuspension(const eligibility::v1::CallingSuspensionChanged& event) {
  v1::Notification n = Base(event.header());
  v1::SuspensionAlert* alert = n.mutable_suspension_alert();
  alert->set_business_phone_number_id(event.business_phone_number_id());
  alert->set_suspended(event.suspended());
  alert->set_reason_code(event.reason_code());
  if (event.suspended()) *alert->mutable_suspended_until_time() = event.suspended_until_time();
  alert->set_message(SuspensionText(event));
  std::vector<Entry> out;
  out.push_back(To(StreamRef{event.header().tenant_id(), ""}, std::move(n)));
  return out;
}

v1::NotificationKind KindOf(const v1::Notification& notification) {
  switch (notification.payload_case()) {
    case v1::Notification::kIncomingCall:
      return v1::NOTIFICATION_KIND_INCOMING_CALL;
    case v1::Notification::kAlertWithdrawn:
      return v1::NOTIFICATION_KIND_ALERT_WITHDRAWN;
    case v1::Notification::kCallState:
      return v1::NOTIFICATION_KIND_CALL_STATE;
    case v1::Notification::kUsageAlert:
      return v1::NOTIFICATION_KIND_USAGE;
    case v1::Notification::kSuspensionAlert:
      return v1::NOTIFICATION_KIND_SUSPENSION;
    case v1::Notification::kCallbackDue:
      return v1::NOTIFICATION_KIND_CALLBACK_DUE;
    default:
      return v1::NOTIFICATION_KIND_UNSPECIFIED;
  }
}

std::string FormatId(const Position& position) {
  return absl::StrCat(position.epoch, ".", position.entry_id);
}

std::optional<Position> ParseId(absl::string_view id) {
  size_t dot = id.find('.');
  if (dot == absl::string_view::npos || dot == 0 || dot > 32) return std::nullopt;
  absl::string_view epoch = id.substr(0, dot);
  for (char c : epoch) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
  }
  absl::string_view entry = id.substr(dot + 1);
  if (!SplitEntryId(entry).has_value()) return std::nullopt;
  return Position{std::string(epoch), std::string(entry)};
}

bool EntryIdLess(absl::string_view a, absl::string_view b) {
  auto x = SplitEntryId(a), y = SplitEntryId(b);
  if (!x.has_value() || !y.has_value()) return false;
  return *x < *y;
}

v1::StreamReset BuildReset(v1::ResetReason reason,
                           const std::vector<std::pair<std::string, std::string>>& snapshot,
                           absl::Time now) {
  v1::StreamReset reset;
  reset.set_reason(reason);
  std::vector<calls::v1::Call> calls;
  for (const auto& [field, value] : snapshot) {
    if (absl::StartsWith(field, "ring:")) {
      v1::IncomingCallAlert alert;
      if (!alert.ParseFromString(value)) continue;
      if (alert.has_ring_deadline_time() && core::FromProto(alert.ring_deadline_time()) <= now) {
        continue;  // stopped ringing; its withdrawal may still be on its way
      }
      *reset.add_ringing() = std::move(alert);
    } else if (absl::StartsWith(field, "call:")) {
      calls::v1::Call call;
      if (!call.ParseFromString(value) || IsTerminal(call.state())) continue;
      calls.push_back(std::move(call));
    }
  }
  std::sort(reset.mutable_ringing()->begin(), reset.mutable_ringing()->end(),
            [](const auto& a, const auto& b) { return a.call_id() < b.call_id(); });
  std::sort(calls.begin(), calls.end(), [](const auto& a, const auto& b) {
    return core::FromProto(a.offered_time()) > core::FromProto(b.offered_time());
  });
  if (static_cast<int>(calls.size()) > kMaxSnapshotCalls) {
    calls.resize(kMaxSnapshotCalls);
    reset.set_truncated(true);
  }
  for (auto& call : calls) *reset.add_calls() = std::move(call);
  return reset;
}

}  // namespace switchboard::notifications::rules
