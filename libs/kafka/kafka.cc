#include "libs/kafka/kafka.h"

#include <librdkafka/rdkafka.h>

#include <future>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "google/protobuf/message.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "libs/core/trace.h"
#include "libs/kafka/dead_letters.h"
#include "libs/kafka/dispatch.h"
#include "libs/kafka/internal.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace switchboard::kafka {

namespace internal {

absl::Status KafkaError(absl::StatusCode code, absl::string_view reason, absl::string_view what,
                        rd_kafka_resp_err_t err) {
  return core::Error(code, reason, absl::StrCat(what, ": ", rd_kafka_err2str(err)),
                     {{"kafka_error", rd_kafka_err2name(err)}});
}

int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace internal

namespace {

using internal::KafkaError;
using internal::MakeConf;
using internal::MessageOf;
using internal::Millis;

void LogFromLibrdkafka(const rd_kafka_t* rk, int level, const char* facility, const char* buf) {
  log::Level l = level <= 3   ? log::Level::kError
                 : level == 4 ? log::Level::kWarning
                 : level <= 6 ? log::Level::kInfo
                              : log::Level::kDebug;
  log::Write(l, buf,
             {{"component", "librdkafka"}, {"client", rd_kafka_name(rk)}, {"facility", facility}});
}

std::string FormatCeTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

std::string Header(rd_kafka_headers_t* headers, const char* name) {
  const void* value = nullptr;
  size_t size = 0;
  if (headers == nullptr ||
      rd_kafka_header_get_last(headers, name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return {};
  }
  return std::string(static_cast<const char*>(value), size);
}

// A handler status that retrying cannot fix.
bool IsPoison(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument ||
         s.code() == absl::StatusCode::kFailedPrecondition ||
         s.code() == absl::StatusCode::kNotFound || s.code() == absl::StatusCode::kOutOfRange;
}

using DeliveryCallback = Producer::DeliveryCallback;

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*);

}  // namespace

absl::StatusOr<rd_kafka_conf_t*> internal::MakeConf(
    const std::map<std::string, std::string>& settings) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [key, value] : settings) {
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return core::InvalidArgument("INVALID_KAFKA_CONFIG", errstr, {{"property", key}});
    }
  }
  rd_kafka_conf_set_log_cb(conf, &LogFromLibrdkafka);
  return conf;
}

std::vector<TopicSpec> SuiteTopics() {
  return {{kWhatsAppEvents},
          {kCallsState},
          {kRoutingOffers},
          {kBillingUsage},
          {kConversationsTimeline},
          {kWhatsAppOutbound},
          {.name = kRoutingAvailability, .configs = {{"cleanup.policy", "compact"}}},
          {kEligibilityState},
          {.name = kDeadLetters, .configs = {{"retention.ms", "1209600000"}}}};  // 14 days
}

