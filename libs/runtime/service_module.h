// The service kit's module: what every service's module.cc is made of, so a service wires its
// parts in a few lines and never writes plumbing (threads, consumer options, channels).
//
//   class Module final : public runtime::ServiceModule {
//     absl::Status Init(runtime::Context& ctx) override {
//       RETURN_IF_ERROR(InitStore(ctx, "billing", Migrations()));
//       RETURN_IF_ERROR(Consume(ctx, "calls", kafka::kCallsState, kafka::Dispatch().On<
//           calls::v1::CallStateChanged>([this](const auto& e, const kafka::Message& m) {
//             return rating_->OnCallStateChanged(e, m);
//           })));
//       Every("invoices", absl::Minutes(1), [this] { return invoices_->IssueDue(); });
//       ASSIGN_OR_RETURN(calls_, PeerOf<calls::v1::CallsService>(ctx, "calls"));
//       ctx.AddService(service_.get(), v1::BillingService::service_full_name());
//       return absl::OkStatus();
//     }
//   };
//
// Start() starts, in order: the outbox relay, the peers' channels, the consumers, the periodic
// tasks; Stop() stops them in reverse. A subclass that overrides Start/Stop calls these.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/dispatch.h"
#include "libs/pg/migrate.h"
#include "libs/pg/outbox.h"
#include "libs/runtime/app.h"
#include "libs/runtime/peer.h"

namespace switchboard::runtime {

// How soon a consumer must see a record that arrives on a quiet topic.
enum class Urgency {
  // Fetches wait as long as kafka::ConsumerOptions::max_wait says by default (100 ms).
  kBackground,
  // On a ringing call's way to an agent (Meta's webhook -> calls -> routing -> notifications ->
  // the browser). Brokers answer a waiting fetch as soon as a record arrives, so with them this
  // is kBackground; the embedded cluster answers an empty fetch only when its wait is over, so
  // there each such hop waits at most kLiveFetchWait, at the price of a fetch that often while
  // idle.
  kLive,
};
inline constexpr absl::Duration kLiveFetchWait = absl::Milliseconds(5);

// How long a consumer of `urgency` lets a fetch wait for records, with the embedded Kafka or
// with brokers.
absl::Duration FetchWait(Urgency urgency, bool kafka_embedded);

class ServiceModule : public Module {
 public:
  ~ServiceModule() override;
  absl::Status Start() override;
  void Stop() override;

 protected:
  // The service's own schema: a pool scoped to it, its migrations applied, and the relay that
  // publishes what its transactions enqueue (woken after each commit that wrote the outbox).
  absl::Status InitStore(Context& ctx, const std::string& schema,
                         const std::vector<pg::Migration>& migrations, int pool_size = 8);
  pg::Pool& pool() { return *pool_; }
  pg::OutboxRelay& relay() { return *relay_; }
  // Another pool on the schema, `size` connections for one kind of work that must never take
  // the connections ingest, timers and the relay need (history reads, exports). `work` names it
  // in pg_stat_activity (application_name switchboard-<schema>-<work>); a transaction left idle
  // longer than `idle_in_transaction` is ended by PostgreSQL (zero: never). After InitStore.
  pg::Pool& SeparatePool(Context& ctx, absl::string_view work, int size,
                         absl::Duration idle_in_transaction = absl::ZeroDuration());

  // Consumes `topic` in the consumer group "<module>.<what>", handing each record to the handler
  // of its ce_type (types not handled are skipped and counted), or several at once to the
  // handlers' OnBatch handler when it has one (dispatch.h). Started by Start(). `urgency`
  // bounds what a quiet topic adds to a record's latency.
  absl::Status Consume(Context& ctx, absl::string_view what, absl::string_view topic,
                       const kafka::Dispatch& handlers, Urgency urgency = Urgency::kBackground);

  // Runs `fn` every `interval` on a thread of its own, from Start() to Stop(). A failure is
  // logged (with `name`) and the task runs again at the next tick.
  void Every(absl::string_view name, absl::Duration interval, std::function<absl::Status()> fn);

  // A client of `target`'s gRPC API (peer.h): in this process, or at --<target>-address.
  // FAILED_PRECONDITION <TARGET>_UNREACHABLE when it is neither.
  template <typename Service>
  absl::StatusOr<std::shared_ptr<Peer<Service>>> PeerOf(Context& ctx, absl::string_view target) {
    ASSIGN_OR_RETURN(PeerAddress address, ResolvePeer(ctx, target));
    auto peer = std::make_shared<Peer<Service>>(std::string(target));
    peers_.push_back({peer, address});
    return peer;
  }

 private:
  struct Task {
    std::string name;
    absl::Duration interval;
    std::function<absl::Status()> fn;
    std::thread thread;
  };
  struct PeerEntry {
    std::shared_ptr<PeerBase> peer;
    PeerAddress address;
  };
  absl::StatusOr<PeerAddress> ResolvePeer(Context& ctx, absl::string_view target);

  std::string schema_;
  std::unique_ptr<pg::Pool> pool_;
  std::vector<std::unique_ptr<pg::Pool>> separate_pools_;
  std::unique_ptr<pg::OutboxRelay> relay_;
  std::vector<std::unique_ptr<kafka::Consumer>> consumers_;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::vector<PeerEntry> peers_;
  Infrastructure* infra_ = nullptr;
  absl::Notification stopping_;
  bool started_ = false;
};

}  // namespace switchboard::runtime
