#include "services/calls/store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/outbox.h"
#include "services/calls/timeline.h"

namespace switchboard::calls {
namespace {

using core::FromProto;

constexpr absl::Duration kSettingsCacheTtl = absl::Seconds(5);
constexpr int kExportBatch = 5000;
// How many trailing digits of a number search the trigram index looks up.
constexpr size_t kNumberTail = 7;

absl::Status Unparsable(absl::string_view what) {
  return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_RECORD",
                     absl::StrCat("a stored ", what, " does not parse"));
}

pg::Param NullIfEmpty(const std::string& s) {
  return s.empty() ? pg::Param(std::nullopt) : pg::Param(s);
}

pg::Param OptionalTime(bool has, const google::protobuf::Timestamp& t) {
  return has ? pg::Param(FromProto(t)) : pg::Param(std::nullopt);
}

// A PostgreSQL array literal of quoted text elements: {"a","b\"c"}.
std::string TextArray(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

template <typename Enum>
std::string IntArray(const std::vector<Enum>& values) {
  std::vector<int> ints;
  for (Enum v : values) ints.push_back(static_cast<int>(v));
  return absl::StrCat("{", absl::StrJoin(ints, ","), "}");
}

// A statement assembled from conditions, with positional parameters.
class Sql {
 public:
  explicit Sql(std::string text) : text_(std::move(text)) {}

  // Adds a parameter; returns its placeholder ("$3").
  std::string Arg(pg::Param p) {
    params_.push_back(std::move(p));
    return absl::StrCat("$", params_.size());
  }
  void Append(absl::string_view s) { absl::StrAppend(&text_, s); }
  void And(absl::string_view condition) { absl::StrAppend(&text_, " AND ", condition); }

  // "column = $n" for one value, "column = ANY($n::type[])" for several.
  template <typename Enum>
  void InInts(absl::string_view column, const std::vector<Enum>& values, bool negate) {
    if (values.empty()) return;
    if (values.size() == 1) {
      And(absl::StrCat(column, negate ? " <> " : " = ",
                       Arg(static_cast<int64_t>(static_cast<int>(values[0])))));
    } else {
      And(absl::StrCat(column, negate ? " <> ALL(" : " = ANY(", Arg(IntArray(values)),
                       "::smallint[])"));
    }
  }
  void InTexts(absl::string_view column, const std::vector<std::string>& values) {
    if (values.empty()) return;
    if (values.size() == 1) {
      And(absl::StrCat(column, " = ", Arg(values[0])));
    } else {
      And(absl::StrCat(column, " = ANY(", Arg(TextArray(values)), "::text[])"));
    }
  }
  void Bound(absl::string_view column, const std::optional<query::TimeBound>& b, bool lower) {
    if (!b.has_value()) return;
    const char* op = lower ? (b->inclusive ? " >= " : " > ") : (b->inclusive ? " <= " : " < ");
    And(absl::StrCat(column, op, Arg(b->time)));
  }

  const std::string& text() const { return text_; }
  const std::vector<pg::Param>& params() const { return params_; }

 private:
  std::string text_;
  std::vector<pg::Param> params_;
};

// LIKE's wildcards and escape in a needle made literal.
std::string LikeLiteral(absl::string_view needle) {
  std::string out = "%";
  for (char c : needle) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  out += '%';
  return out;
}

// The conditions of a history filter and search (after "WHERE tenant_id = $1").
void Where(Sql& sql, const query::Filter& f, absl::string_view needle) {
  sql.InInts("direction", f.directions, false);
  sql.InInts("direction", f.not_directions, true);
  sql.InInts("state", f.states, false);
  sql.InInts("state", f.not_states, true);
  sql.Bound("offered_time", f.offered_after, true);
  sql.Bound("offered_time", f.offered_before, false);
  sql.InTexts("business_phone_number_id", f.business_phone_number_ids);
  sql.InTexts("agent_id", f.agent_ids);
  sql.InTexts("contact_key", f.contact_wa_ids);
  if (needle.empty()) return;
  const bool digits =
      std::all_of(needle.begin(), needle.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits && needle.size() > kNumberTail) {
    // A number's leading digits (country and area code) are in nearly every row, and so are
    // their trigrams: looking them up in the trigram index reads most of it. The index looks up
    // the number's tail; the whole needle is checked on the rows found (the concatenation keeps
    // the planner from using the index for it).
    sql.And(absl::StrCat("search_text LIKE ",
                         sql.Arg(LikeLiteral(needle.substr(needle.size() - kNumberTail)))));
    sql.And(absl::StrCat("(search_text || '') LIKE ", sql.Arg(LikeLiteral(needle))));
    return;
  }
  sql.And(absl::StrCat("search_text LIKE ", sql.Arg(LikeLiteral(needle))));
}

constexpr char kTotalsColumns[] =
    "count(*), count(*) FILTER (WHERE answered_time IS NOT NULL), "
    "count(*) FILTER (WHERE state = 5), count(*) FILTER (WHERE state = 6), "
    "count(*) FILTER (WHERE state = 7), count(*) FILTER (WHERE direction = 1), "
    "count(*) FILTER (WHERE direction = 2), coalesce(sum(duration_seconds), 0), "
    "coalesce(sum(billed_minutes), 0), coalesce(sum(cost_micros), 0), "
    "coalesce(max(cost_currency), '')";

Totals ReadTotals(const pg::Result& r, int row, int first) {
  Totals t;
  t.total = r.GetInt(row, first);
  t.answered = r.GetInt(row, first + 1);
  t.missed = r.GetInt(row, first + 2);
  t.rejected = r.GetInt(row, first + 3);
  t.failed = r.GetInt(row, first + 4);
  t.inbound = r.GetInt(row, first + 5);
  t.outbound = r.GetInt(row, first + 6);
  t.duration_seconds = r.GetInt(row, first + 7);
  t.billed_minutes = r.GetInt(row, first + 8);
  t.cost_micros = r.GetInt(row, first + 9);
  t.currency = std::string(r.Get(row, first + 10));
  return t;
}

// A timestamptz[] literal.
std::string TimeArray(const std::vector<absl::Time>& times) {
  std::vector<std::string> parts;
  for (absl::Time t : times) {
    parts.push_back(absl::FormatTime("\"%Y-%m-%d %H:%M:%E6S+00\"", t, absl::UTCTimeZone()));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ","), "}");
}

bool Waiting(const v1::Call& call) {
  return call.state() == v1::CALL_STATE_OFFERED || call.state() == v1::CALL_STATE_RINGING;
}

template <typename Message>
absl::StatusOr<Message> Parse(const pg::Result& r, int row, int col, absl::string_view what) {
  Message m;
  if (!m.ParseFromString(r.GetBytes(row, col))) return Unparsable(what);
  return m;
}

}  // namespace

