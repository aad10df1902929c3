// Teams: which agents ring for which business numbers, how (routing mode, timeouts), and what
// happens when nobody answers (fallbacks). Admins write them (UpsertTeam); everyone of the
// tenant reads them. rules/ringing.h checks a team on its own; this class adds what needs the
// other teams (a number in one team only, escalations that exist and do not loop) and the
// registry (numbers the tenant owns), under one lock per tenant so two upserts cannot together
// build what each alone would be refused.
//
//   Teams teams(pool, numbers, clock);
//   ASSIGN_OR_RETURN(v1::Team team, teams.Upsert(ctx, caller, req));
#pragma once

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/pg/pg.h"
#include "libs/runtime/numbers.h"
#include "services/routing/agents.h"
#include "switchboard/routing/v1/routing_service.pb.h"

namespace switchboard::routing {

class Teams {
 public:
  Teams(pg::Pool& pool, Agents& agents, runtime::Numbers& numbers, const core::Clock& clock);

  // `incoming`: the request whose token asks the registry about the team's numbers.
  absl::StatusOr<v1::Team> Upsert(const grpc::ServerContextBase* incoming,
                                  const auth::Principal& caller, const v1::UpsertTeamRequest& req);
  absl::StatusOr<v1::Team> Get(const auth::Principal& caller, const v1::GetTeamRequest& req);
  absl::Status List(const auth::Principal& caller, const v1::ListTeamsRequest& req,
                    v1::ListTeamsResponse* resp);
  // The supervisor's wallboard for one team.
  absl::StatusOr<v1::TeamStats> Stats(const auth::Principal& caller,
                                      const v1::GetTeamStatsRequest& req);

 private:
  pg::Pool& pool_;
  Agents& agents_;
  runtime::Numbers& numbers_;
  const core::Clock& clock_;
};

}  // namespace switchboard::routing