Event MakeEvent(const google::protobuf::Message& message, std::string key,
                absl::string_view service, const core::Clock& clock) {
  Event e;
  e.id = core::NewId(clock);
  e.type = message.GetDescriptor()->full_name();
  e.source = absl::StrCat("//switchboard/", service);
  e.time = clock.Now();
  e.key = std::move(key);
  e.payload = message.SerializeAsString();
  // The work that made the event, for whoever handles it (CloudEvents distributed tracing).
  if (std::string trace = core::CurrentTraceparent(); !trace.empty()) {
    e.extensions["traceparent"] = std::move(trace);
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Producer

struct Producer::Metrics {
  prometheus::Family<prometheus::Counter>* messages = nullptr;
  absl::Mutex mu;
  absl::flat_hash_map<std::string, prometheus::Counter*> by_key ABSL_GUARDED_BY(mu);

  void Count(absl::string_view topic, bool delivered) {
    if (messages == nullptr) return;
    std::string k = absl::StrCat(topic, delivered ? "|delivered" : "|failed");
    absl::MutexLock lock(&mu);
    auto [it, inserted] = by_key.try_emplace(k, nullptr);
    if (inserted) {
      it->second = &messages->Add(
          {{"topic", std::string(topic)}, {"outcome", delivered ? "delivered" : "failed"}});
    }
    it->second->Increment();
  }
};

namespace {

struct PendingDelivery {
  DeliveryCallback done;
  Producer* producer;
  std::string topic;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(ProducerOptions options) {
  if (options.brokers.empty()) {
    return core::InvalidArgument("MISSING_KAFKA_BROKERS", "no kafka brokers given");
  }
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.brokers},
      {"client.id", options.client_id},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", absl::StrCat(absl::ToDoubleMilliseconds(options.linger))},
      {"message.timeout.ms", absl::StrCat(absl::ToInt64Milliseconds(options.delivery_timeout))},
      {"socket.connection.setup.timeout.ms", "3000"},
      {"reconnect.backoff.max.ms", "1000"},
      // Connect at creation instead of on first use: with sparse connections the first request
      // can wait seconds for librdkafka's rate-limited "connect any broker" (start-up, probes).
      {"enable.sparse.connections", "false"},
  };
  for (const auto& [k, v] : options.extra) {
    if (k == "enable.idempotence" || k == "acks") {
      return core::InvalidArgument("INVALID_KAFKA_CONFIG",
                                   "the producer's delivery guarantees cannot be overridden",
                                   {{"property", k}});
    }
    settings[k] = v;
  }
  auto conf = MakeConf(settings);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(*conf, &OnDelivery);
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, *conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return core::InvalidArgument("INVALID_KAFKA_CONFIG", errstr);
  }
  auto metrics = std::make_unique<Metrics>();
  if (options.metrics != nullptr) {
    metrics->messages = &prometheus::BuildCounter()
                             .Name("switchboard_kafka_producer_messages_total")
                             .Help("Messages handed to Kafka, by topic and delivery outcome.")
                             .Register(*options.metrics);
  }
  return std::unique_ptr<Producer>(new Producer(rk, std::move(metrics)));
}

Producer::Producer(rd_kafka_t* rk, std::unique_ptr<Metrics> metrics)
    : rk_(rk), metrics_(std::move(metrics)), poller_([this] { PollLoop(); }) {}

Producer::~Producer() {
  absl::Status flushed = Flush(absl::Seconds(5));
  if (!flushed.ok()) {
    log::Error("kafka producer closed with undelivered messages",
               {{"queued", rd_kafka_outq_len(rk_)}, {"error", flushed.ToString()}});
  }
  stop_ = true;
  poller_.join();
  // Fail what is left so every callback runs exactly once.
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_, 0);
  rd_kafka_destroy(rk_);
}

void Producer::PollLoop() {
  while (!stop_.load()) rd_kafka_poll(rk_, 50);
}

namespace {

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* pending = static_cast<PendingDelivery*>(m->_private);
  if (pending == nullptr) return;
  absl::Status status = absl::OkStatus();
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    status = KafkaError(absl::StatusCode::kUnavailable, "KAFKA_DELIVERY_FAILED",
                        "kafka delivery failed", m->err);
  }
  pending->producer->CountDelivery(pending->topic, status.ok());
  if (pending->done) pending->done(status);
  delete pending;
}

}  // namespace

void Producer::CountDelivery(absl::string_view topic, bool delivered) {
  metrics_->Count(topic, delivered);
}

void Producer::Publish(absl::string_view topic, const Event& event, DeliveryCallback done) {
  auto* pending = new PendingDelivery{std::move(done), this, std::string(topic)};
  std::string ce_time = FormatCeTime(event.time);
  // Owned by librdkafka once a produce succeeds; ours (and reused) while it fails.
  rd_kafka_headers_t* headers = rd_kafka_headers_new(8 + event.extensions.size());
  auto add = [headers](absl::string_view name, absl::string_view value) {
    rd_kafka_header_add(headers, name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  };
  add("ce_specversion", "1.0");
  add("ce_id", event.id);
  add("ce_source", event.source);
  add("ce_type", event.type);
  add("ce_time", ce_time);
  add("content-type", event.content_type);
  for (const auto& [name, value] : event.extensions) add(absl::StrCat("ce_", name), value);
  absl::Time give_up = absl::Now() + absl::Seconds(1);
  while (true) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(pending->topic.c_str()),
        RD_KAFKA_V_KEY(event.key.data(), event.key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(event.payload.data()), event.payload.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(headers),
        RD_KAFKA_V_OPAQUE(pending), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL && absl::Now() < give_up) {
      rd_kafka_poll(rk_, 10);  // let delivery reports drain the queue
      continue;
    }
    rd_kafka_headers_destroy(headers);
    absl::Status status = KafkaError(absl::StatusCode::kUnavailable, "KAFKA_PRODUCE_FAILED",
                                     "kafka produce failed", err);
    metrics_->Count(pending->topic, false);
    if (pending->done) pending->done(status);
    delete pending;
    return;
  }
}