std::string ContactKey(const events::v1::ContactRef& c) {
  return c.wa_id().empty() ? c.user_id() : c.wa_id();
}

Store::Store(pg::Pool& pool, const core::Clock& clock, Timing timing, Probe* probe)
    : pool_(pool), clock_(clock), timing_(timing), probe_(probe) {}

// ---- calls ----------------------------------------------------------------------------------

absl::StatusOr<std::optional<v1::Call>> Store::Lock(pg::Conn& tx, absl::string_view tenant,
                                                    const CallKey& key) {
  const char* column = key.by == CallKey::By::kCallId       ? "call_id"
                       : key.by == CallKey::By::kMetaCallId ? "meta_call_id"
                                                            : "request_id";
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec(absl::StrCat("SELECT record FROM calls WHERE tenant_id = $1 AND ",
                                        column, " = $2 FOR UPDATE"),
                           {tenant, key.value}));
  if (r.rows() == 0) return std::nullopt;
  return Parse<v1::Call>(r, 0, 0, "call");
}

absl::StatusOr<std::optional<v1::Call>> Store::Get(absl::string_view tenant, const CallKey& key) {
  const char* column = key.by == CallKey::By::kCallId       ? "call_id"
                       : key.by == CallKey::By::kMetaCallId ? "meta_call_id"
                                                            : "request_id";
  ASSIGN_OR_RETURN(pg::Result r,
                   pool_.Exec(absl::StrCat("SELECT record FROM calls WHERE tenant_id = $1 AND ",
                                           column, " = $2"),
                              {tenant, key.value}));
  if (r.rows() == 0) return std::nullopt;
  return Parse<v1::Call>(r, 0, 0, "call");
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
          ContactKey(call.contact()),
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

absl::StatusOr<bool> Store::Save(pg::Conn& tx, v1::Call& call, const Transition& t,
                                 const Cause& cause, const std::string& request_id) {
  if (t.publish) call.set_sequence(call.sequence() + 1);
  absl::Time now = clock_.Now();
  std::vector<pg::Param> params = Row(call, request_id, now);
  params.push_back(call.has_offered_time());  // $20: the offer time is known, not a stand-in
  RETURN_IF_ERROR(
      tx.Exec(absl::StrCat(
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
                  "record = EXCLUDED.record, update_time = EXCLUDED.update_time"),
              params)
          .status());
  RETURN_IF_ERROR(KeepTimer(tx, call, now));
  if (!t.publish) return false;

  v1::CallStateChanged changed;
  auto* h = changed.mutable_header();
  h->set_tenant_id(call.tenant_id());
  h->set_entity_id(call.call_id());
  h->set_sequence(call.sequence());
  *h->mutable_occurred_time() = core::ToProto(cause.at);
  h->set_correlation_id(cause.correlation_id);
  h->set_causation_id(cause.causation_id);
  *changed.mutable_call() = call;
  changed.set_previous_state(t.from);
  changed.set_state(t.to);
  kafka::Event event = kafka::MakeEvent(changed, call.call_id(), "calls", clock_);
  event.id = absl::StrCat(call.call_id(), "/", call.sequence());
  event.time = cause.at;
  RETURN_IF_ERROR(pg::Outbox::Enqueue(tx, kafka::kCallsState, event));

  // Counted when written: a transaction retried after a deadlock counts its call again (rare).
  if (IsTerminal(t.to) && probe_ != nullptr) probe_->Finished(call);
  std::string contact_key = ContactKey(call.contact());
  if (IsTerminal(t.to) && !contact_key.empty()) {
    std::string language = SettingsVia(tx, call.tenant_id()).language();
    if (std::optional<v1::TimelineEntry> entry = timeline::EntryFor(call, language)) {
      auto* th = entry->mutable_header();
      th->set_tenant_id(call.tenant_id());
      th->set_entity_id(contact_key);
      *th->mutable_occurred_time() = core::ToProto(cause.at);
      th->set_correlation_id(cause.correlation_id);
      th->set_causation_id(event.id);
      kafka::Event te = kafka::MakeEvent(*entry, contact_key, "calls", clock_);
      te.id = absl::StrCat(call.call_id(), "/timeline");
      te.time = cause.at;
      RETURN_IF_ERROR(pg::Outbox::Enqueue(tx, kafka::kConversationsTimeline, te));
    }
  }
  return true;
}

absl::Status Store::KeepTimer(pg::Conn& tx, const v1::Call& call, absl::Time now) {
  TimerKind kind = TimerKind::kNone;
  absl::Time due;
  bool inbound = call.direction() == v1::CALL_DIRECTION_INBOUND;
  if (Waiting(call)) {
    kind = inbound ? TimerKind::kRing : TimerKind::kUnconfirmed;
    due = now + (inbound ? timing_.ring_timeout : timing_.unconfirmed_timeout);
  } else if (call.state() == v1::CALL_STATE_ANSWERED && call.has_hangup_requested_time()) {
    kind = TimerKind::kHangupGrace;
    due = FromProto(call.hangup_requested_time()) + timing_.hangup_grace;
  }
  if (kind == TimerKind::kNone) {
    return tx
        .Exec("DELETE FROM call_timers WHERE tenant_id = $1 AND call_id = $2",
              {call.tenant_id(), call.call_id()})
        .status();
  }
  // A timer of the same kind keeps its due time: ringing does not extend the ring timeout.
  return tx
      .Exec(
          "INSERT INTO call_timers (tenant_id, call_id, kind, due_time) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (tenant_id, call_id) DO UPDATE SET kind = $3, due_time = $4 "
          "WHERE call_timers.kind <> $3",
          {call.tenant_id(), call.call_id(), static_cast<int64_t>(kind), due})
      .status();
}

absl::StatusOr<std::string> Store::Claim(pg::Conn& tx, absl::string_view tenant,
                                         absl::string_view call_id, absl::string_view agent,
                                         absl::Time now, absl::Duration lease) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("UPDATE calls SET answer_claim_agent = $3, answer_claim_time = $4 "
              "WHERE tenant_id = $1 AND call_id = $2 AND (answer_claim_agent IS NULL OR "
              "answer_claim_agent = $3 OR answer_claim_time < $5) RETURNING answer_claim_agent",
              {tenant, call_id, agent, now, now - lease}));
  if (r.rows() > 0) return std::string(agent);
  ASSIGN_OR_RETURN(r, tx.Exec("SELECT coalesce(answer_claim_agent, '') FROM calls "
                              "WHERE tenant_id = $1 AND call_id = $2",
                              {tenant, call_id}));
  return r.rows() > 0 ? std::string(r.Get(0, 0)) : std::string();
}

