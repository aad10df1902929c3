#include "libs/runtime/service_module.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/pg/idempotency.h"

namespace switchboard::runtime {

ServiceModule::~ServiceModule() { ServiceModule::Stop(); }

absl::Status ServiceModule::InitStore(Context& ctx, const std::string& schema,
                                      const std::vector<pg::Migration>& migrations, int pool_size) {
  schema_ = schema;
  pool_ = ctx.Postgres(schema, pool_size);
  RETURN_IF_ERROR(pg::Migrate(*pool_, migrations));
  relay_ = std::make_unique<pg::OutboxRelay>(
      *pool_, ctx.producer(),
      pg::RelayOptions{.republish_on_start = ctx.kafka_embedded(), .metrics = &ctx.metrics()});
  pool_->SetOutboxListener([relay = relay_.get()] { relay->Notify(); });
  const core::Clock* clock = &ctx.clock();
  Every("idempotency keys", absl::Minutes(10), [pool = pool_.get(), clock]() {
    return pg::Idempotency::Prune(*pool, clock->Now()).status();
  });
  return absl::OkStatus();
}

pg::Pool& ServiceModule::SeparatePool(Context& ctx, absl::string_view work, int size,
                                      absl::Duration idle_in_transaction) {
  separate_pools_.push_back(ctx.Postgres(
      pg::Options{.schema = schema_,
                  .pool_size = size,
                  .idle_in_transaction_timeout = idle_in_transaction,
                  .application_name = absl::StrCat("switchboard-", schema_, "-", work)}));
  return *separate_pools_.back();
}

absl::Duration FetchWait(Urgency urgency, bool kafka_embedded) {
  if (urgency == Urgency::kLive && kafka_embedded) return kLiveFetchWait;
  return kafka::ConsumerOptions().max_wait;
}

absl::Status ServiceModule::Consume(Context& ctx, absl::string_view what, absl::string_view topic,
                                    const kafka::Dispatch& handlers, Urgency urgency) {
  ASSIGN_OR_RETURN(std::unique_ptr<kafka::Consumer> consumer,
                   kafka::Consumer::Create({.brokers = ctx.kafka_bootstrap(),
                                            .group_id = absl::StrCat(ctx.module(), ".", what),
                                            .topics = {std::string(topic)},
                                            .max_wait = FetchWait(urgency, ctx.kafka_embedded()),
                                            .max_batch = handlers.max_batch(),
                                            .extra = ctx.kafka_properties(),
                                            .metrics = &ctx.metrics(),
                                            .dead_letters = &ctx.producer()},
                                           handlers.AsHandler(), handlers.AsBatchHandler()));
  consumers_.push_back(std::move(consumer));
  return absl::OkStatus();
}

void ServiceModule::Every(absl::string_view name, absl::Duration interval,
                          std::function<absl::Status()> fn) {
  auto task = std::make_unique<Task>();
  task->name = std::string(name);
  task->interval = interval;
  task->fn = std::move(fn);
  tasks_.push_back(std::move(task));
}

absl::StatusOr<PeerAddress> ServiceModule::ResolvePeer(Context& ctx, absl::string_view target) {
  infra_ = &ctx.infra();
  if (ctx.RunsHere(target)) return PeerAddress{.local = true};
  std::string address = ctx.Flag(absl::StrCat(target, "-address"));
  if (address.empty()) {
    return core::Error(
        absl::StatusCode::kFailedPrecondition,
        absl::StrCat(absl::AsciiStrToUpper(target), "_UNREACHABLE"),
        absl::StrCat("the ", ctx.module(), " target needs ", target, ": run it in this process (",
                     "--target=", ctx.module(), ",", target, ") or set --", target, "-address"));
  }
  return PeerAddress{.address = address};
}

absl::Status ServiceModule::Start() {
  if (started_) return absl::OkStatus();
  started_ = true;
  if (relay_) relay_->Start();
  for (auto& [peer, address] : peers_) {
    peer->Connect(address.local
                      ? infra_->local_channel()
                      : grpc::CreateChannel(address.address, grpc::InsecureChannelCredentials()));
  }
  for (auto& c : consumers_) c->Start();
  for (auto& task : tasks_) {
    Task* t = task.get();
    t->thread = std::thread([this, t] {
      while (!stopping_.WaitForNotificationWithTimeout(t->interval)) {
        absl::Status s = t->fn();
        if (!s.ok()) {
          log::Warning("periodic task failed; it runs again at the next tick",
                       {{"task", t->name}, {"error", s.ToString()}});
        }
      }
    });
  }
  return absl::OkStatus();
}

void ServiceModule::Stop() {
  if (!started_) return;
  started_ = false;
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  for (auto it = tasks_.rbegin(); it != tasks_.rend(); ++it) {
    if ((*it)->thread.joinable()) (*it)->thread.join();
  }
  for (auto it = consumers_.rbegin(); it != consumers_.rend(); ++it) (*it)->Stop();
  for (auto& [peer, address] : peers_) peer->Connect(nullptr);
  if (relay_) relay_->Stop();
}

}  // namespace switchboard::runtime
