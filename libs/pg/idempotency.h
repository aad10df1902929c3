// Idempotent mutating RPCs: the first result of a (tenant, request_id) is stored in the same
// transaction as the change it made, and a repeat returns that result without changing
// anything again. Created in every service schema by Migrate(); rows are kept (nothing prunes
// them yet).
//
//   RETURN_IF_ERROR(pool.InTransaction([&](pg::Conn& tx) -> absl::Status {
//     ASSIGN_OR_RETURN(auto earlier, pg::Idempotency::Find(tx, tenant, request_id, "Register"));
//     if (earlier) return response.ParseFromString(*earlier) ? OkStatus() : ...;
//     ... change ...
//     return pg::Idempotency::Remember(tx, tenant, request_id, "Register",
//                                      response.SerializeAsString());
//   }));
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/pg/pg.h"

namespace switchboard::pg {

class Idempotency {
 public:
  static const char kSchemaSql[];

  // The stored response of an earlier request with this id, when any. The same id used for a
  // different method is INVALID_ARGUMENT REQUEST_ID_REUSED. An empty id finds nothing.
  static absl::StatusOr<std::optional<std::string>> Find(Conn& tx, absl::string_view tenant,
                                                         absl::string_view request_id,
                                                         absl::string_view method);
  // Stores `response` for the id (no-op for an empty id). Concurrent requests with one id
  // serialise on the transaction-scoped advisory lock Find() takes, so the second sees the
  // first's result.
  static absl::Status Remember(Conn& tx, absl::string_view tenant, absl::string_view request_id,
                               absl::string_view method, std::string response);
};

}  // namespace switchboard::pg