absl::StatusOr<std::optional<absl::Time>> Store::ClaimedUntil(pg::Conn& tx,
                                                              absl::string_view tenant,
                                                              absl::string_view call_id,
                                                              absl::Time now,
                                                              absl::Duration lease) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT answer_claim_time FROM calls WHERE "
                           "tenant_id = $1 AND call_id = $2 AND "
                           "answer_claim_agent IS NOT NULL AND answer_claim_time > $3",
                           {tenant, call_id, now - lease}));
  if (r.rows() == 0) return std::nullopt;
  return r.GetTime(0, 0) + lease;
}

absl::Status Store::SetTimer(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                             TimerKind kind, absl::Time due) {
  return tx
      .Exec(
          "INSERT INTO call_timers (tenant_id, call_id, kind, due_time) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (tenant_id, call_id) DO UPDATE SET kind = $3, due_time = $4",
          {tenant, call_id, static_cast<int64_t>(kind), due})
      .status();
}

absl::Status Store::ReleaseClaim(absl::string_view tenant, absl::string_view call_id,
                                 absl::string_view agent) {
  return pool_
      .Exec(
          "UPDATE calls SET answer_claim_agent = NULL, answer_claim_time = NULL "
          "WHERE tenant_id = $1 AND call_id = $2 AND answer_claim_agent = $3",
          {tenant, call_id, agent})
      .status();
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

// ---- history --------------------------------------------------------------------------------

absl::StatusOr<CallPage> Store::List(absl::string_view tenant, const query::Filter& filter,
                                     absl::string_view needle,
                                     const std::optional<query::Cursor>& after, int limit) {
  Sql sql("SELECT record, offered_time, call_id FROM calls WHERE tenant_id = ");
  sql.Append(sql.Arg(tenant));
  Where(sql, filter, needle);
  if (after.has_value()) {
    sql.And(absl::StrCat("(offered_time, call_id) < (", sql.Arg(after->time), "::timestamptz, ",
                         sql.Arg(after->id), ")"));
  }
  sql.Append(absl::StrCat(" ORDER BY offered_time DESC, call_id DESC LIMIT ",
                          sql.Arg(static_cast<int64_t>(limit) + 1)));
  ASSIGN_OR_RETURN(pg::Result r, pool_.Exec(sql.text(), sql.params()));
  CallPage page;
  int n = std::min(r.rows(), limit);
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(v1::Call call, Parse<v1::Call>(r, i, 0, "call"));
    page.calls.push_back(std::move(call));
  }
  if (r.rows() > limit && n > 0) {
    page.last = query::Cursor{r.GetTime(n - 1, 1), std::string(r.Get(n - 1, 2))};
  }
  return page;
}

