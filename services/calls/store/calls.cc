#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/calls/store/sql.h"
#include "services/calls/store/store.h"

namespace switchboard::calls {

using core::FromProto;
using namespace store_sql;  // NOLINT: the store's own helpers

Store::Store(pg::Pool& pool, pg::Pool& history, pg::Pool& exports, const core::Clock& clock)
    : pool_(pool), history_(history), exports_(exports), clock_(clock) {}

// ---- calls ----------------------------------------------------------------------------------

namespace {

// The query that finds one call by `key`; $1 the tenant, $2 the key's value.
std::string FindCall(const CallKey& key, absl::string_view suffix = "") {
  const char* column = key.by == CallKey::By::kCallId       ? "call_id"
                       : key.by == CallKey::By::kMetaCallId ? "meta_call_id"
                                                            : "request_id";
  return absl::StrCat("SELECT record FROM calls WHERE tenant_id = $1 AND ", column, " = $2",
                      suffix);
}

absl::StatusOr<std::optional<v1::Call>> OneCall(const pg::Result& r) {
  if (r.rows() == 0) return std::nullopt;
  return Parse<v1::Call>(r, 0, 0, "call");
}

}  // namespace

absl::StatusOr<std::optional<v1::Call>> Store::Lock(pg::Conn& tx, absl::string_view tenant,
                                                    const CallKey& key) {
  ASSIGN_OR_RETURN(pg::Result r, tx.Exec(FindCall(key, " FOR UPDATE"), {tenant, key.value}));
  return OneCall(r);
}

absl::StatusOr<std::optional<v1::Call>> Store::Get(absl::string_view tenant, const CallKey& key) {
  ASSIGN_OR_RETURN(pg::Result r, pool_.Exec(FindCall(key), {tenant, key.value}));
  return OneCall(r);
}

const char Store::kRowColumns[] =
    "tenant_id, call_id, meta_call_id, request_id, direction, state, business_phone_number_id, "
    "contact_key, contact_name, agent_id, search_text, offered_time, answered_time, ended_time, "
    "duration_seconds, sequence, record, create_time, update_time";

std::vector<pg::Param> Store::Row(const v1::Call& call, const std::string& request_id,
                                  absl::Time now) {
  // A call first seen through a terminate has no offer time yet: it sorts by when it ended
  // (or arrived) until its connect fills the offer in.
  absl::Time offered = call.has_offered_time() ? FromProto(call.offered_time())
                       : call.has_ended_time() ? FromProto(call.ended_time())
                                               : now;
  return {call.tenant_id(),
          call.call_id(),
          NullIfEmpty(call.meta_call_id()),
          NullIfEmpty(request_id),
          static_cast<int64_t>(call.direction()),
          static_cast<int64_t>(call.state()),
          call.business_phone_number_id(),
          api::ContactKey(call.contact()),
          call.contact().display_name(),
          call.answered_by_agent_id(),
          query::SearchKey(call.contact()),
          offered,
          OptionalTime(call.has_answered_time(), call.answered_time()),
          OptionalTime(call.has_ended_time(), call.ended_time()),
          call.duration().seconds(),
          call.sequence(),
          pg::Param::Bytes(call.SerializeAsString()),
          now,
          now};
}

absl::Status Store::SaveRow(pg::Conn& tx, const v1::Call& call, const std::string& request_id,
                            absl::Time now) {
  std::vector<pg::Param> params = Row(call, request_id, now);
  params.push_back(call.has_offered_time());  // $20: the offer time is known, not a stand-in
  return tx
      .Exec(absl::StrCat(
                "INSERT INTO calls (", kRowColumns,
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
                "$16, $17, $18, $19) ON CONFLICT (tenant_id, call_id) DO UPDATE SET "
                "meta_call_id = EXCLUDED.meta_call_id, state = EXCLUDED.state, "
                "contact_key = EXCLUDED.contact_key, contact_name = EXCLUDED.contact_name, "
                "agent_id = EXCLUDED.agent_id, search_text = EXCLUDED.search_text, "
                "offered_time = CASE WHEN $20 THEN EXCLUDED.offered_time "
                "ELSE calls.offered_time END, answered_time = EXCLUDED.answered_time, "
                "ended_time = EXCLUDED.ended_time, "
                "duration_seconds = EXCLUDED.duration_seconds, sequence = EXCLUDED.sequence, "
                "record = EXCLUDED.record, update_time = EXCLUDED.update_time, "
                "user_sdp_offer = CASE WHEN EXCLUDED.ended_time IS NULL "
                "THEN calls.user_sdp_offer END"),
            params)
      .status();
}

absl::Status Store::KeepTimer(pg::Conn& tx, const v1::Call& call,
                              const std::optional<Timer>& timer) {
  if (!timer.has_value()) {
    return tx
        .Exec("DELETE FROM call_timers WHERE tenant_id = $1 AND call_id = $2",
              {call.tenant_id(), call.call_id()})
        .status();
  }
  return tx
      .Exec(
          "INSERT INTO call_timers (tenant_id, call_id, kind, due_time) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (tenant_id, call_id) DO UPDATE SET kind = $3, due_time = $4 "
          "WHERE call_timers.kind <> $3",
          {call.tenant_id(), call.call_id(), static_cast<int64_t>(timer->kind), timer->due})
      .status();
}

absl::Status Store::KeepUserOffer(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                                  absl::string_view sdp) {
  return tx
      .Exec(
          "UPDATE calls SET user_sdp_offer = $3 WHERE tenant_id = $1 AND call_id = $2 "
          "AND user_sdp_offer IS NULL AND ended_time IS NULL",
          {tenant, call_id, sdp})
      .status();
}

absl::StatusOr<std::optional<Store::CallWithOffer>> Store::GetWithOffer(absl::string_view tenant,
                                                                        absl::string_view call_id) {
  ASSIGN_OR_RETURN(pg::Result r, pool_.Exec("SELECT record, user_sdp_offer FROM calls "
                                            "WHERE tenant_id = $1 AND call_id = $2",
                                            {tenant, call_id}));
  ASSIGN_OR_RETURN(std::optional<v1::Call> call, OneCall(r));
  if (!call.has_value()) return std::nullopt;
  return CallWithOffer{.call = *std::move(call),
                       .sdp_offer = r.IsNull(0, 1) ? "" : std::string(r.Get(0, 1))};
}

absl::Status Store::SetRejectReason(pg::Conn& tx, absl::string_view tenant,
                                    absl::string_view call_id, absl::string_view reason) {
  return tx
      .Exec("UPDATE calls SET reject_reason = $3 WHERE tenant_id = $1 AND call_id = $2",
            {tenant, call_id, reason})
      .status();
}

absl::StatusOr<bool> Store::SetCost(pg::Conn& tx, absl::string_view tenant,
                                    absl::string_view call_id, const events::v1::Money& cost,
                                    int64_t billed_minutes) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("UPDATE calls SET cost_micros = $3, cost_currency = $4, "
              "billed_minutes = $5 WHERE tenant_id = $1 AND call_id = $2",
              {tenant, call_id, cost.amount_micros(), cost.currency_code(), billed_minutes}));
  return r.affected() > 0;
}