absl::Status Producer::PublishAndWait(absl::string_view topic, const Event& event,
                                      absl::Duration timeout) {
  auto promise = std::make_shared<std::promise<absl::Status>>();
  std::future<absl::Status> result = promise->get_future();
  Publish(topic, event, [promise](absl::Status s) { promise->set_value(std::move(s)); });
  if (result.wait_for(absl::ToChronoMilliseconds(timeout)) != std::future_status::ready) {
    return core::Error(absl::StatusCode::kDeadlineExceeded, "KAFKA_DELIVERY_TIMEOUT",
                       "kafka did not acknowledge the event in time",
                       {{"topic", std::string(topic)}});
  }
  return result.get();
}

absl::Status Producer::Flush(absl::Duration timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_, Millis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(absl::StatusCode::kDeadlineExceeded, "KAFKA_FLUSH_TIMEOUT", "kafka flush",
                      err);
  }
  return absl::OkStatus();
}

absl::Status Producer::Probe(absl::Duration timeout) {
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, nullptr, &md, Millis(timeout));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(absl::StatusCode::kUnavailable, "KAFKA_UNAVAILABLE", "kafka metadata", err);
  }
  int brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  if (brokers == 0) return core::Unavailable("KAFKA_UNAVAILABLE", "kafka has no brokers");
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Consumer

struct Consumer::Metrics {
  prometheus::Family<prometheus::Counter>* messages = nullptr;
  prometheus::Family<prometheus::Gauge>* lag = nullptr;
  std::string group;
  absl::flat_hash_map<std::string, prometheus::Counter*> counters;  // consumer thread only
  absl::flat_hash_map<std::string, prometheus::Gauge*> gauges;      // consumer thread only

  void Count(const std::string& topic, const char* outcome, int64_t n = 1) {
    if (messages == nullptr) return;
    auto [it, inserted] = counters.try_emplace(absl::StrCat(topic, "|", outcome), nullptr);
    if (inserted) {
      it->second = &messages->Add({{"group", group}, {"topic", topic}, {"outcome", outcome}});
    }
    it->second->Increment(static_cast<double>(n));
  }
  void Lag(const std::string& topic, int32_t partition, int64_t lag) {
    if (this->lag == nullptr) return;
    auto [it, inserted] = gauges.try_emplace(absl::StrCat(topic, "|", partition), nullptr);
    if (inserted) {
      it->second = &this->lag->Add(
          {{"group", group}, {"topic", topic}, {"partition", absl::StrCat(partition)}});
    }
    it->second->Set(static_cast<double>(lag));
  }
  // Drops the lag series of partitions this member no longer has (`keep`: "topic|partition"),
  // so a partition that moved to another member is not reported twice.
  void KeepOnly(const absl::flat_hash_set<std::string>& keep) {
    if (this->lag == nullptr) return;
    for (auto it = gauges.begin(); it != gauges.end();) {
      if (keep.contains(it->first)) {
        ++it;
        continue;
      }
      this->lag->Remove(it->second);
      gauges.erase(it++);
    }
  }
};

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerOptions options, Handler handler,
                                                           BatchHandler batch) {
  if (options.brokers.empty()) {
    return core::InvalidArgument("MISSING_KAFKA_BROKERS", "no kafka brokers given");
  }
  if (options.group_id.empty() || options.topics.empty()) {
    return core::InvalidArgument("INVALID_CONSUMER", "a consumer needs a group and topics");
  }
  std::map<std::string, std::string> settings = {
      {"bootstrap.servers", options.brokers},
      {"group.id", options.group_id},
      {"client.id", options.client_id},
      {"enable.auto.commit", "true"},
      // Offsets are stored by us, only after the handler succeeded; librdkafka commits what
      // is stored, periodically and on close.
      {"enable.auto.offset.store", "false"},
      {"auto.commit.interval.ms", "1000"},
      {"auto.offset.reset", "earliest"},
      {"fetch.wait.max.ms", absl::StrCat(absl::ToInt64Milliseconds(options.max_wait))},
      // A dead member's partitions move to the others within seconds, not the 45 s default.
      {"session.timeout.ms", "10000"},
      {"heartbeat.interval.ms", "2000"},
      {"socket.connection.setup.timeout.ms", "3000"},
      {"reconnect.backoff.max.ms", "1000"},
  };
  for (const auto& [k, v] : options.extra) settings[k] = v;
  auto conf = MakeConf(settings);
  if (!conf.ok()) return conf.status();
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, errstr, sizeof errstr);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return core::InvalidArgument("INVALID_KAFKA_CONFIG", errstr);
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(options.topics.size()));
  for (const auto& t : options.topics) {
    rd_kafka_topic_partition_list_add(topics, t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_destroy(rk);
    return KafkaError(absl::StatusCode::kInvalidArgument, "KAFKA_SUBSCRIBE_FAILED", "subscribe",
                      err);
  }
  auto metrics = std::make_unique<Metrics>();
  metrics->group = options.group_id;
  if (options.metrics != nullptr) {
    metrics->messages = &prometheus::BuildCounter()
                             .Name("switchboard_kafka_consumer_messages_total")
                             .Help(
                                 "Consumed messages by group, topic and handler outcome "
                                 "(ok, retry, poison, skipped; lost: dropped by the cluster "
                                 "before this consumer read them).")
                             .Register(*options.metrics);
    metrics->lag = &prometheus::BuildGauge()
                        .Name("switchboard_kafka_consumer_lag_messages")
                        .Help("Messages behind the partition's high watermark.")
                        .Register(*options.metrics);
  }
  return std::unique_ptr<Consumer>(new Consumer(rk, std::move(options), std::move(handler),
                                                std::move(batch), std::move(metrics)));
}