absl::Status Store::Export(absl::string_view tenant, const query::Filter& filter,
                           absl::string_view needle,
                           const std::function<absl::Status(const v1::Call&)>& row) {
  ASSIGN_OR_RETURN(pg::Pool::Lease conn, pool_.Acquire());
  Sql sql("DECLARE calls_export NO SCROLL CURSOR FOR SELECT record FROM calls WHERE tenant_id = ");
  sql.Append(sql.Arg(tenant));
  Where(sql, filter, needle);
  sql.Append(" ORDER BY offered_time DESC, call_id DESC");
  // A read-only snapshot for the whole export: rows written meanwhile are not half-included.
  RETURN_IF_ERROR(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  absl::Status status = [&]() -> absl::Status {
    RETURN_IF_ERROR(conn->Exec(sql.text(), sql.params()).status());
    const std::string fetch = absl::StrCat("FETCH ", kExportBatch, " FROM calls_export");
    while (true) {
      // Binary: the records as stored, parsed in place, without bytea's hex round trip.
      ASSIGN_OR_RETURN(pg::Result r, conn->Exec(fetch, {}, pg::Results::kBinary));
      v1::Call call;
      for (int i = 0; i < r.rows(); ++i) {
        absl::string_view bytes = r.Get(i, 0);
        if (!call.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
          return Unparsable("call");
        }
        RETURN_IF_ERROR(row(call));
      }
      if (r.rows() < kExportBatch) return absl::OkStatus();
    }
  }();
  absl::Status ended = conn->Exec(status.ok() ? "COMMIT" : "ROLLBACK").status();
  return status.ok() ? ended : status;
}

absl::StatusOr<Totals> Store::Stats(absl::string_view tenant, const query::Filter& filter,
                                    absl::Time start, absl::Time end) {
  Sql sql(absl::StrCat("SELECT ", kTotalsColumns, " FROM calls WHERE tenant_id = "));
  sql.Append(sql.Arg(tenant));
  sql.And(absl::StrCat("offered_time >= ", sql.Arg(start)));
  sql.And(absl::StrCat("offered_time < ", sql.Arg(end)));
  Where(sql, filter, "");
  ASSIGN_OR_RETURN(pg::Result r, pool_.Exec(sql.text(), sql.params()));
  return ReadTotals(r, 0, 0);
}

absl::StatusOr<std::vector<Totals>> Store::Buckets(absl::string_view tenant,
                                                   const query::Filter& filter,
                                                   const query::Period& period) {
  Sql sql("SELECT width_bucket(offered_time, ");
  sql.Append(absl::StrCat(sql.Arg(TimeArray(period.bucket_starts)), "::timestamptz[]), ",
                          kTotalsColumns, " FROM calls WHERE tenant_id = "));
  sql.Append(sql.Arg(tenant));
  sql.And(absl::StrCat("offered_time >= ", sql.Arg(period.start)));
  sql.And(absl::StrCat("offered_time < ", sql.Arg(period.end)));
  Where(sql, filter, "");
  sql.Append(" GROUP BY 1");
  ASSIGN_OR_RETURN(pg::Result r, pool_.Exec(sql.text(), sql.params()));
  std::vector<Totals> out(period.bucket_starts.size());
  for (int i = 0; i < r.rows(); ++i) {
    int64_t bucket = r.GetInt(i, 0) - 1;  // width_bucket counts from 1
    if (bucket < 0 || bucket >= static_cast<int64_t>(out.size())) continue;
    out[bucket] = ReadTotals(r, i, 1);
  }
  return out;
}

absl::StatusOr<std::vector<TopContact>> Store::TopContacts(absl::string_view tenant,
                                                           const query::Filter& filter,
                                                           absl::Time start, absl::Time end,
                                                           int limit) {
  Sql sql(
      "SELECT contact_key, count(*), coalesce(sum(duration_seconds), 0) FROM calls "
      "WHERE tenant_id = ");
  sql.Append(sql.Arg(tenant));
  sql.And(absl::StrCat("offered_time >= ", sql.Arg(start)));
  sql.And(absl::StrCat("offered_time < ", sql.Arg(end)));
  Where(sql, filter, "");
  sql.Append(absl::StrCat(" GROUP BY contact_key ORDER BY count(*) DESC, contact_key LIMIT ",
                          sql.Arg(static_cast<int64_t>(limit))));
  ASSIGN_OR_RETURN(pg::Result r, pool_.Exec(sql.text(), sql.params()));
  std::vector<TopContact> out;
  std::vector<std::string> keys;
  for (int i = 0; i < r.rows(); ++i) {
    keys.emplace_back(r.Get(i, 0));
    out.push_back({.calls = r.GetInt(i, 1), .duration_seconds = r.GetInt(i, 2)});
  }
  if (keys.empty()) return out;
  // Each contact as their latest call knows them.
  ASSIGN_OR_RETURN(pg::Result latest,
                   pool_.Exec("SELECT DISTINCT ON (contact_key) contact_key, record FROM calls "
                              "WHERE tenant_id = $1 AND contact_key = ANY($2::text[]) "
                              "ORDER BY contact_key, offered_time DESC",
                              {tenant, TextArray(keys)}));
  for (int i = 0; i < latest.rows(); ++i) {
    auto it = std::find(keys.begin(), keys.end(), latest.Get(i, 0));
    if (it == keys.end()) continue;
    ASSIGN_OR_RETURN(v1::Call call, Parse<v1::Call>(latest, i, 1, "call"));
    out[it - keys.begin()].contact = call.contact();
  }
  return out;
}

// ---- notes ----------------------------------------------------------------------------------

absl::Status Store::InsertNote(pg::Conn& tx, absl::string_view tenant, const v1::CallNote& note,
                               absl::string_view contact_key) {
  return tx
      .Exec(
          "INSERT INTO notes (tenant_id, note_id, call_id, contact_key, author, record, "
          "create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {tenant, note.note_id(), note.call_id(), contact_key, note.author_agent_id(),
           pg::Param::Bytes(note.SerializeAsString()), FromProto(note.create_time()),
           FromProto(note.update_time())})
      .status();
}

