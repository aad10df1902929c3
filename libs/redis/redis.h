// Redis access for services: a bounded pool of hiredis connections with short timeouts,
// pipelining, and Lua scripts run by SHA. A dead Redis surfaces as UNAVAILABLE quickly
// (connect and command timeouts, then fail-fast for a back-off period), never a hang.
//
//   redis::Pool pool(*redis::Options::FromUrl("redis://127.0.0.1:6379/0"));
//   ASSIGN_OR_RETURN(redis::Reply r, pool.Command({"INCR", key}));
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"

struct redisContext;
namespace prometheus {
class Histogram;
}  // namespace prometheus

namespace switchboard::redis {

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string password;
  int pool_size = 16;
  absl::Duration connect_timeout = absl::Milliseconds(200);
  absl::Duration command_timeout = absl::Milliseconds(250);
  // After a failed connect, calls fail at once for this long instead of each paying the
  // connect timeout.
  absl::Duration reconnect_backoff = absl::Milliseconds(250);
  // When set, every command's (or pipeline's) round trip is observed here, in seconds (the
  // service kit passes switchboard_redis_command_duration_seconds).
  prometheus::Histogram* command_seconds = nullptr;

  // redis://[:password@]host[:port][/db]
  static absl::StatusOr<Options> FromUrl(absl::string_view url);
  std::string Address() const;
};

// An owned copy of a Redis reply.
struct Reply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  int64_t integer = 0;
  std::string str;  // string, status and error replies
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::kNil; }
};

class Pool {
 public:
  explicit Pool(Options options, const core::Clock& clock = core::Clock::Real());
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // One command. An error reply becomes a status with reason REDIS_COMMAND_ERROR (and
  // NOSCRIPT for missing scripts); connection trouble becomes UNAVAILABLE/REDIS_UNAVAILABLE.
  absl::StatusOr<Reply> Command(const std::vector<std::string>& args);
  absl::StatusOr<Reply> Command(std::initializer_list<absl::string_view> args);

  // Sends every command before reading any reply: one round trip. Error replies stay in the
  // returned vector as Reply::Type::kError; only connection trouble fails the whole call.
  absl::StatusOr<std::vector<Reply>> Pipeline(const std::vector<std::vector<std::string>>& cmds);

  absl::Status Ping();
  const Options& options() const { return options_; }

 private:
  struct Conn;
  absl::StatusOr<std::unique_ptr<Conn>> Acquire();
  void Release(std::unique_ptr<Conn> conn, bool healthy);
  absl::StatusOr<std::unique_ptr<Conn>> Connect();

  const Options options_;
  const core::Clock& clock_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time down_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

// A Lua script run with EVALSHA; on NOSCRIPT (a restarted or flushed Redis) it loads the
// script and runs it again.
//
//   static const redis::Script kTake("return redis.call('INCR', KEYS[1])");
//   ASSIGN_OR_RETURN(redis::Reply r, kTake.Run(pool, {key}, {}));
class Script {
 public:
  explicit Script(std::string source);
  const std::string& sha() const { return sha_; }
  const std::string& source() const { return source_; }

  absl::StatusOr<Reply> Run(Pool& pool, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args) const;

 private:
  std::string source_;
  std::string sha_;
};

// The messages of one pub/sub channel, read by a thread of its own (a connection in subscribe
// mode can do nothing else). It reconnects by itself, `reconnect_backoff` apart; what was
// published while it was away is lost, so `on_subscribed` runs after every (re)subscription
// for the owner to catch up from wherever the data itself is kept.
//
//   redis::Subscriber live(options, "channel", [&](std::string m) { ... }, [&] { Resync(); });
class Subscriber {
 public:
  Subscriber(Options options, std::string channel, std::function<void(std::string)> on_message,
             std::function<void()> on_subscribed);
  ~Subscriber();  // Stop()
  Subscriber(const Subscriber&) = delete;
  Subscriber& operator=(const Subscriber&) = delete;

  // Unblocks the reader and joins it. Idempotent.
  void Stop();
  // Subscribed now (for probes and tests).
  bool subscribed() const;

 private:
  void Run();
  // One connection's life: false when it could not subscribe.
  bool Session();

  const Options options_;
  const std::string channel_;
  std::function<void(std::string)> on_message_;
  std::function<void()> on_subscribed_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool subscribed_ ABSL_GUARDED_BY(mu_) = false;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;  // the live connection's socket, to unblock its read
  std::thread thread_;
};

}  // namespace switchboard::redis
