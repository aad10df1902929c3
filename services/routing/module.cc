#include "services/routing/module.h"

#include "absl/strings/numbers.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"
#include "libs/runtime/numbers.h"
#include "libs/runtime/service_identity.h"
#include "libs/runtime/service_module.h"
#include "services/routing/agents.h"
#include "services/routing/probe.h"
#include "services/routing/ringer.h"
#include "services/routing/service.h"
#include "services/routing/store/store.h"
#include "services/routing/teams.h"

namespace switchboard::routing {
namespace {

// How often step deadlines and agents' own changes (cooldowns ending, presence lapsing) are
// looked for: the lateness of a ring-out or a cooldown's end.
constexpr absl::Duration kRingInterval = absl::Milliseconds(250);
constexpr absl::Duration kAgentInterval = absl::Seconds(1);
// Ended calls and finished rings are kept this long (a redelivery older than this is past any
// topic's retention), then purged.
constexpr absl::Duration kRetention = absl::Hours(24 * 8);
constexpr absl::Duration kHoursTtl = absl::Seconds(30);

// A number's call hours from the webhooks registry, asked as the routing service
// (runtime::ServiceIdentity: a consumer has no caller's token), remembered for 30 s.
class RegistryHours final : public Hours {
 public:
  RegistryHours(std::shared_ptr<runtime::Peer<webhooks::v1::WebhooksService>> registry,
                runtime::ServiceIdentity& identity, const core::Clock& clock)
      : registry_(std::move(registry)), identity_(identity), clock_(clock) {}

  absl::StatusOr<std::optional<webhooks::v1::CallHours>> Of(absl::string_view tenant,
                                                            absl::string_view number) override {
    const std::string key = absl::StrCat(tenant, "/", number);
    const absl::Time now = clock_.Now();
    {
      absl::MutexLock lock(&mu_);
      if (auto it = cache_.find(key); it != cache_.end() && now < it->second.expires) {
        return it->second.hours;
      }
    }
    ASSIGN_OR_RETURN(auto stub, registry_->GetStub());
    grpc::ClientContext client;
    RETURN_IF_ERROR(identity_.Prepare(&client, tenant, absl::Seconds(2)));
    webhooks::v1::GetPhoneNumberRequest req;
    req.set_phone_number_id(std::string(number));
    webhooks::v1::GetPhoneNumberResponse resp;
    absl::Status got = runtime::FromGrpcStatus(stub->GetPhoneNumber(&client, req, &resp));
    std::optional<webhooks::v1::CallHours> hours;
    if (got.ok()) {
      const auto& settings = resp.phone_number().calling_settings();
      if (settings.has_call_hours()) hours = settings.call_hours();
    } else if (got.code() != absl::StatusCode::kNotFound) {
      return got;  // the consumer retries
    }              // a number the registry does not know rings as if open
    absl::MutexLock lock(&mu_);
    cache_[key] = {hours, now + kHoursTtl};
    return hours;
  }