absl::StatusOr<std::optional<v1::CallNote>> Store::LockNote(pg::Conn& tx, absl::string_view tenant,
                                                            absl::string_view note_id) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("SELECT record FROM notes WHERE tenant_id = $1 AND note_id = $2 FOR UPDATE",
              {tenant, note_id}));
  if (r.rows() == 0) return std::nullopt;
  return Parse<v1::CallNote>(r, 0, 0, "note");
}

absl::Status Store::UpdateNote(pg::Conn& tx, absl::string_view tenant, const v1::CallNote& note) {
  return tx
      .Exec("UPDATE notes SET record = $3, update_time = $4 WHERE tenant_id = $1 AND note_id = $2",
            {tenant, note.note_id(), pg::Param::Bytes(note.SerializeAsString()),
             FromProto(note.update_time())})
      .status();
}

absl::Status Store::DeleteNote(pg::Conn& tx, absl::string_view tenant, absl::string_view note_id) {
  return tx.Exec("DELETE FROM notes WHERE tenant_id = $1 AND note_id = $2", {tenant, note_id})
      .status();
}

absl::StatusOr<NotePage> Store::ListNotes(absl::string_view tenant, absl::string_view call_id,
                                          absl::string_view contact_key,
                                          const std::optional<query::Cursor>& after, int limit) {
  Sql sql("SELECT record, create_time, note_id FROM notes WHERE tenant_id = ");
  sql.Append(sql.Arg(tenant));
  if (!call_id.empty()) sql.And(absl::StrCat("call_id = ", sql.Arg(call_id)));
  if (!contact_key.empty()) sql.And(absl::StrCat("contact_key = ", sql.Arg(contact_key)));
  if (after.has_value()) {
    sql.And(absl::StrCat("(create_time, note_id) < (", sql.Arg(after->time), "::timestamptz, ",
                         sql.Arg(after->id), ")"));
  }
  sql.Append(absl::StrCat(" ORDER BY create_time DESC, note_id DESC LIMIT ",
                          sql.Arg(static_cast<int64_t>(limit) + 1)));
  ASSIGN_OR_RETURN(pg::Result r, pool_.Exec(sql.text(), sql.params()));
  NotePage page;
  int n = std::min(r.rows(), limit);
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(v1::CallNote note, Parse<v1::CallNote>(r, i, 0, "note"));
    page.notes.push_back(std::move(note));
  }
  if (r.rows() > limit && n > 0) {
    page.last = query::Cursor{r.GetTime(n - 1, 1), std::string(r.Get(n - 1, 2))};
  }
  return page;
}

