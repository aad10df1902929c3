#include "services/routing/rules/ringing.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::routing::rules {
namespace {

bool Tried(const Round& round, const std::string& agent) {
  return std::find(round.tried.begin(), round.tried.end(), agent) != round.tried.end();
}

bool HasRole(const Candidate& c, const std::string& role) {
  return std::find(c.roles.begin(), c.roles.end(), role) != c.roles.end();
}

// Every offerable member not rung yet in this round (and holding `role` when not empty).
std::vector<std::string> Everyone(const std::vector<Candidate>& members, const Round& round,
                                  const std::string& role = "") {
  std::vector<std::string> agents;
  for (const Candidate& c : members) {
    if (!c.offerable || Tried(round, c.agent_id)) continue;
    if (!role.empty() && !HasRole(c, role)) continue;
    agents.push_back(c.agent_id);
  }
  std::sort(agents.begin(), agents.end());
  agents.erase(std::unique(agents.begin(), agents.end()), agents.end());
  return agents;
}

// Round-robin's next agent: the longest since their last call ended (never is longest), ties by
// agent id.
std::vector<std::string> LongestIdle(const std::vector<Candidate>& members, const Round& round) {
  const Candidate* best = nullptr;
  for (const Candidate& c : members) {
    if (!c.offerable || Tried(round, c.agent_id)) continue;
    if (best == nullptr) {
      best = &c;
      continue;
    }
    const absl::Time mine = c.last_call_end.value_or(absl::InfinitePast());
    const absl::Time theirs = best->last_call_end.value_or(absl::InfinitePast());
    if (mine < theirs || (mine == theirs && c.agent_id < best->agent_id)) best = &c;
  }
  if (best == nullptr) return {};
  return {best->agent_id};
}

absl::Duration DurationOr(const google::protobuf::Duration& d, bool set, absl::Duration dflt) {
  return set ? core::FromProto(d) : dflt;
}

absl::Status CheckFallback(const v1::Fallback& f, absl::string_view field, bool after_hours) {
  RETURN_IF_ERROR(api::OptionalEnum(f.action(), v1::FallbackAction_descriptor(),
                                    absl::StrCat(field, ".action")));
  if (f.action() == v1::FALLBACK_ACTION_ESCALATION) {
    if (after_hours) {
      return core::InvalidArgument("INVALID_FALLBACK",
                                   "after-hours calls cannot escalate: the number is closed");
    }
    if (f.escalation_team_id().empty() && f.escalation_agent_ids().empty()) {
      return core::InvalidArgument("INVALID_FALLBACK",
                                   "an escalation names a team or agents (escalation_team_id, "
                                   "escalation_agent_ids)");
    }
  }
  if (!f.escalation_team_id().empty()) {
    RETURN_IF_ERROR(
        api::RequireId(f.escalation_team_id(), absl::StrCat(field, ".escalation_team_id")));
  }
  for (const std::string& a : f.escalation_agent_ids()) {
    RETURN_IF_ERROR(api::RequireId(a, absl::StrCat(field, ".escalation_agent_ids")));
  }
  for (const auto& [text, name] :
       {std::pair{&f.auto_reply_text(), "auto_reply_text"},
        std::pair{&f.voicemail_prompt_text(), "voicemail_prompt_text"}}) {
    RETURN_IF_ERROR(api::Text(*text, absl::StrCat(field, ".", name), {.max_chars = 1024}));
  }
  RETURN_IF_ERROR(
      api::Text(f.template_name(), absl::StrCat(field, ".template_name"), {.max_chars = 512}));
  RETURN_IF_ERROR(api::Text(f.template_language_code(),
                            absl::StrCat(field, ".template_language_code"), {.max_chars = 16}));
  return absl::OkStatus();
}

absl::Status CheckDuration(const google::protobuf::Duration& d, absl::string_view field,
                           absl::Duration at_most) {
  const absl::Duration v = core::FromProto(d);
  if (v < kMinRingTimeout || v > at_most) {
    return core::InvalidArgument(
        "INVALID_RING_TIMEOUT",
        absl::StrCat(field, " must be between ", absl::FormatDuration(kMinRingTimeout), " and ",
                     absl::FormatDuration(at_most)),
        {{"field", std::string(field)}});
  }
  return absl::OkStatus();
}

}  // namespace

absl::Duration RingTimeout(const v1::Team& team) {
  return DurationOr(team.ring_timeout(), team.has_ring_timeout(), kDefaultRingTimeout);
}

absl::Duration AgentRingTimeout(const v1::Team& team) {
  return std::min(DurationOr(team.agent_ring_timeout(), team.has_agent_ring_timeout(),
                             kDefaultAgentRingTimeout),
                  RingTimeout(team));
}

Step FirstStep(const v1::Team& team, const std::vector<Candidate>& members,
               const std::string& assigned, const Round& round, absl::Time now) {
  const absl::Time step_end = std::min(round.deadline, now + AgentRingTimeout(team));
  switch (team.routing_mode()) {
    case v1::ROUTING_MODE_STICKY: {
      auto it = std::find_if(members.begin(), members.end(), [&](const Candidate& c) {
        return c.agent_id == assigned && c.offerable;
      });
      if (!assigned.empty() && it != members.end()) return {{assigned}, step_end};
      return {Everyone(members, round), round.deadline};  // the team at once
    }
    case v1::ROUTING_MODE_ROUND_ROBIN:
      return {LongestIdle(members, round), step_end};
    case v1::ROUTING_MODE_ROLE_BASED:
      return {Everyone(members, round, team.required_role()), round.deadline};
    default:  // BROADCAST, and escalations to named agents
      return {Everyone(members, round), round.deadline};
  }
}

