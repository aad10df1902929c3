#include "services/routing/agents.h"

#include "absl/strings/str_cat.h"
#include "libs/api/events.h"
#include "libs/api/page.h"
#include "libs/api/validate.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/idempotency.h"
#include "libs/pg/outbox.h"
#include "switchboard/routing/v1/routing_events.pb.h"

namespace switchboard::routing {
namespace {

constexpr api::PageSizes kAgentPages = {.default_size = 100, .max = 500};

// Who may act for another agent: the gateway for a signed-in agent, supervisors and admins.
constexpr std::initializer_list<absl::string_view> kActForOthers = {"gateway", "supervisor",
                                                                    "admin"};

store::AgentRow NewAgent(const std::string& agent_id) {
  store::AgentRow row;
  row.agent.agent_id = agent_id;
  return row;
}

}  // namespace

v1::Agent ToProto(const rules::Agent& agent, const rules::View& view, absl::Time since,
                  const std::vector<v1::Team>& teams) {
  v1::Agent out;
  out.set_agent_id(agent.agent_id);
  out.set_availability(view.availability);
  out.set_availability_reason(view.reason);
  if (since != absl::InfinitePast()) {
    *out.mutable_availability_change_time() = core::ToProto(since);
  }
  if (view.availability == v1::AVAILABILITY_COOLDOWN && agent.cooldown_end.has_value()) {
    *out.mutable_cooldown_end_time() = core::ToProto(*agent.cooldown_end);
  }
  out.set_current_call_id(agent.busy_call_id);
  out.set_offered_call_id(agent.offered_call_id);
  if (agent.last_call_end.has_value()) {
    *out.mutable_last_call_end_time() = core::ToProto(*agent.last_call_end);
  }
  for (const v1::Team& team : teams) {
    out.add_team_ids(team.team_id());
    for (const std::string& number : team.business_phone_number_ids()) {
      out.add_business_phone_number_ids(number);
    }
  }
  return out;
}

Agents::Agents(pg::Pool& pool, const core::Clock& clock, Settings& settings)
    : pool_(pool), clock_(clock), settings_(settings) {}

absl::Status Agents::Save(pg::Conn& tx, absl::string_view tenant, store::AgentRow& row) {
  return SaveAll(tx, tenant, {&row});
}

absl::Status Agents::SaveAll(pg::Conn& tx, absl::string_view tenant,
                             const std::vector<store::AgentRow*>& rows) {
  const absl::Time now = clock_.Now();
  const rules::Policy policy = PolicyOf(tx, tenant);
  std::vector<const store::AgentRow*> written;
  std::vector<std::optional<absl::Time>> due;
  for (store::AgentRow* row : rows) {
    RETURN_IF_ERROR(Announce(tx, tenant, *row, policy, now));
    written.push_back(row);
    due.push_back(rules::Due(row->agent, now, policy));
  }
  return store::SaveAgents(tx, tenant, written, due);
}

absl::Status Agents::Announce(pg::Conn& tx, absl::string_view tenant, store::AgentRow& row,
                              const rules::Policy& policy, absl::Time now) {
  rules::Agent& agent = row.agent;
  const rules::View view = rules::Effective(agent, now, policy);
  const bool changed = view.availability != agent.published ||
                       view.reason != agent.published_reason || !agent.published_time.has_value();
  if (!changed) return absl::OkStatus();
  // A cooldown that ended, or presence that lapsed, changed when it did, not when looked at.
  const absl::Time since = rules::Since(agent, view, now, policy);
  const v1::Availability previous = rules::Publish(agent, view, since);
  ++row.sequence;
  ASSIGN_OR_RETURN(std::vector<v1::Team> teams, store::TeamsOfAgent(tx, tenant, agent.agent_id));
  routing::v1::AgentAvailabilityChanged event;
  *event.mutable_header() = api::Header(tenant, agent.agent_id, row.sequence, since);
  *event.mutable_agent() = ToProto(agent, view, since, teams);
  event.set_previous_availability(previous);
  // Keyed by tenant and agent: the topic is compacted to each agent's latest availability.
  const std::string key = absl::StrCat(tenant, "/", agent.agent_id);
  return pg::Outbox::Enqueue(tx, kafka::kRoutingAvailability, event, key,
                             absl::StrCat("availability.", key, ".", row.sequence), now, "routing");
}

absl::StatusOr<v1::Agent> Agents::Set(const auth::Principal& caller,
                                      const v1::SetAgentAvailabilityRequest& req) {
  const std::string& tenant = caller.tenant_id;
  ASSIGN_OR_RETURN(std::string agent_id,
                   api::ActingAgent(caller, req.agent_id(), "agent_id", kActForOthers));
  RETURN_IF_ERROR(
      api::RequireEnum(req.availability(), v1::Availability_descriptor(), "availability"));
  RETURN_IF_ERROR(api::OptionalId(req.request_id(), "request_id"));
  std::string given_up;  // the offer the agent let go of, if any
  v1::SetAgentAvailabilityResponse resp;
  RETURN_IF_ERROR(pg::Once(pool_, tenant, req, &resp, [&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(store::AgentRow row, store::LockOrAddAgent(tx, tenant, agent_id));
    const std::string held = row.agent.offered_call_id;
    ASSIGN_OR_RETURN(bool give_up, rules::Choose(row.agent, req.availability(), clock_.Now()));
    given_up = give_up ? held : std::string();
    RETURN_IF_ERROR(Save(tx, tenant, row));
    ASSIGN_OR_RETURN(std::vector<v1::Team> teams, store::TeamsOfAgent(tx, tenant, agent_id));
    *resp.mutable_agent() = Show(row.agent, PolicyOf(tx, tenant), clock_.Now(), teams);
    return absl::OkStatus();
  }));
  if (!given_up.empty() && give_up_) give_up_(tenant, given_up, agent_id);
  return resp.agent();
}

absl::StatusOr<v1::Agent> Agents::Heartbeat(const auth::Principal& caller,
                                            const v1::HeartbeatRequest& req) {
  ASSIGN_OR_RETURN(std::string agent_id,
                   api::ActingAgent(caller, req.agent_id(), "agent_id", kActForOthers));
  return Change(caller.tenant_id, agent_id,
                [&](rules::Agent& agent) { rules::Heartbeat(agent, clock_.Now()); });
}

absl::StatusOr<v1::Agent> Agents::Get(const auth::Principal& caller,
                                      const v1::GetAgentAvailabilityRequest& req) {
  std::string agent_id = req.agent_id().empty() ? caller.subject : req.agent_id();
  RETURN_IF_ERROR(api::RequireId(agent_id, "agent_id"));
  ASSIGN_OR_RETURN(std::optional<store::AgentRow> row,
                   store::GetAgent(pool_, caller.tenant_id, agent_id));
  if (!row.has_value()) row = NewAgent(agent_id);  // never seen: OFFLINE
  v1::Agent out;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<v1::Team> teams,
                     store::TeamsOfAgent(tx, caller.tenant_id, agent_id));
    out = Show(row->agent, PolicyOf(tx, caller.tenant_id), clock_.Now(), teams);
    return absl::OkStatus();
  }));
  return out;
}

