#include "services/webhooks/module.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/http/server.h"
#include "libs/runtime/service_module.h"
#include "services/webhooks/edge.h"
#include "services/webhooks/service.h"
#include "services/webhooks/store/registry.h"

namespace switchboard::webhooks {
namespace {

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    const whatsapp::Credentials& credentials = ctx.meta_credentials();
    if (credentials.apps().empty()) {
      log::Warning(
          "no Meta app configured (--meta-app-secret or --meta-credentials-file): "
          "every webhook will be refused");
    }
    RETURN_IF_ERROR(InitStore(ctx, "webhooks", Migrations()));
    registry_ = std::make_unique<Registry>(pool(), ctx.clock());
    service_ = std::make_unique<Service>(*registry_, credentials, ctx.graph(), ctx.clock());
    ctx.AddService(service_.get(), v1::WebhooksService::service_full_name());
    // Its own producer: Meta waits on every acknowledgement, so batches linger 0.5 ms here
    // rather than the suite's default (throughput over latency).
    ASSIGN_OR_RETURN(producer_, kafka::Producer::Create({.brokers = ctx.kafka_bootstrap(),
                                                         .client_id = "switchboard-webhooks",
                                                         .linger = absl::Microseconds(500),
                                                         .extra = ctx.kafka_properties(),
                                                         .metrics = nullptr}));
    // An embedded Kafka dies with the process: the edge then journals to PostgreSQL before
    // answering Meta (ADR 0023).
    edge_ = std::make_unique<Edge>(credentials, *registry_, &ctx.redis(), *producer_, ctx.clock(),
                                   ctx.metrics(), EdgeOptions{.journal = ctx.kafka_embedded()});
    http_options_ = {.host = ctx.config().listen_host,
                     .port = ctx.IntFlag("webhooks-port"),
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
    if (producer_) (void)producer_->Flush(absl::Seconds(5));
    ServiceModule::Stop();
  }

 private:
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<Edge> edge_;
  std::unique_ptr<http::Server> server_;
  http::ServerOptions http_options_;
  runtime::Infrastructure* infra_ = nullptr;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add(
      {.name = "webhooks",
       .deps = {"postgres", "redis", "kafka", "whatsapp"},
       .target = true,
       .factory = [] { return std::make_unique<Module>(); },
       .flags = {runtime::PortFlag(
           "webhooks-port", "HTTP port of the webhooks edge (/webhooks/whatsapp; 0: any free port)",
           8080)}});
}

}  // namespace switchboard::webhooks
