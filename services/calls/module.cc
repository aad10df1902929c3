#include "services/calls/module.h"

#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"
#include "libs/runtime/service_module.h"
#include "services/calls/callbacks.h"
#include "services/calls/commands.h"
#include "services/calls/history.h"
#include "services/calls/ingest.h"
#include "services/calls/journal.h"
#include "services/calls/notes.h"
#include "services/calls/service.h"
#include "services/calls/store/store.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"

namespace switchboard::calls {
namespace {

// How often the durable timers and due callbacks are looked for.
constexpr absl::Duration kTimerInterval = absl::Milliseconds(250);
// Webhooks parked for an outbound call nobody claims (a call placed outside Switchboard).
constexpr absl::Duration kParkedRetention = absl::Hours(24);
// At most this many webhooks in one transaction of the calls.whatsapp consumer: what is already
// fetched when the first arrives (a quiet topic still gives one at a time).
constexpr int kWebhookBatch = 500;
// Connections per process beside the main pool's 8: the Calls page's lists and aggregates,
// and the CSV exports (History::kExportsPerTenant of them per tenant).
constexpr int kHistoryConnections = 4;
constexpr int kExportConnections = 3;

// Eligibility's ReserveCall over its gRPC API (runtime::Peer), with the agent's token.
class EligibilityPeer final : public Reserver {
 public:
  explicit EligibilityPeer(std::shared_ptr<runtime::Peer<eligibility::v1::EligibilityService>> peer)
      : peer_(std::move(peer)) {}

  absl::StatusOr<eligibility::v1::ReserveCallResponse> Reserve(
      const grpc::ServerContextBase* incoming,
      const eligibility::v1::ReserveCallRequest& req) override {
    return runtime::CallPeer(*peer_, incoming,
                             &eligibility::v1::EligibilityService::Stub::ReserveCall, req);
  }

 private:
  std::shared_ptr<runtime::Peer<eligibility::v1::EligibilityService>> peer_;
};

// Routing's ClaimCall over its gRPC API, with the agent's token.
class RoutingPeer final : public Claimer {
 public:
  explicit RoutingPeer(std::shared_ptr<runtime::Peer<routing::v1::RoutingService>> peer)
      : peer_(std::move(peer)) {}

  absl::StatusOr<routing::v1::ClaimCallResponse> Claim(
      const grpc::ServerContextBase* incoming, const routing::v1::ClaimCallRequest& req) override {
    return runtime::CallPeer(*peer_, incoming, &routing::v1::RoutingService::Stub::ClaimCall, req);
  }

 private:
  std::shared_ptr<runtime::Peer<routing::v1::RoutingService>> peer_;
};

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    ASSIGN_OR_RETURN(auto eligibility,
                     PeerOf<eligibility::v1::EligibilityService>(ctx, "eligibility"));
    eligibility_ = std::make_unique<EligibilityPeer>(std::move(eligibility));
    ASSIGN_OR_RETURN(auto routing, PeerOf<routing::v1::RoutingService>(ctx, "routing"));
    routing_ = std::make_unique<RoutingPeer>(std::move(routing));
    ASSIGN_OR_RETURN(auto registry, PeerOf<webhooks::v1::WebhooksService>(ctx, "webhooks"));
    numbers_ = std::make_unique<runtime::RegistryNumbers>(std::move(registry), ctx.clock());
    RETURN_IF_ERROR(InitStore(ctx, "calls", Migrations()));
    clock_ = &ctx.clock();
    probe_ = std::make_unique<calls::Probe>(&ctx.metrics());
    // The Calls page and the exports get connections of their own (ADR 0014): however many
    // exports stall, webhooks, commands, timers and the relay keep theirs.
    const absl::Duration export_idle = ctx.DurationFlag("export-idle-timeout");
    pg::Pool& history = SeparatePool(ctx, "history", kHistoryConnections);
    pg::Pool& exports =
        SeparatePool(ctx, "exports", kExportConnections, export_idle + absl::Seconds(30));
    store_ = std::make_unique<Store>(pool(), history, exports, ctx.clock());
    journal_ = std::make_unique<Journal>(
        *store_, ctx.clock(),
        Timing{.ring_timeout = ctx.DurationFlag("ring-timeout"),
               .max_call_duration = ctx.DurationFlag("max-call-duration")},
        probe_.get());
    commands_ = std::make_unique<Commands>(*journal_, ctx.graph(), *eligibility_, *routing_,
                                           *numbers_, ctx.clock(), probe_.get());
    history_ = std::make_unique<History>(*store_, ctx.clock());
    notes_ = std::make_unique<Notes>(*store_, ctx.clock());
    callbacks_ = std::make_unique<Callbacks>(*store_, *numbers_, ctx.clock());
    ingest_ = std::make_unique<Ingest>(*journal_, ctx.clock());
    service_ = std::make_unique<Service>(Features{.commands = commands_.get(),
                                                  .history = history_.get(),
                                                  .notes = notes_.get(),
                                                  .callbacks = callbacks_.get(),
                                                  .store = store_.get(),
                                                  .graph = &ctx.graph(),
                                                  .numbers = numbers_.get(),
                                                  .clock = &ctx.clock(),
                                                  .probe = probe_.get(),
                                                  .export_idle_timeout = export_idle});
    ctx.AddService(service_.get(), v1::CallsService::service_full_name());

