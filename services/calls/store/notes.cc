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

}  // namespace switchboard::calls
