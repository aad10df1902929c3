#include "services/notifications/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/service_module.h"
#include "services/notifications/outbound.h"
#include "services/notifications/service.h"

namespace switchboard::notifications {
namespace {

// A request taken this long ago and never settled lost its outcome (the process died while
// Meta was being asked).
constexpr absl::Duration kOutcomeLostAfter = absl::Minutes(5);

// On the service kit (libs/runtime/service_module.h). Built so far: the outbound message queue
// (outbound.h). The subscriber streams come with the notifications issue; until then the API
// answers UNIMPLEMENTED after authentication.
class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "notifications", Migrations()));
    outbound_ = std::make_unique<Outbound>(pool(), ctx.graph(), ctx.clock(), &ctx.metrics());
    ctx.AddService(&service_, v1::NotificationsService::service_full_name());
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

 private:
  std::unique_ptr<Outbound> outbound_;
  Service service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "notifications",
                .deps = {"postgres", "kafka", "whatsapp"},
                .target = true,
                .factory = [] { return std::make_unique<Module>(); }});
}

}  // namespace switchboard::notifications
