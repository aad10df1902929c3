#include "services/calls/module.h"

#include <algorithm>
#include <thread>

#include "absl/synchronization/notification.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/app.h"
#include "libs/runtime/service_module.h"
#include "libs/whatsapp/credentials.h"
#include "libs/whatsapp/graph_client.h"
#include "services/calls/ingest.h"
#include "services/calls/service.h"
#include "services/calls/store.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"

namespace switchboard::calls {
namespace {

// How often the durable timers and due callbacks are looked for.
constexpr absl::Duration kTimerInterval = absl::Milliseconds(250);
// Webhooks parked for an outbound call nobody claims (a call placed outside Switchboard).
constexpr absl::Duration kParkedRetention = absl::Hours(24);

// StartCall reaches eligibility through a stub created once the gRPC server exists (Start);
// until then, and after Stop, ReserveCall is UNAVAILABLE.
class LateStub {
 public:
  void Set(std::shared_ptr<grpc::Channel> channel) {
    absl::MutexLock lock(&mu_);
    stub_ = channel ? std::shared_ptr<eligibility::v1::EligibilityService::Stub>(
                          eligibility::v1::EligibilityService::NewStub(channel))
                    : nullptr;
  }

  grpc::Status ReserveCall(grpc::ClientContext* ctx, const eligibility::v1::ReserveCallRequest& req,
                           eligibility::v1::ReserveCallResponse* resp) {
    std::shared_ptr<eligibility::v1::EligibilityService::Stub> stub;
    {
      absl::MutexLock lock(&mu_);
      stub = stub_;
    }
    if (!stub) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "eligibility not connected");
    return stub->ReserveCall(ctx, req, resp);
  }

 private:
  absl::Mutex mu_;
  std::shared_ptr<eligibility::v1::EligibilityService::Stub> stub_ ABSL_GUARDED_BY(mu_);
};

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    const runtime::Config& config = ctx.config();
    const auto& targets = ctx.infra().targets;
    bool local = std::find(targets.begin(), targets.end(), "eligibility") != targets.end();
    if (config.eligibility_address.empty() && !local) {
      return core::Error(absl::StatusCode::kFailedPrecondition, "ELIGIBILITY_UNREACHABLE",
                         "the calls target needs eligibility: run it in this process "
                         "(--target=calls,eligibility) or set --eligibility-address");
    }
    RETURN_IF_ERROR(InitStore(ctx, "calls", Migrations()));
    ASSIGN_OR_RETURN(credentials_, whatsapp::Credentials::Load(
                                       config.meta_credentials_file, config.meta_app_secret,
                                       config.meta_verify_token, config.meta_access_token));
    graph_ = std::make_unique<whatsapp::GraphClient>(
        whatsapp::GraphClientOptions{.base_url = config.meta_graph_url,
                                     .api_version = config.meta_api_version},
        [this](absl::string_view id) { return credentials_.AccessToken(id); });
    probe_ = std::make_unique<calls::Probe>(&ctx.metrics());
    store_ = std::make_unique<Store>(pool(), ctx.clock(),
                                     Timing{.ring_timeout = config.ring_timeout}, probe_.get());
    auto written = [this] { relay().Notify(); };
    ingest_ = std::make_unique<Ingest>(*store_, ctx.clock(), Service::kClaimLease, written);
    service_ = std::make_unique<Service>(
        *store_, *ingest_, *graph_,
        [this](grpc::ClientContext* c, const eligibility::v1::ReserveCallRequest& req,
               eligibility::v1::ReserveCallResponse* resp) {
          return eligibility_.ReserveCall(c, req, resp);
        },
        ctx.clock(), written, probe_.get());
    ASSIGN_OR_RETURN(whatsapp_, kafka::Consumer::Create({.brokers = ctx.kafka_bootstrap(),
                                                         .group_id = "calls.whatsapp",
                                                         .topics = {kafka::kWhatsAppEvents},
                                                         .metrics = &ctx.metrics()},
                                                        [this](const kafka::Message& m) {
                                                          return ingest_->OnWhatsAppEvent(m);
                                                        }));
    ASSIGN_OR_RETURN(billing_, kafka::Consumer::Create({.brokers = ctx.kafka_bootstrap(),
                                                        .group_id = "calls.billing",
                                                        .topics = {kafka::kBillingUsage},
                                                        .metrics = &ctx.metrics()},
                                                       [this](const kafka::Message& m) {
                                                         return ingest_->OnBillingEvent(m);
                                                       }));
    eligibility_address_ = config.eligibility_address;
    infra_ = &ctx.infra();
    ctx.AddService(service_.get(), v1::CallsService::service_full_name());
    return absl::OkStatus();
  }

  absl::Status Start() override {
    RETURN_IF_ERROR(ServiceModule::Start());
    eligibility_.Set(
        eligibility_address_.empty()
            ? infra_->local_channel()
            : grpc::CreateChannel(eligibility_address_, grpc::InsecureChannelCredentials()));
    whatsapp_->Start();
    billing_->Start();
    timers_ = std::thread([this] { RunTimers(); });
    return absl::OkStatus();
  }

  void Stop() override {
    stop_.Notify();
    if (timers_.joinable()) timers_.join();
    billing_->Stop();
    whatsapp_->Stop();
    eligibility_.Set(nullptr);
    ServiceModule::Stop();
  }

 private:
  void RunTimers() {
    absl::Time expired_parked = absl::InfinitePast();
    while (!stop_.WaitForNotificationWithTimeout(kTimerInterval)) {
      absl::StatusOr<std::vector<Fired>> fired = ingest_->FireTimers();
      if (fired.ok()) {
        service_->AfterTimers(*fired);
      } else {
        log::Warning("call timers not fired; retrying", {{"error", fired.status().ToString()}});
      }
      absl::StatusOr<int> due = ingest_->FireCallbacks();
      if (!due.ok()) {
        log::Warning("callbacks not fired; retrying", {{"error", due.status().ToString()}});
      }
      absl::Time now = absl::Now();
      if (now - expired_parked > absl::Minutes(10)) {
        expired_parked = now;
        absl::StatusOr<int64_t> expired = store_->ExpireParked(now - kParkedRetention);
        if (expired.ok() && *expired > 0) {
          log::Info("parked webhooks of unknown outbound calls expired", {{"count", *expired}});
        }
      }
    }
  }

  whatsapp::Credentials credentials_;
  std::unique_ptr<whatsapp::GraphClient> graph_;
  LateStub eligibility_;
  std::string eligibility_address_;
  std::unique_ptr<calls::Probe> probe_;  // qualified: Module has a Probe() of its own
  std::unique_ptr<Store> store_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<kafka::Consumer> whatsapp_;
  std::unique_ptr<kafka::Consumer> billing_;
  runtime::Infrastructure* infra_ = nullptr;
  absl::Notification stop_;
  std::thread timers_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "calls", .deps = {"postgres", "kafka"}, .target = true, .factory = [] {
                  return std::make_unique<Module>();
                }});
}

}  // namespace switchboard::calls
