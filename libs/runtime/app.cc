#include "libs/runtime/app.h"

#include <grpc/support/log.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "libs/api/page.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/embedded.h"
#include "libs/kafka/properties.h"
#include "libs/runtime/grpc.h"
#include "libs/runtime/process_metrics.h"
#include "libs/runtime/reflection.h"
#include "libs/whatsapp/credentials.h"
#include "libs/whatsapp/graph_client.h"
#include "prometheus/exposer.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace switchboard::runtime {
namespace {

constexpr char kVersion[] = "0.1.0";
constexpr absl::Duration kHealthInterval = absl::Milliseconds(500);
// After the drain timeout gRPC cancels the calls still running; handlers that do not return
// within this grace are left behind (see WaitAndDrain).
constexpr absl::Duration kHandlerGrace = absl::Seconds(1);

// Buckets for a store's round trips: 0.25 ms to 5 s.
prometheus::Histogram::BucketBoundaries StoreLatencyBuckets() {
  return {0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

// ---- infrastructure modules -----------------------------------------------------------------

class KafkaModule final : public Module {
 public:
  absl::Status Init(Context& ctx) override {
    const Config& config = ctx.config();
    std::string bootstrap = config.kafka_brokers;
    std::map<std::string, std::string> properties;
    if (bootstrap.empty()) {
      ASSIGN_OR_RETURN(embedded_, kafka::EmbeddedCluster::Start());
      RETURN_IF_ERROR(embedded_->CreateTopics(kafka::SuiteTopics()));
      bootstrap = embedded_->bootstrap();
      if (!config.kafka_bootstrap_file.empty()) {
        std::ofstream out(config.kafka_bootstrap_file, std::ios::trunc);
        out << bootstrap << "\n";
        if (!out.good()) {
          return core::Error(absl::StatusCode::kFailedPrecondition, "CANNOT_WRITE_FILE",
                             absl::StrCat("cannot write ", config.kafka_bootstrap_file));
        }
      }
      log::Info("embedded kafka started",
                {{"bootstrap", bootstrap},
                 {"bootstrap_file", config.kafka_bootstrap_file},
                 {"topics", static_cast<int64_t>(kafka::SuiteTopics().size())}});
    } else {
      if (!config.kafka_config.empty()) {
        ASSIGN_OR_RETURN(properties, kafka::LoadProperties(config.kafka_config));
      }
      RETURN_IF_ERROR(Topics(config, bootstrap, properties));
    }
    ASSIGN_OR_RETURN(producer_,
                     kafka::Producer::Create(
                         {.brokers = bootstrap, .extra = properties, .metrics = &ctx.metrics()}));
    RETURN_IF_ERROR(core::Annotate(producer_->Probe(absl::Seconds(5)),
                                   absl::StrCat("kafka at ", bootstrap, " is unreachable")));
    ctx.infra().kafka_bootstrap = bootstrap;
    ctx.infra().kafka_embedded = embedded_ != nullptr;
    ctx.infra().kafka_properties = properties;
    ctx.infra().producer = producer_.get();
    return absl::OkStatus();
  }
  void Stop() override {
    absl::Status flushed = producer_->Flush(absl::Seconds(5));
    if (!flushed.ok()) log::Error("kafka flush failed", {{"error", flushed.ToString()}});
  }
  absl::Status Probe() override { return producer_->Probe(absl::Seconds(1)); }

 private:
  // Against real brokers the topics are the operator's (the chart's KafkaTopics, 12 partitions
  // and 3 replicas): created only when asked, with the flags' partitions and replicas; else
  // checked, and a missing one stops the start with its name.
  static absl::Status Topics(const Config& config, const std::string& bootstrap,
                             const std::map<std::string, std::string>& properties) {
    std::vector<kafka::TopicSpec> topics = kafka::SuiteTopics();
    if (config.kafka_create_topics) {
      for (kafka::TopicSpec& t : topics) {
        t.partitions = config.kafka_topic_partitions;
        t.replication_factor = config.kafka_topic_replication;
      }
      return core::Annotate(kafka::CreateTopics(bootstrap, topics, absl::Seconds(10), properties),
                            "creating the suite's topics (--kafka-create-topics=on)");
    }
    ASSIGN_OR_RETURN(std::vector<std::string> missing,
                     kafka::MissingTopics(bootstrap, topics, absl::Seconds(10), properties));
    if (!missing.empty()) {
      return core::Error(
          absl::StatusCode::kFailedPrecondition, "KAFKA_TOPICS_MISSING",
          absl::StrCat("kafka at ", bootstrap, " lacks the topics ", absl::StrJoin(missing, ", "),
                       ": create them (the chart's KafkaTopics) or start with "
                       "--kafka-create-topics=on"),
          {{"topics", absl::StrJoin(missing, ",")}});
    }
    return absl::OkStatus();
  }

  std::unique_ptr<kafka::EmbeddedCluster> embedded_;  // destroyed after the producer
  std::unique_ptr<kafka::Producer> producer_;
};

class RedisModule final : public Module {
 public:
  absl::Status Init(Context& ctx) override {
    ASSIGN_OR_RETURN(redis::Options options, redis::Options::FromUrl(ctx.config().redis_url));
    options.command_seconds = &prometheus::BuildHistogram()
                                   .Name("switchboard_redis_command_duration_seconds")
                                   .Help("Redis commands and pipelines, round trip.")
                                   .Register(ctx.metrics())
                                   .Add({}, StoreLatencyBuckets());
    pool_ = std::make_unique<redis::Pool>(options, ctx.clock());
    RETURN_IF_ERROR(core::Annotate(
        pool_->Ping(), absl::StrCat("redis at ", options.Address(), " is unreachable")));
    ctx.infra().redis = pool_.get();
    return absl::OkStatus();
  }
  absl::Status Probe() override { return pool_->Ping(); }

 private:
  std::unique_ptr<redis::Pool> pool_;
};

// Meta's credentials (apps, access tokens) and the one Graph API client every service shares.
class WhatsAppModule final : public Module {
 public:
  absl::Status Init(Context& ctx) override {
    ASSIGN_OR_RETURN(
        credentials_,
        whatsapp::Credentials::Load(ctx.Flag("meta-credentials-file"), ctx.Flag("meta-app-secret"),
                                    ctx.Flag("meta-verify-token"), ctx.Flag("meta-access-token")));
    graph_ = std::make_unique<whatsapp::GraphClient>(
        whatsapp::GraphClientOptions{.base_url = ctx.Flag("meta-graph-url"),
                                     .api_version = ctx.Flag("meta-api-version")},
        [this](absl::string_view id) { return credentials_.AccessToken(id); });
    ctx.infra().meta_credentials = &credentials_;
    ctx.infra().graph = graph_.get();
    return absl::OkStatus();
  }

  static std::vector<FlagSpec> Flags() {
    return {
        TextFlag("meta-app-secret",
                 "the default Meta app's secret: webhooks must carry its X-Hub-Signature-256", "",
                 /*secret=*/true),
        TextFlag("meta-verify-token",
                 "the default Meta app's webhook verify token (hub.verify_token)", "",
                 /*secret=*/true),
        TextFlag("meta-access-token", "Graph API access token for numbers without their own", "",
                 /*secret=*/true),
        TextFlag("meta-credentials-file",
                 "JSON file with more Meta apps and per-number access tokens (libs/whatsapp)"),
        UrlFlag("meta-graph-url",
                "Graph API base URL (a Meta simulator's address in tests and demos)",
                "https://graph.facebook.com", {"http://", "https://"}),
        {"meta-api-version", "Graph API version, e.g. v23.0", "v23.0",
         [](const std::string& v) -> absl::Status {
           if (v.size() < 2 || v[0] != 'v')
             return absl::InvalidArgumentError("must look like v23.0");
           return absl::OkStatus();
         }},
    };
  }

 private:
  whatsapp::Credentials credentials_;
  std::unique_ptr<whatsapp::GraphClient> graph_;
};

class PostgresModule final : public Module {
 public:
  absl::Status Init(Context& ctx) override {
    pool_ = std::make_unique<pg::Pool>(pg::Options{
        .url = ctx.config().postgres_url, .pool_size = 2, .statement_timeout = absl::Seconds(2)});
    RETURN_IF_ERROR(core::Annotate(pool_->Ping(), "postgres is unreachable"));
    ctx.infra().postgres = true;
    return absl::OkStatus();
  }
  absl::Status Probe() override { return pool_->Ping(); }

 private:
  std::unique_ptr<pg::Pool> pool_;
};

void LogFromGrpc(gpr_log_func_args* args) {
  log::Level level = args->severity == GPR_LOG_SEVERITY_ERROR  ? log::Level::kError
                     : args->severity == GPR_LOG_SEVERITY_INFO ? log::Level::kInfo
                                                               : log::Level::kDebug;
  log::Write(level, args->message,
             {{"component", "grpc"}, {"file", args->file}, {"line", args->line}});
}

}  // namespace

// ---- Context --------------------------------------------------------------------------------

Context::Context(const Config& config, const core::Clock& clock, prometheus::Registry& metrics,
                 const auth::TokenVerifier& verifier, Infrastructure& infra, std::string module,
                 const std::map<std::string, FlagSpec>* flags)
    : config_(config),
      clock_(clock),
      metrics_(metrics),
      verifier_(verifier),
      infra_(infra),
      module_(std::move(module)),
      flags_(flags) {}

std::string Context::Flag(absl::string_view name) const {
  if (auto it = config_.flags.find(std::string(name)); it != config_.flags.end()) {
    return it->second;
  }
  if (flags_ != nullptr) {
    if (auto it = flags_->find(std::string(name)); it != flags_->end()) {
      return it->second.default_value;
    }
  }
  log::Error("module reads a flag nobody declared", {{"module", module_}, {"flag", name}});
  std::abort();
}

absl::Duration Context::DurationFlag(absl::string_view name) const {
  absl::Duration d;
  std::string value = Flag(name);
  if (!absl::ParseDuration(value, &d)) {
    log::Error("flag is not a duration", {{"flag", name}, {"value", value}});
    std::abort();
  }
  return d;
}

int Context::IntFlag(absl::string_view name) const {
  int v = 0;
  std::string value = Flag(name);
  if (!absl::SimpleAtoi(value, &v)) {
    log::Error("flag is not a number", {{"flag", name}, {"value", value}});
    std::abort();
  }
  return v;
}

bool Context::RunsHere(absl::string_view target) const {
  return std::find(infra_.targets.begin(), infra_.targets.end(), target) != infra_.targets.end();
}

const whatsapp::Credentials& Context::meta_credentials() {
  if (infra_.meta_credentials == nullptr) {
    log::Error("module uses Meta credentials without depending on whatsapp", {{"module", module_}});
    std::abort();
  }
  return *infra_.meta_credentials;
}

whatsapp::Graph& Context::graph() {
  if (infra_.graph == nullptr) {
    log::Error("module uses the Graph API without depending on whatsapp", {{"module", module_}});
    std::abort();
  }
  return *infra_.graph;
}

void Context::AddService(grpc::Service* service, std::string name) {
  services.emplace_back(service, std::move(name));
}

kafka::Producer& Context::producer() {
  if (infra_.producer == nullptr) {
    log::Error("module uses kafka without depending on it", {{"module", module_}});
    std::abort();
  }
  return *infra_.producer;
}

const std::string& Context::kafka_bootstrap() {
  producer();  // same precondition
  return infra_.kafka_bootstrap;
}

bool Context::kafka_embedded() {
  producer();  // same precondition
  return infra_.kafka_embedded;
}

const std::map<std::string, std::string>& Context::kafka_properties() {
  producer();  // same precondition
  return infra_.kafka_properties;
}

redis::Pool& Context::redis() {
  if (infra_.redis == nullptr) {
    log::Error("module uses redis without depending on it", {{"module", module_}});
    std::abort();
  }
  return *infra_.redis;
}

std::unique_ptr<pg::Pool> Context::Postgres(const std::string& schema, int pool_size) {
  return Postgres(pg::Options{.schema = schema, .pool_size = pool_size});
}

std::unique_ptr<pg::Pool> Context::Postgres(pg::Options options) {
  if (!infra_.postgres) {
    log::Error("module uses postgres without depending on it", {{"module", module_}});
    std::abort();
  }
  options.url = config_.postgres_url;
  if (options.application_name == pg::Options().application_name) {
    options.application_name = absl::StrCat("switchboard-", options.schema);
  }
  options.statement_seconds =
      &prometheus::BuildHistogram()
           .Name("switchboard_postgres_statement_duration_seconds")
           .Help("PostgreSQL statements (BEGIN and COMMIT included) by schema, round trip.")
           .Register(metrics_)
           .Add({{"schema", options.schema}}, StoreLatencyBuckets());
  return std::make_unique<pg::Pool>(std::move(options));
}

void RegisterInfrastructure(Registry& registry) {
  registry.Add({.name = "kafka", .factory = [] { return std::make_unique<KafkaModule>(); }});
  registry.Add({.name = "redis", .factory = [] { return std::make_unique<RedisModule>(); }});
  registry.Add({.name = "postgres", .factory = [] { return std::make_unique<PostgresModule>(); }});
  registry.Add({.name = "whatsapp",
                .factory = [] { return std::make_unique<WhatsAppModule>(); },
                .flags = WhatsAppModule::Flags()});
}

// ---- App ------------------------------------------------------------------------------------

struct App::Running {
  const ModuleSpec* spec;
  std::unique_ptr<Module> module;
  std::vector<std::string> health_names;          // module name + its gRPC service names
  std::vector<Running*> infra_deps;               // infrastructure it needs, transitively
  std::vector<prometheus::Gauge*> dependency_up;  // parallel to infra_deps
  bool started = false;
};

App::App(const Registry& registry, Config config, const core::Clock& clock)
    : registry_(registry),
      config_(std::move(config)),
      clock_(clock),
      metrics_(std::make_shared<prometheus::Registry>()) {
  for (FlagSpec& f : registry_.Flags()) flag_specs_[f.name] = std::move(f);
}

App::~App() {
  if (!stop_requested_.HasBeenNotified()) stop_requested_.Notify();
  if (health_thread_.joinable()) health_thread_.join();
  // A drain that left handlers running: they end before their modules do.
  if (shutdown_thread_.joinable()) shutdown_thread_.join();
  if (server_) {
    server_->Shutdown(absl::ToChronoTime(absl::Now()));
    server_->Wait();
  }
  StopModules();
}

absl::Status App::Start() {
  absl::Time began = absl::Now();
  gpr_set_log_function(&LogFromGrpc);
  ASSIGN_OR_RETURN(std::vector<const ModuleSpec*> order, registry_.Resolve(config_.targets));
  ASSIGN_OR_RETURN(verifier_, auth::TokenVerifier::Create({.secret = config_.auth_secret,
                                                           .jwks_file = config_.auth_jwks_file,
                                                           .issuer = config_.auth_issuer,
                                                           .audience = config_.auth_audience},
                                                          clock_));
  RETURN_IF_ERROR(CheckModuleFlags(config_, registry_.Flags()));
  // Page tokens are signed with a key every replica derives from the shared secret.
  api::SetPageTokenKey(absl::StrCat("page-tokens/", config_.auth_secret));

  prometheus::BuildGauge()
      .Name("switchboard_build_info")
      .Help("Always 1; the labels say which build is running.")
      .Register(*metrics_)
      .Add({{"version", kVersion}})
      .Set(1);
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(
        absl::StrCat(config_.listen_host, ":", config_.metrics_port));
  } catch (const std::exception& e) {
    return core::Error(absl::StatusCode::kFailedPrecondition, "CANNOT_LISTEN",
                       absl::StrCat("cannot serve metrics on ", config_.listen_host, ":",
                                    config_.metrics_port, ": ", e.what()));
  }
  exposer_->RegisterCollectable(metrics_);
  // The exposer keeps weak pointers: the App owns what it collects.
  process_metrics_ = std::make_shared<ProcessMetrics>();  // CPU, memory, fds, threads
  exposer_->RegisterCollectable(process_metrics_);
  auto ports = exposer_->GetListeningPorts();
  metrics_port_ = ports.empty() ? config_.metrics_port : ports.front();

  auto& dependency_up = prometheus::BuildGauge()
                            .Name("switchboard_dependency_up")
                            .Help("1 while a target's dependency answers its probe, else 0.")
                            .Register(*metrics_);

  for (const ModuleSpec* spec : order) {
    if (spec->target) infra_.targets.push_back(spec->name);
  }
  // Init in dependency order.
  std::map<std::string, Running*> by_name;
  for (const ModuleSpec* spec : order) {
    auto r = std::make_unique<Running>();
    r->spec = spec;
    r->module = spec->factory();
    Context ctx(config_, clock_, *metrics_, *verifier_, infra_, spec->name, &flag_specs_);
    absl::Status s = r->module->Init(ctx);
    if (!s.ok()) {
      StopModules();
      return core::Annotate(s, absl::StrCat("starting ", spec->name));
    }
    if (spec->target) {
      r->health_names.push_back(spec->name);
      std::set<std::string> seen;
      std::function<void(const ModuleSpec*)> collect = [&](const ModuleSpec* m) {
        for (const auto& d : m->deps) {
          if (!seen.insert(d).second) continue;
          Running* dep = by_name.at(d);
          if (!dep->spec->target) {
            r->infra_deps.push_back(dep);
            r->dependency_up.push_back(
                &dependency_up.Add({{"target", spec->name}, {"dependency", d}}));
          }
          collect(dep->spec);
        }
      };
      collect(spec);
    }
    for (auto& [service, name] : ctx.services) {
      r->health_names.push_back(name);
      services_.push_back(service);
    }
    r->started = true;  // Init done: Stop() is owed
    by_name[spec->name] = r.get();
    running_.push_back(std::move(r));
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(config_.listen_host, ":", config_.grpc_port),
                           grpc::InsecureServerCredentials(), &grpc_port_);
  for (grpc::Service* service : services_) builder.RegisterService(service);
  // Keepalive as clients and load balancers use it: pings at the permitted rate, even between
  // calls, are fine; connections age out so a scale-out gets its share.
  const auto ms = [](absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); };
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             ms(config_.grpc_min_ping_interval));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, ms(absl::Minutes(1)));
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, ms(absl::Seconds(20)));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, ms(config_.grpc_max_connection_age));
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                             ms(config_.grpc_max_connection_age_grace));
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> factories;
  std::vector<std::string> service_names;
  for (auto& r : running_) {
    for (const auto& name : r->health_names) service_names.push_back(name);
  }
  // Reflection v1 beside the library's v1alpha (grpcurl and grpcui ask for v1 first).
  reflection_ = std::make_unique<ReflectionService>(service_names);
  builder.RegisterService(reflection_.get());
  factories.push_back(MakeInterceptorFactory(*verifier_, *metrics_, MethodPaths(service_names),
                                             config_.max_call_time, config_.max_stream_time));
  builder.experimental().SetInterceptorCreators(std::move(factories));
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || grpc_port_ == 0) {
    server_.reset();
    StopModules();
    return core::Error(
        absl::StatusCode::kFailedPrecondition, "CANNOT_LISTEN",
        absl::StrCat("cannot serve gRPC on ", config_.listen_host, ":", config_.grpc_port));
  }

  infra_.local_channel = [this] { return server_->InProcessChannel(grpc::ChannelArguments()); };
  for (auto& r : running_) {
    absl::Status s = r->module->Start();
    if (!s.ok()) {
      std::string name = r->spec->name;  // StopModules destroys `r`
      server_->Shutdown();
      server_.reset();
      StopModules();
      return core::Annotate(s, absl::StrCat("starting ", name));
    }
  }
  server_->GetHealthCheckService()->SetServingStatus("", true);
  CheckHealthNow();
  health_thread_ = std::thread([this] {
    while (!stop_requested_.WaitForNotificationWithTimeout(kHealthInterval)) CheckHealthNow();
  });
  WriteReadyFile();
  std::vector<std::string> targets;
  for (auto& r : running_) {
    if (r->spec->target) targets.push_back(r->spec->name);
  }
  log::Info("switchboard started",
            {{"targets", absl::StrJoin(targets, ",")},
             {"grpc", absl::StrCat(config_.listen_host, ":", grpc_port_)},
             {"metrics", absl::StrCat(config_.listen_host, ":", metrics_port_)},
             {"kafka", infra_.kafka_bootstrap},
             {"startup_ms", absl::ToInt64Milliseconds(absl::Now() - began)}});
  return absl::OkStatus();
}

