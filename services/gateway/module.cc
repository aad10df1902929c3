#include "services/gateway/module.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/http/server.h"
#include "libs/runtime/app.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "services/gateway/console.h"
#include "services/gateway/events.h"
#include "services/gateway/rpc.h"
#include "services/gateway/rules/connect.h"
#include "services/gateway/rules/console.h"
#include "services/gateway/rules/limiter.h"

namespace switchboard::gateway {
namespace {

constexpr char kEventsPath[] = "/v1/events";
constexpr char kTicketsPath[] = "/v1/events/tickets";
constexpr char kAllowHeaders[] =
    "authorization, content-type, connect-protocol-version, connect-timeout-ms, last-event-id, "
    "x-correlation-id, traceparent, tracestate";

runtime::FlagSpec NumberFlag(std::string name, std::string help, int value, int max) {
  return {std::move(name), std::move(help), absl::StrCat(value),
          [max](const std::string& v) -> absl::Status {
            int n = 0;
            if (!absl::SimpleAtoi(v, &n) || n < 0 || n > max) {
              return absl::InvalidArgumentError(absl::StrCat("must be a number 0-", max));
            }
            return absl::OkStatus();
          }};
}

class Module final : public runtime::Module {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    clock_ = &ctx.clock();
    infra_ = &ctx.infra();
    for (absl::string_view origin : absl::StrSplit(ctx.Flag("gateway-cors-origins"), ',')) {
      origin = absl::StripAsciiWhitespace(origin);
      if (!origin.empty()) cors_.emplace_back(origin);
    }
    const int rate = ctx.IntFlag("gateway-rate-limit");
    limiter_ = std::make_unique<rules::Limiter>(rate, 2.0 * rate);
    rpc_ = std::make_unique<Rpc>(Rpc::Options{});
    events_ = std::make_unique<Events>(
        ctx.redis(), ctx.verifier(), ctx.clock(),
        Events::Options{.heartbeat = ctx.DurationFlag("gateway-sse-heartbeat")});
    // Each service in this process, else at --<target>-address, else unreachable (503).
    for (const auto& [service, target] : Rpc::PublicServices()) {
      std::string address = ctx.RunsHere(target) ? "" : ctx.Flag(absl::StrCat(target, "-address"));
      if (!ctx.RunsHere(target) && address.empty()) {
        log::Warning(
            "gateway cannot reach a service",
            {{"service", service->full_name()}, {"flag", absl::StrCat(target, "-address")}});
        continue;
      }
      peers_.push_back({service->full_name(), address});
    }
    dev_sign_in_ = ctx.Flag("gateway-dev-sign-in") == "on";
    console_ = std::make_unique<Console>(ConsoleFiles(), ctx.config().auth_secret, ctx.clock());
    if (dev_sign_in_) {
      log::Warning("the console's dev sign-in is on: anyone reaching the gateway can sign a token",
                   {{"path", kDevTokenPath}});
    }
    requests_ = &prometheus::BuildCounter()
                     .Name("switchboard_gateway_http_requests_total")
                     .Help(
                         "HTTP requests the gateway answered, by route (rpc, download, events, "
                         "tickets, console, dev, other, refused) and HTTP status.")
                     .Register(ctx.metrics());
    // A unary call holds a handler for its whole gRPC call: room for many at once.
    http_options_ = {
        .host = ctx.config().listen_host,
        .port = ctx.IntFlag("gateway-port"),
        .threads = 256,
        .max_body_bytes = 1 << 20,
        // Idle event streams are the common case: the file limit decides.
        .max_connections = 100000,
        .on_refusal = [this](int status) {
          requests_->Add({{"route", "refused"}, {"status", absl::StrCat(status)}}).Increment();
        }};
    return absl::OkStatus();
  }

  absl::Status Start() override {
    for (const auto& [service, address] : peers_) {
      std::shared_ptr<grpc::Channel> channel =
          address.empty() ? infra_->local_channel()
                          : grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
      rpc_->Connect(service, channel);
      if (service == "switchboard.notifications.v1.NotificationsService") {
        events_->Connect(channel);
      }
    }
    rpc_->Start();
    events_->Start();
    std::vector<http::Route> routes;
    for (const auto& [service, target] : Rpc::PublicServices()) {
      routes.push_back({absl::StrCat("/", service->full_name()), [this](const http::Request& r) {
                          return Serve(r, "rpc",
                                       [this](const http::Request& q) { return rpc_->Handle(q); });
                        }});
    }
    routes.push_back({kEventsPath, [this](const http::Request& r) {
                        return Serve(r, "events",
                                     [this](const http::Request& q) { return events_->Stream(q); });
                      }});
    routes.push_back({kTicketsPath, [this](const http::Request& r) {
                        return Serve(r, "tickets",
                                     [this](const http::Request& q) { return events_->Ticket(q); });
                      }});
    routes.push_back({rules::kConsolePath, [this](const http::Request& r) {
                        return Serve(r, "console",
                                     [this](const http::Request& q) { return console_->Serve(q); });
                      }});
    if (dev_sign_in_) {
      routes.push_back({kDevTokenPath, [this](const http::Request& r) {
                          return Serve(r, "dev", [this](const http::Request& q) {
                            return console_->DevToken(q);
                          });
                        }});
    }
    routes.push_back(
        {"/", [this](const http::Request& r) {
           return Serve(r, "other", [](const http::Request& q) {
             // The root is the console's front door.
             if (q.path() == "/" && (q.method() == "GET" || q.method() == "HEAD")) {
               return http::Response{
                   .status = 302, .content_type = "", .headers = {{"Location", "/console/"}}};
             }
             return ErrorResponse(core::Error(
                 absl::StatusCode::kNotFound, "UNKNOWN_METHOD",
                 absl::StrCat("nothing at ", q.path(), " (POST /<package>.<Service>/<Method>, GET ",
                              kEventsPath, ")")));
           });
         }});
    ASSIGN_OR_RETURN(server_, http::Server::Start(http_options_, std::move(routes)));
    std::string host = http_options_.host == "0.0.0.0" ? "127.0.0.1" : http_options_.host;
    infra_->addresses["gateway"] = absl::StrCat(host, ":", server_->port());
    log::Info("gateway listening", {{"address", infra_->addresses["gateway"]}});
    return absl::OkStatus();
  }

