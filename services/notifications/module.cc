#include "services/notifications/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/service_module.h"
#include "services/notifications/fanout.h"
#include "services/notifications/hub.h"
#include "services/notifications/notices.h"
#include "services/notifications/outbound.h"
#include "services/notifications/service.h"

namespace switchboard::notifications {
namespace {

// A request taken this long ago and never settled lost its outcome (the process died while
// Meta was being asked).
constexpr absl::Duration kOutcomeLostAfter = absl::Minutes(5);

// On the service kit (libs/runtime/service_module.h): the streams (fanout.h appends the
// suite's events once per deployment, hub.h delivers them on every replica, ADR 0017) and the
// outbound message queue (outbound.h, ADR 0015).
class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "notifications", Migrations()));
    outbound_ = std::make_unique<Outbound>(pool(), ctx.graph(), ctx.clock(), &ctx.metrics());

    store::Retention retention;
    retention.age = ctx.DurationFlag("notifications-retention");
    hub_ = std::make_unique<Hub>(ctx.redis(), ctx.clock(), &ctx.metrics(),
                                 Hub::Options{.retention = retention});
    fanout_ = std::make_unique<Fanout>(ctx.redis(), retention, ctx.clock());
    ASSIGN_OR_RETURN(auto registry, PeerOf<webhooks::v1::WebhooksService>(ctx, "webhooks"));
    numbers_ = std::make_unique<runtime::RegistryNumbers>(std::move(registry), ctx.clock());
    notices_ = std::make_unique<Notices>(pool(), *numbers_, ctx.clock(), retention.age);
    service_ = std::make_unique<Service>(*hub_, *notices_);
    ctx.AddService(service_.get(), v1::NotificationsService::service_full_name());
    Fanout* fanout = fanout_.get();
    // An agent's phone rings on these two, and the Calls page follows a call on the second.
    RETURN_IF_ERROR(Consume(
        ctx, "offers", kafka::kRoutingOffers,
        kafka::Dispatch().On<routing::v1::CallOffer>(
            [fanout](const auto& e, const kafka::Message& m) { return fanout->OnOffer(e, m); }),
        runtime::Urgency::kLive));
    RETURN_IF_ERROR(Consume(
        ctx, "calls", kafka::kCallsState,
        kafka::Dispatch()
            .On<calls::v1::CallStateChanged>([fanout](const auto& e, const kafka::Message& m) {
              return fanout->OnCallState(e, m);
            })
            .On<calls::v1::CallbackDue>([fanout](const auto& e, const kafka::Message& m) {
              return fanout->OnCallbackDue(e, m);
            }),
        runtime::Urgency::kLive));
    RETURN_IF_ERROR(Consume(
        ctx, "usage", kafka::kBillingUsage,
        kafka::Dispatch().On<billing::v1::UsageUpdated>(
            [fanout](const auto& e, const kafka::Message& m) { return fanout->OnUsage(e, m); })));
    RETURN_IF_ERROR(Consume(ctx, "suspensions", kafka::kEligibilityState,
                            kafka::Dispatch().On<eligibility::v1::CallingSuspensionChanged>(
                                [fanout](const auto& e, const kafka::Message& m) {
                                  return fanout->OnSuspension(e, m);
                                })));
    // The admins' WhatsApp notices read the same topics in groups of their own: a slow
    // PostgreSQL never holds back the streams' alerts.
    Notices* notices = notices_.get();
    RETURN_IF_ERROR(Consume(
        ctx, "usage-notices", kafka::kBillingUsage,
        kafka::Dispatch().On<billing::v1::UsageUpdated>(
            [notices](const auto& e, const kafka::Message& m) { return notices->OnUsage(e, m); })));
    RETURN_IF_ERROR(Consume(ctx, "suspension-notices", kafka::kEligibilityState,
                            kafka::Dispatch().On<eligibility::v1::CallingSuspensionChanged>(
                                [notices](const auto& e, const kafka::Message& m) {
                                  return notices->OnSuspension(e, m);
                                })));
    Outbound* outbound = outbound_.get();
    RETURN_IF_ERROR(Consume(ctx, "outbound", kafka::kWhatsAppOutbound,
                            kafka::Dispatch().On<v1::OutboundMessageRequested>(
                                [outbound](const auto& request, const kafka::Message& m) {
                                  return outbound->OnRequested(request, m);
                                })));
    RETURN_IF_ERROR(Consume(ctx, "whatsapp", kafka::kWhatsAppEvents,
                            kafka::Dispatch().On<webhooks::v1::WhatsAppEvent>(
                                [outbound](const auto& event, const kafka::Message& m) {
                                  return outbound->OnWhatsAppEvent(event, m);
                                })));
    Every("outbound outcomes lost", absl::Minutes(1),
          [outbound] { return outbound->SettleLost(kOutcomeLostAfter).status(); });
    return absl::OkStatus();
  }

  absl::Status Start() override {
    RETURN_IF_ERROR(ServiceModule::Start());
    hub_->Start();
    return absl::OkStatus();
  }
  // Streams end (UNAVAILABLE SERVER_DRAINING) when the drain begins, not at its deadline.
  void Drain() override { hub_->Stop(); }
  void Stop() override {
    hub_->Stop();
    ServiceModule::Stop();
  }

 private:
  std::unique_ptr<Outbound> outbound_;
  std::unique_ptr<runtime::Numbers> numbers_;
  std::unique_ptr<Notices> notices_;
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<Fanout> fanout_;
  std::unique_ptr<Service> service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "notifications",
                .deps = {"postgres", "redis", "kafka", "whatsapp"},
                .target = true,
                .factory = [] { return std::make_unique<Module>(); },
                .flags = {runtime::DurationFlag(
                    "notifications-retention",
                    "how long a notification stream keeps what it sent, for clients that resume",
                    absl::Hours(1), absl::Minutes(1), absl::Hours(48))},
                .peers = {"webhooks"}});
}

}  // namespace switchboard::notifications
