// Routing's PostgreSQL schema (migrations/): agents, teams and their numbers and members,
// contact assignments, and the rings of inbound calls. SQL only: rules/ decides every value;
// the feature classes hold the transactions. Functions taking a pg::Conn run inside the
// caller's transaction; `Lock*` take row locks (FOR UPDATE) that serialize every change of an
// agent or a ring across replicas, always in agent-id order so two transactions never wait on
// each other in a cycle.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/api/page.h"
#include "libs/pg/pg.h"
#include "services/routing/rules/agent_filter.h"
#include "services/routing/rules/availability.h"
#include "services/routing/rules/settings.h"
#include "switchboard/events/v1/envelope.pb.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing::store {

// An agent row: the rules' view plus its announcement sequence.
struct AgentRow {
  rules::Agent agent;
  int64_t sequence = 0;
};

// A ring row (one inbound call).
struct Ring {
  enum class State { kRinging = 1, kClaimed = 2, kFinished = 3 };
  std::string tenant;
  std::string call_id;
  State state = State::kRinging;
  int round = 0;
  std::string team_id;
  v1::RoutingMode mode = v1::ROUTING_MODE_UNSPECIFIED;
  std::vector<std::string> ringing;
  std::vector<std::string> tried;
  // The round's agents when an escalation named agents instead of a team.
  std::vector<std::string> named;
  absl::Time round_start = absl::InfinitePast();
  absl::Time round_deadline = absl::InfinitePast();
  std::optional<absl::Time> due;  // the step's deadline while ringing
  std::string winner;
  v1::FallbackAction fallback_action = v1::FALLBACK_ACTION_UNSPECIFIED;
  events::v1::ContactRef contact;
  std::string business_phone_number_id;
  std::string business_display_number;
  int64_t sequence = 0;
  std::optional<absl::Time> start;  // the first offer (nullopt for rings from before it was kept)
};

// What the wallboard shows of one team's rings.
struct TeamCounts {
  std::vector<std::string> ringing;        // agents ringing now, each once
  int waiting = 0;                         // rings ringing now
  std::optional<absl::Time> oldest_start;  // the longest waiting one's first offer
  int answered = 0;                        // claimed since `since`
  int missed = 0;                          // finished without a winner since `since`
  absl::Duration average_answer;           // first offer to claim, over those answered
};

// ---- agents -------------------------------------------------------------------------------------

// The agents' rows, locked, in agent-id order; agents never seen are absent.
absl::StatusOr<std::vector<AgentRow>> LockAgents(pg::Conn& tx, absl::string_view tenant,
                                                 std::vector<std::string> agent_ids);
absl::StatusOr<std::optional<AgentRow>> LockAgent(pg::Conn& tx, absl::string_view tenant,
                                                  absl::string_view agent_id);
// LockAgent for an agent that may never have been seen: its row is created OFFLINE first, so
// two transactions creating the same agent take turns (the second sees the first's row and
// its sequence) instead of both announcing sequence 1.
absl::StatusOr<AgentRow> LockOrAddAgent(pg::Conn& tx, absl::string_view tenant,
                                        absl::string_view agent_id);
absl::Status SaveAgent(pg::Conn& tx, absl::string_view tenant, const AgentRow& row,
                       std::optional<absl::Time> due);
// SaveAgent for several agents in one statement; `due[i]` is rows[i]'s.
absl::Status SaveAgents(pg::Conn& tx, absl::string_view tenant,
                        const std::vector<const AgentRow*>& rows,
                        const std::vector<std::optional<absl::Time>>& due);
absl::StatusOr<std::optional<AgentRow>> GetAgent(pg::Pool& pool, absl::string_view tenant,
                                                 absl::string_view agent_id);
// A page of the tenant's agents in agent-id order, after `after` (Cursor.id), that `filter`
// admits (by the availability last announced).
absl::StatusOr<std::vector<AgentRow>> ListAgents(pg::Pool& pool, absl::string_view tenant,
                                                 const rules::AgentFilter& filter,
                                                 const std::optional<api::Cursor>& after,
                                                 int limit);
// Agents whose availability may have changed by itself at `now`, locked; others skip them.
struct AgentKey {
  std::string tenant;
  std::string agent_id;
};
absl::StatusOr<std::vector<AgentKey>> DueAgents(pg::Conn& tx, absl::Time now, int limit);
// Agents of every tenant by the availability last announced (the metrics' gauge).
absl::StatusOr<std::map<v1::Availability, int64_t>> CountAgents(pg::Pool& pool);
// Every agent of the tenant, in agent-id order (who rings for a number in no team).
absl::StatusOr<std::vector<std::string>> AgentIds(pg::Conn& tx, absl::string_view tenant);
// Inserts OFFLINE rows for the agents not seen yet (team members named before they signed in).
absl::Status AddAgents(pg::Conn& tx, absl::string_view tenant,
                       const std::vector<std::string>& agent_ids);

