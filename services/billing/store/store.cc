#include "services/billing/store/store.h"

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"

namespace switchboard::billing::store {
namespace {

int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }

absl::Status Unparsable(absl::string_view what) {
  return core::Error(absl::StatusCode::kDataLoss, "UNPARSABLE_RECORD",
                     absl::StrCat("a stored ", what, " does not parse"));
}

// The records (bytea, column 0) of every row of `r`.
template <typename Record>
absl::StatusOr<std::vector<Record>> Records(const pg::Result& r, absl::string_view what) {
  std::vector<Record> out;
  out.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    Record record;
    if (!record.ParseFromString(r.GetBytes(i, 0))) return Unparsable(what);
    out.push_back(std::move(record));
  }
  return out;
}

rules::MonthUsage ReadMonth(const pg::Result& r) {
  rules::MonthUsage u;
  if (r.rows() == 0) return u;
  u.minutes_used = r.GetInt(0, 0);
  u.purchased_minutes = r.GetInt(0, 1);
  u.rated_calls = r.GetInt(0, 2);
  u.call_cost_micros = r.GetInt(0, 3);
  u.alerted = static_cast<v1::UsageLevel>(r.GetInt(0, 4));
  u.announced = static_cast<v1::UsageLevel>(r.GetInt(0, 5));
  return u;
}

constexpr char kMonthColumns[] =
    "minutes_used, purchased_minutes, rated_calls, call_cost_micros, alerted, announced";

}  // namespace

// ---- plans ----------------------------------------------------------------------------------

absl::StatusOr<v1::RatePlan> LoadPlan(pg::Conn& conn, absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result r,
                   conn.Exec("SELECT record FROM plans WHERE tenant_id = $1", {tenant}));
  v1::RatePlan plan;
  if (r.rows() > 0 && !plan.ParseFromString(r.GetBytes(0, 0))) return Unparsable("plan");
  return plan;
}

absl::Status SavePlan(pg::Conn& tx, absl::string_view tenant, const v1::RatePlan& plan,
                      absl::Time now) {
  return tx
      .Exec(
          "INSERT INTO plans (tenant_id, record, update_time) VALUES ($1, $2, $3) "
          "ON CONFLICT (tenant_id) DO UPDATE SET record = $2, update_time = $3",
          {tenant, pg::Param::Bytes(plan.SerializeAsString()), now})
      .status();
}

// ---- rated calls ----------------------------------------------------------------------------

absl::StatusOr<bool> ClaimCall(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                               absl::Duration duration, absl::string_view entry_id,
                               absl::Time now) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("INSERT INTO rated_calls (tenant_id, call_id, duration_us, current_duration_us, "
              "entry_id, rate_time) VALUES ($1, $2, $3, $3, $4, $5) "
              "ON CONFLICT (tenant_id, call_id) DO NOTHING RETURNING 1",
              {tenant, call_id, Us(duration), entry_id, now}));
  return r.rows() == 1;
}

absl::StatusOr<std::optional<RatedCall>> LockRatedCall(pg::Conn& tx, absl::string_view tenant,
                                                       absl::string_view call_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT duration_us, current_duration_us, entry_id, refunded "
                           "FROM rated_calls WHERE tenant_id = $1 AND call_id = $2 FOR UPDATE",
                           {tenant, call_id}));
  if (r.rows() == 0) return std::nullopt;
  return RatedCall{.first_duration = absl::Microseconds(r.GetInt(0, 0)),
                   .current_duration = absl::Microseconds(r.GetInt(0, 1)),
                   .entry_id = std::string(r.Get(0, 2)),
                   .refunded = r.GetBool(0, 3)};
}

absl::Status SaveRatedCall(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                           const RatedCall& rated) {
  return tx
      .Exec(
          "UPDATE rated_calls SET current_duration_us = $3, entry_id = $4, refunded = $5 "
          "WHERE tenant_id = $1 AND call_id = $2",
          {tenant, call_id, Us(rated.current_duration), rated.entry_id, rated.refunded})
      .status();
}

