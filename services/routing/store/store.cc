#include "services/routing/store/store.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::routing::store {
namespace {

constexpr char kAgentColumns[] =
    "agent_id, chosen, chosen_reason, busy_call_id, cooldown_end_time, last_call_end_time, "
    "last_seen_time, offered_call_id, unanswered_offers, published, published_reason, "
    "published_time, sequence";

AgentRow ReadAgent(const pg::Result& r, int i) {
  AgentRow row;
  rules::Agent& a = row.agent;
  a.agent_id = std::string(r.Get(i, 0));
  a.chosen = static_cast<v1::Availability>(r.GetInt(i, 1));
  a.chosen_reason = std::string(r.Get(i, 2));
  a.busy_call_id = std::string(r.Get(i, 3));
  a.cooldown_end = r.GetOptionalTime(i, 4);
  a.last_call_end = r.GetOptionalTime(i, 5);
  a.last_seen = r.GetOptionalTime(i, 6);
  a.offered_call_id = std::string(r.Get(i, 7));
  a.unanswered_offers = static_cast<int>(r.GetInt(i, 8));
  a.published = static_cast<v1::Availability>(r.GetInt(i, 9));
  a.published_reason = std::string(r.Get(i, 10));
  a.published_time = r.GetOptionalTime(i, 11);
  row.sequence = r.GetInt(i, 12);
  return row;
}

std::vector<AgentRow> ReadAgents(const pg::Result& r) {
  std::vector<AgentRow> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) out.push_back(ReadAgent(r, i));
  return out;
}

std::string JoinIds(const std::vector<std::string>& ids) { return absl::StrJoin(ids, ","); }

std::vector<std::string> SplitIds(absl::string_view text) {
  if (text.empty()) return {};
  return absl::StrSplit(text, ',');
}

absl::StatusOr<v1::Team> ParseTeam(const std::string& bytes) {
  v1::Team team;
  if (!team.ParseFromString(bytes)) {
    return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_RECORD", "a stored team");
  }
  return team;
}

absl::StatusOr<std::vector<v1::Team>> ReadTeams(const pg::Result& r) {
  std::vector<v1::Team> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(v1::Team team, ParseTeam(r.GetBytes(i, 0)));
    out.push_back(std::move(team));
  }
  return out;
}

constexpr char kRingColumns[] =
    "tenant_id, call_id, state, round, team_id, routing_mode, ringing, tried, round_start_time, "
    "round_deadline_time, due_time, winner_agent_id, fallback_action, contact, "
    "business_phone_number_id, business_display_number, sequence, named, start_time";

absl::StatusOr<Ring> ReadRing(const pg::Result& r, int i) {
  Ring ring;
  ring.tenant = std::string(r.Get(i, 0));
  ring.call_id = std::string(r.Get(i, 1));
  ring.state = static_cast<Ring::State>(r.GetInt(i, 2));
  ring.round = static_cast<int>(r.GetInt(i, 3));
  ring.team_id = std::string(r.Get(i, 4));
  ring.mode = static_cast<v1::RoutingMode>(r.GetInt(i, 5));
  ring.ringing = SplitIds(r.Get(i, 6));
  ring.tried = SplitIds(r.Get(i, 7));
  ring.round_start = r.GetOptionalTime(i, 8).value_or(absl::InfinitePast());
  ring.round_deadline = r.GetOptionalTime(i, 9).value_or(absl::InfinitePast());
  ring.due = r.GetOptionalTime(i, 10);
  ring.winner = std::string(r.Get(i, 11));
  ring.fallback_action = static_cast<v1::FallbackAction>(r.GetInt(i, 12));
  if (!ring.contact.ParseFromString(r.GetBytes(i, 13))) {
    return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_RECORD", "a stored ring");
  }
  ring.business_phone_number_id = std::string(r.Get(i, 14));
  ring.business_display_number = std::string(r.Get(i, 15));
  ring.sequence = r.GetInt(i, 16);
  ring.named = SplitIds(r.Get(i, 17));
  ring.start = r.GetOptionalTime(i, 18);
  return ring;
}

}  // namespace

