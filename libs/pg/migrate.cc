#include "libs/pg/migrate.h"

#include <openssl/sha.h>

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"
#include "libs/pg/outbox.h"

namespace switchboard::pg {
namespace {

std::string Sha256Hex(absl::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace

absl::Status Migrate(Pool& pool, const std::vector<Migration>& migrations) {
  const std::string& schema = pool.options().schema;
  if (!IsSafeIdentifier(schema)) {
    return core::InvalidArgument("INVALID_SCHEMA", "schema names are [a-z_][a-z0-9_]*",
                                 {{"schema", schema}});
  }
  std::vector<const Migration*> ordered;
  for (const auto& m : migrations) ordered.push_back(&m);
  std::sort(ordered.begin(), ordered.end(),
            [](const Migration* a, const Migration* b) { return a->version < b->version; });
  for (size_t i = 1; i < ordered.size(); ++i) {
    if (ordered[i]->version == ordered[i - 1]->version) {
      return core::InvalidArgument("DUPLICATE_MIGRATION", "two migrations share a version",
                                   {{"version", absl::StrCat(ordered[i]->version)}});
    }
  }
  int applied_now = 0;
  RETURN_IF_ERROR(pool.InTransaction(
      [&](Conn& tx) -> absl::Status {
        applied_now = 0;
        RETURN_IF_ERROR(tx.Exec("SELECT pg_advisory_xact_lock(hashtext($1))",
                                {absl::StrCat("switchboard.migrate.", schema)})
                            .status());
        RETURN_IF_ERROR(tx.Exec(absl::StrCat("CREATE SCHEMA IF NOT EXISTS ", schema)).status());
        RETURN_IF_ERROR(tx.Exec(absl::StrCat("SET LOCAL search_path TO ", schema)).status());
        RETURN_IF_ERROR(tx.Exec(R"sql(
            CREATE TABLE IF NOT EXISTS schema_migrations (
              version    integer PRIMARY KEY,
              name       text NOT NULL,
              checksum   text NOT NULL,
              applied_at timestamptz NOT NULL DEFAULT now()))sql")
                            .status());
        RETURN_IF_ERROR(tx.Exec(Outbox::kSchemaSql).status());
        RETURN_IF_ERROR(tx.Exec(Inbox::kSchemaSql).status());
        RETURN_IF_ERROR(tx.Exec(Idempotency::kSchemaSql).status());
        ASSIGN_OR_RETURN(Result applied,
                         tx.Exec("SELECT version, checksum, name FROM schema_migrations"));
        std::map<int64_t, std::string> checksums;
        for (int r = 0; r < applied.rows(); ++r) {
          checksums[applied.GetInt(r, 0)] = std::string(applied.Get(r, 1));
        }
        for (const Migration* m : ordered) {
          std::string checksum = Sha256Hex(m->sql);
          if (auto it = checksums.find(m->version); it != checksums.end()) {
            if (it->second != checksum) {
              return core::Error(absl::StatusCode::kFailedPrecondition, "MIGRATION_CHANGED",
                                 "an applied migration was edited; add a new one instead",
                                 {{"schema", schema}, {"migration", m->name}});
            }
            continue;
          }
          RETURN_IF_ERROR(core::Annotate(tx.Exec(m->sql).status(), m->name));
          RETURN_IF_ERROR(tx.Exec("INSERT INTO schema_migrations (version, name, checksum) "
                                  "VALUES ($1, $2, $3)",
                                  {m->version, m->name, checksum})
                              .status());
          ++applied_now;
        }
        return absl::OkStatus();
      },
      /*attempts=*/1));
  log::Info("schema migrated", {{"schema", schema},
                                {"applied", applied_now},
                                {"known", static_cast<int64_t>(migrations.size())}});
  return absl::OkStatus();
}

}  // namespace switchboard::pg
