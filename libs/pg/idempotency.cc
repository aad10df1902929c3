#include "libs/pg/idempotency.h"

#include "libs/core/error.h"
#include "libs/core/status_macros.h"

namespace switchboard::pg {

const char Idempotency::kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS idempotency_keys (
  tenant_id   text NOT NULL,
  request_id  text NOT NULL,
  method      text NOT NULL,
  response    bytea NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, request_id)
);
)sql";

absl::StatusOr<std::optional<std::string>> Idempotency::Find(Conn& tx, absl::string_view tenant,
                                                             absl::string_view request_id,
                                                             absl::string_view method) {
  if (request_id.empty()) return std::nullopt;
  // Serialise concurrent repeats: the second waits for the first's transaction.
  RETURN_IF_ERROR(
      tx.Exec("SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))", {tenant, request_id})
          .status());
  ASSIGN_OR_RETURN(Result r, tx.Exec("SELECT method, response FROM idempotency_keys "
                                     "WHERE tenant_id = $1 AND request_id = $2",
                                     {tenant, request_id}));
  if (r.rows() == 0) return std::nullopt;
  if (r.Get(0, 0) != method) {
    return core::InvalidArgument("REQUEST_ID_REUSED",
                                 "this request_id was already used for another method",
                                 {{"method", std::string(r.Get(0, 0))}});
  }
  return r.GetBytes(0, 1);
}

absl::Status Idempotency::Remember(Conn& tx, absl::string_view tenant, absl::string_view request_id,
                                   absl::string_view method, std::string response) {
  if (request_id.empty()) return absl::OkStatus();
  return tx
      .Exec(
          "INSERT INTO idempotency_keys (tenant_id, request_id, method, response) "
          "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
          {tenant, request_id, method, Param::Bytes(std::move(response))})
      .status();
}

}  // namespace switchboard::pg
