// The suite under test, in a few lines: real Redis and PostgreSQL, Kafka (embedded, outside the
// app so it survives a restart), optionally the Meta simulator standing in for Meta, and the
// chosen services running in one runtime on free ports. Integration tests of every service
// start from here; what they add is the behaviour they check.
//
//   testing::Suite s({.services = {webhooks::Register, calls::Register},
//                     .meta_sim = true,
//                     .flags = {{"ring-timeout", "2s"}}});
//   auto calls = s.Stub<calls::v1::CallsService>();
//   REQUIRE(s.Call(calls.get(), &calls::v1::CallsService::Stub::GetCall, req, &resp,
//                  {.subject = "agent-1"}).ok());
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "libs/kafka/embedded.h"
#include "libs/runtime/app.h"
#include "libs/runtime/grpc.h"
#include "tests/support/servers.h"
#include "tools/meta-sim/sim.h"

namespace switchboard::testing {

// Who a call acts as (the token's claims).
struct Who {
  std::string subject = "agent-1";
  std::vector<std::string> roles = {"agent"};
  std::string tenant = "acme";
};

// A business number: registered with the webhooks target for `tenant` (when it runs) and known
// to the simulator (when it runs), which signs its webhooks with the suite's app secret.
struct Number {
  std::string phone_number_id = "106540352242922";
  std::string waba_id = "102290129340398";
  std::string display_phone_number = "+1 631-555-3601";
  std::string tenant = "acme";
};

struct SuiteOptions {
  // The services' Register functions (e.g. calls::Register); infrastructure is added.
  std::vector<std::function<void(runtime::Registry&)>> services;
  // The targets to run; empty: every registered service.
  std::vector<std::string> targets;
  // The Meta simulator plays Meta: the Graph API (--meta-graph-url) and users whose signed
  // webhooks reach the edge. Without it the Graph API URL points where nothing listens.
  bool meta_sim = false;
  std::function<void(metasim::SimOptions&)> sim_options;
  std::vector<Number> numbers = {Number()};
  // Module flags (--ring-timeout=2s is {"ring-timeout", "2s"}), and anything else to change.
  std::map<std::string, std::string> flags;
  std::function<void(runtime::Config&)> configure;
};

class Suite {
 public:
  static constexpr char kAuthSecret[] = "switchboard-suite-test-secret-0123";
  static constexpr char kAppSecret[] = "switchboard-suite-test-app-secret";
  static constexpr char kAccessToken[] = "suite-access-token";

  explicit Suite(SuiteOptions options);
  ~Suite();

  // Stops the app (drained, as on SIGTERM) and starts it again on the same Redis, database and
  // Kafka: what a restart of the process sees.
  void Restart();
  // Stops the app without a restart (tests of what happens after).
  void Stop();
  // Another replica of the same targets on the same Redis, database and Kafka, on ports of its
  // own (started; stopped when the returned app goes).
  std::unique_ptr<runtime::App> StartReplica();

  runtime::App& app() { return *app_; }
  std::shared_ptr<grpc::Channel> channel() const { return channel_; }
  template <typename Service>
  std::unique_ptr<typename Service::Stub> Stub() const {
    return Service::NewStub(channel_);
  }

  static std::string Token(const Who& who, absl::Duration ttl = absl::Hours(1));
  // One unary call as `who`, its status with the reason back in core::ReasonOf.
  template <typename StubT, typename Req, typename Resp, typename Method>
  static absl::Status Call(StubT* stub, Method method, const Req& req, Resp* resp,
                           const Who& who = {}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + Token(who));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    return runtime::FromGrpcStatus((stub->*method)(&ctx, req, resp));
  }

  // One unary call of `method` ("/pkg.Service/Method") with `request` as serialized bytes,
  // whatever they hold, as `who`: the response's bytes, or its status with the reason.
  absl::StatusOr<std::string> CallBytes(const std::string& method, const std::string& request,
                                        const Who& who,
                                        absl::Duration deadline = absl::Seconds(20));

  // Registers a number with the webhooks target as an admin of its tenant.
  absl::Status RegisterNumber(const Number& number);

  RedisServer& redis() { return redis_; }
  const std::string& postgres_url() const { return postgres_url_; }
  const std::string& kafka_bootstrap() const { return cluster_->bootstrap(); }
  kafka::EmbeddedCluster& kafka() { return *cluster_; }
  metasim::Sim* sim() { return sim_.get(); }
  // "http://127.0.0.1:<port>" of the webhooks edge (when the target runs).
  std::string webhooks_url() const;
  int webhooks_port() const { return webhooks_port_; }
  // "http://127.0.0.1:<port>" of the browser gateway (when the target runs), else "".
  std::string gateway_url() const;
  const std::string& dir() const { return dir_; }
  // The Prometheus text the app serves now.
  std::string Metrics() const;

 private:
  void StartApp();

  SuiteOptions options_;
  std::string dir_;
  RedisServer redis_;
  std::string postgres_url_;
  std::unique_ptr<kafka::EmbeddedCluster> cluster_;
  std::unique_ptr<metasim::Sim> sim_;
  int webhooks_port_ = 0;
  runtime::Registry registry_;
  runtime::Config config_;
  std::unique_ptr<runtime::App> app_;
  std::unique_ptr<grpc::GenericStub> generic_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace switchboard::testing
