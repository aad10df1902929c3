#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/pg/outbox.h"
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

absl::StatusOr<std::vector<v1::Call>> Store::LockByMeta(
    pg::Conn& tx, const std::vector<std::pair<std::string, std::string>>& keys) {
  std::vector<v1::Call> out;
  if (keys.empty()) return out;
  pg::Array tenants, metas;
  for (const auto& [tenant, meta] : keys) {
    tenants.Add(tenant);
    metas.Add(meta);
  }
  // In call id order, as every batch locks them: two batches never wait on each other crosswise.
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT c.record FROM calls c JOIN unnest($1::text[], $2::text[]) "
                           "AS k (t, m) ON c.tenant_id = k.t AND c.meta_call_id = k.m "
                           "ORDER BY c.tenant_id, c.call_id FOR UPDATE OF c",
                           {tenants.Done(), metas.Done()}));
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(v1::Call call, Parse<v1::Call>(r, i, 0, "call"));
    out.push_back(std::move(call));
  }
  return out;
}

// ---- writes ---------------------------------------------------------------------------------

void CallWrites::SetRow(const v1::Call& call, const std::string& request_id, absl::Time now) {
  auto [it, added] = row_of_.try_emplace(Key{call.tenant_id(), call.call_id()}, rows_.size());
  if (added) {
    rows_.push_back({call, request_id, now});
    return;
  }
  RowWrite& row = rows_[it->second];
  row.call = call;
  row.now = now;
  if (row.request_id.empty()) row.request_id = request_id;
}

void CallWrites::SetTimer(const v1::Call& call, const std::optional<Timer>& timer) {
  auto [it, added] = timer_of_.try_emplace(Key{call.tenant_id(), call.call_id()}, timers_.size());
  if (added) {
    timers_.push_back({call.tenant_id(), call.call_id(), timer, false});
    return;
  }
  // Folded with this call's earlier timer of the same writes, to what they would leave in turn.
  TimerWrite& w = timers_[it->second];
  if (!timer.has_value()) {
    w.timer.reset();
    w.replace = false;
  } else if (!w.timer.has_value() || w.timer->kind != timer->kind) {
    // After a delete, or over a timer of another kind: this one, whatever was stored.
    w.timer = timer;
    w.replace = true;
  }  // else the same kind again: the earlier due time stays
}

void CallWrites::AddEvent(absl::string_view topic, kafka::Event event) {
  events_.emplace_back(std::string(topic), std::move(event));
}

void CallWrites::KeepUserOffer(const v1::Call& call, absl::string_view sdp) {
  auto [it, added] = offer_of_.try_emplace(Key{call.tenant_id(), call.call_id()}, offers_.size());
  if (added) offers_.push_back({call.tenant_id(), call.call_id(), std::string(sdp)});
}

namespace {

// kRowColumns' types, for unnest.
constexpr const char* kRowTypes[] = {
    "text",   "text",   "text",  "text",        "smallint",    "smallint",    "text",
    "text",   "text",   "text",  "text",        "timestamptz", "timestamptz", "timestamptz",
    "bigint", "bigint", "bytea", "timestamptz", "timestamptz"};

}  // namespace

absl::Status Store::UpsertRows(pg::Conn& tx, const std::vector<const CallWrites::RowWrite*>& rows,
                               bool offered_known) {
  if (rows.empty()) return absl::OkStatus();
  constexpr size_t kColumns = sizeof(kRowTypes) / sizeof(kRowTypes[0]);
  std::vector<pg::Array> columns(kColumns);
  for (const CallWrites::RowWrite* row : rows) {
    std::vector<pg::Param> params = Row(row->call, row->request_id, row->now);
    for (size_t c = 0; c < kColumns; ++c) {
      const pg::Param& p = params[c];
      if (p.is_null()) {
        columns[c].AddNull();
      } else if (p.binary()) {
        columns[c].AddBytes(p.value());
      } else {
        columns[c].Add(p.value());
      }
    }
  }
  std::vector<pg::Param> arrays;
  std::vector<std::string> casts;
  for (size_t c = 0; c < kColumns; ++c) {
    arrays.push_back(columns[c].Done());
    casts.push_back(absl::StrCat("$", c + 1, "::", kRowTypes[c], "[]"));
  }
  return tx
      .Exec(absl::StrCat(
                "INSERT INTO calls (", kRowColumns, ") SELECT * FROM unnest(",
                absl::StrJoin(casts, ", "),
                ") ON CONFLICT (tenant_id, call_id) DO UPDATE SET "
                "meta_call_id = EXCLUDED.meta_call_id, state = EXCLUDED.state, "
                "contact_key = EXCLUDED.contact_key, contact_name = EXCLUDED.contact_name, "
                "agent_id = EXCLUDED.agent_id, search_text = EXCLUDED.search_text, ",
                offered_known ? "offered_time = EXCLUDED.offered_time, " : "",
                "answered_time = EXCLUDED.answered_time, ended_time = EXCLUDED.ended_time, "
                "duration_seconds = EXCLUDED.duration_seconds, sequence = EXCLUDED.sequence, "
                "record = EXCLUDED.record, update_time = EXCLUDED.update_time, "
                "user_sdp_offer = CASE WHEN EXCLUDED.ended_time IS NULL "
                "THEN calls.user_sdp_offer END"),
            arrays)
      .status();
}

