#include "services/eligibility/module.h"

#include <functional>

#include "libs/core/status_macros.h"
#include "libs/core/work_queue.h"
#include "libs/runtime/service_module.h"
#include "services/eligibility/checks.h"
#include "services/eligibility/consents.h"
#include "services/eligibility/contacts.h"
#include "services/eligibility/ingest.h"
#include "services/eligibility/probe.h"
#include "services/eligibility/service.h"
#include "services/eligibility/settings.h"

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
    blocking_ = std::make_unique<core::WorkQueue>("elig-blocking", 16);
    probe_ = std::make_unique<eligibility::Probe>(&ctx.metrics());
    contacts_ = std::make_unique<Contacts>(*hot_, *durable_, *numbers_);
    settings_ = std::make_unique<Settings>(*contacts_, *hot_, *durable_, *blocking_, ctx.clock());
    checks_ = std::make_unique<Checks>(*contacts_, *settings_, *hot_, *durable_, ctx.clock(),
                                       probe_.get());
    consents_ = std::make_unique<Consents>(*contacts_, *settings_, *durable_, ctx.clock());
    ingest_ = std::make_unique<Ingest>(*contacts_, *settings_, *hot_, *durable_, ctx.clock());
    service_ = std::make_unique<Service>(Features{.checks = checks_.get(),
                                                  .consents = consents_.get(),
                                                  .ingest = ingest_.get(),
                                                  .settings = settings_.get(),
                                                  .blocking = blocking_.get()});
    ctx.AddService(service_.get(), v1::EligibilityService::service_full_name());

    Ingest* ingest = ingest_.get();
    RETURN_IF_ERROR(Consume(ctx, "whatsapp", kafka::kWhatsAppEvents,
                            kafka::Dispatch().On<webhooks::v1::WhatsAppEvent>(
                                std::bind_front(&Ingest::OnWhatsAppEvent, ingest))));
    // CallbackDue and the other types calls publishes here are skipped (kafka::Dispatch).
    RETURN_IF_ERROR(Consume(ctx, "calls", kafka::kCallsState,
                            kafka::Dispatch().On<calls::v1::CallStateChanged>(
                                std::bind_front(&Ingest::OnCallStateChanged, ingest))));
    RETURN_IF_ERROR(Consume(ctx, "usage", kafka::kBillingUsage,
                            kafka::Dispatch().On<billing::v1::UsageUpdated>(
                                std::bind_front(&Ingest::OnUsage, ingest))));
    return Consume(ctx, "agents", kafka::kRoutingAvailability,
                   kafka::Dispatch().On<routing::v1::AgentAvailabilityChanged>(
                       std::bind_front(&Ingest::OnAgentAvailability, ingest)));
  }

 private:
  std::unique_ptr<redis::Pool> redis_;
  std::unique_ptr<store::HotState> hot_;
  std::unique_ptr<store::Durable> durable_;
  std::unique_ptr<runtime::Numbers> numbers_;
  std::unique_ptr<eligibility::Probe> probe_;  // qualified: Module has a Probe() of its own
  std::unique_ptr<Contacts> contacts_;
  std::unique_ptr<Settings> settings_;
  std::unique_ptr<Checks> checks_;
  std::unique_ptr<Consents> consents_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<Service> service_;
  // Declared last: destroyed first, draining the work that still uses the members above.
  std::unique_ptr<core::WorkQueue> blocking_;
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
