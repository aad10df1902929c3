// Agents' call availability: what agents set (SetAgentAvailability, Heartbeat), what they and
// supervisors read (GetAgentAvailability, ListAgents), and the announcement of every change on
// routing.availability.v1, written in the same transaction as the change (pg::Outbox).
// rules/availability.h decides; this class orders the reads, locks and writes.
//
//   Agents agents(pool, clock, settings);
//   ASSIGN_OR_RETURN(v1::Agent agent, agents.Set(caller, req));
//   // another feature, inside its own transaction, after changing an agent:
//   RETURN_IF_ERROR(agents.Save(tx, tenant, row));
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "services/routing/rules/availability.h"
#include "services/routing/settings.h"
#include "services/routing/store/store.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing {

class Agents {
 public:
  // Called after an agent who held an offer chose DND or OFFLINE, so the ringing gives the offer
  // up (the ringer owns that; see Ringer::Release).
  using GiveUp = std::function<void(const std::string& tenant, const std::string& call_id,
                                    const std::string& agent_id)>;

  Agents(pg::Pool& pool, const core::Clock& clock, Settings& settings);

  void OnGiveUp(GiveUp give_up) { give_up_ = std::move(give_up); }

  absl::StatusOr<v1::Agent> Set(const auth::Principal& caller,
                                const v1::SetAgentAvailabilityRequest& req);
  absl::StatusOr<v1::Agent> Heartbeat(const auth::Principal& caller,
                                      const v1::HeartbeatRequest& req);
  absl::StatusOr<v1::Agent> Get(const auth::Principal& caller,
                                const v1::GetAgentAvailabilityRequest& req);
  absl::Status List(const auth::Principal& caller, const v1::ListAgentsRequest& req,
                    v1::ListAgentsResponse* resp);

  // The members of `team_id` as the API shows them now, in agent-id order.
  absl::StatusOr<std::vector<v1::Agent>> Members(absl::string_view tenant,
                                                 absl::string_view team_id);

  // Announces the agents whose availability changed by itself (a cooldown ended, presence
  // lapsed). Returns how many were looked at.
  absl::StatusOr<int> Tick();

  // Inside the caller's transaction: stores `row` (locked by the caller) and, when its
  // availability differs from the one last announced, announces it.
  absl::Status Save(pg::Conn& tx, absl::string_view tenant, store::AgentRow& row);
  // The same for several agents, written in one statement.
  absl::Status SaveAll(pg::Conn& tx, absl::string_view tenant,
                       const std::vector<store::AgentRow*>& rows);

  // The tenant's policy, inside the caller's transaction.
  rules::Policy PolicyOf(pg::Conn& tx, absl::string_view tenant) {
    return settings_.PolicyOf(tx, tenant);
  }

  static constexpr int kTickBatch = 200;
  // The most members a wallboard lists.
  static constexpr int kMaxTeamSize = 1000;

 private:
  // Announces `row`'s availability if it changed since it was last announced.
  absl::Status Announce(pg::Conn& tx, absl::string_view tenant, store::AgentRow& row,
                        const rules::Policy& policy, absl::Time now);
  // Several agents as the API shows them now, their teams read in one query.
  absl::StatusOr<std::vector<v1::Agent>> ShowAll(absl::string_view tenant,
                                                 const std::vector<store::AgentRow>& rows);
  // The agent as the API shows it at `now`.
  static v1::Agent Show(const rules::Agent& agent, const rules::Policy& policy, absl::Time now,
                        const std::vector<v1::Team>& teams);
  absl::StatusOr<v1::Agent> Change(const std::string& tenant, const std::string& agent_id,
                                   const std::function<void(rules::Agent&)>& fn);

  pg::Pool& pool_;
  const core::Clock& clock_;
  Settings& settings_;
  GiveUp give_up_;
};

// The API's view of an agent: `view` (Effective at some instant) and since when
// (absl::InfinitePast(): never announced, no time given).
v1::Agent ToProto(const rules::Agent& agent, const rules::View& view, absl::Time since,
                  const std::vector<v1::Team>& teams);

}  // namespace switchboard::routing