// ---- quarantine -----------------------------------------------------------------------------

absl::StatusOr<bool> Quarantine(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                                absl::Duration duration, absl::Duration rated,
                                absl::string_view event_id, absl::Time now) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("INSERT INTO quarantine AS q (tenant_id, call_id, duration_us, rated_duration_us, "
              "event_id, receive_time) VALUES ($1, $2, $3, $4, $5, $6) "
              "ON CONFLICT (tenant_id, call_id, duration_us) DO UPDATE "
              "SET occurrences = q.occurrences + 1 RETURNING q.occurrences",
              {tenant, call_id, Us(duration), Us(rated), event_id, now}));
  return r.rows() == 1 && r.GetInt(0, 0) == 1;
}

absl::StatusOr<bool> Settled(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id,
                             absl::Duration duration) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT 1 FROM quarantine WHERE tenant_id = $1 AND call_id = $2 "
                           "AND duration_us = $3 AND settled",
                           {tenant, call_id, Us(duration)}));
  return r.rows() > 0;
}

absl::Status SettleQuarantine(pg::Conn& tx, absl::string_view tenant, absl::string_view call_id) {
  return tx
      .Exec("UPDATE quarantine SET settled = true WHERE tenant_id = $1 AND call_id = $2",
            {tenant, call_id})
      .status();
}

absl::StatusOr<std::vector<v1::QuarantinedCall>> ListQuarantine(
    pg::Pool& pool, absl::string_view tenant,
    std::optional<std::pair<absl::Time, std::string>> after, int limit) {
  std::vector<pg::Param> params = {tenant};
  std::string where = "tenant_id = $1 AND NOT settled";
  if (after.has_value()) {
    params.push_back(after->first);
    params.push_back(after->second);
    absl::StrAppend(&where, " AND (receive_time, call_id) > ($2, $3)");
  }
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec(absl::StrCat("SELECT call_id, duration_us, rated_duration_us, "
                                          "event_id, receive_time, occurrences FROM quarantine "
                                          "WHERE ",
                                          where, " ORDER BY receive_time, call_id LIMIT ", limit),
                             params));
  std::vector<v1::QuarantinedCall> out;
  for (int i = 0; i < r.rows(); ++i) {
    v1::QuarantinedCall q;
    q.set_call_id(std::string(r.Get(i, 0)));
    *q.mutable_received_duration() = core::ToProto(absl::Microseconds(r.GetInt(i, 1)));
    *q.mutable_rated_duration() = core::ToProto(absl::Microseconds(r.GetInt(i, 2)));
    q.set_event_id(std::string(r.Get(i, 3)));
    *q.mutable_receive_time() = core::ToProto(r.GetTime(i, 4));
    q.set_occurrences(r.GetInt(i, 5));
    out.push_back(std::move(q));
  }
  return out;
}

absl::StatusOr<int64_t> CountQuarantine(pg::Pool& pool) {
  ASSIGN_OR_RETURN(pg::Result r, pool.Exec("SELECT count(*) FROM quarantine WHERE NOT settled"));
  return r.GetInt(0, 0);
}

// ---- ledger ---------------------------------------------------------------------------------

absl::Status Append(pg::Conn& tx, absl::string_view tenant, const v1::UsageEntry& e) {
  std::optional<absl::Time> ended;
  if (e.has_ended_time()) ended = core::FromProto(e.ended_time());
  return tx
      .Exec(
          "INSERT INTO entries (tenant_id, entry_id, kind, month, call_id, minutes, "
          "amount_micros, currency, record, create_time, ended_time, direction, region) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
          {tenant, e.entry_id(), static_cast<int>(e.kind()), e.month(), e.call_id(), e.minutes(),
           e.amount().amount_micros(), e.amount().currency_code(),
           pg::Param::Bytes(e.SerializeAsString()), core::FromProto(e.create_time()), ended,
           static_cast<int>(e.direction()), e.region_code()})
      .status();
}