    Ingest* ingest = ingest_.get();
    // Meta's connect becomes a ringing call here: on its way to the agents.
    // What is fetched at once is applied in one transaction (Ingest::OnWhatsAppEvents).
    RETURN_IF_ERROR(Consume(
        ctx, "whatsapp", kafka::kWhatsAppEvents,
        kafka::Dispatch()
            .On<webhooks::v1::WhatsAppEvent>([ingest](const auto& e, const kafka::Message& m) {
              return ingest->OnWhatsAppEvent(e, m);
            })
            .OnBatch<webhooks::v1::WhatsAppEvent>(
                [ingest](const auto& batch) { return ingest->OnWhatsAppEvents(batch); },
                kWebhookBatch),
        runtime::Urgency::kLive));
    Commands* commands = commands_.get();
    RETURN_IF_ERROR(Consume(ctx, "routing", kafka::kRoutingOffers,
                            kafka::Dispatch().On<routing::v1::CallOffer>(
                                [ingest, commands](const auto& offer, const kafka::Message& m) {
                                  ASSIGN_OR_RETURN(std::optional<Fired> missed,
                                                   ingest->OnCallOffer(offer, m));
                                  // The caller stops hearing it ring (best effort).
                                  if (missed.has_value()) commands->AfterTimers({*missed});
                                  return absl::OkStatus();
                                })));
    RETURN_IF_ERROR(Consume(ctx, "billing", kafka::kBillingUsage,
                            kafka::Dispatch().On<billing::v1::CallRated>(
                                [ingest](const auto& e, const kafka::Message& m) {
                                  return ingest->OnCallRated(e, m);
                                })));
    Every("call timers", kTimerInterval, [this]() -> absl::Status {
      ASSIGN_OR_RETURN(std::vector<Fired> fired, ingest_->FireTimers());
      commands_->AfterTimers(fired);
      return ingest_->FireCallbacks().status();
    });
    Every("parked webhooks", absl::Minutes(10), [this]() -> absl::Status {
      ASSIGN_OR_RETURN(int64_t expired, store_->ExpireParked(clock_->Now() - kParkedRetention));
      if (expired > 0) {
        log::Info("parked webhooks of unknown outbound calls expired", {{"count", expired}});
      }
      return absl::OkStatus();
    });
    return absl::OkStatus();
  }

 private:
  const core::Clock* clock_ = nullptr;
  std::unique_ptr<Reserver> eligibility_;
  std::unique_ptr<Claimer> routing_;
  std::unique_ptr<runtime::Numbers> numbers_;
  std::unique_ptr<calls::Probe> probe_;  // qualified: Module has a Probe() of its own
  std::unique_ptr<Store> store_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<Commands> commands_;
  std::unique_ptr<History> history_;
  std::unique_ptr<Notes> notes_;
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<Service> service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add(
      {.name = "calls",
       .deps = {"postgres", "kafka", "whatsapp"},
       .target = true,
       .factory = [] { return std::make_unique<Module>(); },
       .flags = {runtime::DurationFlag(
                     "ring-timeout",
                     "inbound calls routing has not rung are missed after this (Meta ends "
                     "unanswered calls after 30-60 s; once rung, routing's deadlines decide); "
                     "timers are durable across restarts",
                     absl::Seconds(30), absl::Seconds(1), absl::Seconds(60)),
                 runtime::DurationFlag(
                     "max-call-duration",
                     "an answered call is ended (MAX_DURATION: the agent freed, nothing billed "
                     "unless Meta reports the call) once it has lasted this long, in case its "
                     "end never comes (the default for tenants that did not set "
                     "max_call_duration)",
                     absl::Hours(4), kMinMaxCallDuration, kMaxMaxCallDuration),
                 runtime::DurationFlag(
                     "export-idle-timeout",
                     "a CSV export whose client reads nothing for this long is cut, and its "
                     "database connection freed",
                     absl::Seconds(30), absl::Seconds(1), absl::Minutes(10))},
       .peers = {"eligibility", "webhooks", "routing"}});
}

}  // namespace switchboard::calls