absl::Status Agents::List(const auth::Principal& caller, const v1::ListAgentsRequest& req,
                          v1::ListAgentsResponse* resp) {
  ASSIGN_OR_RETURN(int size, api::PageSize(req.page_size(), kAgentPages));
  ASSIGN_OR_RETURN(rules::AgentFilter filter, rules::ParseAgentFilter(req.filter()));
  const std::string binding = api::Binding("routing.ListAgents", filter.Canonical());
  ASSIGN_OR_RETURN(std::optional<api::Cursor> after,
                   api::DecodePageToken(req.page_token(), binding));
  ASSIGN_OR_RETURN(std::vector<store::AgentRow> rows,
                   store::ListAgents(pool_, caller.tenant_id, filter, after, size + 1));
  const bool more = static_cast<int>(rows.size()) > size;
  if (more) rows.resize(size);
  ASSIGN_OR_RETURN(std::vector<v1::Agent> agents, ShowAll(caller.tenant_id, rows));
  for (v1::Agent& a : agents) *resp->add_agents() = std::move(a);
  if (more) {
    resp->set_next_page_token(api::EncodePageToken({.id = rows.back().agent.agent_id}, binding));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::Agent>> Agents::Members(absl::string_view tenant,
                                                       absl::string_view team_id) {
  rules::AgentFilter filter;
  filter.team_id = std::string(team_id);
  ASSIGN_OR_RETURN(std::vector<store::AgentRow> rows,
                   store::ListAgents(pool_, tenant, filter, std::nullopt, kMaxTeamSize));
  return ShowAll(tenant, rows);
}

absl::StatusOr<std::vector<v1::Agent>> Agents::ShowAll(absl::string_view tenant,
                                                       const std::vector<store::AgentRow>& rows) {
  std::vector<std::string> ids;
  for (const store::AgentRow& row : rows) ids.push_back(row.agent.agent_id);
  ASSIGN_OR_RETURN(auto teams, store::TeamsOfAgents(pool_, tenant, ids));
  ASSIGN_OR_RETURN(const rules::Policy policy, settings_.PolicyOf(tenant));
  const absl::Time now = clock_.Now();
  std::vector<v1::Agent> out;
  for (const store::AgentRow& row : rows)
    out.push_back(Show(row.agent, policy, now, teams[row.agent.agent_id]));
  return out;
}

absl::StatusOr<int> Agents::Tick() {
  int looked = 0;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(std::vector<store::AgentKey> due,
                     store::DueAgents(tx, clock_.Now(), kTickBatch));
    looked = static_cast<int>(due.size());
    for (const store::AgentKey& key : due) {
      ASSIGN_OR_RETURN(std::optional<store::AgentRow> row,
                       store::LockAgent(tx, key.tenant, key.agent_id));
      if (row.has_value()) RETURN_IF_ERROR(Save(tx, key.tenant, *row));
    }
    return absl::OkStatus();
  }));
  return looked;
}

v1::Agent Agents::Show(const rules::Agent& agent, const rules::Policy& policy, absl::Time now,
                       const std::vector<v1::Team>& teams) {
  const rules::View view = rules::Effective(agent, now, policy);
  // An agent never announced (named in a team, or never seen) has no "since".
  return ToProto(agent, view,
                 agent.published_time.has_value() ? rules::Since(agent, view, now, policy)
                                                  : absl::InfinitePast(),
                 teams);
}

absl::StatusOr<v1::Agent> Agents::Change(const std::string& tenant, const std::string& agent_id,
                                         const std::function<void(rules::Agent&)>& fn) {
  v1::Agent out;
  RETURN_IF_ERROR(pool_.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ASSIGN_OR_RETURN(store::AgentRow row, store::LockOrAddAgent(tx, tenant, agent_id));
    fn(row.agent);
    RETURN_IF_ERROR(Save(tx, tenant, row));
    ASSIGN_OR_RETURN(std::vector<v1::Team> teams, store::TeamsOfAgent(tx, tenant, agent_id));
    out = Show(row.agent, PolicyOf(tx, tenant), clock_.Now(), teams);
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace switchboard::routing