 private:
  struct Entry {
    std::optional<webhooks::v1::CallHours> hours;
    absl::Time expires;
  };
  std::shared_ptr<runtime::Peer<webhooks::v1::WebhooksService>> registry_;
  runtime::ServiceIdentity& identity_;
  const core::Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> cache_ ABSL_GUARDED_BY(mu_);
};

runtime::FlagSpec CountFlag(std::string name, std::string help, int default_value) {
  return {std::move(name), std::move(help), absl::StrCat(default_value),
          [](const std::string& v) -> absl::Status {
            int n;
            if (!absl::SimpleAtoi(v, &n) || n < 0 || n > 100) {
              return absl::InvalidArgumentError("must be a whole number 0-100");
            }
            return absl::OkStatus();
          }};
}

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    ASSIGN_OR_RETURN(auto registry, PeerOf<webhooks::v1::WebhooksService>(ctx, "webhooks"));
    numbers_ = std::make_unique<runtime::RegistryNumbers>(registry, ctx.clock());
    identity_ = std::make_unique<runtime::ServiceIdentity>(ctx.config().auth_secret, "routing",
                                                           ctx.clock());
    hours_ = std::make_unique<RegistryHours>(registry, *identity_, ctx.clock());
    RETURN_IF_ERROR(InitStore(ctx, "routing", Migrations()));
    probe_ = std::make_unique<routing::Probe>(ctx.metrics());
    const rules::Policy policy{.cooldown = ctx.DurationFlag("agent-cooldown"),
                               .presence_ttl = ctx.DurationFlag("presence-ttl"),
                               .max_unanswered_offers = ctx.IntFlag("max-unanswered-offers")};
    settings_ = std::make_unique<Settings>(pool(), ctx.clock(), policy);
    agents_ = std::make_unique<Agents>(pool(), ctx.clock(), *settings_);
    teams_ = std::make_unique<Teams>(pool(), *agents_, *numbers_, ctx.clock());
    ringer_ = std::make_unique<Ringer>(pool(), *agents_, *hours_, ctx.clock(), probe_.get());
    agents_->OnGiveUp(
        [this](const std::string& tenant, const std::string& call_id, const std::string& agent_id) {
          // If this fails the agent's alert ends with its step instead; nothing else depends on it.
          absl::Status released = ringer_->Release(tenant, call_id, agent_id);
          if (!released.ok()) {
            log::Warning("offer not released; it rings out",
                         {{"call_id", call_id}, {"error", released.ToString()}});
          }
        });
    service_ = std::make_unique<Service>(*agents_, *teams_, *ringer_, *settings_);
    ctx.AddService(service_.get(), v1::RoutingService::service_full_name());

    Ringer* ringer = ringer_.get();
    // A new call is offered to its agents from here: on the ringing call's way to them.
    RETURN_IF_ERROR(Consume(ctx, "calls", kafka::kCallsState,
                            kafka::Dispatch().On<calls::v1::CallStateChanged>(
                                [ringer](const auto& e, const kafka::Message& m) {
                                  return ringer->OnCallStateChanged(e, m);
                                }),
                            runtime::Urgency::kLive));
    Every("ring deadlines", kRingInterval, [this] { return ringer_->Sweep().status(); });
    Every("agent availability", kAgentInterval, [this] { return agents_->Tick().status(); });
    Every("agents gauge", absl::Seconds(15), [this]() -> absl::Status {
      ASSIGN_OR_RETURN(auto counts, store::CountAgents(pool()));
      probe_->Agents(counts);
      return absl::OkStatus();
    });
    const core::Clock* clock = &ctx.clock();
    Every("purge", absl::Hours(1),
          [this, clock] { return store::Purge(pool(), clock->Now() - kRetention).status(); });
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<runtime::Numbers> numbers_;
  std::unique_ptr<runtime::ServiceIdentity> identity_;
  std::unique_ptr<Hours> hours_;
  std::unique_ptr<routing::Probe> probe_;  // qualified: Module has a Probe() of its own
  std::unique_ptr<Settings> settings_;
  std::unique_ptr<Agents> agents_;
  std::unique_ptr<Teams> teams_;
  std::unique_ptr<Ringer> ringer_;
  std::unique_ptr<Service> service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add(
      {.name = "routing",
       .deps = {"postgres", "kafka"},
       .target = true,
       .factory = [] { return std::make_unique<Module>(); },
       .flags = {runtime::DurationFlag("agent-cooldown",
                                       "after a call an agent cools down this long, then is "
                                       "Available again by itself (the default for tenants "
                                       "that did not set agent_cooldown)",
                                       absl::Seconds(60), absl::Seconds(0), absl::Minutes(30)),
                 runtime::DurationFlag("presence-ttl",
                                       "an agent whose client sent no heartbeat for this long is "
                                       "Offline (a crashed browser is not rung for ever; the "
                                       "default for tenants that did not set presence_ttl)",
                                       absl::Seconds(90), absl::Seconds(10), absl::Hours(12)),
                 CountFlag("max-unanswered-offers",
                           "this many offers in a row left to ring out move the agent to DND "
                           "(0: never; the default for tenants that did not set "
                           "max_unanswered_offers)",
                           3)},
       .peers = {"webhooks"}});
}

}  // namespace switchboard::routing