// ---- agents -------------------------------------------------------------------------------------

absl::StatusOr<std::vector<AgentRow>> LockAgents(pg::Conn& tx, absl::string_view tenant,
                                                 std::vector<std::string> agent_ids) {
  if (agent_ids.empty()) return std::vector<AgentRow>{};
  std::sort(agent_ids.begin(), agent_ids.end());
  agent_ids.erase(std::unique(agent_ids.begin(), agent_ids.end()), agent_ids.end());
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec(absl::StrCat("SELECT ", kAgentColumns,
                                        " FROM agents WHERE tenant_id = $1 AND agent_id = ANY("
                                        "string_to_array($2, ',')) ORDER BY agent_id FOR UPDATE"),
                           {tenant, JoinIds(agent_ids)}));
  return ReadAgents(r);
}

absl::StatusOr<std::optional<AgentRow>> LockAgent(pg::Conn& tx, absl::string_view tenant,
                                                  absl::string_view agent_id) {
  ASSIGN_OR_RETURN(std::vector<AgentRow> rows, LockAgents(tx, tenant, {std::string(agent_id)}));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

absl::StatusOr<AgentRow> LockOrAddAgent(pg::Conn& tx, absl::string_view tenant,
                                        absl::string_view agent_id) {
  RETURN_IF_ERROR(AddAgents(tx, tenant, {std::string(agent_id)}));
  ASSIGN_OR_RETURN(std::optional<AgentRow> row, LockAgent(tx, tenant, agent_id));
  if (!row.has_value()) {
    return core::Error(absl::StatusCode::kAborted, "AGENT_ROW_MISSING",
                       "the agent's row vanished between its insert and its lock");
  }
  return *std::move(row);
}

absl::Status SaveAgent(pg::Conn& tx, absl::string_view tenant, const AgentRow& row,
                       std::optional<absl::Time> due) {
  return SaveAgents(tx, tenant, {&row}, {due});
}

absl::Status SaveAgents(pg::Conn& tx, absl::string_view tenant,
                        const std::vector<const AgentRow*>& rows,
                        const std::vector<std::optional<absl::Time>>& due) {
  if (rows.empty()) return absl::OkStatus();
  constexpr int kColumns = 15;
  std::vector<pg::Param> params;
  params.reserve(rows.size() * kColumns);
  std::vector<std::string> values;
  for (size_t i = 0; i < rows.size(); ++i) {
    const rules::Agent& a = rows[i]->agent;
    std::vector<std::string> slots;
    for (int c = 1; c <= kColumns; ++c) slots.push_back(absl::StrCat("$", i * kColumns + c));
    values.push_back(absl::StrCat("(", absl::StrJoin(slots, ", "), ")"));
    for (pg::Param p :
         {pg::Param(tenant), pg::Param(a.agent_id), pg::Param(static_cast<int>(a.chosen)),
          pg::Param(a.chosen_reason), pg::Param(a.busy_call_id), pg::Param(a.cooldown_end),
          pg::Param(a.last_call_end), pg::Param(a.last_seen), pg::Param(a.offered_call_id),
          pg::Param(a.unanswered_offers), pg::Param(static_cast<int>(a.published)),
          pg::Param(a.published_reason), pg::Param(a.published_time), pg::Param(rows[i]->sequence),
          pg::Param(due[i])}) {
      params.push_back(std::move(p));
    }
  }
  return tx
      .Exec(absl::StrCat(
                "INSERT INTO agents (tenant_id, ", kAgentColumns, ", due_time) VALUES ",
                absl::StrJoin(values, ", "),
                " ON CONFLICT (tenant_id, agent_id) DO UPDATE SET chosen = EXCLUDED.chosen, "
                "chosen_reason = EXCLUDED.chosen_reason, busy_call_id = EXCLUDED.busy_call_id, "
                "cooldown_end_time = EXCLUDED.cooldown_end_time, "
                "last_call_end_time = EXCLUDED.last_call_end_time, "
                "last_seen_time = EXCLUDED.last_seen_time, "
                "offered_call_id = EXCLUDED.offered_call_id, "
                "unanswered_offers = EXCLUDED.unanswered_offers, published = EXCLUDED.published, "
                "published_reason = EXCLUDED.published_reason, "
                "published_time = EXCLUDED.published_time, sequence = EXCLUDED.sequence, "
                "due_time = EXCLUDED.due_time"),
            params)
      .status();
}

absl::StatusOr<std::optional<AgentRow>> GetAgent(pg::Pool& pool, absl::string_view tenant,
                                                 absl::string_view agent_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec(absl::StrCat("SELECT ", kAgentColumns,
                                          " FROM agents WHERE tenant_id = $1 AND agent_id = $2"),
                             {tenant, agent_id}));
  if (r.rows() == 0) return std::nullopt;
  return ReadAgent(r, 0);
}

