#include "services/calls/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/app.h"
#include "libs/runtime/service_module.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"

namespace switchboard::calls {
namespace {

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "calls", Migrations()));
    ctx.AddService(&service_, v1::CallsService::service_full_name());
    return absl::OkStatus();
  }

 private:
  // The API as generated: until this service's issue lands, every method answers
  // UNIMPLEMENTED (after authentication, like every call).
  v1::CallsService::Service service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "calls", .deps = {"postgres", "kafka"}, .target = true, .factory = [] {
                  return std::make_unique<Module>();
                }});
}

}  // namespace switchboard::calls