// ---- callbacks ------------------------------------------------------------------------------

absl::Status Store::SaveCallback(pg::Conn& tx, absl::string_view tenant,
                                 const v1::Callback& callback, int64_t sequence, absl::Time now) {
  return tx
      .Exec(
          "INSERT INTO callbacks (tenant_id, callback_id, state, assigned_agent_id, "
          "contact_key, due_time, sequence, record, create_time, update_time) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
          "ON CONFLICT (tenant_id, callback_id) DO UPDATE SET state = $3, "
          "assigned_agent_id = $4, due_time = $6, sequence = $7, record = $8, "
          "update_time = $10",
          {tenant, callback.callback_id(), static_cast<int64_t>(callback.state()),
           callback.assigned_agent_id(), ContactKey(callback.contact()),
           FromProto(callback.due_time()), sequence, pg::Param::Bytes(callback.SerializeAsString()),
           FromProto(callback.create_time()), now})
      .status();
}

absl::StatusOr<std::optional<StoredCallback>> Store::LockCallback(pg::Conn& tx,
                                                                  absl::string_view tenant,
                                                                  absl::string_view callback_id) {
  ASSIGN_OR_RETURN(pg::Result r, tx.Exec("SELECT record, sequence FROM callbacks WHERE "
                                         "tenant_id = $1 AND callback_id = $2 FOR UPDATE",
                                         {tenant, callback_id}));
  if (r.rows() == 0) return std::nullopt;
  ASSIGN_OR_RETURN(v1::Callback cb, Parse<v1::Callback>(r, 0, 0, "callback"));
  return StoredCallback{std::string(tenant), std::move(cb), r.GetInt(0, 1)};
}

