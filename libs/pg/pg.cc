#include "libs/pg/pg.h"

#include <libpq-fe.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "prometheus/histogram.h"

namespace switchboard::pg {
namespace {

constexpr char kTimeFormat[] = "%Y-%m-%dT%H:%M:%E6SZ";

}  // namespace

void Array::Quoted(absl::string_view text) {
  absl::StrAppend(&literal_, literal_.empty() ? "\"" : ",\"");
  for (char c : text) {
    if (c == '"' || c == '\\') literal_.push_back('\\');
    literal_.push_back(c);
  }
  literal_.push_back('"');
}

Array& Array::Add(absl::string_view text) {
  Quoted(text);
  return *this;
}

Array& Array::Add(int64_t value) {
  absl::StrAppend(&literal_, literal_.empty() ? "" : ",", value);
  return *this;
}

Array& Array::Add(absl::Time time) {
  Quoted(Param(time).value());
  return *this;
}

Array& Array::Add(const std::optional<absl::Time>& time) {
  if (time.has_value()) return Add(*time);
  return AddNull();
}

Array& Array::AddNull() {
  absl::StrAppend(&literal_, literal_.empty() ? "NULL" : ",NULL");
  return *this;
}

Array& Array::AddBytes(absl::string_view bytes) {
  Quoted(absl::StrCat("\\x", absl::BytesToHexString(bytes)));
  return *this;
}

Param Array::Done() const { return Param(absl::StrCat("{", literal_, "}")); }

bool IsSafeIdentifier(absl::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!(absl::ascii_islower(name[0]) || name[0] == '_')) return false;
  for (char c : name) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return true;
}

Param::Param(int64_t v) : value_(absl::StrCat(v)) {}

Param::Param(const std::optional<absl::Time>& t) {
  if (t.has_value()) *this = Param(*t);
}

Param::Param(absl::Time t) {
  if (t == absl::InfinitePast())
    value_ = "-infinity";
  else if (t == absl::InfiniteFuture())
    value_ = "infinity";
  else
    value_ = absl::FormatTime(kTimeFormat, t, absl::UTCTimeZone());
}

Param Param::Bytes(std::string bytes) {
  Param p(std::move(bytes));
  p.binary_ = true;
  return p;
}

Result::Result(PGresult* r) : r_(r) {}
Result::~Result() {
  if (r_) PQclear(r_);
}
Result::Result(Result&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
Result& Result::operator=(Result&& other) noexcept {
  if (this != &other) {
    if (r_) PQclear(r_);
    r_ = other.r_;
    other.r_ = nullptr;
  }
  return *this;
}

int Result::rows() const { return PQntuples(r_); }
int64_t Result::affected() const {
  int64_t n = 0;
  (void)absl::SimpleAtoi(PQcmdTuples(r_), &n);
  return n;
}
bool Result::IsNull(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
absl::string_view Result::Get(int row, int col) const {
  return absl::string_view(PQgetvalue(r_, row, col), PQgetlength(r_, row, col));
}
int64_t Result::GetInt(int row, int col) const {
  int64_t n = 0;
  (void)absl::SimpleAtoi(Get(row, col), &n);
  return n;
}
bool Result::GetBool(int row, int col) const { return Get(row, col) == "t"; }

std::optional<absl::Time> Result::GetOptionalTime(int row, int col) const {
  if (IsNull(row, col)) return std::nullopt;
  return GetTime(row, col);
}

absl::Time Result::GetTime(int row, int col) const {
  // Connections run with TimeZone=UTC, so values read "2026-11-23 21:54:13.123456+00".
  absl::string_view text = Get(row, col);
  if (text == "infinity") return absl::InfiniteFuture();
  if (text == "-infinity") return absl::InfinitePast();
  if (absl::EndsWith(text, "+00")) text.remove_suffix(3);
  absl::Time t;
  std::string err;
  if (!absl::ParseTime("%Y-%m-%d %H:%M:%E*S", std::string(text), absl::UTCTimeZone(), &t, &err)) {
    return absl::InfinitePast();
  }
  return t;
}

std::string Result::GetBytes(int row, int col) const {
  if (PQfformat(r_, col) == 1) return std::string(Get(row, col));  // binary: the bytes as they are
  size_t len = 0;
  unsigned char* raw =
      PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row, col)), &len);
  std::string out(reinterpret_cast<char*>(raw), len);
  PQfreemem(raw);
  return out;
}