Consumer::Consumer(rd_kafka_t* rk, ConsumerOptions options, Handler handler, BatchHandler batch,
                   std::unique_ptr<Metrics> metrics)
    : rk_(rk),
      options_(std::move(options)),
      handler_(std::move(handler)),
      batch_(std::move(batch)),
      metrics_(std::move(metrics)) {}

Consumer::~Consumer() { Stop(); }

void Consumer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Consumer::Stop() {
  if (closed_) return;
  closed_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  rd_kafka_consumer_close(rk_);  // commits the stored offsets, leaves the group
  rd_kafka_destroy(rk_);
}

bool Consumer::WaitBackoff(absl::Duration d) {
  absl::Time until = absl::Now() + d;
  while (!stop_.load() && absl::Now() < until) {
    MeasureLag();  // a handler retrying is exactly when the lag must keep moving
    absl::SleepFor(absl::Milliseconds(10));
  }
  return !stop_.load();
}

void Consumer::MeasureLag() {
  const absl::Time now = absl::Now();
  if (now < next_lag_) return;
  next_lag_ = now + kLagInterval;
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(rk_, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  // Where each partition stands: the next offset to handle is the one stored after the last
  // success, else where fetching stands (nothing handled yet, or a retry sought back to it).
  rd_kafka_position(rk_, assigned);
  absl::flat_hash_set<std::string> mine;
  absl::flat_hash_set<std::string> keep;
  for (int i = 0; i < assigned->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assigned->elems[i];
    const std::string key = absl::StrCat(tp.topic, "|", tp.partition);
    mine.insert(key);
    int64_t next = tp.offset;
    if (auto it = stored_.find(key); it != stored_.end()) next = it->second;
    int64_t low = 0, high = 0;
    // The high watermark as the last fetch response reported it (no request).
    if (rd_kafka_get_watermark_offsets(rk_, tp.topic, tp.partition, &low, &high) !=
        RD_KAFKA_RESP_ERR_NO_ERROR) {
      continue;
    }
    if (next < 0) next = low;  // no position yet: everything retained is ahead
    keep.insert(key);
    metrics_->Lag(tp.topic, tp.partition, std::max<int64_t>(0, high - next));
  }
  rd_kafka_topic_partition_list_destroy(assigned);
  metrics_->KeepOnly(keep);
  // A partition that went elsewhere may come back later from another member's position.
  absl::erase_if(stored_, [&](const auto& entry) { return !mine.contains(entry.first); });
  absl::erase_if(fetched_, [&](const auto& entry) { return !mine.contains(entry.first); });
}

Message internal::MessageOf(rd_kafka_message_t* m) {
  Message msg;
  msg.topic = rd_kafka_topic_name(m->rkt);
  msg.partition = m->partition;
  msg.offset = m->offset;
  if (m->key) msg.event.key.assign(static_cast<const char*>(m->key), m->key_len);
  if (m->payload) msg.event.payload.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_headers_t* headers = nullptr;
  rd_kafka_message_headers(m, &headers);
  // Extension attributes: every other ce_* header (CloudEvents Kafka binding §3.2.3).
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       headers != nullptr &&
       rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    absl::string_view key(name);
    if (!absl::ConsumePrefix(&key, "ce_") || key == "id" || key == "type" || key == "source" ||
        key == "time" || key == "specversion") {
      continue;
    }
    msg.event.extensions[std::string(key)] =
        value == nullptr ? std::string() : std::string(static_cast<const char*>(value), size);
  }
  msg.event.id = Header(headers, "ce_id");
  msg.event.type = Header(headers, "ce_type");
  msg.event.source = Header(headers, "ce_source");
  msg.event.content_type = Header(headers, "content-type");
  std::string ce_time = Header(headers, "ce_time");
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, ce_time, &msg.event.time, &err)) {
    msg.event.time = absl::InfinitePast();
  }
  return msg;
}