absl::StatusOr<std::vector<CostRow>> Costs(pg::Pool& pool, absl::string_view tenant,
                                           absl::Time from, absl::Time to, absl::string_view zone,
                                           CostBy by) {
  const char* key = by == CostBy::kDay         ? "to_char(ended_time AT TIME ZONE $4, 'YYYY-MM-DD')"
                    : by == CostBy::kDirection ? "direction::text"
                                               : "region";
  ASSIGN_OR_RETURN(
      pg::Result r,
      pool.Exec(absl::StrCat("SELECT ", key,
                             " AS k, sum(amount_micros), sum(minutes), "
                             "sum(CASE kind WHEN 1 THEN 1 WHEN 4 THEN -1 ELSE 0 END) "
                             "FROM entries WHERE tenant_id = $1 AND kind IN (1, 4) "
                             "AND ended_time >= $2 AND ended_time < $3 GROUP BY k ORDER BY k"),
                by == CostBy::kDay ? std::vector<pg::Param>{tenant, from, to, zone}
                                   : std::vector<pg::Param>{tenant, from, to}));
  std::vector<CostRow> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({std::string(r.Get(i, 0)), r.GetInt(i, 1), r.GetInt(i, 2), r.GetInt(i, 3)});
  }
  return out;
}

absl::StatusOr<std::optional<v1::UsageEntry>> GetEntry(pg::Conn& tx, absl::string_view tenant,
                                                       absl::string_view entry_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT record FROM entries WHERE tenant_id = $1 AND entry_id = $2",
                           {tenant, entry_id}));
  if (r.rows() == 0) return std::nullopt;
  v1::UsageEntry e;
  if (!e.ParseFromString(r.GetBytes(0, 0))) return Unparsable("ledger entry");
  return e;
}

absl::StatusOr<std::vector<v1::UsageEntry>> ListEntries(pg::Pool& pool, absl::string_view tenant,
                                                        const rules::EntryFilter& q,
                                                        absl::string_view before_entry_id,
                                                        int limit) {
  std::vector<pg::Param> params = {tenant};
  std::string where = "tenant_id = $1";
  auto add = [&](absl::string_view condition, pg::Param p) {
    params.push_back(std::move(p));
    absl::StrAppend(&where, " AND ", condition, " $", params.size());
  };
  if (!q.month.empty()) add("month =", q.month);
  if (q.kind != v1::USAGE_ENTRY_KIND_UNSPECIFIED) add("kind =", static_cast<int>(q.kind));
  if (!q.call_id.empty()) add("call_id =", q.call_id);
  if (q.created_from.has_value()) add("create_time >=", *q.created_from);
  if (q.created_until.has_value()) add("create_time <", *q.created_until);
  if (!before_entry_id.empty()) add("entry_id <", before_entry_id);
  ASSIGN_OR_RETURN(pg::Result r, pool.Exec(absl::StrCat("SELECT record FROM entries WHERE ", where,
                                                        " ORDER BY entry_id DESC LIMIT ", limit),
                                           params));
  return Records<v1::UsageEntry>(r, "ledger entry");
}

// ---- months and sequences -------------------------------------------------------------------

absl::StatusOr<rules::MonthUsage> LockMonth(pg::Conn& tx, absl::string_view tenant,
                                            const rules::Month& month, absl::Time now) {
  RETURN_IF_ERROR(TouchMonth(tx, tenant, month, now));
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec(absl::StrCat("SELECT ", kMonthColumns,
                                        " FROM months WHERE tenant_id = $1 AND month = $2 "
                                        "FOR UPDATE"),
                           {tenant, month.id}));
  return ReadMonth(r);
}

