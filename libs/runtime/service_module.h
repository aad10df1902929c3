// The plumbing every PostgreSQL-backed service shares: a pool scoped to its own schema, its
// migrations applied at start, and the outbox relay that publishes its events.
//
//   class CallsModule final : public runtime::ServiceModule {
//     absl::Status Init(runtime::Context& ctx) override {
//       RETURN_IF_ERROR(InitStore(ctx, "calls", calls::Migrations()));
//       ctx.AddService(&service_, "switchboard.calls.v1.CallsService");
//       return absl::OkStatus();
//     }
//   };
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "libs/pg/migrate.h"
#include "libs/pg/outbox.h"
#include "libs/runtime/app.h"

namespace switchboard::runtime {

class ServiceModule : public Module {
 public:
  absl::Status Start() override;
  void Stop() override;

 protected:
  absl::Status InitStore(Context& ctx, const std::string& schema,
                         const std::vector<pg::Migration>& migrations);
  pg::Pool& pool() { return *pool_; }
  pg::OutboxRelay& relay() { return *relay_; }

 private:
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<pg::OutboxRelay> relay_;
};

}  // namespace switchboard::runtime