absl::Status Store::WriteTimers(pg::Conn& tx, const std::vector<CallWrites::TimerWrite>& timers) {
  pg::Array gone_tenants, gone_calls;
  struct Upserts {
    pg::Array tenants, calls, kinds, dues;
    int count = 0;
  } keep, replace;
  for (const CallWrites::TimerWrite& w : timers) {
    if (!w.timer.has_value()) {
      gone_tenants.Add(w.tenant_id);
      gone_calls.Add(w.call_id);
      continue;
    }
    Upserts& u = w.replace ? replace : keep;
    u.tenants.Add(w.tenant_id);
    u.calls.Add(w.call_id);
    u.kinds.Add(static_cast<int64_t>(w.timer->kind));
    u.dues.Add(w.timer->due);
    ++u.count;
  }
  if (timers.size() > static_cast<size_t>(keep.count + replace.count)) {
    RETURN_IF_ERROR(tx.Exec("DELETE FROM call_timers WHERE (tenant_id, call_id) IN "
                            "(SELECT * FROM unnest($1::text[], $2::text[]))",
                            {gone_tenants.Done(), gone_calls.Done()})
                        .status());
  }
  for (Upserts* u : {&keep, &replace}) {
    if (u->count == 0) continue;
    RETURN_IF_ERROR(
        tx.Exec(absl::StrCat("INSERT INTO call_timers (tenant_id, call_id, kind, due_time) "
                             "SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], "
                             "$4::timestamptz[]) ON CONFLICT (tenant_id, call_id) DO UPDATE "
                             "SET kind = EXCLUDED.kind, due_time = EXCLUDED.due_time",
                             u == &keep ? " WHERE call_timers.kind <> EXCLUDED.kind" : ""),
                {u->tenants.Done(), u->calls.Done(), u->kinds.Done(), u->dues.Done()})
            .status());
  }
  return absl::OkStatus();
}

absl::Status Store::Write(pg::Conn& tx, const CallWrites& writes) {
  std::vector<const CallWrites::RowWrite*> known, stand_in;
  for (const CallWrites::RowWrite& row : writes.rows_) {
    (row.call.has_offered_time() ? known : stand_in).push_back(&row);
  }
  RETURN_IF_ERROR(UpsertRows(tx, known, true));
  RETURN_IF_ERROR(UpsertRows(tx, stand_in, false));
  RETURN_IF_ERROR(WriteTimers(tx, writes.timers_));
  // Each topic's events in one statement, in the order they were added.
  std::vector<std::string> topics;
  absl::flat_hash_map<std::string, std::vector<kafka::Event>> by_topic;
  for (const auto& [topic, event] : writes.events_) {
    auto [it, added] = by_topic.try_emplace(topic);
    if (added) topics.push_back(topic);
    it->second.push_back(event);
  }
  for (const std::string& topic : topics) {
    RETURN_IF_ERROR(pg::Outbox::EnqueueAll(tx, topic, by_topic[topic]));
  }
  if (writes.offers_.empty()) return absl::OkStatus();
  pg::Array tenants, calls, sdps;
  for (const CallWrites::OfferWrite& o : writes.offers_) {
    tenants.Add(o.tenant_id);
    calls.Add(o.call_id);
    sdps.Add(o.sdp);
  }
  return tx
      .Exec(
          "UPDATE calls c SET user_sdp_offer = u.sdp FROM unnest($1::text[], $2::text[], "
          "$3::text[]) AS u (t, id, sdp) WHERE c.tenant_id = u.t AND c.call_id = u.id "
          "AND c.user_sdp_offer IS NULL AND c.ended_time IS NULL",
          {tenants.Done(), calls.Done(), sdps.Done()})
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
