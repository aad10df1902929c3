#include "services/calls/module.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/app.h"
#include "libs/runtime/service_module.h"
#include "services/calls/ingest.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"

namespace switchboard::calls {
namespace {

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "calls", Migrations()));
    ingest_ = std::make_unique<Ingest>(pool(), ctx.clock(), ctx.config().ring_timeout,
                                       [this] { relay().Notify(); });
    ASSIGN_OR_RETURN(whatsapp_, kafka::Consumer::Create({.brokers = ctx.kafka_bootstrap(),
                                                         .group_id = "calls.whatsapp",
                                                         .topics = {kafka::kWhatsAppEvents},
                                                         .metrics = &ctx.metrics()},
                                                        [this](const kafka::Message& m) {
                                                          return ingest_->OnWhatsAppEvent(m);
                                                        }));
    ctx.AddService(&service_, v1::CallsService::service_full_name());
    return absl::OkStatus();
  }

  absl::Status Start() override {
    RETURN_IF_ERROR(ServiceModule::Start());
    whatsapp_->Start();
    timers_ = std::thread([this] {
      while (!stop_.WaitForNotificationWithTimeout(absl::Milliseconds(250))) {
        absl::StatusOr<int> fired = ingest_->FireRingTimeouts();
        if (!fired.ok()) {
          log::Warning("ring timeouts not fired; retrying", {{"error", fired.status().ToString()}});
        }
      }
    });
    return absl::OkStatus();
  }

  void Stop() override {
    stop_.Notify();
    if (timers_.joinable()) timers_.join();
    whatsapp_->Stop();
    ServiceModule::Stop();
  }

 private:
  // The API as generated: until the RPCs land, every method answers UNIMPLEMENTED (after
  // authentication, like every call). Meta's call webhooks are already applied (ingest.h).
  v1::CallsService::Service service_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<kafka::Consumer> whatsapp_;
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