absl::StatusOr<std::vector<AgentRow>> ListAgents(pg::Pool& pool, absl::string_view tenant,
                                                 const rules::AgentFilter& filter,
                                                 const std::optional<api::Cursor>& after,
                                                 int limit) {
  std::vector<std::string> excluded;
  for (v1::Availability a : filter.not_availability) excluded.push_back(absl::StrCat(a));
  ASSIGN_OR_RETURN(
      pg::Result r,
      pool.Exec(absl::StrCat("SELECT ", kAgentColumns,
                             " FROM agents a WHERE tenant_id = $1 AND agent_id > $2 "
                             "AND ($3 = 0 OR published = $3) "
                             "AND NOT (published = ANY(string_to_array($4, ',')::smallint[])) "
                             "AND ($5 = '' OR EXISTS (SELECT 1 FROM team_members m WHERE "
                             "m.tenant_id = a.tenant_id AND m.agent_id = a.agent_id AND "
                             "m.team_id = $5)) ORDER BY agent_id LIMIT ",
                             limit),
                {tenant, after.has_value() ? after->id : std::string(),
                 static_cast<int>(filter.availability.value_or(v1::AVAILABILITY_UNSPECIFIED)),
                 absl::StrJoin(excluded, ","), filter.team_id}));
  return ReadAgents(r);
}

absl::StatusOr<std::vector<AgentKey>> DueAgents(pg::Conn& tx, absl::Time now, int limit) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec(absl::StrCat("SELECT tenant_id, agent_id FROM agents WHERE due_time <= $1 "
                           "ORDER BY due_time LIMIT ",
                           limit, " FOR UPDATE SKIP LOCKED"),
              {now}));
  std::vector<AgentKey> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  }
  return out;
}

absl::StatusOr<std::map<v1::Availability, int64_t>> CountAgents(pg::Pool& pool) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec("SELECT published, count(*) FROM agents GROUP BY published", {}));
  std::map<v1::Availability, int64_t> out;
  for (int i = 0; i < r.rows(); ++i) {
    out[static_cast<v1::Availability>(r.GetInt(i, 0))] = r.GetInt(i, 1);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> AgentIds(pg::Conn& tx, absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result r, tx.Exec("SELECT agent_id FROM agents WHERE tenant_id = $1 "
                                         "ORDER BY agent_id",
                                         {tenant}));
  std::vector<std::string> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

absl::Status AddAgents(pg::Conn& tx, absl::string_view tenant,
                       const std::vector<std::string>& agent_ids) {
  if (agent_ids.empty()) return absl::OkStatus();
  return tx
      .Exec(
          "INSERT INTO agents (tenant_id, agent_id, chosen, published) "
          "SELECT $1, unnest(string_to_array($2, ',')), $3, $3 ON CONFLICT DO NOTHING",
          {tenant, JoinIds(agent_ids), static_cast<int>(v1::AVAILABILITY_OFFLINE)})
      .status();
}

// ---- teams --------------------------------------------------------------------------------------

absl::Status LockTeams(pg::Conn& tx, absl::string_view tenant) {
  return tx
      .Exec("SELECT pg_advisory_xact_lock(hashtextextended('routing.teams.' || $1, 0))", {tenant})
      .status();
}

absl::StatusOr<std::vector<v1::Team>> AllTeams(pg::Conn& tx, absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result r, tx.Exec("SELECT team FROM teams WHERE tenant_id = $1 "
                                         "ORDER BY team_id",
                                         {tenant}, pg::Results::kBinary));
  return ReadTeams(r);
}

