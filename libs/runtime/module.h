// Services (and the infrastructure they need) register as modules with their dependencies;
// the runtime starts the selected targets and everything they depend on, in dependency order,
// and stops them in reverse (Loki/Mimir-style; ADR 0001).
//
//   registry.Add({.name = "calls", .deps = {"postgres", "kafka"}, .target = true,
//                 .factory = [] { return std::make_unique<CallsModule>(); }});
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/runtime/config.h"

namespace switchboard::runtime {

class Context;

class Module {
 public:
  virtual ~Module() = default;
  // Before the gRPC server starts, in dependency order: build clients, migrate schemas,
  // register gRPC services. A failure stops start-up (exit code 1).
  virtual absl::Status Init(Context& ctx) = 0;
  // After the server started: start consumers, relays, timers.
  virtual absl::Status Start() { return absl::OkStatus(); }
  // When the drain begins (SIGTERM), before the server stops taking calls: end what would
  // otherwise run until the drain deadline (long-lived streams tell their clients to reconnect).
  virtual void Drain() {}
  // In reverse order, after in-flight RPCs finished: stop consumers, flush producers.
  virtual void Stop() {}
  // Infrastructure modules: is the dependency reachable now? (Runs on the health thread.)
  virtual absl::Status Probe() { return absl::OkStatus(); }
};

struct ModuleSpec {
  std::string name;
  std::vector<std::string> deps;
  bool target = false;  // selectable with --target (a service), else infrastructure
  std::function<std::unique_ptr<Module>()> factory;
  // The module's own flags (config.h), registered by the module that owns them.
  std::vector<FlagSpec> flags;
  // The targets whose gRPC APIs it calls (ServiceModule::PeerOf): each gets a --<peer>-address.
  std::vector<std::string> peers;
};

class Registry {
 public:
  void Add(ModuleSpec spec);
  // The modules to run for `targets` ("all" or names), dependencies first. Unknown names and
  // dependency cycles are INVALID_ARGUMENT.
  absl::StatusOr<std::vector<const ModuleSpec*>> Resolve(
      const std::vector<std::string>& targets) const;
  std::vector<std::string> TargetNames() const;
  const ModuleSpec* Find(const std::string& name) const;
  // Every module's flags, and for each target T a --T-address flag: where other targets reach
  // T's gRPC API when T does not run in this process (runtime::Peer).
  std::vector<FlagSpec> Flags() const;

 private:
  std::map<std::string, ModuleSpec> specs_;
};

}  // namespace switchboard::runtime