void App::CheckHealthNow() {
  if (draining_.load() || server_ == nullptr) return;
  std::map<Running*, absl::Status> probes;
  for (auto& r : running_) {
    for (size_t i = 0; i < r->infra_deps.size(); ++i) {
      Running* dep = r->infra_deps[i];
      auto [it, fresh] = probes.try_emplace(dep, absl::OkStatus());
      if (fresh) it->second = dep->module->Probe();
      r->dependency_up[i]->Set(it->second.ok() ? 1 : 0);
    }
  }
  auto* health = server_->GetHealthCheckService();
  for (auto& r : running_) {
    if (!r->spec->target) continue;
    bool serving = true;
    for (Running* dep : r->infra_deps) serving = serving && probes[dep].ok();
    for (const auto& name : r->health_names) health->SetServingStatus(name, serving);
  }
}

void App::WriteReadyFile() {
  if (config_.ready_file.empty()) return;
  std::string tmp = config_.ready_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    std::string host = config_.listen_host == "0.0.0.0" ? "127.0.0.1" : config_.listen_host;
    out << "{\"grpc\":\"" << host << ":" << grpc_port_ << "\",\"metrics\":\"" << host << ":"
        << metrics_port_ << "\",\"kafka_bootstrap\":\"" << infra_.kafka_bootstrap << "\"";
    for (const auto& [name, address] : infra_.addresses) {
      out << ",\"" << name << "\":\"" << address << "\"";
    }
    out << ",\"pid\":" << getpid() << "}\n";
  }
  std::rename(tmp.c_str(), config_.ready_file.c_str());
}