std::optional<Message> Consumer::Next(int timeout_ms) {
  rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, timeout_ms);
  if (m == nullptr) return std::nullopt;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      log::Warning("kafka consumer error",
                   {{"group", options_.group_id}, {"error", rd_kafka_message_errstr(m)}});
    }
    rd_kafka_message_destroy(m);
    return std::nullopt;
  }
  Message msg = MessageOf(m);
  rd_kafka_message_destroy(m);
  NoticeLoss(msg);
  return msg;
}

void Consumer::NoticeLoss(const Message& msg) {
  const std::string key = absl::StrCat(msg.topic, "|", msg.partition);
  auto [it, first] = fetched_.try_emplace(key, msg.offset + 1);
  const int64_t expected = it->second;
  it->second = msg.offset + 1;
  if (first || msg.offset <= expected) return;  // in order, or again after a seek back
  // Skipped forward. Lost only if the records skipped are gone from the partition: the
  // consumer's position fell below the log's start (a cluster keeping less than this consumer
  // is behind, such as the embedded one's 5 MB per partition) and it reset to the earliest.
  int64_t low = 0, high = 0;
  if (rd_kafka_get_watermark_offsets(rk_, msg.topic.c_str(), msg.partition, &low, &high) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      low <= expected) {
    return;
  }
  const int64_t lost = std::min(low, msg.offset) - expected;
  lost_ += lost;
  metrics_->Count(msg.topic, "lost", lost);
  log::Error("kafka records dropped by the cluster before this consumer read them",
             {{"group", options_.group_id},
              {"topic", msg.topic},
              {"partition", static_cast<int64_t>(msg.partition)},
              {"first_offset", expected},
              {"records", lost}});
}

void Consumer::Done(const Message& msg, const char* outcome) {
  Count(msg, outcome);
  Store(msg);
}

void Consumer::Count(const Message& msg, const char* outcome) {
  metrics_->Count(msg.topic, outcome);
  if (absl::string_view(outcome) == "ok") ++handled_;
  if (absl::string_view(outcome) == "skipped") ++skipped_;
}

void Consumer::Store(const Message& msg) {
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, msg.topic.c_str(), msg.partition)->offset =
      msg.offset + 1;
  rd_kafka_offsets_store(rk_, list);
  rd_kafka_topic_partition_list_destroy(list);
  stored_[absl::StrCat(msg.topic, "|", msg.partition)] = msg.offset + 1;
}

