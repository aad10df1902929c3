#include "libs/pg/pg.h"

#include <catch2/catch.hpp>

#include "libs/core/error.h"
#include "libs/pg/migrate.h"
#include "tests/support/servers.h"

namespace pg = switchboard::pg;
namespace testing = switchboard::testing;
using switchboard::core::ReasonOf;

namespace {

std::vector<pg::Migration> Migrations() {
  return {
      {1, "0001_init.sql",
       "CREATE TABLE items (id text PRIMARY KEY, n bigint NOT NULL CHECK (n >= 0));"
       "CREATE INDEX items_n ON items (n);"},
      {2, "0002_blob.sql", "ALTER TABLE items ADD COLUMN blob bytea, ADD COLUMN at timestamptz;"}};
}

}  // namespace

TEST_CASE("migrations apply once, in order, into the service's own schema") {
  std::string url = testing::PostgresServer::Shared().CreateDatabase();
  pg::Pool pool({.url = url, .schema = "inventory"});
  REQUIRE(pg::Migrate(pool, Migrations()).ok());
  REQUIRE(pg::Migrate(pool, Migrations()).ok());  // idempotent

  auto versions = pool.Exec("SELECT version FROM inventory.schema_migrations ORDER BY version");
  REQUIRE(versions.ok());
  CHECK(versions->rows() == 2);
  // Unqualified names resolve to the schema (search_path), and the outbox exists there too.
  CHECK(pool.Exec("INSERT INTO items (id, n) VALUES ('a', 1)").ok());
  CHECK(pool.Exec("SELECT count(*) FROM inventory.outbox")->GetInt(0, 0) == 0);

  SECTION("an edited migration is refused") {
    auto changed = Migrations();
    changed[0].sql += " -- edited";
    CHECK(ReasonOf(pg::Migrate(pool, changed)) == "MIGRATION_CHANGED");
  }
  SECTION("a failing migration leaves nothing behind") {
    auto more = Migrations();
    more.push_back({3, "0003_bad.sql", "CREATE TABLE t3 (x int); SELECT no_such_function();"});
    CHECK_FALSE(pg::Migrate(pool, more).ok());
    CHECK(pool.Exec("SELECT to_regclass('inventory.t3') IS NULL")->GetBool(0, 0));
    CHECK(pool.Exec("SELECT count(*) FROM schema_migrations")->GetInt(0, 0) == 2);
  }
  SECTION("bad schema names and duplicate versions are refused") {
    pg::Pool bad({.url = url, .schema = "x; DROP TABLE items"});
    CHECK(ReasonOf(pg::Migrate(bad, {})) == "INVALID_SCHEMA");
    CHECK(ReasonOf(pg::Migrate(pool, {{1, "a", "SELECT 1"}, {1, "b", "SELECT 1"}})) ==
          "DUPLICATE_MIGRATION");
  }
}

