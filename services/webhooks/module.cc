#include "services/webhooks/module.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/http/server.h"
#include "libs/runtime/app.h"
#include "libs/runtime/service_module.h"
#include "libs/whatsapp/credentials.h"
#include "libs/whatsapp/graph_client.h"
#include "services/webhooks/edge.h"
#include "services/webhooks/registry.h"
#include "services/webhooks/service.h"

namespace switchboard::webhooks {
namespace {

whatsapp::CallingSettings ToGraph(const v1::CallingSettings& s) {
  whatsapp::CallingSettings out;
  out.enabled = s.calling_enabled();
  out.call_icon_visible = s.call_icon_visible();
  out.callback_permission_enabled = s.callback_permission_enabled();
  whatsapp::CallHours hours;
  hours.enabled = s.call_hours().enabled();
  hours.timezone_id = s.call_hours().timezone_id();
  for (const auto& h : s.call_hours().weekly_operating_hours()) {
    // DAY_OF_WEEK_MONDAY = 1 ... SUNDAY = 7; validated before this runs.
    hours.weekly_operating_hours.push_back(
        {.day_of_week = static_cast<whatsapp::DayOfWeek>(h.day_of_week() - 1),
         .open_time = h.open_time(),
         .close_time = h.close_time()});
  }
  for (const auto& h : s.call_hours().holiday_schedule()) {
    hours.holiday_schedule.push_back(
        {.date = h.date(), .start_time = h.start_time(), .end_time = h.end_time()});
  }
  out.call_hours = std::move(hours);
  return out;
}

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    const runtime::Config& config = ctx.config();
    ASSIGN_OR_RETURN(credentials_, whatsapp::Credentials::Load(
                                       config.meta_credentials_file, config.meta_app_secret,
                                       config.meta_verify_token, config.meta_access_token));
    if (credentials_.apps().empty()) {
      log::Warning(
          "no Meta app configured (--meta-app-secret or --meta-credentials-file): "
          "every webhook will be refused");
    }
    RETURN_IF_ERROR(InitStore(ctx, "webhooks", Migrations()));
    registry_ = std::make_unique<Registry>(pool(), ctx.clock());
    graph_ = std::make_unique<whatsapp::GraphClient>(
        whatsapp::GraphClientOptions{.base_url = config.meta_graph_url,
                                     .api_version = config.meta_api_version},
        [this](absl::string_view id) { return credentials_.AccessToken(id); });
    service_ = std::make_unique<Service>(
        *registry_, credentials_, [this](const std::string& id, const v1::CallingSettings& s) {
          return graph_->UpdateSettings(id, ToGraph(s));
        });
    ctx.AddService(service_.get(), v1::WebhooksService::service_full_name());
    // Its own producer: Meta waits on every acknowledgement, so batches linger 0.5 ms here
    // rather than the suite's default (throughput over latency).
    ASSIGN_OR_RETURN(own_producer_, kafka::Producer::Create({.brokers = ctx.kafka_bootstrap(),
                                                             .client_id = "switchboard-webhooks",
                                                             .linger = absl::Microseconds(500),
                                                             .metrics = nullptr}));
    producer_ = own_producer_.get();
    edge_ = std::make_unique<Edge>(credentials_, *registry_, &ctx.redis(), *producer_, ctx.clock(),
                                   ctx.metrics());
    http_options_ = {.host = config.listen_host,
                     .port = config.webhooks_port,
                     .on_refusal = [this](int status) { edge_->CountRefusal(status); }};
    infra_ = &ctx.infra();
    return absl::OkStatus();
  }

  absl::Status Start() override {
    RETURN_IF_ERROR(ServiceModule::Start());
    ASSIGN_OR_RETURN(
        server_, http::Server::Start(http_options_, {{kWebhookPath, [this](const http::Request& r) {
                                                        return edge_->Handle(r);
                                                      }}}));
    std::string host = http_options_.host == "0.0.0.0" ? "127.0.0.1" : http_options_.host;
    infra_->addresses["webhooks"] = absl::StrCat(host, ":", server_->port());
    log::Info("webhooks edge listening",
              {{"address", infra_->addresses["webhooks"]}, {"path", kWebhookPath}});
    return absl::OkStatus();
  }

  void Stop() override {
    if (server_) server_->Stop();  // waits for running handlers
    // Delivery reports of webhooks that outlived their request finish their de-dup claims
    // through the edge: let them run before it goes.
    if (producer_ != nullptr) (void)producer_->Flush(absl::Seconds(5));
    ServiceModule::Stop();
  }

 private:
  whatsapp::Credentials credentials_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<whatsapp::GraphClient> graph_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<Edge> edge_;
  std::unique_ptr<http::Server> server_;
  http::ServerOptions http_options_;
  std::unique_ptr<kafka::Producer> own_producer_;
  kafka::Producer* producer_ = nullptr;
  runtime::Infrastructure* infra_ = nullptr;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add(
      {.name = "webhooks", .deps = {"postgres", "redis", "kafka"}, .target = true, .factory = [] {
         return std::make_unique<Module>();
       }});
}

}  // namespace switchboard::webhooks