absl::StatusOr<std::optional<std::string>> NumberOwner(pg::Conn& tx, absl::string_view tenant,
                                                       absl::string_view number,
                                                       absl::string_view team_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT team_id FROM team_numbers WHERE tenant_id = $1 AND "
                           "business_phone_number_id = $2 AND team_id <> $3",
                           {tenant, number, team_id}));
  if (r.rows() == 0) return std::nullopt;
  return std::string(r.Get(0, 0));
}

absl::Status SaveTeam(pg::Conn& tx, absl::string_view tenant, const v1::Team& team) {
  const absl::Time updated = core::FromProto(team.update_time());
  RETURN_IF_ERROR(
      tx.Exec("INSERT INTO teams (tenant_id, team_id, team, update_time) "
              "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, team_id) DO UPDATE "
              "SET team = $3, update_time = $4",
              {tenant, team.team_id(), pg::Param::Bytes(team.SerializeAsString()), updated})
          .status());
  RETURN_IF_ERROR(tx.Exec("DELETE FROM team_numbers WHERE tenant_id = $1 AND team_id = $2",
                          {tenant, team.team_id()})
                      .status());
  RETURN_IF_ERROR(tx.Exec("DELETE FROM team_members WHERE tenant_id = $1 AND team_id = $2",
                          {tenant, team.team_id()})
                      .status());
  std::vector<std::string> numbers(team.business_phone_number_ids().begin(),
                                   team.business_phone_number_ids().end());
  std::vector<std::string> members;
  for (const v1::TeamMember& m : team.members()) members.push_back(m.agent_id());
  RETURN_IF_ERROR(tx.Exec("INSERT INTO team_numbers (tenant_id, team_id, business_phone_number_id)"
                          " SELECT $1, $2, unnest(string_to_array(NULLIF($3, ''), ','))",
                          {tenant, team.team_id(), JoinIds(numbers)})
                      .status());
  return tx
      .Exec(
          "INSERT INTO team_members (tenant_id, team_id, agent_id) "
          "SELECT $1, $2, unnest(string_to_array(NULLIF($3, ''), ','))",
          {tenant, team.team_id(), JoinIds(members)})
      .status();
}

absl::StatusOr<std::optional<v1::Team>> GetTeam(pg::Conn& tx, absl::string_view tenant,
                                                absl::string_view team_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT team FROM teams WHERE tenant_id = $1 AND team_id = $2",
                           {tenant, team_id}, pg::Results::kBinary));
  ASSIGN_OR_RETURN(std::vector<v1::Team> teams, ReadTeams(r));
  if (teams.empty()) return std::nullopt;
  return std::move(teams.front());
}

absl::StatusOr<std::vector<v1::Team>> ListTeams(pg::Pool& pool, absl::string_view tenant,
                                                const std::optional<api::Cursor>& after,
                                                int limit) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec(absl::StrCat("SELECT team FROM teams WHERE tenant_id = $1 AND "
                                          "team_id > $2 ORDER BY team_id LIMIT ",
                                          limit),
                             {tenant, after.has_value() ? after->id : std::string()}));
  return ReadTeams(r);
}

absl::StatusOr<std::optional<v1::Team>> TeamOfNumber(pg::Conn& tx, absl::string_view tenant,
                                                     absl::string_view number) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT t.team FROM team_numbers n JOIN teams t USING (tenant_id, "
                           "team_id) WHERE n.tenant_id = $1 AND n.business_phone_number_id = $2",
                           {tenant, number}, pg::Results::kBinary));
  ASSIGN_OR_RETURN(std::vector<v1::Team> teams, ReadTeams(r));
  if (teams.empty()) return std::nullopt;
  return std::move(teams.front());
}

