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
           callback.assigned_agent_id(), api::ContactKey(callback.contact()),
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

}  // namespace switchboard::calls