void App::RequestStop() {
  if (!stop_requested_.HasBeenNotified()) stop_requested_.Notify();
}

bool App::WaitAndDrain() {
  stop_requested_.WaitForNotification();
  absl::Time began = absl::Now();
  log::Info("draining", {{"drain_timeout_ms", absl::ToInt64Milliseconds(config_.drain_timeout)}});
  draining_ = true;
  if (health_thread_.joinable()) health_thread_.join();
  for (auto& r : running_) {
    if (r->started) r->module->Drain();
  }
  // civetweb needs up to 2 s to stop its listener: let it do so while the calls drain.
  std::thread exposer_stop([this] { exposer_.reset(); });
  bool clean = true;
  if (server_) {
    // Every service NOT_SERVING first, so load balancers stop sending; then refuse new calls
    // and give the ones in flight until the deadline, after which gRPC cancels them.
    server_->GetHealthCheckService()->Shutdown();
    auto done = std::make_shared<absl::Notification>();
    absl::Time deadline = absl::Now() + config_.drain_timeout;
    shutdown_thread_ = std::thread([server = server_.get(), deadline, done] {
      server->Shutdown(absl::ToChronoTime(deadline));
      server->Wait();
      done->Notify();
    });
    // gRPC's Shutdown also waits for handler threads to return, however long they ignore the
    // cancellation: do not let one stuck handler keep the process (and its flush) hostage.
    if (done->WaitForNotificationWithTimeout(config_.drain_timeout + kHandlerGrace)) {
      shutdown_thread_.join();
      server_.reset();
    } else {
      clean = false;
      log::Error("calls still running after the drain timeout; stopping without them",
                 {{"drain_timeout_ms", absl::ToInt64Milliseconds(config_.drain_timeout)}});
    }
  }
  // With handlers left running, their modules must outlive them: stop, but do not destroy.
  StopModules(/*destroy=*/clean);
  exposer_stop.join();
  if (!config_.ready_file.empty()) std::remove(config_.ready_file.c_str());
  log::Info("stopped",
            {{"drain_ms", absl::ToInt64Milliseconds(absl::Now() - began)}, {"clean", clean}});
  return clean;
}