absl::StatusOr<CallbackPage> Store::ListCallbacks(absl::string_view tenant,
                                                  const query::CallbackFilter& filter,
                                                  const std::optional<query::Cursor>& after,
                                                  int limit) {
  Sql sql("SELECT record, due_time, callback_id FROM callbacks WHERE tenant_id = ");
  sql.Append(sql.Arg(tenant));
  if (filter.states.empty() && filter.not_states.empty()) {
    sql.InInts("state",
               std::vector<v1::CallbackState>{v1::CALLBACK_STATE_PENDING, v1::CALLBACK_STATE_DUE},
               false);
  }
  sql.InInts("state", filter.states, false);
  sql.InInts("state", filter.not_states, true);
  if (!filter.assigned_agent_id.empty()) {
    sql.And(absl::StrCat("assigned_agent_id = ", sql.Arg(filter.assigned_agent_id)));
  }
  if (!filter.contact_wa_id.empty()) {
    sql.And(absl::StrCat("contact_key = ", sql.Arg(filter.contact_wa_id)));
  }
  sql.Bound("due_time", filter.due_after, true);
  sql.Bound("due_time", filter.due_before, false);
  if (after.has_value()) {
    sql.And(absl::StrCat("(due_time, callback_id) > (", sql.Arg(after->time), "::timestamptz, ",
                         sql.Arg(after->id), ")"));
  }
  sql.Append(absl::StrCat(" ORDER BY due_time, callback_id LIMIT ",
                          sql.Arg(static_cast<int64_t>(limit) + 1)));
  ASSIGN_OR_RETURN(pg::Result r, pool_.Exec(sql.text(), sql.params()));
  CallbackPage page;
  int n = std::min(r.rows(), limit);
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(v1::Callback cb, Parse<v1::Callback>(r, i, 0, "callback"));
    page.callbacks.push_back(std::move(cb));
  }
  if (r.rows() > limit && n > 0) {
    page.last = query::Cursor{r.GetTime(n - 1, 1), std::string(r.Get(n - 1, 2))};
  }
  return page;
}