absl::StatusOr<std::vector<DueTimer>> Store::TakeDueTimers(pg::Conn& tx, absl::Time now,
                                                           int limit) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("DELETE FROM call_timers WHERE (tenant_id, call_id) IN ("
                           "SELECT tenant_id, call_id FROM call_timers WHERE due_time <= $1 "
                           "ORDER BY due_time LIMIT $2 FOR UPDATE SKIP LOCKED) "
                           "RETURNING tenant_id, call_id, kind, due_time",
                           {now, limit}));
  std::vector<DueTimer> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({.tenant_id = std::string(r.Get(i, 0)),
                   .call_id = std::string(r.Get(i, 1)),
                   .kind = static_cast<TimerKind>(r.GetInt(i, 2)),
                   .due = r.GetTime(i, 3)});
  }
  std::sort(out.begin(), out.end(),
            [](const DueTimer& a, const DueTimer& b) { return a.due < b.due; });
  return out;
}

// ---- parked webhooks ------------------------------------------------------------------------

absl::Status Store::Park(pg::Conn& tx, absl::string_view tenant, absl::string_view meta_call_id,
                         absl::string_view event_id, const std::string& payload,
                         absl::Time event_time, absl::Time now) {
  return tx
      .Exec(
          "INSERT INTO parked_events (tenant_id, meta_call_id, event_id, payload, event_time, "
          "park_time) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
          {tenant, meta_call_id, event_id, pg::Param::Bytes(payload), event_time, now})
      .status();
}

absl::StatusOr<std::vector<ParkedEvent>> Store::Unpark(pg::Conn& tx, absl::string_view tenant,
                                                       absl::string_view meta_call_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("DELETE FROM parked_events WHERE tenant_id = $1 AND meta_call_id = $2 "
                           "RETURNING event_id, payload, event_time, park_time",
                           {tenant, meta_call_id}));
  std::vector<std::pair<absl::Time, ParkedEvent>> rows;
  for (int i = 0; i < r.rows(); ++i) {
    rows.push_back({r.GetTime(i, 3),
                    {.event_id = std::string(r.Get(i, 0)),
                     .payload = r.GetBytes(i, 1),
                     .event_time = r.GetTime(i, 2)}});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<ParkedEvent> out;
  for (auto& [parked, e] : rows) out.push_back(std::move(e));
  return out;
}

absl::StatusOr<int64_t> Store::ExpireParked(absl::Time before) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool_.Exec("DELETE FROM parked_events WHERE park_time < $1", {before}));
  return r.affected();
}

}  // namespace switchboard::calls
