// The runtime that every target runs in: resolves --target to modules, starts them in
// dependency order behind one gRPC server (health, reflection, auth + RED interceptor) and a
// Prometheus endpoint, reports per-service health from dependency probes, and drains on
// SIGTERM: health NOT_SERVING → stop accepting → in-flight calls finish within the drain
// timeout → modules stop in reverse (consumers, relays, producers flushed) → exit 0.
//
//   runtime::Registry registry;
//   runtime::RegisterInfrastructure(registry);
//   calls::Register(registry);
//   return runtime::Main(registry, argc, argv);
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis.h"
#include "libs/runtime/config.h"
#include "libs/runtime/module.h"

namespace prometheus {
class Collectable;
class Exposer;
class Registry;
}  // namespace prometheus
namespace switchboard::runtime {
class ReflectionService;
}  // namespace switchboard::runtime
namespace switchboard::whatsapp {
class Credentials;
class Graph;
}  // namespace switchboard::whatsapp

namespace switchboard::runtime {

// What the infrastructure modules provide to the services that depend on them.
struct Infrastructure {
  std::string kafka_bootstrap;
  std::map<std::string, std::string> kafka_properties;  // --kafka-config, for every client
  kafka::Producer* producer = nullptr;
  // The Kafka is this process's embedded cluster: it starts empty and dies with the process,
  // so what must survive a crash goes through PostgreSQL (ADR 0023).
  bool kafka_embedded = false;
  redis::Pool* redis = nullptr;
  bool postgres = false;
  // Extra listeners a module opened (e.g. "webhooks" -> "127.0.0.1:8080"), set in Init or
  // Start; written to the ready file beside the gRPC and metrics addresses.
  std::map<std::string, std::string> addresses;
  // The targets this process runs, known before any module's Init.
  std::vector<std::string> targets;
  // A channel to this process's own gRPC server, through the same interceptor (auth, metrics)
  // as any client; usable from the modules' Start on.
  std::function<std::shared_ptr<grpc::Channel>()> local_channel;
  // Meta (the "whatsapp" module): the apps and access tokens, and the one Graph API client.
  const whatsapp::Credentials* meta_credentials = nullptr;
  whatsapp::Graph* graph = nullptr;
};

class Context {
 public:
  Context(const Config& config, const core::Clock& clock, prometheus::Registry& metrics,
          const auth::TokenVerifier& verifier, Infrastructure& infra, std::string module,
          const std::map<std::string, FlagSpec>* flags = nullptr);

  const Config& config() const { return config_; }
  const core::Clock& clock() const { return clock_; }
  prometheus::Registry& metrics() { return metrics_; }
  const auth::TokenVerifier& verifier() const { return verifier_; }
  Infrastructure& infra() { return infra_; }
  const std::string& module() const { return module_; }

  // Serves `service` (not owned; lives as long as the module). `name` is its full proto name,
  // reported on grpc.health.v1 beside the module's own name.
  void AddService(grpc::Service* service, std::string name);

  // A module flag's value (ModuleSpec::flags): as given, else its default. Values were checked
  // before any Init; asking for an undeclared flag is a wiring bug and dies loudly.
  std::string Flag(absl::string_view name) const;
  absl::Duration DurationFlag(absl::string_view name) const;
  int IntFlag(absl::string_view name) const;
  // Whether `target` runs in this process.
  bool RunsHere(absl::string_view target) const;

  // Dependencies; each dies loudly if the module did not declare it (a wiring bug).
  kafka::Producer& producer();
  const std::string& kafka_bootstrap();
  // Whether that Kafka is embedded in this process (Infrastructure::kafka_embedded).
  bool kafka_embedded();
  // librdkafka properties every Kafka client of the suite is made with (--kafka-config).
  const std::map<std::string, std::string>& kafka_properties();
  redis::Pool& redis();
  // A pool scoped to the module's own schema.
  std::unique_ptr<pg::Pool> Postgres(const std::string& schema, int pool_size = 8);
  // The same with more say: `options.url` is filled in (and `application_name`, when left at
  // its default, becomes switchboard-<schema>).
  std::unique_ptr<pg::Pool> Postgres(pg::Options options);
  const whatsapp::Credentials& meta_credentials();
  whatsapp::Graph& graph();

  // Read by the runtime after Init.
  std::vector<std::pair<grpc::Service*, std::string>> services;

 private:
  const Config& config_;
  const core::Clock& clock_;
  prometheus::Registry& metrics_;
  const auth::TokenVerifier& verifier_;
  Infrastructure& infra_;
  std::string module_;
  const std::map<std::string, FlagSpec>* flags_;
};

// Registers the infrastructure modules "kafka", "redis", "postgres" and "whatsapp" (Meta's
// credentials and the shared Graph API client, with the --meta-* flags).
void RegisterInfrastructure(Registry& registry);

class App {
 public:
  App(const Registry& registry, Config config, const core::Clock& clock = core::Clock::Real());
  ~App();

  // Starts everything; on failure what was started is stopped again.
  absl::Status Start();
  // Thread-safe; WaitAndDrain() then drains.
  void RequestStop();
  // Blocks until RequestStop(), then drains and stops. Returns false when handlers were still
  // running a second after the drain timeout: modules are stopped (producers flushed) but the
  // stuck handlers are left, and the process should exit without waiting for them.
  bool WaitAndDrain();

  int grpc_port() const { return grpc_port_; }
  int metrics_port() const { return metrics_port_; }
  const std::string& kafka_bootstrap() const { return infra_.kafka_bootstrap; }
  // Extra listeners the modules opened, e.g. "webhooks" -> "127.0.0.1:8080".
  const std::map<std::string, std::string>& addresses() const { return infra_.addresses; }
  // Re-probes dependencies and updates health now (tests; the health thread does it every
  // 500 ms).
  void CheckHealthNow();

 private:
  struct Running;
  void StopModules(bool destroy = true);
  void WriteReadyFile();

  const Registry& registry_;
  Config config_;
  std::map<std::string, FlagSpec> flag_specs_;
  const core::Clock& clock_;
  // Shared: the exposer keeps only a weak reference to what it serves.
  std::shared_ptr<prometheus::Registry> metrics_;
  std::shared_ptr<prometheus::Collectable> process_metrics_;
  std::unique_ptr<ReflectionService> reflection_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::unique_ptr<auth::TokenVerifier> verifier_;
  Infrastructure infra_;
  std::vector<std::unique_ptr<Running>> running_;
  std::vector<grpc::Service*> services_;
  std::unique_ptr<grpc::Server> server_;
  int grpc_port_ = 0;
  int metrics_port_ = 0;
  absl::Notification stop_requested_;
  std::atomic<bool> draining_{false};
  std::thread health_thread_;
  std::thread shutdown_thread_;
};

// Parses flags and environment, runs until SIGTERM/SIGINT, and returns the process exit code:
// 0 after a clean drain, 2 for bad flags, 1 when start-up failed or handlers outlived the
// drain. A second signal during the drain exits at once with 1.
int Main(const Registry& registry, int argc, char** argv);

}  // namespace switchboard::runtime