absl::Status StatusFromResult(PGconn* conn, PGresult* result) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  std::string message = result ? PQresultErrorMessage(result) : "";
  if (message.empty() && conn) message = PQerrorMessage(conn);
  absl::StripTrailingAsciiWhitespace(&message);
  core::ErrorMetadata md;
  if (!sqlstate.empty()) md["sqlstate"] = sqlstate;
  if (const char* c = result ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : nullptr) {
    md["constraint"] = c;
  }
  if ((conn && PQstatus(conn) == CONNECTION_BAD) || absl::StartsWith(sqlstate, "08") ||
      sqlstate == "57P01" || sqlstate == "57P03") {
    return core::Error(absl::StatusCode::kUnavailable, "PG_UNAVAILABLE", message, md);
  }
  if (sqlstate == "23505") {
    return core::Error(absl::StatusCode::kAlreadyExists, "PG_UNIQUE_VIOLATION", message, md);
  }
  if (sqlstate == "40001" || sqlstate == "40P01") {
    return core::Error(absl::StatusCode::kAborted, "PG_SERIALIZATION_FAILURE", message, md);
  }
  if (sqlstate == "57014") {
    return core::Error(absl::StatusCode::kDeadlineExceeded, "PG_STATEMENT_TIMEOUT", message, md);
  }
  if (absl::StartsWith(sqlstate, "22")) {
    return core::Error(absl::StatusCode::kInvalidArgument, "PG_DATA_EXCEPTION", message, md);
  }
  if (absl::StartsWith(sqlstate, "23")) {
    return core::Error(absl::StatusCode::kFailedPrecondition, "PG_CONSTRAINT_VIOLATION", message,
                       md);
  }
  return core::Error(absl::StatusCode::kInternal, "PG_ERROR", message, md);
}

absl::StatusOr<Result> Conn::Exec(absl::string_view sql, const std::vector<Param>& params,
                                  Results results) {
  std::vector<const char*> values(params.size());
  std::vector<int> lengths(params.size());
  std::vector<int> formats(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].is_null()) continue;
    values[i] = params[i].value().data();
    lengths[i] = static_cast<int>(params[i].value().size());
    formats[i] = params[i].binary() ? 1 : 0;
  }
  std::string query(sql);
  // Without parameters, the simple protocol: it accepts several statements (migrations).
  const int result_format = results == Results::kBinary ? 1 : 0;
  const absl::Time start = statement_seconds_ != nullptr ? absl::Now() : absl::InfinitePast();
  PGresult* raw = params.empty() && results == Results::kText
                      ? PQexec(c_, query.c_str())
                      : PQexecParams(c_, query.c_str(), static_cast<int>(params.size()), nullptr,
                                     values.data(), lengths.data(), formats.data(), result_format);
  if (statement_seconds_ != nullptr) {
    statement_seconds_->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  }
  ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Result(raw);
  absl::Status status = StatusFromResult(c_, raw);
  if (raw) PQclear(raw);
  return status;
}

bool Conn::broken() const { return PQstatus(c_) != CONNECTION_OK; }

Pool::Pool(Options options) : options_(std::move(options)) {}

Pool::~Pool() {
  absl::MutexLock lock(&mu_);
  for (auto& c : idle_) PQfinish(c->raw());
}

Pool::Lease::~Lease() {
  if (conn_) pool_->Release(std::move(conn_));
}

