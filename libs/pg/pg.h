// PostgreSQL for services: a bounded pool of libpq connections scoped to one schema (through
// search_path), parameterised queries, transactions retried on serialization failures, and
// SQLSTATEs mapped to absl::Status codes with the SQLSTATE kept in the details.
//
//   pg::Pool pool({.url = url, .schema = "calls"});
//   RETURN_IF_ERROR(pool.InTransaction([&](pg::Conn& tx) -> absl::Status {
//     RETURN_IF_ERROR(tx.Exec("UPDATE calls SET state=$1 WHERE id=$2", {"ENDED", id}).status());
//     return pg::Outbox::Enqueue(tx, kafka::kCallsState, event);
//   }));
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace prometheus {
class Histogram;
}  // namespace prometheus

namespace switchboard::pg {

struct Options {
  std::string url;     // postgresql://user@host:port/db
  std::string schema;  // the owning service's schema; becomes the search_path
  int pool_size = 8;
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration statement_timeout = absl::Seconds(5);
  absl::Duration acquire_timeout = absl::Seconds(2);
  // When set, PostgreSQL ends a session left idle inside a transaction this long (a backstop
  // for work that holds a transaction open while it waits on a client, like an export).
  absl::Duration idle_in_transaction_timeout = absl::ZeroDuration();
  std::string application_name = "switchboard";
  // When set, every statement's duration (round trip included) is observed here, in seconds
  // (the service kit passes switchboard_postgres_statement_duration_seconds{schema}).
  prometheus::Histogram* statement_seconds = nullptr;
};

// One query parameter in text form; nullopt is SQL NULL. Bytes go through Param::Bytes.
class Param {
 public:
  Param(std::nullopt_t) {}                                // NOLINT: NULL
  Param(const char* s) : value_(s) {}                     // NOLINT
  Param(std::string s) : value_(std::move(s)) {}          // NOLINT
  Param(absl::string_view s) : value_(std::string(s)) {}  // NOLINT
  Param(int64_t v);                                       // NOLINT
  Param(int v) : Param(static_cast<int64_t>(v)) {}        // NOLINT
  Param(bool v) : value_(v ? "true" : "false") {}         // NOLINT
  Param(absl::Time t);                                    // NOLINT: as timestamptz
  Param(const std::optional<absl::Time>& t);              // NOLINT: nullopt is NULL
  static Param Bytes(std::string bytes);

  bool is_null() const { return !value_.has_value(); }
  const std::string& value() const { return *value_; }
  bool binary() const { return binary_; }

 private:
  std::optional<std::string> value_;
  bool binary_ = false;
};

class Result {
 public:
  explicit Result(PGresult* r);
  ~Result();
  Result(Result&& other) noexcept;
  Result& operator=(Result&& other) noexcept;

  int rows() const;
  int64_t affected() const;  // rows changed by INSERT/UPDATE/DELETE
  bool IsNull(int row, int col) const;
  absl::string_view Get(int row, int col) const;
  int64_t GetInt(int row, int col) const;
  bool GetBool(int row, int col) const;
  absl::Time GetTime(int row, int col) const;                         // timestamptz
  std::optional<absl::Time> GetOptionalTime(int row, int col) const;  // NULL is nullopt
  std::string GetBytes(int row, int col) const;  // bytea, in either result format

 private:
  PGresult* r_;
};

// How result values arrive. Binary skips bytea's hex encoding (bulk reads of stored records);
// in a binary result only Get (raw bytes), GetBytes and IsNull read values.
enum class Results { kText, kBinary };

// A checked-out connection; inside InTransaction, the transaction. Exec without parameters
// (and text results) may run several statements separated by semicolons.
class Conn {
 public:
  explicit Conn(PGconn* c, prometheus::Histogram* statement_seconds = nullptr)
      : c_(c), statement_seconds_(statement_seconds) {}
  absl::StatusOr<Result> Exec(absl::string_view sql, const std::vector<Param>& params = {},
                              Results results = Results::kText);
  bool broken() const;
  PGconn* raw() { return c_; }