absl::Status SaveMonth(pg::Conn& tx, absl::string_view tenant, absl::string_view month,
                       const rules::MonthUsage& u, absl::Time now) {
  return tx
      .Exec(
          "UPDATE months SET minutes_used = $3, purchased_minutes = $4, rated_calls = $5, "
          "call_cost_micros = $6, alerted = $7, announced = $8, update_time = $9 "
          "WHERE tenant_id = $1 AND month = $2",
          {tenant, month, u.minutes_used, u.purchased_minutes, u.rated_calls, u.call_cost_micros,
           static_cast<int>(u.alerted), static_cast<int>(u.announced), now})
      .status();
}

absl::StatusOr<rules::MonthUsage> GetMonth(pg::Pool& pool, absl::string_view tenant,
                                           absl::string_view month) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec(absl::StrCat("SELECT ", kMonthColumns,
                                          " FROM months WHERE tenant_id = $1 AND month = $2"),
                             {tenant, month}));
  return ReadMonth(r);
}

absl::StatusOr<int64_t> NextSequence(pg::Conn& tx, absl::string_view tenant) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("INSERT INTO tenants AS t (tenant_id, sequence) VALUES ($1, 1) "
                           "ON CONFLICT (tenant_id) DO UPDATE SET sequence = t.sequence + 1 "
                           "RETURNING sequence",
                           {tenant}));
  return r.GetInt(0, 0);
}

absl::Status TouchMonth(pg::Conn& tx, absl::string_view tenant, const rules::Month& month,
                        absl::Time now) {
  return tx
      .Exec(
          "INSERT INTO months (tenant_id, month, update_time, close_time) "
          "VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, month) DO NOTHING",
          {tenant, month.id, now, month.end})
      .status();
}

absl::StatusOr<std::vector<std::string>> OpenMonthsOf(pg::Conn& tx, absl::string_view tenant) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("SELECT month FROM months WHERE tenant_id = $1 AND NOT invoiced", {tenant}));
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.Get(i, 0));
  return out;
}

absl::Status SetCloseTime(pg::Conn& tx, absl::string_view tenant, absl::string_view month,
                          absl::Time close) {
  return tx
      .Exec("UPDATE months SET close_time = $3 WHERE tenant_id = $1 AND month = $2",
            {tenant, month, close})
      .status();
}

// ---- invoices -------------------------------------------------------------------------------

namespace {

absl::StatusOr<std::vector<v1::Invoice>> ReadInvoices(const pg::Result& r) {
  return Records<v1::Invoice>(r, "invoice");
}

}  // namespace

absl::StatusOr<std::vector<MonthKey>> DueMonths(pg::Pool& pool, absl::Time now, int limit) {
  ASSIGN_OR_RETURN(pg::Result r,
                   pool.Exec(absl::StrCat("SELECT tenant_id, month FROM months WHERE NOT invoiced "
                                          "AND close_time <= $1 ORDER BY close_time LIMIT ",
                                          limit),
                             {now}));
  std::vector<MonthKey> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  }
  return out;
}

absl::StatusOr<bool> LockOpenMonth(pg::Conn& tx, absl::string_view tenant,
                                   absl::string_view month) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT invoiced FROM months WHERE tenant_id = $1 AND month = $2 "
                           "FOR UPDATE",
                           {tenant, month}));
  return r.rows() == 1 && !r.GetBool(0, 0);
}

absl::Status MarkInvoiced(pg::Conn& tx, absl::string_view tenant, absl::string_view month) {
  return tx
      .Exec("UPDATE months SET invoiced = true WHERE tenant_id = $1 AND month = $2",
            {tenant, month})
      .status();
}