absl::StatusOr<std::unique_ptr<Conn>> Pool::Connect() {
  if (!options_.schema.empty() && !IsSafeIdentifier(options_.schema)) {
    return core::InvalidArgument("INVALID_SCHEMA", "schema names are [a-z_][a-z0-9_]*",
                                 {{"schema", options_.schema}});
  }
  std::string pg_options =
      absl::StrCat("-c statement_timeout=", absl::ToInt64Milliseconds(options_.statement_timeout),
                   " -c TimeZone=UTC -c client_min_messages=warning");
  if (!options_.schema.empty()) absl::StrAppend(&pg_options, " -c search_path=", options_.schema);
  if (options_.idle_in_transaction_timeout > absl::ZeroDuration()) {
    absl::StrAppend(&pg_options, " -c idle_in_transaction_session_timeout=",
                    absl::ToInt64Milliseconds(options_.idle_in_transaction_timeout));
  }
  std::string timeout =
      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(options_.connect_timeout)));
  const char* keys[] = {"dbname", "connect_timeout", "application_name", "options", nullptr};
  const char* values[] = {options_.url.c_str(), timeout.c_str(), options_.application_name.c_str(),
                          pg_options.c_str(), nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (c == nullptr || PQstatus(c) != CONNECTION_OK) {
    std::string err = c ? PQerrorMessage(c) : "out of memory";
    absl::StripTrailingAsciiWhitespace(&err);
    if (c) PQfinish(c);
    return core::Unavailable("PG_UNAVAILABLE", absl::StrCat("postgres: ", err));
  }
  return std::make_unique<Conn>(c, options_.statement_seconds);
}

absl::StatusOr<Pool::Lease> Pool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.pool_size;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&room), options_.acquire_timeout)) {
      return core::Unavailable("PG_POOL_EXHAUSTED", "no postgres connection free in time");
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;
  }
  auto conn = Connect();
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    return conn.status();
  }
  return Lease(this, std::move(*conn));
}

void Pool::Release(std::unique_ptr<Conn> conn) {
  bool broken = conn->broken() || PQtransactionStatus(conn->raw()) != PQTRANS_IDLE;
  if (broken) PQfinish(conn->raw());
  absl::MutexLock lock(&mu_);
  if (broken) {
    --open_;
  } else {
    idle_.push_back(std::move(conn));
  }
}

absl::StatusOr<Result> Pool::Exec(absl::string_view sql, const std::vector<Param>& params) {
  ASSIGN_OR_RETURN(Lease lease, Acquire());
  return lease->Exec(sql, params);
}

absl::Status Pool::InTransaction(const std::function<absl::Status(Conn&)>& fn, int attempts) {
  absl::Status status;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    ASSIGN_OR_RETURN(Lease lease, Acquire());
    lease->ResetTransactionMarks();
    RETURN_IF_ERROR(lease->Exec("BEGIN").status());
    status = fn(*lease);
    if (status.ok()) status = lease->Exec("COMMIT").status();
    if (!status.ok() && !lease->broken()) (void)lease->Exec("ROLLBACK");
    Ended(*lease, status.ok());
    if (status.ok() || core::ReasonOf(status) != "PG_SERIALIZATION_FAILURE") return status;
  }
  return status;
}

absl::Status Pool::InOneStatement(const std::function<absl::Status(Conn&)>& fn) {
  ASSIGN_OR_RETURN(Lease lease, Acquire());
  lease->ResetTransactionMarks();
  absl::Status status = fn(*lease);
  Ended(*lease, status.ok());
  return status;
}

void Pool::Ended(Conn& conn, bool committed) {
  if (committed && conn.outbox_written() && outbox_listener_) outbox_listener_();
  conn.ResetTransactionMarks();
}

absl::Status Pool::Ping() { return Exec("SELECT 1").status(); }

}  // namespace switchboard::pg
