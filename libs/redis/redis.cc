#include "libs/redis/redis.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <sys/socket.h>

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "prometheus/histogram.h"

namespace switchboard::redis {
namespace {

absl::Status Down(absl::string_view what, absl::string_view address) {
  return core::Unavailable("REDIS_UNAVAILABLE", absl::StrCat("redis ", address, ": ", what),
                           {{"address", std::string(address)}});
}

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r->integer;
      break;
    // Text, told apart by the type alone.
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = r->type == REDIS_REPLY_STRING   ? Reply::Type::kString
                 : r->type == REDIS_REPLY_STATUS ? Reply::Type::kStatus
                                                 : Reply::Type::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
  }
  return out;
}

absl::Status ErrorReplyStatus(const Reply& reply) {
  if (absl::StartsWith(reply.str, "NOSCRIPT")) {
    return core::Error(absl::StatusCode::kNotFound, "NOSCRIPT", reply.str);
  }
  return core::Error(absl::StatusCode::kInternal, "REDIS_COMMAND_ERROR", reply.str);
}

// Appends one command in RESP form to the connection's output buffer.
void Append(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), lens.data());
}

}  // namespace

absl::StatusOr<Options> Options::FromUrl(absl::string_view url) {
  Options o;
  absl::string_view rest = url;
  if (!absl::ConsumePrefix(&rest, "redis://")) {
    return core::InvalidArgument("INVALID_REDIS_URL", "redis url must start with redis://",
                                 {{"url", std::string(url)}});
  }
  if (size_t at = rest.rfind('@'); at != absl::string_view::npos) {
    absl::string_view auth = rest.substr(0, at);
    absl::ConsumePrefix(&auth, ":");
    o.password = std::string(auth);
    rest.remove_prefix(at + 1);
  }
  absl::string_view hostport = rest;
  if (size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    hostport = rest.substr(0, slash);
    absl::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(db, &o.db) || o.db < 0)) {
      return core::InvalidArgument("INVALID_REDIS_URL", "redis database must be a number",
                                   {{"url", std::string(url)}});
    }
  }
  if (size_t colon = hostport.rfind(':'); colon != absl::string_view::npos) {
    if (!absl::SimpleAtoi(hostport.substr(colon + 1), &o.port) || o.port <= 0 || o.port > 65535) {
      return core::InvalidArgument("INVALID_REDIS_URL", "redis port must be 1-65535",
                                   {{"url", std::string(url)}});
    }
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) {
    return core::InvalidArgument("INVALID_REDIS_URL", "redis url has no host",
                                 {{"url", std::string(url)}});
  }
  o.host = std::string(hostport);
  return o;
}

std::string Options::Address() const { return absl::StrCat(host, ":", port); }

struct Pool::Conn {
  explicit Conn(redisContext* c) : ctx(c) {}
  ~Conn() { redisFree(ctx); }
  redisContext* ctx;
};

Pool::Pool(Options options, const core::Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

Pool::~Pool() = default;

absl::StatusOr<std::unique_ptr<Pool::Conn>> Pool::Connect() {
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                            absl::ToTimeval(options_.connect_timeout));
  if (c == nullptr) return Down("out of memory", options_.Address());
  auto conn = std::make_unique<Conn>(c);
  if (c->err) return Down(c->errstr, options_.Address());
  redisSetTimeout(c, absl::ToTimeval(options_.command_timeout));
  auto setup = [&](const std::vector<std::string>& args) -> absl::Status {
    Append(c, args);
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr)
      return Down(c->errstr, options_.Address());
    Reply reply = Convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    if (reply.type == Reply::Type::kError) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "REDIS_SETUP_FAILED", reply.str);
    }
    return absl::OkStatus();
  };
  if (!options_.password.empty()) RETURN_IF_ERROR(setup({"AUTH", options_.password}));
  if (options_.db != 0) RETURN_IF_ERROR(setup({"SELECT", absl::StrCat(options_.db)}));
  return conn;
}

absl::StatusOr<std::unique_ptr<Pool::Conn>> Pool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    // The most recently returned connection: the one most likely still warm.
    auto take_idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      std::unique_ptr<Conn> conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    };
    if (!idle_.empty()) return take_idle();
    if (clock_.Now() < down_until_) return Down(last_error_, options_.Address());
    auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.pool_size;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&room), options_.command_timeout)) {
      return core::Unavailable("REDIS_POOL_EXHAUSTED", "no redis connection free in time");
    }
    if (!idle_.empty()) return take_idle();
    ++open_;
  }
  auto conn = Connect();
  if (!conn.ok()) {
    absl::MutexLock lock(&mu_);
    --open_;
    down_until_ = clock_.Now() + options_.reconnect_backoff;
    last_error_ = std::string(conn.status().message());
  }
  return conn;
}

void Pool::Release(std::unique_ptr<Conn> conn, bool healthy) {
  absl::MutexLock lock(&mu_);
  if (healthy) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
    // A broken connection usually means the server went away: drop the idle ones too so the
    // next calls reconnect instead of each discovering a dead socket.
    open_ -= static_cast<int>(idle_.size());
    idle_.clear();
  }
}