absl::StatusOr<std::vector<v1::Team>> TeamsOfAgent(pg::Conn& tx, absl::string_view tenant,
                                                   absl::string_view agent_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT t.team FROM team_members m JOIN teams t USING (tenant_id, "
                           "team_id) WHERE m.tenant_id = $1 AND m.agent_id = $2 "
                           "ORDER BY t.team_id",
                           {tenant, agent_id}, pg::Results::kBinary));
  return ReadTeams(r);
}

absl::StatusOr<std::map<std::string, std::vector<v1::Team>>> TeamsOfAgents(
    pg::Pool& pool, absl::string_view tenant, const std::vector<std::string>& agent_ids) {
  std::map<std::string, std::vector<v1::Team>> out;
  if (agent_ids.empty()) return out;
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec("SELECT m.agent_id, t.team FROM team_members m JOIN teams t USING "
                             "(tenant_id, team_id) WHERE m.tenant_id = $1 AND m.agent_id = "
                             "ANY(string_to_array($2, ',')) ORDER BY m.agent_id, t.team_id",
                             {tenant, JoinIds(agent_ids)}));
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(v1::Team team, ParseTeam(r.GetBytes(i, 1)));
    out[std::string(r.Get(i, 0))].push_back(std::move(team));
  }
  return out;
}

// ---- assignments --------------------------------------------------------------------------------

absl::Status SetAssignment(pg::Conn& tx, absl::string_view tenant, absl::string_view wa_id,
                           absl::string_view agent_id, absl::Time now) {
  if (agent_id.empty()) {
    return tx.Exec("DELETE FROM assignments WHERE tenant_id = $1 AND wa_id = $2", {tenant, wa_id})
        .status();
  }
  return tx
      .Exec(
          "INSERT INTO assignments (tenant_id, wa_id, agent_id, update_time) VALUES "
          "($1, $2, $3, $4) ON CONFLICT (tenant_id, wa_id) DO UPDATE SET agent_id = $3, "
          "update_time = $4",
          {tenant, wa_id, agent_id, now})
      .status();
}

absl::StatusOr<std::string> Assignment(pg::Conn& tx, absl::string_view tenant,
                                       absl::string_view wa_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT agent_id FROM assignments WHERE tenant_id = $1 AND wa_id = $2",
                           {tenant, wa_id}));
  if (r.rows() == 0) return std::string();
  return std::string(r.Get(0, 0));
}

// ---- rings --------------------------------------------------------------------------------------

absl::StatusOr<std::optional<Ring>> LockRing(pg::Conn& tx, absl::string_view tenant,
                                             absl::string_view call_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec(absl::StrCat("SELECT ", kRingColumns,
                                        " FROM rings WHERE tenant_id = $1 AND call_id = $2 "
                                        "FOR UPDATE"),
                           {tenant, call_id}));
  if (r.rows() == 0) return std::nullopt;
  return ReadRing(r, 0);
}

absl::StatusOr<std::optional<Ring>> GetRing(pg::Conn& tx, absl::string_view tenant,
                                            absl::string_view call_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec(absl::StrCat("SELECT ", kRingColumns,
                                        " FROM rings WHERE tenant_id = $1 AND call_id = $2"),
                           {tenant, call_id}));
  if (r.rows() == 0) return std::nullopt;
  return ReadRing(r, 0);
}

absl::StatusOr<std::optional<Ring>> TakeRing(pg::Conn& tx, absl::string_view tenant,
                                             absl::string_view call_id, absl::string_view agent_id,
                                             absl::Time now) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec(absl::StrCat("UPDATE rings SET state = 2, winner_agent_id = $3 WHERE tenant_id = $1 "
                           "AND call_id = $2 AND state = 1 AND due_time > $4 AND "
                           "$3 = ANY(string_to_array(ringing, ',')) RETURNING ",
                           kRingColumns),
              {tenant, call_id, agent_id, now}));
  if (r.rows() == 0) return std::nullopt;
  return ReadRing(r, 0);
}

