// Kafka for services: an idempotent producer of CloudEvents (binary mode) with delivery
// reports, a consumer-group consumer that stores an offset only after its handler succeeded,
// topic creation, and the suite's topic list. See embedded.h for the in-process cluster.
//
//   ASSIGN_OR_RETURN(auto producer, kafka::Producer::Create({.brokers = bootstrap}));
//   RETURN_IF_ERROR(producer->PublishAndWait(kafka::kCallsState,
//                                            kafka::MakeEvent(changed, call_id, "calls"),
//                                            absl::Seconds(5)));
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"

namespace google::protobuf {
class Message;
}
namespace prometheus {
class Registry;
}
typedef struct rd_kafka_s rd_kafka_t;

namespace switchboard::kafka {

// The suite's topics (ADR 0003). Keys: entity id, so one entity's events stay ordered.
inline constexpr char kWhatsAppEvents[] = "whatsapp.events.v1";
inline constexpr char kCallsState[] = "calls.state.v1";
inline constexpr char kRoutingOffers[] = "routing.offers.v1";
inline constexpr char kBillingUsage[] = "billing.usage.v1";
inline constexpr char kConversationsTimeline[] = "conversations.timeline.v1";
inline constexpr char kWhatsAppOutbound[] = "whatsapp.outbound.v1";
inline constexpr char kRoutingAvailability[] = "routing.availability.v1";  // compacted
inline constexpr char kEligibilityState[] = "eligibility.state.v1";
// Records a consumer refused as poison, with where they came from (dead_letters.h).
inline constexpr char kDeadLetters[] = "switchboard.deadletter.v1";

struct TopicSpec {
  std::string name;
  int partitions = 6;
  int replication_factor = 1;
  std::map<std::string, std::string> configs;  // e.g. cleanup.policy=compact
};
std::vector<TopicSpec> SuiteTopics();

// A CloudEvent in Kafka binary mode: attributes travel as ce_* headers, the payload is the
// protobuf message as-is.
struct Event {
  std::string id;      // ce_id: unique per event; consumers de-duplicate on (source, id)
  std::string type;    // ce_type: the payload's full protobuf name, e.g. switchboard.calls.v1.X
  std::string source;  // ce_source: "//switchboard/<service>"
  absl::Time time;     // ce_time
  std::string key;     // Kafka key: the entity id
  std::string payload;
  std::string content_type = "application/protobuf";
  // Extension attributes (ce_<name> headers), e.g. "traceparent" (the CloudEvents distributed
  // tracing extension) or a dead letter's "deadlettertopic". Names are [a-z0-9]+.
  std::map<std::string, std::string> extensions;
};

// Builds an event for `message` with a fresh time-ordered id, and the thread's current trace
// (core::CurrentTraceparent) as its "traceparent" extension.
Event MakeEvent(const google::protobuf::Message& message, std::string key,
                absl::string_view service, const core::Clock& clock = core::Clock::Real());

struct ProducerOptions {
  std::string brokers;
  std::string client_id = "switchboard";
  // How long librdkafka keeps trying to deliver one message before reporting failure.
  absl::Duration delivery_timeout = absl::Seconds(30);
  absl::Duration linger = absl::Milliseconds(2);
  std::map<std::string, std::string> extra;  // any other librdkafka property
  prometheus::Registry* metrics = nullptr;
};

class Producer {
 public:
  using DeliveryCallback = std::function<void(absl::Status)>;

  static absl::StatusOr<std::unique_ptr<Producer>> Create(ProducerOptions options);
  ~Producer();  // flushes for up to 5 s, then drops what is left (logged)

  // Queues the event; `done` runs on the producer's poll thread once the broker acknowledged
  // it with acks=all, or delivery failed.
  void Publish(absl::string_view topic, const Event& event, DeliveryCallback done);
  // Publishes and waits for the delivery report, at most `timeout`.
  absl::Status PublishAndWait(absl::string_view topic, const Event& event, absl::Duration timeout);
  // Waits until everything queued is delivered or failed.
  absl::Status Flush(absl::Duration timeout);
  // Asks the cluster for metadata: OK when at least one broker answers within `timeout`.
  absl::Status Probe(absl::Duration timeout);

  // Called by the delivery-report callback; not for users.
  void CountDelivery(absl::string_view topic, bool delivered);

 private:
  struct Metrics;
  Producer(rd_kafka_t* rk, std::unique_ptr<Metrics> metrics);
  void PollLoop();

