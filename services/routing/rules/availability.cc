#include "services/routing/rules/availability.h"

#include <algorithm>

#include "libs/core/error.h"

namespace switchboard::routing::rules {
namespace {

bool Present(const Agent& agent, absl::Time now, const Policy& policy) {
  return agent.last_seen.has_value() && now < *agent.last_seen + policy.presence_ttl;
}

bool CoolingDown(const Agent& agent, absl::Time now) {
  return agent.cooldown_end.has_value() && now < *agent.cooldown_end;
}

}  // namespace

View Effective(const Agent& agent, absl::Time now, const Policy& policy) {
  // On a call wins over everything: the call is real whatever the agent chose meanwhile.
  if (!agent.busy_call_id.empty()) return {v1::AVAILABILITY_BUSY, kOnCall};
  if (agent.chosen == v1::AVAILABILITY_OFFLINE) return {v1::AVAILABILITY_OFFLINE, kAgentChose};
  if (!Present(agent, now, policy)) return {v1::AVAILABILITY_OFFLINE, kPresenceExpired};
  if (agent.chosen == v1::AVAILABILITY_DND) {
    return {v1::AVAILABILITY_DND, agent.chosen_reason.empty() ? kAgentChose : agent.chosen_reason};
  }
  if (CoolingDown(agent, now)) return {v1::AVAILABILITY_COOLDOWN, kCoolingDown};
  return {v1::AVAILABILITY_AVAILABLE, kAgentChose};
}

absl::Time Since(const Agent& agent, const View& view, absl::Time now, const Policy& policy) {
  if (agent.published_time.has_value() && view.availability == agent.published &&
      view.reason == agent.published_reason) {
    return *agent.published_time;
  }
  if (view.reason == kPresenceExpired && agent.last_seen.has_value()) {
    return *agent.last_seen + policy.presence_ttl;
  }
  if (agent.published == v1::AVAILABILITY_COOLDOWN && agent.cooldown_end.has_value() &&
      *agent.cooldown_end <= now) {
    return *agent.cooldown_end;
  }
  return now;
}

bool Offerable(const Agent& agent, absl::Time now, const Policy& policy) {
  return agent.offered_call_id.empty() &&
         Effective(agent, now, policy).availability == v1::AVAILABILITY_AVAILABLE;
}

std::optional<absl::Time> Due(const Agent& agent, absl::Time now, const Policy& policy) {
  if (!agent.busy_call_id.empty() || agent.chosen == v1::AVAILABILITY_OFFLINE) {
    return std::nullopt;  // only an event changes these
  }
  std::optional<absl::Time> due;
  if (Present(agent, now, policy)) due = *agent.last_seen + policy.presence_ttl;
  if (agent.chosen == v1::AVAILABILITY_AVAILABLE && CoolingDown(agent, now)) {
    due = due.has_value() ? std::min(*due, *agent.cooldown_end) : *agent.cooldown_end;
  }
  return due;
}

absl::StatusOr<bool> Choose(Agent& agent, v1::Availability availability, absl::Time now) {
  switch (availability) {
    case v1::AVAILABILITY_AVAILABLE:
      agent.cooldown_end.reset();  // AVAILABLE ends a cooldown early
      break;
    case v1::AVAILABILITY_DND:
    case v1::AVAILABILITY_OFFLINE:
      break;
    default:
      return core::InvalidArgument(
          "AVAILABILITY_NOT_SETTABLE",
          "an agent sets AVAILABLE, DND or OFFLINE; BUSY and COOLDOWN follow its calls");
  }
  agent.chosen = availability;
  agent.chosen_reason.clear();
  agent.unanswered_offers = 0;
  agent.last_seen = now;
  return availability != v1::AVAILABILITY_AVAILABLE && !agent.offered_call_id.empty();
}

void Heartbeat(Agent& agent, absl::Time now) {
  if (!agent.last_seen.has_value() || *agent.last_seen < now) agent.last_seen = now;
}

void Offered(Agent& agent, const std::string& call_id) { agent.offered_call_id = call_id; }

void OfferEnded(Agent& agent, const std::string& call_id, OfferEnd end, const Policy& policy) {
  if (agent.offered_call_id != call_id) return;  // already ended (a replayed event)
  agent.offered_call_id.clear();
  if (end != OfferEnd::kRangOut) return;
  ++agent.unanswered_offers;
  if (policy.max_unanswered_offers > 0 && agent.unanswered_offers >= policy.max_unanswered_offers &&
      agent.chosen == v1::AVAILABILITY_AVAILABLE) {
    agent.chosen = v1::AVAILABILITY_DND;
    agent.chosen_reason = kMaxNoAnswer;
  }
}

void CallStarted(Agent& agent, const std::string& call_id) {
  if (agent.offered_call_id == call_id) agent.offered_call_id.clear();
  agent.busy_call_id = call_id;
  agent.unanswered_offers = 0;
  agent.cooldown_end.reset();
}

void CallEnded(Agent& agent, const std::string& call_id, absl::Time at, bool talked,
               const Policy& policy) {
  if (agent.offered_call_id == call_id) agent.offered_call_id.clear();
  if (agent.busy_call_id != call_id) return;  // not this agent's call, or already ended
  agent.busy_call_id.clear();
  if (!talked) return;
  agent.last_call_end = at;
  agent.cooldown_end = at + policy.cooldown;
}

v1::Availability Publish(Agent& agent, const View& view, absl::Time now) {
  const v1::Availability previous = agent.published;
  agent.published = view.availability;
  agent.published_reason = view.reason;
  agent.published_time = now;
  return previous;
}

}  // namespace switchboard::routing::rules