absl::Status SaveRing(pg::Conn& tx, const Ring& ring, absl::Time now) {
  const bool ringing = ring.state == Ring::State::kRinging;
  return tx
      .Exec(absl::StrCat(
                "INSERT INTO rings (", kRingColumns,
                ", update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                "$14, $15, $16, $17, $19, $20, $18) ON CONFLICT (tenant_id, call_id) DO UPDATE SET "
                "state = $3, round = $4, team_id = $5, routing_mode = $6, ringing = $7, "
                "tried = $8, round_start_time = $9, round_deadline_time = $10, due_time = $11, "
                "winner_agent_id = $12, fallback_action = $13, contact = $14, "
                "business_phone_number_id = $15, business_display_number = $16, sequence = $17, "
                "named = $19, start_time = $20, update_time = $18"),
            {ring.tenant,
             ring.call_id,
             static_cast<int>(ring.state),
             ring.round,
             ring.team_id,
             static_cast<int>(ring.mode),
             JoinIds(ring.ringing),
             JoinIds(ring.tried),
             ring.round_start == absl::InfinitePast() ? pg::Param(std::nullopt)
                                                      : pg::Param(ring.round_start),
             ring.round_deadline == absl::InfinitePast() ? pg::Param(std::nullopt)
                                                         : pg::Param(ring.round_deadline),
             ringing ? pg::Param(ring.due) : pg::Param(std::nullopt),
             ring.winner,
             static_cast<int>(ring.fallback_action),
             pg::Param::Bytes(ring.contact.SerializeAsString()),
             ring.business_phone_number_id,
             ring.business_display_number,
             ring.sequence,
             now,
             JoinIds(ring.named),
             pg::Param(ring.start)})
      .status();
}

absl::StatusOr<TeamCounts> CountRings(pg::Pool& pool, absl::string_view tenant,
                                      absl::string_view team_id, absl::Time since) {
  TeamCounts out;
  ASSIGN_OR_RETURN(pg::Result now,
                   pool.Exec("SELECT ringing, start_time FROM rings WHERE tenant_id = $1 AND "
                             "team_id = $2 AND state = 1",
                             {tenant, team_id}));
  for (int i = 0; i < now.rows(); ++i) {
    ++out.waiting;
    for (std::string& id : SplitIds(now.Get(i, 0))) {
      if (std::find(out.ringing.begin(), out.ringing.end(), id) == out.ringing.end()) {
        out.ringing.push_back(std::move(id));
      }
    }
    std::optional<absl::Time> start = now.GetOptionalTime(i, 1);
    if (start.has_value() && (!out.oldest_start.has_value() || *start < *out.oldest_start)) {
      out.oldest_start = start;
    }
  }
  std::sort(out.ringing.begin(), out.ringing.end());
  ASSIGN_OR_RETURN(pg::Result ended,
                   pool.Exec("SELECT count(*) FILTER (WHERE state = 2), "
                             "count(*) FILTER (WHERE state = 3 AND winner_agent_id = ''), "
                             "coalesce(avg(extract(epoch FROM update_time - start_time)) FILTER "
                             "(WHERE state = 2 AND start_time IS NOT NULL), 0)::float8 * 1000000 "
                             "FROM rings WHERE tenant_id = $1 AND team_id = $2 AND state <> 1 AND "
                             "update_time >= $3",
                             {tenant, team_id, since}));
  out.answered = static_cast<int>(ended.GetInt(0, 0));
  out.missed = static_cast<int>(ended.GetInt(0, 1));
  double micros = 0;
  (void)absl::SimpleAtod(ended.Get(0, 2), &micros);
  out.average_answer = absl::Microseconds(static_cast<int64_t>(micros));
  return out;
}

absl::StatusOr<std::vector<Ring>> DueRings(pg::Conn& tx, absl::Time now, int limit) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec(absl::StrCat("SELECT ", kRingColumns,
                                        " FROM rings WHERE state = 1 AND due_time <= $1 "
                                        "ORDER BY due_time LIMIT ",
                                        limit, " FOR UPDATE SKIP LOCKED"),
                           {now}));
  std::vector<Ring> out;
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(Ring ring, ReadRing(r, i));
    out.push_back(std::move(ring));
  }
  return out;
}