absl::StatusOr<std::vector<StoredCallback>> Store::TakeDueCallbacks(pg::Conn& tx, absl::Time now,
                                                                    int limit) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT tenant_id, record, sequence FROM callbacks WHERE state = 1 "
                           "AND due_time <= $1 ORDER BY due_time LIMIT $2 FOR UPDATE SKIP LOCKED",
                           {now, limit}));
  std::vector<StoredCallback> out;
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(v1::Callback cb, Parse<v1::Callback>(r, i, 1, "callback"));
    out.push_back({std::string(r.Get(i, 0)), std::move(cb), r.GetInt(i, 2)});
  }
  return out;
}

// ---- settings -------------------------------------------------------------------------------

absl::StatusOr<v1::CallsSettings> Store::LoadSettings(pg::Conn& conn, absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result r,
                   conn.Exec("SELECT record FROM settings WHERE tenant_id = $1", {tenant}));
  v1::CallsSettings s;
  if (r.rows() > 0 && !s.ParseFromString(r.GetBytes(0, 0))) return Unparsable("settings");
  if (s.time_zone().empty()) s.set_time_zone("UTC");
  if (s.language().empty()) s.set_language("en");
  return s;
}

v1::CallsSettings Store::SettingsVia(pg::Conn& conn, absl::string_view tenant) {
  absl::Time now = clock_.Now();
  std::optional<v1::CallsSettings> stale;
  {
    absl::MutexLock lock(&settings_mu_);
    auto it = settings_.find(tenant);
    if (it != settings_.end()) {
      if (now - it->second.loaded < kSettingsCacheTtl) return it->second.settings;
      stale = it->second.settings;
    }
  }
  absl::StatusOr<v1::CallsSettings> loaded = LoadSettings(conn, tenant);
  if (!loaded.ok()) {
    log::Warning("calls settings unavailable; using the last known or the defaults",
                 {{"tenant", std::string(tenant)}, {"error", loaded.status().ToString()}});
    if (stale) return *stale;
    v1::CallsSettings defaults;
    defaults.set_time_zone("UTC");
    defaults.set_language("en");
    return defaults;
  }
  absl::MutexLock lock(&settings_mu_);
  settings_[tenant] = {*loaded, now};
  return *loaded;
}

absl::StatusOr<v1::CallsSettings> Store::Settings(absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Pool::Lease conn, pool_.Acquire());
  return SettingsVia(*conn, tenant);
}

absl::Status Store::SaveSettings(absl::string_view tenant, const v1::CallsSettings& settings) {
  RETURN_IF_ERROR(pool_
                      .Exec("INSERT INTO settings (tenant_id, record, update_time) "
                            "VALUES ($1, $2, $3) ON CONFLICT (tenant_id) DO UPDATE SET "
                            "record = $2, update_time = $3",
                            {tenant, pg::Param::Bytes(settings.SerializeAsString()), clock_.Now()})
                      .status());
  absl::MutexLock lock(&settings_mu_);
  settings_.erase(tenant);
  return absl::OkStatus();
}

}  // namespace switchboard::calls