  // Event streams end when the drain begins: their clients reconnect to another replica.
  void Drain() override { events_->Stop(); }

  void Stop() override {
    events_->Stop();
    if (server_) server_->Stop();
    rpc_->Stop();
    for (const auto& [service, address] : peers_) rpc_->Connect(service, nullptr);
    events_->Connect(nullptr);
  }

 private:
  // CORS, the rate limit and the request count around every route.
  http::Response Serve(const http::Request& request, const std::string& route,
                       const std::function<http::Response(const http::Request&)>& handler) {
    std::optional<std::string> origin =
        rules::AllowedOrigin(request.Header("origin").value_or(""), cors_);
    http::Response response;
    if (request.method() == "OPTIONS") {
      response = {.status = 204, .content_type = ""};
      if (origin.has_value()) {
        response.headers = {{"Access-Control-Allow-Methods", "POST, GET, OPTIONS"},
                            {"Access-Control-Allow-Headers", kAllowHeaders},
                            {"Access-Control-Max-Age", "600"}};
      }
    } else if (absl::Duration wait = limiter_->Take(request.remote_addr(), clock_->Now());
               wait > absl::ZeroDuration()) {
      response = ErrorResponse(core::Error(absl::StatusCode::kResourceExhausted, "RATE_LIMITED",
                                           "too many requests from this client; slow down"));
      response.headers.emplace_back(
          "Retry-After", absl::StrCat(std::max<int64_t>(
                             1, absl::ToInt64Seconds(absl::Ceil(wait, absl::Seconds(1))))));
    } else {
      response = handler(request);
    }
    if (origin.has_value()) {
      response.headers.emplace_back("Access-Control-Allow-Origin", *origin);
      response.headers.emplace_back("Access-Control-Expose-Headers",
                                    "Content-Disposition, Retry-After");
      response.headers.emplace_back("Vary", "Origin");
    }
    std::string counted = route;
    if (route == "rpc" && response.stream) counted = "download";
    requests_->Add({{"route", counted}, {"status", absl::StrCat(response.status)}}).Increment();
    return response;
  }

  const core::Clock* clock_ = nullptr;
  runtime::Infrastructure* infra_ = nullptr;
  std::vector<std::string> cors_;
  std::unique_ptr<rules::Limiter> limiter_;
  std::unique_ptr<Rpc> rpc_;
  std::unique_ptr<Events> events_;
  std::unique_ptr<Console> console_;
  bool dev_sign_in_ = false;
  std::vector<std::pair<std::string, std::string>> peers_;  // service, address ("": here)
  http::ServerOptions http_options_;
  std::unique_ptr<http::Server> server_;
  prometheus::Family<prometheus::Counter>* requests_ = nullptr;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add(
      {.name = "gateway",
       .deps = {"redis"},
       .target = true,
       .factory = [] { return std::make_unique<Module>(); },
       .flags = {runtime::PortFlag("gateway-port",
                                   "HTTP port of the browser gateway (JSON RPCs, /v1/events; 0: "
                                   "any free port)",
                                   8090),
                 runtime::TextFlag("gateway-cors-origins",
                                   "comma-separated origins browsers may call the gateway from "
                                   "(* for any); empty: none"),
                 NumberFlag("gateway-rate-limit",
                            "requests a second per client address (bursts of twice that); 0: no "
                            "limit",
                            100, 1000000),
                 {"gateway-dev-sign-in",
                  "on: POST /v1/dev/token signs a token for any tenant, agent and roles (the "
                  "console's demo sign-in; never in production)",
                  "off",
                  [](const std::string& v) -> absl::Status {
                    if (v == "on" || v == "off") return absl::OkStatus();
                    return absl::InvalidArgumentError("must be on or off");
                  }},
                 runtime::DurationFlag("gateway-sse-heartbeat",
                                       "how often an idle event stream gets a comment line",
                                       absl::Seconds(20), absl::Seconds(1), absl::Minutes(5))},
       .peers = {"eligibility", "calls", "routing", "billing", "notifications", "webhooks"}});
}

}  // namespace switchboard::gateway
