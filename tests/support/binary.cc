#include "tests/support/binary.h"

#include <signal.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace switchboard::testing {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string JsonString(const std::string& json, const std::string& key) {
  std::string open = absl::StrCat("\"", key, "\":\"");
  size_t at = json.find(open);
  if (at == std::string::npos) return "";
  size_t from = at + open.size();
  size_t to = json.find('"', from);
  return to == std::string::npos ? "" : json.substr(from, to - from);
}

SwitchboardProcess::SwitchboardProcess(std::string binary, std::string auth_secret)
    : binary_(std::move(binary)),
      secret_(std::move(auth_secret)),
      dir_(TempDir("switchboard-bin")),
      postgres_url_(PostgresServer::Shared().CreateDatabase()) {}

SwitchboardProcess::~SwitchboardProcess() {
  std::error_code ec;
  if (std::uncaught_exceptions() > 0) {
    // A REQUIRE failed: keep everything for the post-mortem.
    std::fprintf(stderr, "switchboard log kept in %s:\n%s\n", log_path().c_str(), Log().c_str());
    return;
  }
  if (process.running()) {
    process.Signal(SIGKILL);
    process.Wait();
  }
  fs::remove_all(dir_, ec);
}

std::vector<std::string> SwitchboardProcess::Args(const std::string& target) const {
  return {
      absl::StrCat("--target=", target), "--listen-host=127.0.0.1", "--grpc-port=0",
      "--metrics-port=0", "--gateway-port=0", absl::StrCat("--webhooks-port=", webhooks_port),
      // Where a target run without webhooks would ask about business numbers (nothing
      // here names one); this process when webhooks runs here.
      absl::StrCat("--webhooks-address=",
                   absl::StrContains(target, "webhooks") || target == "all" ? "" : "127.0.0.1:9"),
      absl::StrCat("--redis-url=", redis_url.empty() ? redis.url() : redis_url),
      absl::StrCat("--postgres-url=", postgres_url_), absl::StrCat("--auth-secret=", secret_),
      "--kafka-brokers=", absl::StrCat("--kafka-bootstrap-file=", bootstrap_path()),
      absl::StrCat("--ready-file=", ready_path()), "--drain-timeout=2s"};
}

void SwitchboardProcess::Spawn(const std::string& target) {
  std::vector<std::string> argv = {binary_};
  for (auto& a : Args(target)) argv.push_back(std::move(a));
  for (const auto& a : extra_args) argv.push_back(a);
  spawned_ = absl::Now();
  process.Start(argv, log_path());
}

absl::Duration SwitchboardProcess::WaitReady(absl::Duration timeout) {
  bool ready = Eventually([&] { return fs::exists(ready_path()); }, timeout);
  absl::Duration took = absl::Now() - spawned_;
  INFO(Log());
  REQUIRE(ready);
  std::string json = ReadFile(ready_path());
  INFO(json);
  grpc_address = JsonString(json, "grpc");
  metrics_address = JsonString(json, "metrics");
  kafka_bootstrap = JsonString(json, "kafka_bootstrap");
  REQUIRE(absl::StartsWith(grpc_address, "127.0.0.1:"));
  REQUIRE(absl::StartsWith(metrics_address, "127.0.0.1:"));
  REQUIRE(!kafka_bootstrap.empty());
  REQUIRE(absl::StrContains(json, absl::StrCat("\"pid\":", process.pid())));
  channel_ = grpc::CreateChannel(grpc_address, grpc::InsecureChannelCredentials());
  return took;
}

void SwitchboardProcess::KillAndRestart(const std::string& target) {
  process.Signal(SIGKILL);
  process.Wait();
  std::error_code ec;
  fs::remove(ready_path(), ec);
  Start(target);
}

std::optional<grpc::health::v1::HealthCheckResponse::ServingStatus> SwitchboardProcess::Health(
    const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::health::v1::HealthCheckRequest req;
  req.set_service(service);
  grpc::health::v1::HealthCheckResponse resp;
  if (!stub->Check(&ctx, req, &resp).ok()) return std::nullopt;
  return resp.status();
}

std::string SwitchboardProcess::Metrics() {
  std::string path = absl::StrCat(dir_, "/metrics.txt");
  int rc = Run(absl::StrCat("curl -sf -o ", path, " http://", metrics_address, "/metrics"));
  REQUIRE(rc == 0);
  return ReadFile(path);
}

}  // namespace switchboard::testing
