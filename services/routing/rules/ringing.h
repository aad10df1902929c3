// Who rings for an inbound call, for how long, and what happens when nobody answers: pure
// decisions over a team's configuration, its members' availability and the time.
//
// A call is rung in rounds: round 1 by the team that serves the business number, one more round
// per escalation. A round lasts its team's ring timeout and is made of steps: broadcast and
// role-based ring everyone at once (one step); round-robin rings one agent at a time (a step
// per agent, longest idle first); sticky rings the contact's assigned agent alone, then the rest
// of the team at once. When a round runs out (or finds nobody to ring) the team's fallback
// decides: another round (escalation) or the end of ringing (auto-reply, voicemail, nothing).
//
//   rules::Step step = rules::FirstStep(team, members, assigned, now);
//   if (step.agents.empty()) rules::Fallback after = rules::AfterRound(team, ring);
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing::rules {

inline constexpr absl::Duration kDefaultRingTimeout = absl::Seconds(30);
inline constexpr absl::Duration kMinRingTimeout = absl::Seconds(5);
inline constexpr absl::Duration kMaxRingTimeout = absl::Seconds(60);
// Sticky: how long the assigned agent rings alone; round-robin: how long each agent rings.
inline constexpr absl::Duration kDefaultAgentRingTimeout = absl::Seconds(15);
// Rounds per call, whatever the escalation chains say (a chain edited into a loop after it was
// validated still ends).
inline constexpr int kMaxRounds = 5;

// A team member as the selection sees it.
struct Candidate {
  std::string agent_id;
  std::vector<std::string> roles;
  bool offerable = false;  // rules::Offerable now
  std::optional<absl::Time> last_call_end;
};

// One step of a round: these agents ring until `deadline`.
struct Step {
  std::vector<std::string> agents;  // sorted by agent id, except round-robin's single agent
  absl::Time deadline;
};

// A round in progress.
struct Round {
  absl::Time started;
  absl::Time deadline;             // started + the team's ring timeout
  std::vector<std::string> tried;  // rung in earlier steps of this round
  int steps = 0;
};

absl::Duration RingTimeout(const v1::Team& team);
absl::Duration AgentRingTimeout(const v1::Team& team);

// The first step of a round of `team` starting at `now`; no agents when nobody can be rung.
// `assigned`: the contact's assigned agent (sticky), empty when none.
Step FirstStep(const v1::Team& team, const std::vector<Candidate>& members,
               const std::string& assigned, const Round& round, absl::Time now);

// The step after the current one ended unanswered at `now`, within the same round; no agents
// when the round is over (its deadline passed, or nobody left to ring).
Step NextStep(const v1::Team& team, const std::vector<Candidate>& members, const Round& round,
              absl::Time now);

// What to do once a round ended without a winner.
struct Next {
  v1::FallbackAction action = v1::FALLBACK_ACTION_NONE;
  // ESCALATION: the team to ring next (empty for named agents only), and named agents.
  std::string team_id;
  std::vector<std::string> agent_ids;
};

// The fallback after a round of `team` (after-hours uses AfterHours instead). An escalation
// past kMaxRounds, or with nobody named, ends ringing with no action.
Next AfterRound(const v1::Team& team, int round);

// The fallback for a call arriving outside the number's hours: never an escalation.
Next AfterHours(const v1::Team& team);

// Checks a team as UpsertTeam receives it (ids, mode, timeouts, roles, fallbacks), with
// INVALID_ARGUMENT and a reason. Cross-team facts (numbers in other teams, escalation loops)
// are the store's and Loops()'s.
absl::Status Validate(const v1::Team& team);

// Whether following escalation_team_id from `team` comes back to a team already on the path,
// given the other teams of the tenant (`team` replaces its stored version). Returns the path
// when it loops ("a → b → a"), empty otherwise.
std::string Loops(const v1::Team& team, const std::vector<v1::Team>& others);

}  // namespace switchboard::routing::rules
