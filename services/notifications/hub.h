// This replica's subscribers (ADR 0017). Every replica hears every append on one Redis pub/sub
// channel and hands each to the subscriptions of its stream here; opening a subscription reads
// what it missed (or its reset) from the store in one atomic step, and live appends that arrive
// meanwhile wait and are de-duplicated by position, so nothing is skipped or sent twice.
//
// No thread per subscriber: delivery is a non-blocking Push into the subscriber's bounded
// queue; a subscriber that cannot take more is ended (SLOW_CONSUMER) without slowing the others.
// When the pub/sub connection comes back after a loss, every subscription re-reads from its
// last position (or gets a reset), so a lost live message is never lost to a client.
//
//   Hub hub(redis, clock, &metrics, {});
//   hub.Start();
//   ASSIGN_OR_RETURN(uint64_t id, hub.Subscribe(spec, sink));   // sink: the gRPC stream
//   hub.Unsubscribe(id);                                         // when the client left
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "libs/core/clock.h"
#include "libs/redis/redis.h"
#include "services/notifications/rules/streams.h"
#include "services/notifications/store/streams.h"

namespace prometheus {
class Counter;
class Gauge;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace switchboard::notifications {

// Where a subscription's messages go (the gRPC stream). Called from the hub's threads; must
// not block.
class Sink {
 public:
  virtual ~Sink() = default;
  // Queues one message; false when the client's queue is full.
  virtual bool Push(v1::SubscribeResponse message) = 0;
  // Ends the stream with `status` (never OK). Called at most once.
  virtual void End(absl::Status status) = 0;
};

class Hub {
 public:
  struct Options {
    store::Retention retention;
    // A resume with more missed notifications than this gets a reset instead.
    int max_replay = 1000;
    // Live appends held for a subscription while it is being opened; past this it is opened again.
    int max_pending = 4096;
    // How often expired tokens are looked for and lost subscriptions re-read.
    absl::Duration tick = absl::Milliseconds(200);
  };

  struct Spec {
    rules::StreamRef stream;
    // Empty: every kind.
    std::set<v1::NotificationKind> kinds;
    // SubscribeRequest.resume_after_id as given (empty: none).
    std::string resume_after_id;
    // The token's expiry: the stream ends then.
    absl::Time expires = absl::InfiniteFuture();
  };

  Hub(redis::Pool& redis, const core::Clock& clock, prometheus::Registry* metrics, Options options);
  ~Hub();  // Stop()

  // Listens on the pub/sub channel and starts the housekeeping thread.
  void Start();
  // Every subscription ends UNAVAILABLE SERVER_DRAINING; nothing more is delivered. Idempotent.
  void Stop();

  // Sends SubscriptionStarted, then the missed notifications or a reset, then live ones, all
  // through `sink`. UNAVAILABLE when the store cannot be read (nothing was sent) or the hub is
  // stopping.
  absl::StatusOr<uint64_t> Subscribe(Spec spec, std::shared_ptr<Sink> sink);
  void Unsubscribe(uint64_t id);

  // Subscriptions open now, and whether live appends are being heard (tests, probes).
  int64_t subscriptions() const;
  bool listening() const;

 private:
  struct Subscription;
  // Reads the store for `sub` (from its last position, or its spec when new) and sends what it
  // finds, then the live appends that waited. False when the store could not be read.
  absl::Status Open(const std::shared_ptr<Subscription>& sub, bool first);
  // One append for `sub`: sent, held while opening, skipped as already sent, or the cause of
  // a re-open (another epoch).
  void Deliver(Subscription& sub, const store::Published& published)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sub.mu);
  // Sends one stored notification at `position` unless the spec filters it out.
  void Send(Subscription& sub, const rules::Position& position, absl::string_view notification)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sub.mu);
  void Push(Subscription& sub, v1::SubscribeResponse message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sub.mu);
  void End(Subscription& sub, absl::Status status, absl::string_view why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sub.mu);

  void OnPublished(std::string message);
  void OnListening();
  void Housekeep();

  redis::Pool& redis_;
  const core::Clock& clock_;
  const Options options_;

  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::shared_ptr<Subscription>> by_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<Subscription>>> by_key_
      ABSL_GUARDED_BY(mu_);
  // To be read again from their position by the housekeeping thread.
  std::set<uint64_t> reopen_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::unique_ptr<redis::Subscriber> listener_;
  std::thread housekeeper_;
  absl::Notification stop_;

  prometheus::Gauge* open_gauge_ = nullptr;
  prometheus::Family<prometheus::Counter>* ended_ = nullptr;
  prometheus::Family<prometheus::Counter>* resets_ = nullptr;
  prometheus::Counter* delivered_ = nullptr;
};

}  // namespace switchboard::notifications