bool Consumer::HandleOne(const Message& msg, absl::flat_hash_map<std::string, int>& failures,
                         absl::Duration* backoff) {
  std::string partition_key = absl::StrCat(msg.topic, "/", msg.partition);
  // Handled in the trace of the work that published it, when it says (ce_traceparent).
  std::optional<core::TraceScope> trace;
  if (auto it = msg.event.extensions.find("traceparent"); it != msg.event.extensions.end()) {
    trace.emplace(core::ContinueTrace(it->second));
  }
  absl::Status status = handler_(msg);
  if (status.code() == absl::StatusCode::kAlreadyExists) status = absl::OkStatus();
  // A type this consumer does not handle (Dispatch): normal on a topic of several types.
  const bool skipped = !status.ok() && core::ReasonOf(status) == kEventNotHandled;
  if (skipped) status = absl::OkStatus();
  bool poison = !status.ok() && IsPoison(status);
  if (poison && options_.dead_letters != nullptr) {
    absl::Status copied = options_.dead_letters->PublishAndWait(
        kDeadLetters, DeadLetterOf(msg, options_.group_id, status, absl::Now()), absl::Seconds(10));
    if (!copied.ok()) {
      // Not copied, not skipped: retried below until the dead-letter topic takes it.
      log::Warning("kafka poison message not copied to the dead letters; will retry",
                   {{"group", options_.group_id}, {"error", copied.ToString()}});
      poison = false;
      status = copied;
    }
  }
  if (status.ok() || poison) {
    if (poison) {
      log::Error("kafka message skipped: the handler refused it",
                 {{"group", options_.group_id},
                  {"topic", msg.topic},
                  {"partition", msg.partition},
                  {"offset", msg.offset},
                  {"ce_id", msg.event.id},
                  {"dead_letter", options_.dead_letters != nullptr},
                  {"error", status.ToString()}});
    }
    failures.erase(partition_key);
    Done(msg, poison ? "poison" : skipped ? "skipped" : "ok");
    return true;
  }
  // Retryable: go back to this message and try again after a back-off. Polling goes on, so
  // the group membership stays alive however long the dependency is down.
  metrics_->Count(msg.topic, "retry");
  int n = ++failures[partition_key];
  *backoff = std::max(
      *backoff, std::min(options_.max_backoff, options_.min_backoff * (1 << std::min(n - 1, 16))));
  log::Warning("kafka handler failed, will retry", {{"group", options_.group_id},
                                                    {"topic", msg.topic},
                                                    {"partition", msg.partition},
                                                    {"offset", msg.offset},
                                                    {"attempt", n},
                                                    {"error", status.ToString()}});
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(list, msg.topic.c_str(), msg.partition)->offset = msg.offset;
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(rk_, list, 2000)) {
    log::Error("kafka seek failed", {{"error", rd_kafka_error_string(e)}});
    rd_kafka_error_destroy(e);
  }
  rd_kafka_topic_partition_list_destroy(list);
  return false;
}

void Consumer::Loop() {
  // Consecutive failures per partition, for the back-off.
  absl::flat_hash_map<std::string, int> failures;
  const size_t max_batch = batch_ ? static_cast<size_t>(std::max(1, options_.max_batch)) : 1;
  std::vector<Message> batch;
  while (!stop_.load()) {
    MeasureLag();
    std::optional<Message> first = Next(100);
    if (!first.has_value()) continue;
    batch.clear();
    batch.push_back(*std::move(first));
    // What is already fetched joins the batch; nothing is waited for.
    while (batch.size() < max_batch) {
      std::optional<Message> more = Next(0);
      if (!more.has_value()) break;
      batch.push_back(*std::move(more));
    }
    if (batch.size() > 1) {
      absl::Status status = batch_(batch);
      if (status.ok()) {
        // Each partition's offset stored once, after its last record in the batch.
        absl::flat_hash_map<std::string, const Message*> last;
        for (const Message& msg : batch) {
          Count(msg, "ok");
          last[absl::StrCat(msg.topic, "/", msg.partition)] = &msg;
        }
        for (const auto& [partition_key, msg] : last) {
          failures.erase(partition_key);
          Store(*msg);
        }
        continue;
      }
      // A batch handed back on purpose (a record the batch handler leaves to the one-record
      // handler) is routine; any other failure is worth a look.
      const bool refused = core::ReasonOf(status) == kBatchRefused;
      log::Write(refused ? log::Level::kInfo : log::Level::kWarning,
                 "kafka batch failed; handling its records one at a time",
                 {{"group", options_.group_id},
                  {"records", static_cast<int64_t>(batch.size())},
                  {"error", status.ToString()}});
    }
    // One at a time. After a retryable failure the partition was sought back to that record:
    // its later records in this batch come again, and are left for then.
    absl::flat_hash_set<std::string> sought;
    absl::Duration backoff;
    for (const Message& msg : batch) {
      std::string partition_key = absl::StrCat(msg.topic, "/", msg.partition);
      if (sought.contains(partition_key)) continue;
      if (!HandleOne(msg, failures, &backoff)) sought.insert(partition_key);
    }
    if (!sought.empty()) WaitBackoff(backoff);
  }
}

}  // namespace switchboard::kafka
