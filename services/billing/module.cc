#include "services/billing/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/app.h"
#include "libs/runtime/service_module.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"

namespace switchboard::billing {
namespace {

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "billing", Migrations()));
    ctx.AddService(&service_, v1::BillingService::service_full_name());
    return absl::OkStatus();
  }

 private:
  // The API as generated: until this service's issue lands, every method answers
  // UNIMPLEMENTED (after authentication, like every call).
  v1::BillingService::Service service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "billing", .deps = {"postgres", "kafka"}, .target = true, .factory = [] {
                  return std::make_unique<Module>();
                }});
}

}  // namespace switchboard::billing
