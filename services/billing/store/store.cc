#include "services/billing/store/store.h"

#include <algorithm>
#include <tuple>

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

std::string ClaimKey(absl::string_view tenant, absl::string_view call_id) {
  return absl::StrCat(tenant, "/", call_id);
}

absl::StatusOr<Claimed> ClaimCalls(pg::Conn& tx, const std::vector<Claim>& claims, absl::Time now) {
  Claimed out;
  if (claims.empty()) return out;
  pg::Array tenants, calls, durations, entries;
  for (const Claim& c : claims) {
    tenants.Add(c.tenant);
    calls.Add(c.call_id);
    durations.Add(Us(c.duration));
    entries.Add(c.entry_id);
  }
  // A key rated before is "updated" to itself, which locks it and returns what it rated; xmax
  // is 0 on the rows this statement inserted.
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec(
          "INSERT INTO rated_calls AS r (tenant_id, call_id, duration_us, "
          "current_duration_us, entry_id, rate_time) SELECT t, c, d, d, e, $5 FROM "
          "unnest($1::text[], $2::text[], $3::bigint[], $4::text[]) AS u (t, c, d, e) "
          "ORDER BY t, c ON CONFLICT (tenant_id, call_id) DO UPDATE SET rate_time = r.rate_time "
          "RETURNING r.tenant_id, r.call_id, r.xmax = 0, r.duration_us, "
          "r.current_duration_us",
          {tenants.Done(), calls.Done(), durations.Done(), entries.Done(), now}));
  for (int i = 0; i < r.rows(); ++i) {
    std::string key = ClaimKey(r.Get(i, 0), r.Get(i, 1));
    if (r.GetBool(i, 2)) {
      out.fresh.insert(std::move(key));
    } else {
      out.before[std::move(key)] = {absl::Microseconds(r.GetInt(i, 3)),
                                    absl::Microseconds(r.GetInt(i, 4))};
    }
  }
  return out;
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

absl::Status AppendAll(pg::Conn& tx,
                       const std::vector<std::pair<std::string, v1::UsageEntry>>& entries) {
  if (entries.empty()) return absl::OkStatus();
  pg::Array tenant, id, kind, month, call, minutes, micros, currency, record, created, ended,
      direction, region;
  for (const auto& [t, e] : entries) {
    tenant.Add(t);
    id.Add(e.entry_id());
    kind.Add(static_cast<int64_t>(e.kind()));
    month.Add(e.month());
    call.Add(e.call_id());
    minutes.Add(e.minutes());
    micros.Add(e.amount().amount_micros());
    currency.Add(e.amount().currency_code());
    record.AddBytes(e.SerializeAsString());
    created.Add(core::FromProto(e.create_time()));
    ended.Add(e.has_ended_time() ? std::optional<absl::Time>(core::FromProto(e.ended_time()))
                                 : std::nullopt);
    direction.Add(static_cast<int64_t>(e.direction()));
    region.Add(e.region_code());
  }
  return tx
      .Exec(
          "INSERT INTO entries (tenant_id, entry_id, kind, month, call_id, minutes, "
          "amount_micros, currency, record, create_time, ended_time, direction, region) "
          "SELECT * FROM unnest($1::text[], $2::text[], $3::smallint[], $4::text[], $5::text[], "
          "$6::bigint[], $7::bigint[], $8::text[], $9::bytea[], $10::timestamptz[], "
          "$11::timestamptz[], $12::smallint[], $13::text[])",
          {tenant.Done(), id.Done(), kind.Done(), month.Done(), call.Done(), minutes.Done(),
           micros.Done(), currency.Done(), record.Done(), created.Done(), ended.Done(),
           direction.Done(), region.Done()})
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

absl::StatusOr<absl::flat_hash_map<std::string, rules::MonthUsage>> LockMonths(
    pg::Conn& tx, std::vector<TenantMonth> lock, const std::vector<TenantMonth>& touch,
    absl::Time now) {
  absl::flat_hash_map<std::string, rules::MonthUsage> out;
  auto key = [](const TenantMonth& m) { return absl::StrCat(m.tenant, "/", m.month.id); };
  std::sort(lock.begin(), lock.end(), [&](const TenantMonth& a, const TenantMonth& b) {
    return std::tie(a.tenant, a.month.id) < std::tie(b.tenant, b.month.id);
  });
  lock.erase(std::unique(lock.begin(), lock.end(),
                         [](const TenantMonth& a, const TenantMonth& b) {
                           return a.tenant == b.tenant && a.month.id == b.month.id;
                         }),
             lock.end());
  if (lock.empty()) return out;
  // Created in the same order, each once.
  std::vector<TenantMonth> create = lock;
  create.insert(create.end(), touch.begin(), touch.end());
  std::sort(create.begin(), create.end(), [&](const TenantMonth& a, const TenantMonth& b) {
    return std::tie(a.tenant, a.month.id) < std::tie(b.tenant, b.month.id);
  });
  create.erase(std::unique(create.begin(), create.end(),
                           [](const TenantMonth& a, const TenantMonth& b) {
                             return a.tenant == b.tenant && a.month.id == b.month.id;
                           }),
               create.end());
  pg::Array tenants, months, closes;
  for (const TenantMonth& m : create) {
    tenants.Add(m.tenant);
    months.Add(m.month.id);
    closes.Add(m.month.end);
  }
  RETURN_IF_ERROR(tx.Exec("INSERT INTO months (tenant_id, month, update_time, close_time) "
                          "SELECT t, m, $4, c FROM unnest($1::text[], $2::text[], "
                          "$3::timestamptz[]) AS u (t, m, c) ORDER BY t, m "
                          "ON CONFLICT (tenant_id, month) DO NOTHING",
                          {tenants.Done(), months.Done(), closes.Done(), now})
                      .status());
  pg::Array lock_tenants, lock_months;
  for (const TenantMonth& m : lock) {
    lock_tenants.Add(m.tenant);
    lock_months.Add(m.month.id);
  }
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("SELECT m.tenant_id, m.month, m.minutes_used, m.purchased_minutes, m.rated_calls, "
              "m.call_cost_micros, m.alerted, m.announced FROM months m JOIN unnest($1::text[], "
              "$2::text[]) AS k (tenant_id, month) ON m.tenant_id = k.tenant_id AND m.month = "
              "k.month ORDER BY m.tenant_id, m.month FOR UPDATE OF m",
              {lock_tenants.Done(), lock_months.Done()}));
  for (int i = 0; i < r.rows(); ++i) {
    rules::MonthUsage u;
    u.minutes_used = r.GetInt(i, 2);
    u.purchased_minutes = r.GetInt(i, 3);
    u.rated_calls = r.GetInt(i, 4);
    u.call_cost_micros = r.GetInt(i, 5);
    u.alerted = static_cast<v1::UsageLevel>(r.GetInt(i, 6));
    u.announced = static_cast<v1::UsageLevel>(r.GetInt(i, 7));
    out[absl::StrCat(r.Get(i, 0), "/", r.Get(i, 1))] = u;
  }
  for (const TenantMonth& m : lock) {
    if (!out.contains(key(m))) {
      return core::Error(absl::StatusCode::kInternal, "MONTH_MISSING",
                         absl::StrCat("month ", m.month.id, " of ", m.tenant, " was not created"));
    }
  }
  return out;
}

