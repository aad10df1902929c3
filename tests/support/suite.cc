#include "tests/support/suite.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "libs/auth/token.h"
#include "libs/http/client.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"

namespace switchboard::testing {

Suite::Suite(SuiteOptions options)
    : options_(std::move(options)), dir_(TempDir("switchboard-suite")) {
  postgres_url_ = PostgresServer::Shared().CreateDatabase();
  auto cluster = kafka::EmbeddedCluster::Start();
  REQUIRE(cluster.ok());
  cluster_ = *std::move(cluster);
  REQUIRE(cluster_->CreateTopics(kafka::SuiteTopics()).ok());

  runtime::RegisterInfrastructure(registry_);
  for (const auto& add : options_.services) add(registry_);

  webhooks_port_ = FreePort();
  if (options_.meta_sim) {
    metasim::SimOptions sim;
    for (const Number& n : options_.numbers) {
      sim.numbers.push_back({.phone_number_id = n.phone_number_id,
                             .display_phone_number = n.display_phone_number,
                             .waba_id = n.waba_id,
                             .access_token = kAccessToken,
                             .app_secret = kAppSecret,
                             .callback_url = absl::StrCat(webhooks_url(), "/webhooks/whatsapp")});
    }
    sim.webhooks.retry_initial = absl::Milliseconds(20);
    sim.webhooks.retry_max = absl::Milliseconds(200);
    if (options_.sim_options) options_.sim_options(sim);
    auto started = metasim::Sim::Start(sim);
    REQUIRE(started.ok());
    sim_ = *std::move(started);
  }

  config_.targets = options_.targets.empty() ? registry_.TargetNames() : options_.targets;
  config_.listen_host = "127.0.0.1";
  config_.grpc_port = 0;
  config_.metrics_port = 0;
  config_.auth_secret = kAuthSecret;
  config_.redis_url = redis_.url();
  config_.postgres_url = postgres_url_;
  config_.kafka_brokers = cluster_->bootstrap();
  config_.kafka_bootstrap_file = dir_ + "/kafka.bootstrap";
  config_.drain_timeout = absl::Seconds(2);
  config_.flags["meta-app-secret"] = kAppSecret;
  config_.flags["meta-access-token"] = kAccessToken;
  // Without the simulator, Meta is where nothing listens.
  config_.flags["meta-graph-url"] = sim_ ? sim_->base_url() : "http://127.0.0.1:9";
  if (registry_.Find("webhooks") != nullptr) {
    config_.flags["webhooks-port"] = absl::StrCat(webhooks_port_);
  }
  if (registry_.Find("gateway") != nullptr) config_.flags["gateway-port"] = "0";
  for (const auto& [name, value] : options_.flags) config_.flags[name] = value;
  if (options_.configure) options_.configure(config_);
  StartApp();

  const auto& targets = config_.targets;
  if (std::find(targets.begin(), targets.end(), "webhooks") != targets.end()) {
    for (const Number& n : options_.numbers) REQUIRE(RegisterNumber(n).ok());
  }
}

Suite::~Suite() {
  if (sim_) sim_->Stop();
  Stop();
}

void Suite::StartApp() {
  app_ = std::make_unique<runtime::App>(registry_, config_);
  absl::Status started = app_->Start();
  INFO(started.ToString());
  REQUIRE(started.ok());
  channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", app_->grpc_port()),
                                 grpc::InsecureChannelCredentials());
  generic_ = std::make_unique<grpc::GenericStub>(channel_);
}

void Suite::Stop() {
  if (!app_) return;
  app_->RequestStop();
  app_->WaitAndDrain();
  app_.reset();
}

std::unique_ptr<runtime::App> Suite::StartReplica() {
  runtime::Config config = config_;
  config.kafka_bootstrap_file = "";
  for (const char* port : {"webhooks-port", "gateway-port"}) {
    if (config.flags.count(port) > 0) config.flags[port] = "0";
  }
  auto replica = std::make_unique<runtime::App>(registry_, config);
  absl::Status started = replica->Start();
  INFO(started.ToString());
  REQUIRE(started.ok());
  return replica;
}

void Suite::Restart() {
  Stop();
  StartApp();
}

std::string Suite::gateway_url() const {
  auto it = app_->addresses().find("gateway");
  return it == app_->addresses().end() ? "" : absl::StrCat("http://", it->second);
}

std::string Suite::Token(const Who& who, absl::Duration ttl) {
  absl::Time now = absl::Now();
  return *auth::SignToken(
      kAuthSecret,
      {.tenant_id = who.tenant, .subject = who.subject, .roles = who.roles, .expires = now + ttl},
      now);
}

absl::StatusOr<std::string> Suite::CallBytes(const std::string& method, const std::string& request,
                                             const Who& who, absl::Duration deadline) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + Token(who));
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::Slice slice(request);
  grpc::ByteBuffer in(&slice, 1);
  grpc::ByteBuffer out;
  grpc::Status status;
  absl::Notification done;
  generic_->UnaryCall(&ctx, method, grpc::StubOptions(), &in, &out, [&](grpc::Status s) {
    status = std::move(s);
    done.Notify();
  });
  done.WaitForNotification();
  if (!status.ok()) return runtime::FromGrpcStatus(status);
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!out.Dump(&slices).ok()) return absl::DataLossError("unreadable response");
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes;
}

absl::Status Suite::RegisterNumber(const Number& number) {
  auto stub = Stub<webhooks::v1::WebhooksService>();
  webhooks::v1::RegisterPhoneNumberRequest req;
  req.set_phone_number_id(number.phone_number_id);
  req.set_waba_id(number.waba_id);
  req.set_display_phone_number(number.display_phone_number);
  webhooks::v1::RegisterPhoneNumberResponse resp;
  return Call(stub.get(), &webhooks::v1::WebhooksService::Stub::RegisterPhoneNumber, req, &resp,
              {.subject = "ops", .roles = {"admin"}, .tenant = number.tenant});
}

std::string Suite::webhooks_url() const {
  return absl::StrCat("http://127.0.0.1:", webhooks_port_);
}

std::string Suite::Metrics() const {
  http::Client client;
  auto r =
      client.Send({.url = absl::StrCat("http://127.0.0.1:", app_->metrics_port(), "/metrics")});
  return r.ok() ? r->body : "";
}

}  // namespace switchboard::testing
