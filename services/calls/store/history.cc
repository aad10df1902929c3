#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "services/calls/store/sql.h"
#include "services/calls/store/store.h"

namespace switchboard::calls {

using core::FromProto;
using namespace store_sql;  // NOLINT: the store's own helpers

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
  ASSIGN_OR_RETURN(pg::Result r, history_.Exec(sql.text(), sql.params()));
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
  ASSIGN_OR_RETURN(pg::Pool::Lease conn, exports_.Acquire());
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
  ASSIGN_OR_RETURN(pg::Result r, history_.Exec(sql.text(), sql.params()));
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
  ASSIGN_OR_RETURN(pg::Result r, history_.Exec(sql.text(), sql.params()));
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
  ASSIGN_OR_RETURN(pg::Result r, history_.Exec(sql.text(), sql.params()));
  std::vector<TopContact> out;
  std::vector<std::string> keys;
  for (int i = 0; i < r.rows(); ++i) {
    keys.emplace_back(r.Get(i, 0));
    out.push_back({.calls = r.GetInt(i, 1), .duration_seconds = r.GetInt(i, 2)});
  }
  if (keys.empty()) return out;
  // Each contact as their latest call knows them.
  ASSIGN_OR_RETURN(pg::Result latest,
                   history_.Exec("SELECT DISTINCT ON (contact_key) contact_key, record FROM calls "
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

}  // namespace switchboard::calls
