#include "services/routing/service.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"

namespace switchboard::routing {

using auth::Principal;

Service::Service(Agents& agents, Teams& teams, Ringer& ringer, Settings& settings)
    : agents_(agents), teams_(teams), ringer_(ringer), settings_(settings) {}

grpc::Status Service::SetAgentAvailability(grpc::ServerContext* ctx,
                                           const v1::SetAgentAvailabilityRequest* req,
                                           v1::SetAgentAvailabilityResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_agent(), agents_.Set(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::Heartbeat(grpc::ServerContext* ctx, const v1::HeartbeatRequest* req,
                                v1::HeartbeatResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_agent(), agents_.Heartbeat(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::GetAgentAvailability(grpc::ServerContext* ctx,
                                           const v1::GetAgentAvailabilityRequest* req,
                                           v1::GetAgentAvailabilityResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_agent(), agents_.Get(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::ListAgents(grpc::ServerContext* ctx, const v1::ListAgentsRequest* req,
                                 v1::ListAgentsResponse* resp) {
  return runtime::Handle(ctx,
                         [&](const Principal& caller) { return agents_.List(caller, *req, resp); });
}

grpc::Status Service::UpsertTeam(grpc::ServerContext* ctx, const v1::UpsertTeamRequest* req,
                                 v1::UpsertTeamResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_team(), teams_.Upsert(ctx, caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::GetTeam(grpc::ServerContext* ctx, const v1::GetTeamRequest* req,
                              v1::GetTeamResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_team(), teams_.Get(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::ListTeams(grpc::ServerContext* ctx, const v1::ListTeamsRequest* req,
                                v1::ListTeamsResponse* resp) {
  return runtime::Handle(ctx,
                         [&](const Principal& caller) { return teams_.List(caller, *req, resp); });
}

grpc::Status Service::GetTeamStats(grpc::ServerContext* ctx, const v1::GetTeamStatsRequest* req,
                                   v1::GetTeamStatsResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_stats(), teams_.Stats(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::ClaimCall(grpc::ServerContext* ctx, const v1::ClaimCallRequest* req,
                                v1::ClaimCallResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp, ringer_.Claim(caller, *req));
    return absl::OkStatus();
  });
}

grpc::Status Service::SetContactAssignment(grpc::ServerContext* ctx,
                                           const v1::SetContactAssignmentRequest* req,
                                           v1::SetContactAssignmentResponse* /*resp*/) {
  return runtime::Handle(ctx,
                         [&](const Principal& caller) { return ringer_.Assign(caller, *req); });
}

grpc::Status Service::GetRoutingSettings(grpc::ServerContext* ctx,
                                         const v1::GetRoutingSettingsRequest* /*req*/,
                                         v1::GetRoutingSettingsResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_settings(), settings_.Get(caller));
    return absl::OkStatus();
  });
}

grpc::Status Service::UpdateRoutingSettings(grpc::ServerContext* ctx,
                                            const v1::UpdateRoutingSettingsRequest* req,
                                            v1::UpdateRoutingSettingsResponse* resp) {
  return runtime::Handle(ctx, [&](const Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*resp->mutable_settings(), settings_.Update(caller, *req));
    return absl::OkStatus();
  });
}

}  // namespace switchboard::routing
