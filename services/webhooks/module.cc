#include "services/webhooks/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/app.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"

namespace switchboard::webhooks {
namespace {

class Module final : public runtime::Module {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    ctx.AddService(&service_, v1::WebhooksService::service_full_name());
    return absl::OkStatus();
  }

 private:
  // The API as generated: until this service's issue lands, every method answers
  // UNIMPLEMENTED (after authentication, like every call).
  v1::WebhooksService::Service service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "webhooks", .deps = {"redis", "kafka"}, .target = true, .factory = [] {
                  return std::make_unique<Module>();
                }});
}

}  // namespace switchboard::webhooks