// ---- teams --------------------------------------------------------------------------------------

// Serializes the tenant's team changes (numbers in one team, escalation loops) until commit.
absl::Status LockTeams(pg::Conn& tx, absl::string_view tenant);
absl::StatusOr<std::vector<v1::Team>> AllTeams(pg::Conn& tx, absl::string_view tenant);
// The team already serving `number`, other than `team_id`.
absl::StatusOr<std::optional<std::string>> NumberOwner(pg::Conn& tx, absl::string_view tenant,
                                                       absl::string_view number,
                                                       absl::string_view team_id);
absl::Status SaveTeam(pg::Conn& tx, absl::string_view tenant, const v1::Team& team);
absl::StatusOr<std::optional<v1::Team>> GetTeam(pg::Conn& tx, absl::string_view tenant,
                                                absl::string_view team_id);
absl::StatusOr<std::vector<v1::Team>> ListTeams(pg::Pool& pool, absl::string_view tenant,
                                                const std::optional<api::Cursor>& after, int limit);
absl::StatusOr<std::optional<v1::Team>> TeamOfNumber(pg::Conn& tx, absl::string_view tenant,
                                                     absl::string_view number);
// The teams `agent_id` is a member of, in team-id order.
// The same for several agents in one query: each agent's teams (agents in none are absent).
absl::StatusOr<std::map<std::string, std::vector<v1::Team>>> TeamsOfAgents(
    pg::Pool& pool, absl::string_view tenant, const std::vector<std::string>& agent_ids);
absl::StatusOr<std::vector<v1::Team>> TeamsOfAgent(pg::Conn& tx, absl::string_view tenant,
                                                   absl::string_view agent_id);

// ---- assignments --------------------------------------------------------------------------------

// Empty `agent_id` clears it.
absl::Status SetAssignment(pg::Conn& tx, absl::string_view tenant, absl::string_view wa_id,
                           absl::string_view agent_id, absl::Time now);
absl::StatusOr<std::string> Assignment(pg::Conn& tx, absl::string_view tenant,
                                       absl::string_view wa_id);

// ---- rings --------------------------------------------------------------------------------------

absl::StatusOr<std::optional<Ring>> LockRing(pg::Conn& tx, absl::string_view tenant,
                                             absl::string_view call_id);
// The ring as committed, without a lock.
absl::StatusOr<std::optional<Ring>> GetRing(pg::Conn& tx, absl::string_view tenant,
                                            absl::string_view call_id);
// A claim's race: marks the ring CLAIMED by `agent_id` when it is ringing for that agent and
// its step's deadline is after `now`, and returns it (locked) to the one claim that did; the
// others wait for it, change nothing and get nullopt.
absl::StatusOr<std::optional<Ring>> TakeRing(pg::Conn& tx, absl::string_view tenant,
                                             absl::string_view call_id, absl::string_view agent_id,
                                             absl::Time now);
absl::Status SaveRing(pg::Conn& tx, const Ring& ring, absl::Time now);
// The team's rings now, and those that ended since `since` (by the team that rang them last).
absl::StatusOr<TeamCounts> CountRings(pg::Pool& pool, absl::string_view tenant,
                                      absl::string_view team_id, absl::Time since);
// Rings whose step deadline passed at `now`, locked; others skip them.
absl::StatusOr<std::vector<Ring>> DueRings(pg::Conn& tx, absl::Time now, int limit);

// ---- calls seen ---------------------------------------------------------------------------------

// Records that the event of `call_id` with `sequence` is applied, and says whether it is to be:
// false when an event as new or newer was applied already, or the call ended. Locks the row.
absl::StatusOr<bool> AdvanceCall(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                                 int64_t sequence, bool ends, absl::Time now);

// ---- settings -----------------------------------------------------------------------------------

// What the tenant set (all nullopt when it never set anything).
absl::StatusOr<rules::TenantSettings> LoadSettings(pg::Conn& conn, absl::string_view tenant);
// LoadSettings with the tenant's row locked (created empty when missing), so two updates of
// different fields both land.
absl::StatusOr<rules::TenantSettings> LockSettings(pg::Conn& tx, absl::string_view tenant,
                                                   absl::Time now);
// Stores `set` and makes every agent of the tenant due at `now`, so the next sweep announces the
// availability the new settings give them (presence judged by another TTL).
absl::Status SaveSettings(pg::Conn& tx, absl::string_view tenant, const rules::TenantSettings& set,
                          absl::Time now);

// Forgets calls that ended and rings that finished before `before` (a redelivery that old is
// past any consumer's retention). Returns the rows removed.
absl::StatusOr<int64_t> Purge(pg::Pool& pool, absl::Time before);

}  // namespace switchboard::routing::store