Step NextStep(const v1::Team& team, const std::vector<Candidate>& members, const Round& round,
              absl::Time now) {
  if (now >= round.deadline) return {{}, round.deadline};
  switch (team.routing_mode()) {
    case v1::ROUTING_MODE_STICKY:
      return {Everyone(members, round), round.deadline};
    case v1::ROUTING_MODE_ROUND_ROBIN:
      return {LongestIdle(members, round), std::min(round.deadline, now + AgentRingTimeout(team))};
    default:  // one step rang everyone it could
      return {{}, round.deadline};
  }
}

Next AfterRound(const v1::Team& team, int round) {
  const v1::Fallback& f = team.fallback();
  Next next{.action = f.action() == v1::FALLBACK_ACTION_UNSPECIFIED ? v1::FALLBACK_ACTION_NONE
                                                                    : f.action()};
  if (next.action != v1::FALLBACK_ACTION_ESCALATION) return next;
  if (round >= kMaxRounds || (f.escalation_team_id().empty() && f.escalation_agent_ids().empty())) {
    return {.action = v1::FALLBACK_ACTION_NONE};
  }
  next.team_id = f.escalation_team_id();
  next.agent_ids.assign(f.escalation_agent_ids().begin(), f.escalation_agent_ids().end());
  return next;
}

Next AfterHours(const v1::Team& team) {
  const v1::FallbackAction a = team.after_hours_fallback().action();
  if (a == v1::FALLBACK_ACTION_UNSPECIFIED || a == v1::FALLBACK_ACTION_ESCALATION) {
    return {.action = v1::FALLBACK_ACTION_NONE};
  }
  return {.action = a};
}

absl::Status Validate(const v1::Team& team) {
  RETURN_IF_ERROR(api::RequireId(team.team_id(), "team.team_id"));
  RETURN_IF_ERROR(api::Text(team.display_name(), "team.display_name", {.max_chars = 200}));
  RETURN_IF_ERROR(
      api::RequireEnum(team.routing_mode(), v1::RoutingMode_descriptor(), "team.routing_mode"));
  if (team.has_ring_timeout()) {
    RETURN_IF_ERROR(CheckDuration(team.ring_timeout(), "team.ring_timeout", kMaxRingTimeout));
  }
  if (team.has_agent_ring_timeout()) {
    RETURN_IF_ERROR(
        CheckDuration(team.agent_ring_timeout(), "team.agent_ring_timeout", RingTimeout(team)));
  }
  if (team.routing_mode() == v1::ROUTING_MODE_ROLE_BASED || !team.required_role().empty()) {
    RETURN_IF_ERROR(api::RequireId(team.required_role(), "team.required_role"));
  }
  std::set<std::string> seen;
  for (const v1::TeamMember& m : team.members()) {
    RETURN_IF_ERROR(api::RequireId(m.agent_id(), "team.members.agent_id"));
    if (!seen.insert(m.agent_id()).second) {
      return core::InvalidArgument("DUPLICATE_MEMBER",
                                   absl::StrCat("agent ", m.agent_id(), " is listed twice"),
                                   {{"agent_id", m.agent_id()}});
    }
    for (const std::string& role : m.roles()) {
      RETURN_IF_ERROR(api::RequireId(role, "team.members.roles"));
    }
  }
  std::set<std::string> numbers;
  for (const std::string& n : team.business_phone_number_ids()) {
    RETURN_IF_ERROR(api::RequireId(n, "team.business_phone_number_ids"));
    if (!numbers.insert(n).second) {
      return core::InvalidArgument("DUPLICATE_NUMBER",
                                   absl::StrCat("number ", n, " is listed twice"));
    }
  }
  RETURN_IF_ERROR(CheckFallback(team.fallback(), "team.fallback", false));
  if (team.fallback().escalation_team_id() == team.team_id() && !team.team_id().empty()) {
    return core::Error(absl::StatusCode::kFailedPrecondition, "ESCALATION_LOOP",
                       absl::StrCat("team ", team.team_id(), " escalates to itself"),
                       {{"path", absl::StrCat(team.team_id(), " → ", team.team_id())}});
  }
  return CheckFallback(team.after_hours_fallback(), "team.after_hours_fallback", true);
}

std::string Loops(const v1::Team& team, const std::vector<v1::Team>& others) {
  auto find = [&](const std::string& id) -> const v1::Team* {
    if (id == team.team_id()) return &team;
    for (const v1::Team& t : others) {
      if (t.team_id() == id) return &t;
    }
    return nullptr;
  };
  std::vector<std::string> path{team.team_id()};
  const v1::Team* at = &team;
  while (at->fallback().action() == v1::FALLBACK_ACTION_ESCALATION &&
         !at->fallback().escalation_team_id().empty()) {
    const std::string& next = at->fallback().escalation_team_id();
    const bool seen = std::find(path.begin(), path.end(), next) != path.end();
    path.push_back(next);
    if (seen) return absl::StrJoin(path, " → ");
    at = find(next);
    if (at == nullptr) return "";  // escalates to a team that does not exist (checked apart)
  }
  return "";
}

}  // namespace switchboard::routing::rules
