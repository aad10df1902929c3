// The transactional outbox: a service writes its state change and the event announcing it in
// one PostgreSQL transaction; the relay publishes unsent events to Kafka in id order and marks
// them sent only after Kafka acknowledged them. A crash between publish and mark re-sends
// (consumers de-duplicate on ce_id); nothing committed is ever lost.
//
//   RETURN_IF_ERROR(pool.InTransaction([&](pg::Conn& tx) -> absl::Status {
//     RETURN_IF_ERROR(store.SaveCall(tx, call));
//     return pg::Outbox::Enqueue(tx, kafka::kCallsState, kafka::MakeEvent(changed, id, "calls"));
//   }));
//   pg::OutboxRelay relay(pool, producer);  relay.Start();  ...  relay.Notify();
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"

namespace prometheus {
class Registry;
}

namespace switchboard::pg {

// The consumer side: "have I applied this event already?", answered inside the transaction
// that applies it, so an event delivered twice changes state once.
//
//   ASSIGN_OR_RETURN(bool first, pg::Inbox::MarkProcessed(tx, m.event.source, m.event.id));
//   if (!first) return absl::OkStatus();   // a duplicate: already applied
class Inbox {
 public:
  static const char kSchemaSql[];
  static absl::StatusOr<bool> MarkProcessed(Conn& tx, absl::string_view source,
                                            absl::string_view id);
  // MarkProcessed for many events (source, id) in one statement: for each, whether this is its
  // first time (a later copy in the same list is not).
  static absl::StatusOr<std::vector<bool>> MarkAllProcessed(
      Conn& tx, const std::vector<std::pair<std::string, std::string>>& events);
};

class Outbox {
 public:
  // The outbox table, created in every service schema by Migrate().
  static const char kSchemaSql[];

  // Adds `event` for `topic` inside the caller's transaction. Once the transaction commits, the
  // pool's outbox listener wakes the relay (Pool::SetOutboxListener; the service kit sets it).
  static absl::Status Enqueue(Conn& tx, absl::string_view topic, const kafka::Event& event);
  // What EnqueueAll does with an event whose ce_id is already in the outbox.
  enum class OnDuplicate {
    kFail,  // the transaction fails (unique violation): two writers claimed one id
    kSkip,  // the row there is the same event (a journal written again after a lost answer)
  };
  // Many events for `topic` in one statement, in order.
  static absl::Status EnqueueAll(Conn& tx, absl::string_view topic,
                                 const std::vector<kafka::Event>& events,
                                 OnDuplicate on_duplicate = OnDuplicate::kFail);
  // The same for a message: a CloudEvent from `service` keyed by `key`, with a stable `id` (a
  // retried transaction or another replica writing the same fact writes the same event) and
  // `time` as ce_time.
  static absl::Status Enqueue(Conn& tx, absl::string_view topic,
                              const google::protobuf::Message& message, std::string key,
                              std::string id, absl::Time time, absl::string_view service);
  // The CloudEvent that Enqueue writes for a message, for a transaction that gathers its events
  // and writes them with EnqueueAll.
  static kafka::Event EventOf(const google::protobuf::Message& message, std::string key,
                              std::string id, absl::Time time, absl::string_view service);
};

struct RelayOptions {
  absl::Duration poll_interval = absl::Milliseconds(200);
  int batch_size = 500;
  absl::Duration publish_timeout = absl::Seconds(10);
  absl::Duration retention = absl::Hours(24);  // sent rows are deleted after this
  // The Kafka behind the producer starts empty (the embedded cluster, ADR 0023): before any
  // unsent row the relay publishes again, in id order, every row sent within `retention`, so
  // consumers that had not read them before a crash do now. Consumers de-duplicate on ce_id;
  // the rows keep their sent_at (a replay does not extend their retention).
  bool republish_on_start = false;
  // Runs after a batch was published and before it is marked sent. Tests use it to stand
  // for a crash at the worst moment.
  std::function<absl::Status()> before_mark;
  prometheus::Registry* metrics = nullptr;
};

class OutboxRelay {
 public:
  OutboxRelay(Pool& pool, kafka::Producer& producer, RelayOptions options = {});
  ~OutboxRelay();

  void Start();
  // Publishes what is left, then stops. A round waits for every delivery report, so with Kafka
  // down this takes up to the producer's delivery timeout; what is not acknowledged stays
  // queued for the next start.
  void Stop();
  // Wakes the relay now instead of at the next poll (call after committing events).
  void Notify();

  // One round: if this process holds the schema's relay lock, publish up to one batch in id
  // order and mark the published prefix sent (after a replay batch, when one is due). Returns
  // how many events it published.
  absl::StatusOr<int> RunOnce();

 private:
  struct Metrics;
  struct Published {
    int ok_prefix = 0;         // rows acknowledged, from the first
    absl::Status first_error;  // why the next one was not
  };
  // Publishes `rows` (the outbox's columns) and waits for their reports.
  Published Publish(const Result& rows);
  // One batch of the start's replay (RelayOptions::republish_on_start).
  absl::StatusOr<int> ReplayOnce();
  void Loop();
  absl::Status EnsureLeader();

  Pool& pool_;
  kafka::Producer& producer_;
  RelayOptions options_;
  std::unique_ptr<Metrics> metrics_;
  // A session-level advisory lock on this dedicated connection makes one relay per schema
  // active at a time, which keeps each key's events in order across replicas.
  std::optional<Pool::Lease> leader_lease_;
  absl::Mutex mu_;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
  int rounds_ = 0;
  bool replay_done_ = false;
  int64_t replay_after_ = 0;  // the last id replayed
  int64_t replayed_ = 0;
};

}  // namespace switchboard::pg