  rd_kafka_t* rk_;
  std::unique_ptr<Metrics> metrics_;
  std::atomic<bool> stop_{false};
  std::thread poller_;
};

// A consumed record with its CloudEvents attributes parsed from the headers.
struct Message {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  Event event;  // key, payload and the ce_* attributes
};

// Handlers return OK when the message is fully processed (and idempotently so: it may come
// again). ALREADY_EXISTS means "already applied" and counts as done. A record of a type the
// handler does not handle (reason EVENT_NOT_HANDLED, dispatch.h) is skipped and counted.
// INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND and OUT_OF_RANGE mark the message as poison:
// logged, counted, copied to the dead-letter topic (ConsumerOptions::dead_letters) and skipped
// so one bad record cannot stall a partition. Anything else
// (UNAVAILABLE, ABORTED, DEADLINE_EXCEEDED, INTERNAL, ...) makes the consumer seek back and retry
// with back-off.
using Handler = std::function<absl::Status(const Message&)>;

// Several records at once, in the order each partition gave them (a batch may span partitions).
// OK: every record is handled (as Handler's OK, ALREADY_EXISTS or EVENT_NOT_HANDLED). Any error:
// nothing of the batch may be taken as applied, and the consumer hands its records to the
// Handler one at a time, so a poison record or a retry concerns that record alone. A batch
// handler is an optimisation of Handler (one transaction for many records), never a second
// meaning.
using BatchHandler = std::function<absl::Status(const std::vector<Message>&)>;

struct ConsumerOptions {
  std::string brokers;
  std::string group_id;
  std::vector<std::string> topics;
  std::string client_id = "switchboard";
  absl::Duration min_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(5);
  // How long a fetch may wait for new records (fetch.wait.max.ms): the latency a quiet topic
  // adds to each record, against one fetch request per this interval while idle.
  absl::Duration max_wait = absl::Milliseconds(100);
  // With a BatchHandler: at most this many records per batch. A batch is what is already
  // fetched when the first record arrives, so a quiet topic still gets one record at a time.
  int max_batch = 1;
  std::map<std::string, std::string> extra;
  prometheus::Registry* metrics = nullptr;
  // Where a poison record is copied (kDeadLetters, dead_letters.h) before the consumer moves
  // past it, with where it came from and why; until that copy is acknowledged the record is
  // retried like any failure, so none is dropped unseen. Null: poison is logged and skipped.
  Producer* dead_letters = nullptr;
};

class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(ConsumerOptions options, Handler handler,
                                                          BatchHandler batch = nullptr);
  ~Consumer();  // Stop()

  void Start();
  // Stops polling, commits the stored offsets and leaves the group.
  void Stop();

  // Messages handled successfully since start (for tests and the demo).
  int64_t handled() const { return handled_.load(); }
  // Messages of types the handler does not handle, skipped since start.
  int64_t skipped() const { return skipped_.load(); }
  // Records the cluster dropped (retention) before this consumer read them, since start:
  // counted as outcome "lost" and logged as an error.
  int64_t lost() const { return lost_.load(); }

 private:
  struct Metrics;
  Consumer(rd_kafka_t* rk, ConsumerOptions options, Handler handler, BatchHandler batch,
           std::unique_ptr<Metrics> metrics);
  void Loop();
  // The next record within `timeout`, or nullopt (none, or an error, logged).
  std::optional<Message> Next(int timeout_ms);
  // Counts and logs the records skipped when fetching jumped past the partition's start.
  void NoticeLoss(const Message& message);
  // Marks `message` handled: counted (Count), its offset stored and the lag measured (Store).
  void Done(const Message& message, const char* outcome);
  void Count(const Message& message, const char* outcome);
  void Store(const Message& message);
  // Handles one record; false when it must be retried (the partition was sought back to it).
  bool HandleOne(const Message& message, absl::flat_hash_map<std::string, int>& failures,
                 absl::Duration* backoff);
  bool WaitBackoff(absl::Duration d);
  // switchboard_kafka_consumer_lag_messages of every assigned partition: the high watermark
  // less the next offset to handle, at most every kLagInterval, also while a handler retries
  // (so a stuck consumer's lag grows); partitions gone to another member are dropped.
  void MeasureLag();
  static constexpr absl::Duration kLagInterval = absl::Seconds(1);

  rd_kafka_t* rk_;
  ConsumerOptions options_;
  Handler handler_;
  BatchHandler batch_;
  std::unique_ptr<Metrics> metrics_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> handled_{0};
  std::atomic<int64_t> skipped_{0};
  std::atomic<int64_t> lost_{0};
  std::thread thread_;
  bool closed_ = false;
  // Consumer thread only: the next offset to handle per "topic|partition" (stored after the
  // last success), and when the lag is measured next.
  absl::flat_hash_map<std::string, int64_t> stored_;
  // Consumer thread only: the offset after the last record fetched, per "topic|partition".
  absl::flat_hash_map<std::string, int64_t> fetched_;
  absl::Time next_lag_ = absl::InfinitePast();
};

// Creates topics that do not exist yet (existing ones are left alone). `extra`: librdkafka
// properties (TLS, SASL) as for the clients.
absl::Status CreateTopics(const std::string& brokers, const std::vector<TopicSpec>& topics,
                          absl::Duration timeout = absl::Seconds(10),
                          const std::map<std::string, std::string>& extra = {});

// The topics of `topics` the cluster does not have, in their order; UNAVAILABLE
// KAFKA_UNAVAILABLE when the cluster's metadata cannot be read within `timeout`.
absl::StatusOr<std::vector<std::string>> MissingTopics(
    const std::string& brokers, const std::vector<TopicSpec>& topics, absl::Duration timeout,
    const std::map<std::string, std::string>& extra = {});

}  // namespace switchboard::kafka