// ---- calls seen ---------------------------------------------------------------------------------

absl::StatusOr<bool> AdvanceCall(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                                 int64_t sequence, bool ends, absl::Time now) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("INSERT INTO calls_seen AS s (tenant_id, call_id, sequence, ended, update_time) "
              "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, call_id) DO UPDATE "
              "SET sequence = $3, ended = $4, update_time = $5 "
              "WHERE s.sequence < $3 AND NOT s.ended RETURNING 1",
              {tenant, call_id, sequence, ends, now}));
  return r.rows() == 1;
}

// ---- settings -----------------------------------------------------------------------------------

namespace {

pg::Param Micros(const std::optional<absl::Duration>& d) {
  if (!d.has_value()) return std::nullopt;
  return absl::ToInt64Microseconds(*d);
}

std::optional<absl::Duration> MicrosAt(const pg::Result& r, int col) {
  if (r.IsNull(0, col)) return std::nullopt;
  return absl::Microseconds(r.GetInt(0, col));
}

rules::TenantSettings ReadSettings(const pg::Result& r) {
  rules::TenantSettings set;
  if (r.rows() == 0) return set;
  set.cooldown = MicrosAt(r, 0);
  set.presence_ttl = MicrosAt(r, 1);
  if (!r.IsNull(0, 2)) set.max_unanswered_offers = static_cast<int>(r.GetInt(0, 2));
  return set;
}

constexpr char kSelectSettings[] =
    "SELECT agent_cooldown_us, presence_ttl_us, max_unanswered_offers FROM settings "
    "WHERE tenant_id = $1";

}  // namespace

absl::StatusOr<rules::TenantSettings> LoadSettings(pg::Conn& conn, absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result r, conn.Exec(kSelectSettings, {tenant}));
  return ReadSettings(r);
}

absl::StatusOr<rules::TenantSettings> LockSettings(pg::Conn& tx, absl::string_view tenant,
                                                   absl::Time now) {
  RETURN_IF_ERROR(tx.Exec("INSERT INTO settings (tenant_id, update_time) VALUES ($1, $2) "
                          "ON CONFLICT (tenant_id) DO NOTHING",
                          {tenant, now})
                      .status());
  ASSIGN_OR_RETURN(pg::Result r, tx.Exec(absl::StrCat(kSelectSettings, " FOR UPDATE"), {tenant}));
  return ReadSettings(r);
}

absl::Status SaveSettings(pg::Conn& tx, absl::string_view tenant, const rules::TenantSettings& set,
                          absl::Time now) {
  pg::Param max = std::nullopt;
  if (set.max_unanswered_offers.has_value()) max = *set.max_unanswered_offers;
  RETURN_IF_ERROR(
      tx.Exec("INSERT INTO settings (tenant_id, agent_cooldown_us, presence_ttl_us, "
              "max_unanswered_offers, update_time) VALUES ($1, $2, $3, $4, $5) "
              "ON CONFLICT (tenant_id) DO UPDATE SET agent_cooldown_us = $2, presence_ttl_us = $3, "
              "max_unanswered_offers = $4, update_time = $5",
              {tenant, Micros(set.cooldown), Micros(set.presence_ttl), max, now})
          .status());
  return tx.Exec("UPDATE agents SET due_time = $2 WHERE tenant_id = $1", {tenant, now}).status();
}

absl::StatusOr<int64_t> Purge(pg::Pool& pool, absl::Time before) {
  ASSIGN_OR_RETURN(pg::Result calls,
                   pool.Exec("DELETE FROM calls_seen WHERE ended AND update_time < $1", {before}));
  ASSIGN_OR_RETURN(pg::Result rings,
                   pool.Exec("DELETE FROM rings WHERE state <> 1 AND update_time < $1", {before}));
  return calls.affected() + rings.affected();
}

}  // namespace switchboard::routing::store
