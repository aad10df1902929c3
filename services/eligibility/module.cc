#include "services/eligibility/module.h"

#include "libs/core/status_macros.h"
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
    ASSIGN_OR_RETURN(auto registry, PeerOf<webhooks::v1::WebhooksService>(ctx, "webhooks"));
    numbers_ = std::make_unique<runtime::RegistryNumbers>(std::move(registry), ctx.clock());
    service_ = std::make_unique<Service>(*hot_, *durable_, *numbers_, ctx.clock(), &ctx.metrics());
    ctx.AddService(service_.get(), v1::EligibilityService::service_full_name());

    Service* s = service_.get();
    RETURN_IF_ERROR(Consume(
        ctx, "whatsapp", kafka::kWhatsAppEvents,
        kafka::Dispatch().On<webhooks::v1::WhatsAppEvent>(
            [s](const auto& e, const kafka::Message& m) { return s->OnWhatsAppEvent(e, m); })));
    RETURN_IF_ERROR(Consume(
        ctx, "calls", kafka::kCallsState,
        kafka::Dispatch().On<calls::v1::CallStateChanged>(
            [s](const auto& e, const kafka::Message& m) { return s->OnCallStateChanged(e, m); })));
    RETURN_IF_ERROR(
        Consume(ctx, "usage", kafka::kBillingUsage,
                kafka::Dispatch().On<billing::v1::UsageUpdated>(
                    [s](const auto& e, const kafka::Message& m) { return s->OnUsage(e, m); })));
    return Consume(
        ctx, "agents", kafka::kRoutingAvailability,
        kafka::Dispatch().On<routing::v1::AgentAvailabilityChanged>(
            [s](const auto& e, const kafka::Message& m) { return s->OnAgentAvailability(e, m); }));
  }

 private:
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<store::HotState> hot_;
  std::unique_ptr<store::Durable> durable_;
  std::unique_ptr<runtime::Numbers> numbers_;
  std::unique_ptr<Service> service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "eligibility",
                .deps = {"redis", "postgres", "kafka"},
                .target = true,
                .factory = [] { return std::make_unique<Module>(); },
                .peers = {"webhooks"}});
}

}  // namespace switchboard::eligibility
