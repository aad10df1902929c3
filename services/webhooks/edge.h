// The HTTP edge Meta posts webhooks to. For each POST: verify X-Hub-Signature-256 over the raw
// body (before parsing), parse every change, map each item to its tenant through the number
// registry, de-duplicate it in Redis, publish it to whatsapp.events.v1 and answer 200 only
// once Kafka acknowledged every new item. Anything transient answers 503 so Meta retries
// (ADR 0010).
//
// De-duplication: an item's id is claimed in Redis with a lease (SET NX PX) before it is
// published, and marked done for 7 days (Meta's retry horizon) after Kafka acknowledged it
// (by a background thread, in batches, just after the 200).
// A failed publish releases the claim; a publish that outlives the request finishes in the
// background and marks or releases the claim itself, so a retry arriving meanwhile gets 503
// rather than a second copy. With Redis down the edge publishes without de-duplication
// (consumers de-duplicate on ce_id too) rather than refuse Meta's traffic.
//
// With the embedded Kafka (EdgeOptions::journal) a POST's items are instead written to the
// webhooks schema's outbox in one transaction, and 200 waits for that commit: an in-process
// Kafka dies with the process, PostgreSQL does not. The schema's relay publishes them (ADR 0023).
#pragma once

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "libs/http/server.h"
#include "libs/kafka/kafka.h"
#include "libs/redis/redis.h"
#include "libs/whatsapp/credentials.h"
#include "services/webhooks/rules/parse.h"
#include "services/webhooks/store/registry.h"

namespace prometheus {
class Registry;
}

namespace switchboard::webhooks {

inline constexpr char kWebhookPath[] = "/webhooks/whatsapp";

struct EdgeOptions {
  // How long a POST waits for Kafka's acknowledgement before answering 503.
  absl::Duration publish_timeout = absl::Seconds(2);
  // A claim outlives the longest possible delivery attempt (the producer's delivery timeout).
  absl::Duration claim_lease = absl::Seconds(60);
  // Meta retries for up to 7 days.
  absl::Duration dedup_ttl = absl::Hours(24 * 7);
  // An item whose event is larger than this cannot be a Kafka record (message.max.bytes is
  // 1 MB): it is kept as a dead letter instead.
  size_t max_event_bytes = 900 * 1024;
  // Journal to PostgreSQL (the webhooks schema's outbox) instead of waiting for Kafka: set
  // when Kafka is embedded, so what was answered 200 survives kill -9.
  bool journal = false;
};

class Edge {
 public:
  Edge(const whatsapp::Credentials& credentials, Registry& registry, redis::Pool* redis,
       kafka::Producer& producer, const core::Clock& clock, prometheus::Registry& metrics,
       EdgeOptions options = {});
  ~Edge();

  // GET: the subscription handshake; POST: a webhook. Paths: kWebhookPath for the default
  // app, kWebhookPath + "/<app id>" for the others.
  http::Response Handle(const http::Request& request);

  // For the HTTP server's refusals (413, truncated bodies) to reach the same counters.
  void CountRefusal(int status);

 private:
  struct Metrics;
  struct Batch;
  struct Target;

  http::Response Verify(const whatsapp::MetaApp& app, const http::Request& request);
  http::Response Receive(const whatsapp::MetaApp& app, const http::Request& request);
  // Claims, publishes and waits; the HTTP status to answer.
  int Publish(std::vector<Target>& targets, const std::string& correlation_id);
  // Publishes `events` (one per target in `out`) and waits up to the publish timeout; per item
  // 1 delivered, 0 failed, -1 still pending (finished by its delivery callback).
  std::vector<int> Deliver(const std::vector<Target*>& out, const std::vector<kafka::Event>& events,
                           const std::string& token);
  // Writes `events` to the outbox in one transaction: all 1 or all 0.
  std::vector<int> Journal(const std::vector<kafka::Event>& events);
  void Finish(const std::string& seen_key, const std::string& token, bool delivered);
  // Writes the "done" marks of delivered items in batches, off the request path.
  void MarkLoop();

  const whatsapp::Credentials& credentials_;
  Registry& registry_;
  redis::Pool* redis_;
  kafka::Producer& producer_;
  const core::Clock& clock_;
  EdgeOptions options_;
  std::unique_ptr<Metrics> metrics_;

  absl::Mutex mark_mu_;
  std::vector<std::string> to_mark_ ABSL_GUARDED_BY(mark_mu_);
  bool stopping_ ABSL_GUARDED_BY(mark_mu_) = false;
  std::thread marker_;
};

}  // namespace switchboard::webhooks
