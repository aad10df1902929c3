// Per-service schema migrations: versioned SQL applied at start, in one transaction, under an
// advisory lock so replicas starting together do not race. Applied versions are recorded with a
// checksum; editing an applied migration is refused (write a new one instead).
//
//   RETURN_IF_ERROR(pg::Migrate(pool, CallsMigrations()));
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "libs/pg/pg.h"

namespace switchboard::pg {

struct Migration {
  int version;       // 1, 2, 3 ... from the file name 0001_init.sql
  std::string name;  // the file name
  std::string sql;
};

// Creates the pool's schema if needed, the outbox and inbox (processed_events) tables, and
// applies `migrations` in version order. Idempotent.
absl::Status Migrate(Pool& pool, const std::vector<Migration>& migrations);

}  // namespace switchboard::pg