void App::StopModules(bool destroy) {
  for (auto it = running_.rbegin(); it != running_.rend(); ++it) {
    if ((*it)->started) {
      (*it)->module->Stop();
      (*it)->started = false;
    }
  }
  // Destroy in reverse too: services before the infrastructure they hold references to.
  while (destroy && !running_.empty()) running_.pop_back();
}

// ---- Main -----------------------------------------------------------------------------------

int Main(const Registry& registry, int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<Config> config = ParseConfig(
      args, [](const char* name) { return getenv(name); }, registry.Flags());
  if (!config.ok()) {
    std::fprintf(stderr, "switchboard: %s (see --help)\n",
                 std::string(config.status().message()).c_str());
    return 2;
  }
  if (config->help) {
    std::fputs(Usage(registry.Flags()).c_str(), stdout);
    return 0;
  }
  if (auto resolved = registry.Resolve(config->targets); !resolved.ok()) {
    std::fprintf(stderr, "switchboard: %s\n", std::string(resolved.status().message()).c_str());
    return 2;
  }
  log::SetLevel(config->log_level);
  log::SetStaticField("service", "switchboard");
  log::SetStaticField("target", absl::StrJoin(config->targets, ","));
  // Debian's Abseil checks every Mutex acquisition for lock-order cycles (a debugging aid that
  // showed up in profiles of the hot path); tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals go to one thread that waits for them; block them everywhere else first.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  App app(registry, *std::move(config));
  std::atomic<bool> exiting{false};
  std::thread signal_thread([&app, &exiting, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (exiting.load()) return;
    log::Info("signal received", {{"signal", sig}});
    app.RequestStop();
    sigwait(&signals, &sig);
    if (exiting.load()) return;
    log::Error("second signal: exiting without finishing the drain");
    std::_Exit(1);
  });
  int code = 0;
  if (absl::Status started = app.Start(); !started.ok()) {
    log::Error("start-up failed",
               {{"error", std::string(started.message())}, {"reason", core::ReasonOf(started)}});
    code = 1;
  } else if (!app.WaitAndDrain()) {
    // Modules are stopped and producers flushed; stuck handlers are not waited for.
    std::_Exit(1);
  }
  // Release the signal thread: it reads this signal as "exit".
  exiting = true;
  pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return code;
}

}  // namespace switchboard::runtime