absl::StatusOr<std::vector<Reply>> Pool::Pipeline(
    const std::vector<std::vector<std::string>>& cmds) {
  ASSIGN_OR_RETURN(std::unique_ptr<Conn> conn, Acquire());
  const absl::Time start = absl::Now();
  redisContext* c = conn->ctx;
  for (const auto& args : cmds) Append(c, args);
  std::vector<Reply> replies;
  replies.reserve(cmds.size());
  for (size_t i = 0; i < cmds.size(); ++i) {
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) {
      absl::Status down = Down(c->errstr[0] ? c->errstr : "connection lost", options_.Address());
      Release(std::move(conn), false);
      return down;
    }
    replies.push_back(Convert(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  if (options_.command_seconds != nullptr) {
    options_.command_seconds->Observe(absl::ToDoubleSeconds(absl::Now() - start));
  }
  Release(std::move(conn), true);
  return replies;
}

absl::StatusOr<Reply> Pool::Command(const std::vector<std::string>& args) {
  ASSIGN_OR_RETURN(std::vector<Reply> replies, Pipeline({args}));
  Reply& reply = replies.front();
  if (reply.type == Reply::Type::kError) return ErrorReplyStatus(reply);
  return std::move(reply);
}

absl::StatusOr<Reply> Pool::Command(std::initializer_list<absl::string_view> args) {
  std::vector<std::string> v;
  v.reserve(args.size());
  for (absl::string_view a : args) v.emplace_back(a);
  return Command(v);
}

absl::Status Pool::Ping() { return Command({"PING"}).status(); }

Script::Script(std::string source) : source_(std::move(source)) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source_.data()), source_.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : digest) {
    sha_.push_back(kHex[b >> 4]);
    sha_.push_back(kHex[b & 0xf]);
  }
}

absl::StatusOr<Reply> Script::Run(Pool& pool, const std::vector<std::string>& keys,
                                  const std::vector<std::string>& args) const {
  std::vector<std::string> cmd;
  cmd.reserve(3 + keys.size() + args.size());
  cmd.push_back("EVALSHA");
  cmd.push_back(sha_);
  cmd.push_back(absl::StrCat(keys.size()));
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  absl::StatusOr<Reply> reply = pool.Command(cmd);
  if (reply.ok() || core::ReasonOf(reply.status()) != "NOSCRIPT") return reply;
  RETURN_IF_ERROR(pool.Command({"SCRIPT", "LOAD", source_}).status());
  return pool.Command(cmd);
}

// ---- Subscriber ------------------------------------------------------------------------------

Subscriber::Subscriber(Options options, std::string channel,
                       std::function<void(std::string)> on_message,
                       std::function<void()> on_subscribed)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      on_message_(std::move(on_message)),
      on_subscribed_(std::move(on_subscribed)) {
  thread_ = std::thread([this] { Run(); });
}

Subscriber::~Subscriber() { Stop(); }

void Subscriber::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  }
  if (thread_.joinable()) thread_.join();
}

bool Subscriber::subscribed() const {
  absl::MutexLock lock(&mu_);
  return subscribed_;
}

void Subscriber::Run() {
  for (;;) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    Session();
    absl::MutexLock lock(&mu_);
    auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.reconnect_backoff);
  }
}

bool Subscriber::Session() {
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                            absl::ToTimeval(options_.connect_timeout));
  if (c == nullptr) return false;
  std::unique_ptr<redisContext, void (*)(redisContext*)> owned(c, redisFree);
  if (c->err) return false;
  redisEnableKeepAlive(c);
  // Subscribe mode waits for messages as long as there are none: no read timeout.
  redisSetTimeout(c, timeval{0, 0});
  auto command = [&](const std::vector<std::string>& args) -> std::optional<Reply> {
    Append(c, args);
    void* raw = nullptr;
    if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) return std::nullopt;
    Reply reply = Convert(static_cast<redisReply*>(raw));
    freeReplyObject(raw);
    return reply;
  };
  if (!options_.password.empty()) {
    std::optional<Reply> auth = command({"AUTH", options_.password});
    if (!auth.has_value() || auth->type == Reply::Type::kError) return false;
  }
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    fd_ = c->fd;
  }
  std::optional<Reply> subscribed = command({"SUBSCRIBE", channel_});
  bool ok = subscribed.has_value() && subscribed->type == Reply::Type::kArray;
  if (ok) {
    {
      absl::MutexLock lock(&mu_);
      subscribed_ = true;
    }
    on_subscribed_();
    for (;;) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK || raw == nullptr) break;
      Reply reply = Convert(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (reply.type == Reply::Type::kArray && reply.elements.size() == 3 &&
          reply.elements[0].str == "message") {
        on_message_(std::move(reply.elements[2].str));
      }
    }
  }
  absl::MutexLock lock(&mu_);
  subscribed_ = false;
  fd_ = -1;
  return ok;
}

}  // namespace switchboard::redis
