#include "services/eligibility/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/app.h"
#include "libs/runtime/service_module.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"

namespace switchboard::eligibility {
namespace {

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "eligibility", Migrations()));
    ctx.AddService(&service_, v1::EligibilityService::service_full_name());
    return absl::OkStatus();
  }

 private:
  // The API as generated: until this service's issue lands, every method answers
  // UNIMPLEMENTED (after authentication, like every call).
  v1::EligibilityService::Service service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "eligibility",
                .deps = {"redis", "postgres", "kafka"},
                .target = true,
                .factory = [] { return std::make_unique<Module>(); }});
}

}  // namespace switchboard::eligibility
