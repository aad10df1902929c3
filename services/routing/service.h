// switchboard.routing.v1.RoutingService: each handler authenticates (runtime::Handle) and hands
// the request to a feature: Agents (availability), Teams (configuration), Ringer (claims and
// contact assignments), Settings (the tenant's routing settings).
#pragma once

#include "services/routing/agents.h"
#include "services/routing/ringer.h"
#include "services/routing/settings.h"
#include "services/routing/teams.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"

namespace switchboard::routing {

class Service final : public v1::RoutingService::Service {
 public:
  Service(Agents& agents, Teams& teams, Ringer& ringer, Settings& settings);

  grpc::Status SetAgentAvailability(grpc::ServerContext* ctx,
                                    const v1::SetAgentAvailabilityRequest* req,
                                    v1::SetAgentAvailabilityResponse* resp) override;
  grpc::Status Heartbeat(grpc::ServerContext* ctx, const v1::HeartbeatRequest* req,
                         v1::HeartbeatResponse* resp) override;
  grpc::Status GetAgentAvailability(grpc::ServerContext* ctx,
                                    const v1::GetAgentAvailabilityRequest* req,
                                    v1::GetAgentAvailabilityResponse* resp) override;
  grpc::Status ListAgents(grpc::ServerContext* ctx, const v1::ListAgentsRequest* req,
                          v1::ListAgentsResponse* resp) override;
  grpc::Status UpsertTeam(grpc::ServerContext* ctx, const v1::UpsertTeamRequest* req,
                          v1::UpsertTeamResponse* resp) override;
  grpc::Status GetTeam(grpc::ServerContext* ctx, const v1::GetTeamRequest* req,
                       v1::GetTeamResponse* resp) override;
  grpc::Status ListTeams(grpc::ServerContext* ctx, const v1::ListTeamsRequest* req,
                         v1::ListTeamsResponse* resp) override;
  grpc::Status GetTeamStats(grpc::ServerContext* ctx, const v1::GetTeamStatsRequest* req,
                            v1::GetTeamStatsResponse* resp) override;
  grpc::Status ClaimCall(grpc::ServerContext* ctx, const v1::ClaimCallRequest* req,
                         v1::ClaimCallResponse* resp) override;
  grpc::Status SetContactAssignment(grpc::ServerContext* ctx,
                                    const v1::SetContactAssignmentRequest* req,
                                    v1::SetContactAssignmentResponse* resp) override;
  grpc::Status GetRoutingSettings(grpc::ServerContext* ctx,
                                  const v1::GetRoutingSettingsRequest* req,
                                  v1::GetRoutingSettingsResponse* resp) override;
  grpc::Status UpdateRoutingSettings(grpc::ServerContext* ctx,
                                     const v1::UpdateRoutingSettingsRequest* req,
                                     v1::UpdateRoutingSettingsResponse* resp) override;

 private:
  Agents& agents_;
  Teams& teams_;
  Ringer& ringer_;
  Settings& settings_;
};

}  // namespace switchboard::routing
