#include "services/routing/teams.h"

#include "absl/strings/str_cat.h"
#include "libs/api/page.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "services/routing/rules/ringing.h"
#include "services/routing/store/store.h"

namespace switchboard::routing {
namespace {

constexpr api::PageSizes kTeamPages = {.default_size = 50, .max = 200};

// The agents a team can ring: its members and the agents its fallback names.
std::vector<std::string> AgentsOf(const v1::Team& team) {
  std::vector<std::string> out;
  for (const v1::TeamMember& m : team.members()) out.push_back(m.agent_id());
  for (const std::string& a : team.fallback().escalation_agent_ids()) out.push_back(a);
  return out;
}

// What the other teams of the tenant make of `team`: its numbers free, its escalation there and
// not looping.
absl::Status CheckAgainstOthers(pg::Conn& tx, absl::string_view tenant, const v1::Team& team) {
  for (const std::string& number : team.business_phone_number_ids()) {
    ASSIGN_OR_RETURN(std::optional<std::string> owner,
                     store::NumberOwner(tx, tenant, number, team.team_id()));
    if (owner.has_value()) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "NUMBER_IN_OTHER_TEAM",
                         absl::StrCat("number ", number, " already rings team ", *owner,
                                      "; a number belongs to one team"),
                         {{"business_phone_number_id", number}, {"team_id", *owner}});
    }
  }
  ASSIGN_OR_RETURN(std::vector<v1::Team> all, store::AllTeams(tx, tenant));
  const std::string& escalation = team.fallback().escalation_team_id();
  if (team.fallback().action() == v1::FALLBACK_ACTION_ESCALATION && !escalation.empty() &&
      escalation != team.team_id() && std::none_of(all.begin(), all.end(), [&](const v1::Team& t) {
        return t.team_id() == escalation;
      })) {
    return core::Error(absl::StatusCode::kFailedPrecondition, "ESCALATION_TEAM_NOT_FOUND",
                       absl::StrCat("team ", team.team_id(), " escalates to team ", escalation,
                                    ", which does not exist"),
                       {{"team_id", escalation}});
  }
  if (std::string path = rules::Loops(team, all); !path.empty()) {
    return core::Error(absl::StatusCode::kFailedPrecondition, "ESCALATION_LOOP",
                       absl::StrCat("the escalation chain loops: ", path), {{"path", path}});
  }
  return absl::OkStatus();
}

}  // namespace

Teams::Teams(pg::Pool& pool, Agents& agents, runtime::Numbers& numbers, const core::Clock& clock)
    : pool_(pool), agents_(agents), numbers_(numbers), clock_(clock) {}

absl::StatusOr<v1::Team> Teams::Upsert(const grpc::ServerContextBase* incoming,
                                       const auth::Principal& caller,
                                       const v1::UpsertTeamRequest& req) {
  const std::string& tenant = caller.tenant_id;
  RETURN_IF_ERROR(rules::Validate(req.team()));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  for (const std::string& number : req.team().business_phone_number_ids()) {
    RETURN_IF_ERROR(numbers_.Check(incoming, tenant, number));
  }
  v1::UpsertTeamResponse resp;
  RETURN_IF_ERROR(pg::Once(pool_, tenant, req, &resp, [&](pg::Conn& tx) -> absl::Status {
    RETURN_IF_ERROR(store::LockTeams(tx, tenant));
    v1::Team team = req.team();
    RETURN_IF_ERROR(CheckAgainstOthers(tx, tenant, team));
    *team.mutable_update_time() = core::ToProto(clock_.Now());
    RETURN_IF_ERROR(store::SaveTeam(tx, tenant, team));
    RETURN_IF_ERROR(store::AddAgents(tx, tenant, AgentsOf(team)));
    *resp.mutable_team() = std::move(team);
    return absl::OkStatus();
  }));
  return resp.team();
}

absl::StatusOr<v1::Team> Teams::Get(const auth::Principal& caller, const v1::GetTeamRequest& req) {
  RETURN_IF_ERROR(api::RequireId(req.team_id(), "team_id"));
  std::optional<v1::Team> team;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(team, store::GetTeam(tx, caller.tenant_id, req.team_id()));
    return absl::OkStatus();
  }));
  if (!team.has_value()) return api::NotFound("team");
  return *std::move(team);
}

absl::Status Teams::List(const auth::Principal& caller, const v1::ListTeamsRequest& req,
                         v1::ListTeamsResponse* resp) {
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kTeamPages));
  const std::string binding = api::Binding("routing.ListTeams");
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  ASSIGN_OR_RETURN(std::vector<v1::Team> teams,
                   store::ListTeams(pool_, caller.tenant_id, after, size + 1));
  const bool more = static_cast<int>(teams.size()) > size;
  if (more) teams.resize(size);
  for (v1::Team& team : teams) *resp->add_teams() = std::move(team);
  if (more)
    resp->set_next_page_token(
        api::EncodePageToken({.id = resp->teams().rbegin()->team_id()}, binding));
  return absl::OkStatus();
}

absl::StatusOr<v1::TeamStats> Teams::Stats(const auth::Principal& caller,
                                           const v1::GetTeamStatsRequest& req) {
  const std::string& tenant = caller.tenant_id;
  v1::GetTeamRequest get;
  get.set_team_id(req.team_id());
  ASSIGN_OR_RETURN(v1::Team team, Get(caller, get));
  absl::TimeZone zone = absl::UTCTimeZone();
  if (!req.time_zone().empty()) {
    ASSIGN_OR_RETURN(zone, api::TimeZone(req.time_zone(), "time_zone"));
  }
  const absl::Time now = clock_.Now();
  const absl::Time since = absl::FromCivil(absl::ToCivilDay(now, zone), zone);
  ASSIGN_OR_RETURN(store::TeamCounts counts,
                   store::CountRings(pool_, tenant, team.team_id(), since));
  v1::TeamStats out;
  out.set_team_id(team.team_id());
  for (const std::string& id : counts.ringing) out.add_ringing_agent_ids(id);
  out.set_waiting_calls(counts.waiting);
  if (counts.oldest_start.has_value()) {
    *out.mutable_longest_wait() = core::ToProto(now - *counts.oldest_start);
  }
  out.set_answered_today(counts.answered);
  out.set_missed_today(counts.missed);
  *out.mutable_average_time_to_answer() = core::ToProto(counts.average_answer);
  ASSIGN_OR_RETURN(std::vector<v1::Agent> members, agents_.Members(tenant, team.team_id()));
  for (v1::Agent& a : members) *out.add_agents() = std::move(a);
  *out.mutable_since_time() = core::ToProto(since);
  return out;
}

}  // namespace switchboard::routing
