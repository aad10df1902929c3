#include "services/routing/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/service_module.h"
#include "services/routing/service.h"

namespace switchboard::routing {
namespace {

// On the service kit (libs/runtime/service_module.h): its schema, consumers (Consume), periodic
// tasks (Every) and peers (PeerOf) are wired here when the service's issue lands.
class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "routing", Migrations()));
    ctx.AddService(&service_, v1::RoutingService::service_full_name());
    return absl::OkStatus();
  }

 private:
  Service service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add(
      {.name = "routing", .deps = {"redis", "postgres", "kafka"}, .target = true, .factory = [] {
         return std::make_unique<Module>();
       }});
}

}  // namespace switchboard::routing