TEST_CASE("parameters, types and errors") {
  std::string url = testing::PostgresServer::Shared().CreateDatabase();
  pg::Pool pool({.url = url, .schema = "inventory"});
  REQUIRE(pg::Migrate(pool, Migrations()).ok());
  absl::Time at = absl::FromUnixMicros(1'767'225'600'123'456);
  std::string blob("\0\x01\xff'\"\\", 6);
  REQUIRE(pool.Exec("INSERT INTO items (id, n, blob, at) VALUES ($1, $2, $3, $4)",
                    {"o'brien", int64_t{42}, pg::Param::Bytes(blob), at})
              .ok());
  auto r = pool.Exec("SELECT id, n, blob, at, NULL FROM items WHERE id = $1", {"o'brien"});
  REQUIRE(r.ok());
  REQUIRE(r->rows() == 1);
  CHECK(r->Get(0, 0) == "o'brien");
  CHECK(r->GetInt(0, 1) == 42);
  CHECK(r->GetBytes(0, 2) == blob);
  CHECK(r->GetTime(0, 3) == at);
  CHECK(r->IsNull(0, 4));

  auto dup = pool.Exec("INSERT INTO items (id, n) VALUES ($1, 1)", {"o'brien"});
  CHECK(dup.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(ReasonOf(dup.status()) == "PG_UNIQUE_VIOLATION");
  CHECK(switchboard::core::MetadataOf(dup.status()).at("sqlstate") == "23505");
  auto check = pool.Exec("INSERT INTO items (id, n) VALUES ('neg', -1)");
  CHECK(check.status().code() == absl::StatusCode::kFailedPrecondition);
  auto bad = pool.Exec("SELECT $1::int", {"not a number"});
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  auto timeout = pg::Pool({.url = url, .statement_timeout = absl::Milliseconds(50)})
                     .Exec("SELECT pg_sleep(2)");
  CHECK(ReasonOf(timeout.status()) == "PG_STATEMENT_TIMEOUT");
}

TEST_CASE("transactions commit together or not at all, and retry on conflicts") {
  std::string url = testing::PostgresServer::Shared().CreateDatabase();
  pg::Pool pool({.url = url, .schema = "inventory"});
  REQUIRE(pg::Migrate(pool, Migrations()).ok());

  absl::Status failed = pool.InTransaction([](pg::Conn& tx) -> absl::Status {
    auto r = tx.Exec("INSERT INTO items (id, n) VALUES ('x', 1)");
    if (!r.ok()) return r.status();
    return absl::AbortedError("changed my mind");
  });
  CHECK(failed.code() == absl::StatusCode::kAborted);
  CHECK(pool.Exec("SELECT count(*) FROM items")->GetInt(0, 0) == 0);

  int attempts = 0;
  absl::Status retried = pool.InTransaction([&](pg::Conn& tx) -> absl::Status {
    ++attempts;
    if (attempts < 3) {
      // What PostgreSQL says when a serializable transaction loses a race.
      return tx.Exec("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
          .status();
    }
    return tx.Exec("INSERT INTO items (id, n) VALUES ('y', 1)").status();
  });
  CHECK(retried.ok());
  CHECK(attempts == 3);
  CHECK(pool.Exec("SELECT count(*) FROM items")->GetInt(0, 0) == 1);
}

TEST_CASE("an array parameter carries many rows, whatever their text or bytes") {
  std::string url = testing::PostgresServer::Shared().CreateDatabase();
  pg::Pool pool({.url = url, .schema = "inventory"});
  REQUIRE(pg::Migrate(pool, Migrations()).ok());
  // Quotes, backslashes, commas, braces, "NULL" as text, the empty string, non-ASCII; bytes
  // with NUL and 0xff; a NULL time.
  const std::vector<std::string> ids = {"plain", "quo\"te", "back\\slash", "a,b", "{x}",
                                        "NULL",  "",        "Jos\xc3\xa9"};
  const std::string blob("\0\xff{\"\\", 5);
  const absl::Time at = absl::FromUnixMicros(1'767'225'600'123'456);
  pg::Array id, n, bytes, times;
  for (size_t i = 0; i < ids.size(); ++i) {
    id.Add(ids[i]);
    n.Add(static_cast<int64_t>(i));
    bytes.AddBytes(blob + ids[i]);
    times.Add(i % 2 == 0 ? std::optional<absl::Time>(at) : std::nullopt);
  }
  REQUIRE(pool.Exec("INSERT INTO items (id, n, blob, at) SELECT * FROM unnest($1::text[], "
                    "$2::bigint[], $3::bytea[], $4::timestamptz[])",
                    {id.Done(), n.Done(), bytes.Done(), times.Done()})
              .ok());
  auto r = pool.Exec("SELECT id, n, blob, at FROM items ORDER BY n");
  REQUIRE(r.ok());
  REQUIRE(r->rows() == static_cast<int>(ids.size()));
  for (int i = 0; i < r->rows(); ++i) {
    INFO(i);
    CHECK(r->Get(i, 0) == ids[i]);
    CHECK(r->GetInt(i, 1) == i);
    CHECK(r->GetBytes(i, 2) == blob + ids[i]);
    CHECK(r->GetOptionalTime(i, 3) == (i % 2 == 0 ? std::optional<absl::Time>(at) : std::nullopt));
  }
  // An empty array is an empty set.
  CHECK(pool.Exec("SELECT count(*) FROM unnest($1::text[])", {pg::Array().Done()})->GetInt(0, 0) ==
        0);
}

TEST_CASE("an unreachable server is UNAVAILABLE, not a hang") {
  pg::Pool pool(
      {.url = absl::StrCat("postgresql://postgres@127.0.0.1:", testing::FreePort(), "/postgres"),
       .connect_timeout = absl::Seconds(1)});
  absl::Status s = pool.Ping();
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK(ReasonOf(s) == "PG_UNAVAILABLE");
  CHECK(pg::IsSafeIdentifier("calls"));
  CHECK_FALSE(pg::IsSafeIdentifier("Calls"));
  CHECK_FALSE(pg::IsSafeIdentifier("1calls"));
  CHECK_FALSE(pg::IsSafeIdentifier(""));
}