absl::Status SaveMonths(pg::Conn& tx, const std::vector<MonthSums>& months, absl::Time now) {
  if (months.empty()) return absl::OkStatus();
  pg::Array tenant, month, used, purchased, calls, cost, alerted, announced;
  for (const MonthSums& m : months) {
    tenant.Add(m.tenant);
    month.Add(m.month);
    used.Add(m.usage.minutes_used);
    purchased.Add(m.usage.purchased_minutes);
    calls.Add(m.usage.rated_calls);
    cost.Add(m.usage.call_cost_micros);
    alerted.Add(static_cast<int64_t>(m.usage.alerted));
    announced.Add(static_cast<int64_t>(m.usage.announced));
  }
  return tx
      .Exec(
          "UPDATE months AS m SET minutes_used = v.used, purchased_minutes = v.purchased, "
          "rated_calls = v.calls, call_cost_micros = v.cost, alerted = v.alerted, announced = "
          "v.announced, update_time = $9 FROM unnest($1::text[], $2::text[], $3::bigint[], "
          "$4::bigint[], $5::bigint[], $6::bigint[], $7::smallint[], $8::smallint[]) AS v "
          "(tenant_id, month, used, purchased, calls, cost, alerted, announced) WHERE "
          "m.tenant_id = v.tenant_id AND m.month = v.month",
          {tenant.Done(), month.Done(), used.Done(), purchased.Done(), calls.Done(), cost.Done(),
           alerted.Done(), announced.Done(), now})
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

absl::StatusOr<absl::flat_hash_map<std::string, int64_t>> NextSequences(
    pg::Conn& tx, const std::map<std::string, int64_t>& count) {
  absl::flat_hash_map<std::string, int64_t> first;
  if (count.empty()) return first;
  pg::Array tenants, counts;
  for (const auto& [tenant, n] : count) {  // in tenant order: rows locked in one order
    tenants.Add(tenant);
    counts.Add(n);
  }
  ASSIGN_OR_RETURN(
      pg::Result r,
      tx.Exec("INSERT INTO tenants AS t (tenant_id, sequence) SELECT * FROM unnest($1::text[], "
              "$2::bigint[]) ON CONFLICT (tenant_id) DO UPDATE SET sequence = t.sequence + "
              "excluded.sequence RETURNING tenant_id, sequence",
              {tenants.Done(), counts.Done()}));
  for (int row = 0; row < r.rows(); ++row) {
    const std::string tenant(r.Get(row, 0));
    first[tenant] = r.GetInt(row, 1) - count.at(tenant) + 1;
  }
  return first;
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