  // Inside InTransaction: the transaction wrote to its schema's outbox (Outbox::Enqueue says
  // so); once it commits, the pool's outbox listener runs (the relay wakes at once instead of
  // at its next poll).
  void MarkOutboxWritten() { outbox_written_ = true; }
  bool outbox_written() const { return outbox_written_; }
  void ResetTransactionMarks() { outbox_written_ = false; }

 private:
  PGconn* c_;
  prometheus::Histogram* statement_seconds_;
  bool outbox_written_ = false;
};

class Pool {
 public:
  explicit Pool(Options options);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // A leased connection, returned to the pool on destruction.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&&) = default;
    ~Lease();
    Conn& operator*() { return *conn_; }
    Conn* operator->() { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Conn> conn_;
  };

  absl::StatusOr<Lease> Acquire();

  // A statement in its own implicit transaction.
  absl::StatusOr<Result> Exec(absl::string_view sql, const std::vector<Param>& params = {});

  // BEGIN; fn; COMMIT. Rolls back when fn fails. Retries the whole function (up to
  // `attempts` times) on serialization failures and deadlocks, so fn must be re-runnable.
  absl::Status InTransaction(const std::function<absl::Status(Conn&)>& fn, int attempts = 3);
  // fn's one statement, which is its own transaction: InTransaction without the BEGIN and COMMIT
  // round trips. The outbox listener runs when it wrote the outbox, as after a commit. Not
  // retried; fn must issue exactly one statement.
  absl::Status InOneStatement(const std::function<absl::Status(Conn&)>& fn);

  absl::Status Ping();
  const Options& options() const { return options_; }

  // Runs after every committed transaction that wrote to the outbox (the service kit sets it
  // to the relay's Notify). Set once, before the pool is used.
  void SetOutboxListener(std::function<void()> listener) { outbox_listener_ = std::move(listener); }

 private:
  // After a transaction on `conn`: wakes the outbox listener if it committed outbox rows, and
  // clears the connection's marks for the next one.
  void Ended(Conn& conn, bool committed);
  absl::StatusOr<std::unique_ptr<Conn>> Connect();
  void Release(std::unique_ptr<Conn> conn);

  const Options options_;
  std::function<void()> outbox_listener_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

// Maps a failed libpq result or connection to a status: 23505 → ALREADY_EXISTS,
// 40001/40P01 → ABORTED, 57014 → DEADLINE_EXCEEDED, 22xxx → INVALID_ARGUMENT,
// 23xxx → FAILED_PRECONDITION, 08xxx/57P01/57P03/lost connection → UNAVAILABLE, else INTERNAL.
absl::Status StatusFromResult(PGconn* conn, PGresult* result);

// True for identifiers safe to splice into SQL: [a-z_][a-z0-9_]{0,62}.
bool IsSafeIdentifier(absl::string_view name);

// One parameter carrying a column of many rows, for statements that write or match many rows
// at once through unnest (`INSERT ... SELECT * FROM unnest($1::text[], $2::bigint[])`): a
// PostgreSQL array literal, every element quoted and escaped. Planning one unnest costs far less
// than a VALUES list of thousands of placeholders.
//
//   pg::Array ids, minutes;
//   for (const Row& r : rows) { ids.Add(r.id); minutes.Add(r.minutes); }
//   tx.Exec("INSERT INTO t (id, minutes) SELECT * FROM unnest($1::text[], $2::bigint[])",
//           {ids.Done(), minutes.Done()});
class Array {
 public:
  Array& Add(absl::string_view text);
  Array& Add(int64_t value);
  Array& Add(absl::Time time);                        // as Param(absl::Time), for ::timestamptz[]
  Array& Add(const std::optional<absl::Time>& time);  // nullopt is NULL
  Array& AddBytes(absl::string_view bytes);           // hex form, for ::bytea[]
  Array& AddNull();
  Param Done() const;

 private:
  void Quoted(absl::string_view text);
  std::string literal_;
};

}  // namespace switchboard::pg
