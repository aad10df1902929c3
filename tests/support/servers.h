// Real servers for integration tests: Redis and PostgreSQL started on free loopback ports in
// temporary directories, as the current user (or as `nobody` when running as root, because
// PostgreSQL refuses root). Nothing depends on a system service, so tests run in parallel.
//
//   testing::PostgresServer& pg = testing::PostgresServer::Shared();
//   std::string url = pg.CreateDatabase();      // a fresh database for this test
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace switchboard::testing {

// A free TCP port on 127.0.0.1, below the ephemeral range (bound then released; callers retry on
// the rare collision).
int FreePort();

// Polls `condition` until it holds or `timeout` passes; returns whether it held.
bool Eventually(const std::function<bool()>& condition, absl::Duration timeout = absl::Seconds(10),
                absl::Duration interval = absl::Milliseconds(10));

// A child process with its output in a log file.
class Process {
 public:
  Process() = default;
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Starts argv[0] (searched in PATH). When `as_nobody` and we are root, drops to nobody.
  void Start(const std::vector<std::string>& argv, const std::string& log_path,
             bool as_nobody = false);
  void Signal(int sig);
  // Waits for exit; returns the exit status as waitpid reports it, or -1 on timeout.
  int Wait(absl::Duration timeout = absl::Seconds(10));
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

class RedisServer {
 public:
  RedisServer();  // starts it
  ~RedisServer();
  void Kill();     // SIGKILL: a crash, not a shutdown
  void Restart();  // on the same port
  int port() const { return port_; }
  std::string url() const;

 private:
  void Launch();
  std::string dir_;
  int port_ = 0;
  Process process_;
};

class PostgresServer {
 public:
  PostgresServer();  // initdb (from a cached template) and start
  ~PostgresServer();

  // One server per test binary; stopped at exit.
  static PostgresServer& Shared();

  // Creates a new, empty database and returns its URL.
  std::string CreateDatabase();
  // A clean restart (fast shutdown, then started again on the same port and data): every
  // client's connections break.
  void Restart();
  std::string AdminUrl() const;
  int port() const { return port_; }

 private:
  bool Launch();
  std::string dir_;
  int port_ = 0;
  Process process_;
};

// The value of the sample `name{...}` in Prometheus text whose labels include all of `labels`.
std::optional<double> MetricSample(const std::string& text, const std::string& name,
                                   const std::map<std::string, std::string>& labels);

// Runs a shell command, returns its exit code; output appended to `output` when given.
int Run(const std::string& command, std::string* output = nullptr);

// Sends `bytes` as they are to 127.0.0.1:`port`, half-closes, and returns all the server
// answered (for requests an HTTP client will not send: truncated bodies, bad framing).
std::string SendRaw(int port, const std::string& bytes);

// A fresh directory under /tmp, removed by the caller (or left for post-mortem).
std::string TempDir(const std::string& prefix);

}  // namespace switchboard::testing
