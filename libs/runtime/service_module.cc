#include "libs/runtime/service_module.h"

#include "libs/core/status_macros.h"

namespace switchboard::runtime {

absl::Status ServiceModule::InitStore(Context& ctx, const std::string& schema,
                                      const std::vector<pg::Migration>& migrations) {
  pool_ = ctx.Postgres(schema);
  RETURN_IF_ERROR(pg::Migrate(*pool_, migrations));
  relay_ = std::make_unique<pg::OutboxRelay>(*pool_, ctx.producer(),
                                             pg::RelayOptions{.metrics = &ctx.metrics()});
  return absl::OkStatus();
}

absl::Status ServiceModule::Start() {
  if (relay_) relay_->Start();
  return absl::OkStatus();
}

void ServiceModule::Stop() {
  if (relay_) relay_->Stop();
}

}  // namespace switchboard::runtime