absl::StatusOr<std::vector<v1::UsageEntry>> UninvoicedEntries(pg::Conn& conn,
                                                              absl::string_view tenant,
                                                              absl::string_view month) {
  ASSIGN_OR_RETURN(
      pg::Result r,
      conn.Exec("SELECT record FROM entries e WHERE tenant_id = $1 AND month <= $2 AND NOT EXISTS "
                "(SELECT 1 FROM invoice_items i WHERE i.tenant_id = e.tenant_id "
                "AND i.entry_id = e.entry_id) ORDER BY entry_id",
                {tenant, month}));
  return Records<v1::UsageEntry>(r, "ledger entry");
}

absl::StatusOr<int64_t> NextInvoiceNumber(pg::Conn& tx, absl::string_view tenant,
                                          v1::InvoiceKind kind) {
  const char* column = kind == v1::INVOICE_KIND_CREDIT_NOTE ? "credit_notes" : "invoices";
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec(absl::StrCat("INSERT INTO tenants AS t (tenant_id, ", column,
                                        ") VALUES ($1, 1) ON CONFLICT (tenant_id) DO UPDATE SET ",
                                        column, " = t.", column, " + 1 RETURNING ", column),
                           {tenant}));
  return r.GetInt(0, 0);
}

absl::Status SaveInvoice(pg::Conn& tx, absl::string_view tenant, const v1::Invoice& inv,
                         const std::vector<std::string>& entry_ids) {
  RETURN_IF_ERROR(
      tx.Exec("INSERT INTO invoices (tenant_id, invoice_id, kind, number, month, "
              "record, issue_time) VALUES ($1, $2, $3, $4, $5, $6, $7)",
              {tenant, inv.invoice_id(), static_cast<int>(inv.kind()), inv.number(), inv.month(),
               pg::Param::Bytes(inv.SerializeAsString()), core::FromProto(inv.issue_time())})
          .status());
  for (const std::string& id : entry_ids) {
    ASSIGN_OR_RETURN(pg::Result r,
                     tx.Exec("INSERT INTO invoice_items (tenant_id, entry_id, invoice_id) "
                             "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1",
                             {tenant, id, inv.invoice_id()}));
    if (r.rows() == 0) {
      return core::Error(absl::StatusCode::kAlreadyExists, "ENTRY_INVOICED",
                         absl::StrCat("entry ", id, " is on another invoice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<v1::Invoice>> GetInvoice(pg::Conn& conn, absl::string_view tenant,
                                                      absl::string_view invoice_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   conn.Exec("SELECT record FROM invoices WHERE tenant_id = $1 AND invoice_id = $2",
                             {tenant, invoice_id}));
  ASSIGN_OR_RETURN(std::vector<v1::Invoice> found, ReadInvoices(r));
  if (found.empty()) return std::nullopt;
  return found.front();
}

absl::StatusOr<std::optional<v1::Invoice>> InvoiceOf(pg::Conn& tx, absl::string_view tenant,
                                                     absl::string_view entry_id) {
  ASSIGN_OR_RETURN(pg::Result r,
                   tx.Exec("SELECT v.record FROM invoice_items i JOIN invoices v USING "
                           "(tenant_id, invoice_id) WHERE i.tenant_id = $1 AND i.entry_id = $2",
                           {tenant, entry_id}));
  ASSIGN_OR_RETURN(std::vector<v1::Invoice> found, ReadInvoices(r));
  if (found.empty()) return std::nullopt;
  return found.front();
}

absl::StatusOr<std::vector<v1::Invoice>> ListInvoices(pg::Pool& pool, absl::string_view tenant,
                                                      absl::string_view before, int limit) {
  std::vector<pg::Param> params = {tenant};
  std::string where = "tenant_id = $1";
  if (!before.empty()) {
    params.push_back(before);
    absl::StrAppend(&where, " AND invoice_id < $2");
  }
  ASSIGN_OR_RETURN(pg::Result r, pool.Exec(absl::StrCat("SELECT record FROM invoices WHERE ", where,
                                                        " ORDER BY invoice_id DESC LIMIT ", limit),
                                           params));
  return ReadInvoices(r);
}

}  // namespace switchboard::billing::store
