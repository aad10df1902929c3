#include "services/eligibility/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/app.h"
#include "libs/runtime/service_module.h"
#include "services/eligibility/service.h"

namespace switchboard::eligibility {
namespace {

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "eligibility", Migrations()));
    // Its own Redis pool with tight timeouts: the Call button must get an answer (degraded if
    // need be) within 50 ms, even when Redis hangs instead of refusing.
    ASSIGN_OR_RETURN(redis::Options options, redis::Options::FromUrl(ctx.config().redis_url));
    options.connect_timeout = absl::Milliseconds(20);
    options.command_timeout = absl::Milliseconds(25);
    options.reconnect_backoff = absl::Milliseconds(500);
    // Enough connections for every handler thread: waiting for one would eat the 50 ms budget.
    options.pool_size = 64;
    redis_ = std::make_unique<redis::Pool>(options, ctx.clock());
    hot_ = std::make_unique<store::HotState>(*redis_);
    durable_ = std::make_unique<store::Durable>(pool(), ctx.clock());
    service_ = std::make_unique<Service>(*hot_, *durable_, ctx.clock(), &ctx.metrics());
    ctx.AddService(service_.get(), v1::EligibilityService::service_full_name());
    ASSIGN_OR_RETURN(whatsapp_, kafka::Consumer::Create({.brokers = ctx.kafka_bootstrap(),
                                                         .group_id = "eligibility.whatsapp",
                                                         .topics = {kafka::kWhatsAppEvents},
                                                         .metrics = &ctx.metrics()},
                                                        [this](const kafka::Message& m) {
                                                          return service_->OnWhatsAppEvent(m);
                                                        }));
    ASSIGN_OR_RETURN(calls_, kafka::Consumer::Create({.brokers = ctx.kafka_bootstrap(),
                                                      .group_id = "eligibility.calls",
                                                      .topics = {kafka::kCallsState},
                                                      .metrics = &ctx.metrics()},
                                                     [this](const kafka::Message& m) {
                                                       return service_->OnCallStateChanged(m);
                                                     }));
    ASSIGN_OR_RETURN(usage_, kafka::Consumer::Create(
                                 {.brokers = ctx.kafka_bootstrap(),
                                  .group_id = "eligibility.usage",
                                  .topics = {kafka::kBillingUsage},
                                  .metrics = &ctx.metrics()},
                                 [this](const kafka::Message& m) { return service_->OnUsage(m); }));
    ASSIGN_OR_RETURN(agents_, kafka::Consumer::Create({.brokers = ctx.kafka_bootstrap(),
                                                       .group_id = "eligibility.agents",
                                                       .topics = {kafka::kRoutingAvailability},
                                                       .metrics = &ctx.metrics()},
                                                      [this](const kafka::Message& m) {
                                                        return service_->OnAgentAvailability(m);
                                                      }));
    return absl::OkStatus();
  }

  absl::Status Start() override {
    for (auto* c : {whatsapp_.get(), calls_.get(), usage_.get(), agents_.get()}) c->Start();
    return ServiceModule::Start();
  }

  void Stop() override {
    for (auto* c : {whatsapp_.get(), calls_.get(), usage_.get(), agents_.get()}) c->Stop();
    ServiceModule::Stop();
  }

 private:
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<store::HotState> hot_;
  std::unique_ptr<store::Durable> durable_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<kafka::Consumer> whatsapp_;
  std::unique_ptr<kafka::Consumer> calls_;
  std::unique_ptr<kafka::Consumer> usage_;
  std::unique_ptr<kafka::Consumer> agents_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "eligibility",
                .deps = {"redis", "postgres", "kafka"},
                .target = true,
                .factory = [] { return std::make_unique<Module>(); }});
}

}  // namespace switchboard::eligibility
