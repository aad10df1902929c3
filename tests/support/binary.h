// The real `switchboard` executable as a child process, with its own Redis, a fresh
// PostgreSQL database and a temporary directory for its log, ready file and Kafka bootstrap
// file. Kafka is the process's embedded one unless `extra_args` names brokers.
//
//   testing::SwitchboardProcess sb(SWITCHBOARD_BIN, kSecret);
//   sb.Start("all");                       // spawns, waits for the ready file
//   sb.process.Signal(SIGKILL); sb.process.Wait();
//   sb.Restart("all");                     // same database, Redis and ports
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpc/health/v1/health.pb.h"
#include "tests/support/servers.h"

namespace switchboard::testing {

std::string ReadFile(const std::string& path);
// The string value of "key" in a flat, one-line JSON object ("" when absent).
std::string JsonString(const std::string& json, const std::string& key);

class SwitchboardProcess {
 public:
  SwitchboardProcess(std::string binary, std::string auth_secret);
  // Kills the process; on a failing test keeps the directory and prints the log.
  ~SwitchboardProcess();

  std::vector<std::string> Args(const std::string& target) const;
  void Spawn(const std::string& target);
  // Waits for the ready file and reads the bound addresses from it; returns spawn → ready.
  absl::Duration WaitReady(absl::Duration timeout = absl::Seconds(60));
  void Start(const std::string& target) {
    Spawn(target);
    WaitReady();
  }
  // SIGKILL (a crash), then started again on the same database, Redis and flags.
  void KillAndRestart(const std::string& target);

  // The health of `service`, or nullopt when the Check call failed (e.g. NOT_FOUND).
  std::optional<grpc::health::v1::HealthCheckResponse::ServingStatus> Health(
      const std::string& service);
  // GET /metrics.
  std::string Metrics();

  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  std::string Log() const { return ReadFile(log_path()); }
  std::string log_path() const { return dir_ + "/switchboard.log"; }
  std::string ready_path() const { return dir_ + "/ready.json"; }
  std::string bootstrap_path() const { return dir_ + "/kafka.bootstrap"; }
  const std::string& dir() const { return dir_; }
  const std::string& postgres_url() const { return postgres_url_; }

  RedisServer redis;
  std::string redis_url;                // overrides redis.url() when set
  std::string webhooks_port = "0";      // 0: any free port
  std::string kafka_brokers;            // empty: the process's embedded Kafka
  std::vector<std::string> extra_args;  // appended to Args()
  std::string grpc_address;
  std::string metrics_address;
  std::string kafka_bootstrap;
  Process process;  // after redis: killed before the Redis it uses stops

 private:
  std::string binary_;
  std::string secret_;
  std::string dir_;
  std::string postgres_url_;
  absl::Time spawned_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace switchboard::testing
