#include "libs/kafka/kafka.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/wrappers.pb.h"
#include "libs/core/clock.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/kafka/dead_letters.h"
#include "libs/kafka/dispatch.h"
#include "libs/kafka/embedded.h"
#include "prometheus/registry.h"
#include "tests/support/servers.h"

namespace kafka = switchboard::kafka;
namespace testing = switchboard::testing;
using switchboard::core::FakeClock;

namespace {

kafka::Event TextEvent(const std::string& text, const std::string& key) {
  google::protobuf::StringValue v;
  v.set_value(text);
  return kafka::MakeEvent(v, key, "test");
}

std::string Text(const kafka::Message& m) {
  google::protobuf::StringValue v;
  v.ParseFromString(m.event.payload);
  return v.value();
}

// Collects what a handler saw, thread-safely.
struct Seen {
  absl::Mutex mu;
  std::vector<std::string> texts;
  void Add(const std::string& t) {
    absl::MutexLock l(&mu);
    texts.push_back(t);
  }
  std::vector<std::string> Get() {
    absl::MutexLock l(&mu);
    return texts;
  }
  size_t Size() {
    absl::MutexLock l(&mu);
    return texts.size();
  }
};

struct Fixture {
  Fixture() {
    cluster = std::move(kafka::EmbeddedCluster::Start().value());
    topic = absl::StrCat("test.", switchboard::core::NewId());
    REQUIRE(cluster->CreateTopics({{topic, 1}}).ok());
    producer = std::move(kafka::Producer::Create({.brokers = cluster->bootstrap()}).value());
  }
  std::unique_ptr<kafka::Consumer> Consume(const std::string& group, kafka::Handler h) {
    auto c = kafka::Consumer::Create(
        {.brokers = cluster->bootstrap(), .group_id = group, .topics = {topic}}, std::move(h));
    REQUIRE(c.ok());
    (*c)->Start();
    return std::move(*c);
  }
  // A consumer that gives each message's text to `answer` (OK when none) and keeps in `seen` the
  // texts it answered OK.
  std::unique_ptr<kafka::Consumer> Collect(
      const std::string& group, Seen& seen,
      std::function<absl::Status(const std::string&)> answer = nullptr) {
    return Consume(group, [&seen, answer](const kafka::Message& m) {
      const std::string t = Text(m);
      absl::Status s = answer ? answer(t) : absl::OkStatus();
      if (s.ok()) seen.Add(t);
      return s;
    });
  }
  // A consumer that refuses "m1" as poison (counting the attempts in `attempts`), copying it to
  // `dead_letters`, and keeps the other texts in `seen`.
  std::unique_ptr<kafka::Consumer> RefusingM1(const std::string& group,
                                              kafka::Producer* dead_letters, Seen& seen,
                                              std::atomic<int>& attempts) {
    auto c = kafka::Consumer::Create({.brokers = cluster->bootstrap(),
                                      .group_id = group,
                                      .topics = {topic},
                                      .max_backoff = absl::Milliseconds(100),
                                      .dead_letters = dead_letters},
                                     [&seen, &attempts](const kafka::Message& m) {
                                       if (Text(m) == "m1") {
                                         ++attempts;
                                         return switchboard::core::InvalidArgument(
                                             "UNPARSABLE_EVENT", "cannot parse m1");
                                       }
                                       seen.Add(Text(m));
                                       return absl::OkStatus();
                                     });
    REQUIRE(c.ok());
    (*c)->Start();
    return std::move(*c);
  }
  void Publish(int n, const std::string& prefix = "m") {
    for (int i = 0; i < n; ++i) {
      REQUIRE(
          producer
              ->PublishAndWait(topic, TextEvent(absl::StrCat(prefix, i), "k"), absl::Seconds(10))
              .ok());
    }
  }
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  std::string topic;
  std::unique_ptr<kafka::Producer> producer;
};

}  // namespace

TEST_CASE("events travel as CloudEvents in binary mode") {
  Fixture f;
  FakeClock clock(absl::FromUnixMillis(1'767'225'600'250));
  google::protobuf::StringValue v;
  v.set_value("hello");
  kafka::Event sent = kafka::MakeEvent(v, "call-1", "calls", clock);
  REQUIRE(f.producer->PublishAndWait(f.topic, sent, absl::Seconds(10)).ok());

  absl::Mutex mu;
  std::optional<kafka::Message> got;
  auto consumer = f.Consume("g-ce", [&](const kafka::Message& m) {
    absl::MutexLock l(&mu);
    got = m;
    return absl::OkStatus();
  });
  REQUIRE(testing::Eventually([&] {
    absl::MutexLock l(&mu);
    return got.has_value();
  }));
  absl::MutexLock l(&mu);
  CHECK(got->event.key == "call-1");
  CHECK(got->event.id == sent.id);
  CHECK(got->event.type == "google.protobuf.StringValue");
  CHECK(got->event.source == "//switchboard/calls");
  CHECK(got->event.time == absl::FromUnixMillis(1'767'225'600'250));
  CHECK(got->event.content_type == "application/protobuf");
  CHECK(Text(*got) == "hello");
}

TEST_CASE("a failing handler is retried on the same message, in order") {
  Fixture f;
  f.Publish(5);
  Seen seen;
  int failures_left = 2;
  auto consumer = f.Collect("g-retry", seen, [&](const std::string& t) {
    if (t != "m2" || failures_left == 0) return absl::OkStatus();
    --failures_left;
    return absl::UnavailableError("database down");
  });
  REQUIRE(testing::Eventually([&] { return seen.Size() == 5; }));
  CHECK(seen.Get() == std::vector<std::string>{"m0", "m1", "m2", "m3", "m4"});
  CHECK(failures_left == 0);
}

TEST_CASE("an offset is stored only after its handler succeeded") {
  Fixture f;
  f.Publish(6);
  Seen first;
  {
    // This consumer handles m0..m3, then is stuck on m4 (its store is down) when it stops.
    auto consumer = f.Collect("g-offsets", first, [](const std::string& t) {
      return t == "m4" ? absl::UnavailableError("store down") : absl::OkStatus();
    });
    REQUIRE(testing::Eventually([&] { return first.Size() == 4; }));
    consumer->Stop();
  }
  CHECK(first.Get() == std::vector<std::string>{"m0", "m1", "m2", "m3"});

  // A new member of the same group starts exactly at the message that never succeeded.
  Seen second;
  auto consumer = f.Collect("g-offsets", second);
  REQUIRE(testing::Eventually([&] { return second.Size() >= 2; }, absl::Seconds(30)));
  CHECK(second.Get() == std::vector<std::string>{"m4", "m5"});
}

TEST_CASE("a poison message is skipped so the partition keeps moving") {
  Fixture f;
  f.Publish(4);
  Seen seen;
  auto consumer = f.Collect("g-poison", seen, [](const std::string& t) {
    if (t == "m1") return absl::InvalidArgumentError("cannot parse");
    if (t == "m2") return absl::AlreadyExistsError("applied before");  // done, not retried
    return absl::OkStatus();
  });
  REQUIRE(testing::Eventually([&] { return seen.Size() == 2; }));
  CHECK(seen.Get() == std::vector<std::string>{"m0", "m3"});
}

TEST_CASE("a poison record is copied to the dead letters with where it came from and why") {
  Fixture f;
  REQUIRE(f.cluster->CreateTopics({{kafka::kDeadLetters, 3}}).ok());
  kafka::Event poison = TextEvent("m1", "call-9");
  poison.extensions["traceparent"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  REQUIRE(f.producer->PublishAndWait(f.topic, TextEvent("m0", "k"), absl::Seconds(10)).ok());
  REQUIRE(f.producer->PublishAndWait(f.topic, poison, absl::Seconds(10)).ok());
  REQUIRE(f.producer->PublishAndWait(f.topic, TextEvent("m2", "k"), absl::Seconds(10)).ok());

  Seen seen;
  std::atomic<int> attempts{0};
  auto consumer = f.RefusingM1("g-dead", f.producer.get(), seen, attempts);
  REQUIRE(testing::Eventually([&] { return seen.Size() == 2; }));
  CHECK(seen.Get() == std::vector<std::string>{"m0", "m2"});

  auto letters = kafka::ReadTopic(f.cluster->bootstrap(), kafka::kDeadLetters, absl::Seconds(10));
  REQUIRE(letters.ok());
  REQUIRE(letters->size() == 1);
  auto letter = kafka::DeadLetterFrom(letters->front());
  REQUIRE(letter.ok());
  CHECK(letter->topic == f.topic);
  CHECK(letter->partition == 0);
  CHECK(letter->offset == 1);
  CHECK(letter->group == "g-dead");
  CHECK(letter->reason == "UNPARSABLE_EVENT");
  CHECK(letter->error == "cannot parse m1");
  CHECK(letter->time > absl::Now() - absl::Minutes(1));
  // The original as it was: key, id, type, payload and its own extensions, nothing added.
  CHECK(letter->original.key == "call-9");
  CHECK(letter->original.id == poison.id);
  CHECK(letter->original.type == poison.type);
  CHECK(letter->original.payload == poison.payload);
  CHECK(letter->original.extensions == poison.extensions);
  // Records that are not dead letters are told apart.
  auto plain = kafka::ReadTopic(f.cluster->bootstrap(), f.topic, absl::Seconds(10));
  REQUIRE(plain.ok());
  REQUIRE(plain->size() == 3);
  CHECK(switchboard::core::ReasonOf(kafka::DeadLetterFrom(plain->front()).status()) ==
        "NOT_A_DEAD_LETTER");
}

TEST_CASE("a poison record whose dead letter cannot be written is retried, not skipped") {
  Fixture f;
  f.Publish(3);
  auto nowhere = kafka::Producer::Create(
      {.brokers = "127.0.0.1:1", .delivery_timeout = absl::Milliseconds(300)});
  REQUIRE(nowhere.ok());
  Seen seen;
  std::atomic<int> attempts{0};
  auto consumer = f.RefusingM1("g-dead-down", nowhere->get(), seen, attempts);
  REQUIRE(testing::Eventually([&] { return attempts.load() >= 3; }, absl::Seconds(20)));
  CHECK(seen.Get() == std::vector<std::string>{"m0"});
}

TEST_CASE("with the cluster down, delivery waits and then completes when it returns") {
  Fixture f;
  REQUIRE(f.producer->Probe(absl::Seconds(2)).ok());
  f.cluster->SetAllBrokersDown(true);
  CHECK_FALSE(f.producer->Probe(absl::Milliseconds(500)).ok());

  absl::Mutex mu;
  std::optional<absl::Status> delivered;
  f.producer->Publish(f.topic, TextEvent("late", "k"), [&](absl::Status s) {
    absl::MutexLock l(&mu);
    delivered = s;
  });
  absl::Status waited =
      f.producer->PublishAndWait(f.topic, TextEvent("also-late", "k"), absl::Milliseconds(300));
  CHECK(waited.code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(switchboard::core::ReasonOf(waited) == "KAFKA_DELIVERY_TIMEOUT");
  {
    absl::MutexLock l(&mu);
    CHECK_FALSE(delivered.has_value());
  }

  f.cluster->SetAllBrokersDown(false);
  REQUIRE(testing::Eventually(
      [&] {
        absl::MutexLock l(&mu);
        return delivered.has_value();
      },
      absl::Seconds(20)));
  absl::MutexLock l(&mu);
  CHECK(delivered->ok());
}

TEST_CASE("admin topic creation fails cleanly, in bounded time, where it is unsupported") {
  // librdkafka's mock cluster (2.0) does not implement CreateTopics, so embedded mode creates
  // topics through the mock API instead; against it the admin path must fail, not hang.
  Fixture f;
  std::string name = absl::StrCat("admin.", switchboard::core::NewId());
  absl::Status created =
      kafka::CreateTopics(f.cluster->bootstrap(), {{name, 3}}, absl::Milliseconds(500));
  CHECK(created.code() == absl::StatusCode::kUnavailable);
  CHECK(switchboard::core::ReasonOf(created) == "KAFKA_UNAVAILABLE");
}

TEST_CASE("bad producer and consumer settings are refused with a reason") {
  using switchboard::core::ReasonOf;
  CHECK(ReasonOf(kafka::Producer::Create({}).status()) == "MISSING_KAFKA_BROKERS");
  CHECK(ReasonOf(
            kafka::Producer::Create({.brokers = "127.0.0.1:1", .extra = {{"linger.ms", "forever"}}})
                .status()) == "INVALID_KAFKA_CONFIG");
  // The delivery guarantees are not negotiable.
  CHECK(ReasonOf(kafka::Producer::Create({.brokers = "127.0.0.1:1", .extra = {{"acks", "1"}}})
                     .status()) == "INVALID_KAFKA_CONFIG");
  CHECK(ReasonOf(kafka::Consumer::Create({.brokers = "127.0.0.1:1"}, nullptr).status()) ==
        "INVALID_CONSUMER");
}

TEST_CASE("dispatch hands each type to its handler and skips the types it does not handle") {
  Fixture f;
  Seen texts;
  kafka::Dispatch handlers;
  handlers.On<google::protobuf::StringValue>(
      [&](const google::protobuf::StringValue& v, const kafka::Message&) {
        texts.Add(v.value());
        return absl::OkStatus();
      });
  auto consumer = f.Consume("dispatch", handlers.AsHandler());
  // A type nobody here handles, between two that are handled: skipped, not poison.
  f.Publish(1, "first");
  google::protobuf::Int64Value other;
  other.set_value(7);
  REQUIRE(
      f.producer->PublishAndWait(f.topic, kafka::MakeEvent(other, "k", "test"), absl::Seconds(10))
          .ok());
  // A handled type whose payload does not parse: poison, skipped with an error.
  kafka::Event broken = TextEvent("x", "k");
  broken.payload = "\xff\xff\xff";
  REQUIRE(f.producer->PublishAndWait(f.topic, broken, absl::Seconds(10)).ok());
  f.Publish(1, "second");
  REQUIRE(testing::Eventually([&] { return texts.Size() == 2; }));
  CHECK(texts.Get() == std::vector<std::string>{"first0", "second0"});
  CHECK(consumer->skipped() == 1);
  CHECK(consumer->handled() == 2);
  CHECK(handlers.Types() == std::vector<std::string>{"google.protobuf.StringValue"});
  CHECK(switchboard::core::ReasonOf(handlers(kafka::Message{})) == "EVENT_NOT_HANDLED");
}

TEST_CASE("a batch handler takes what is already fetched; a refused batch goes one at a time") {
  Fixture f;
  f.Publish(40);
  Seen seen;  // applied, in order
  std::atomic<int> batches{0}, largest{0};
  kafka::Dispatch handlers;
  handlers.On<google::protobuf::StringValue>(
      [&](const google::protobuf::StringValue& v, const kafka::Message&) {
        if (v.value() == "m25") return absl::InvalidArgumentError("m25 is poison");
        seen.Add(v.value());
        return absl::OkStatus();
      });
  handlers.OnBatch<google::protobuf::StringValue>(
      [&](const std::vector<kafka::Typed<google::protobuf::StringValue>>& batch) {
        // The batch with m25 cannot be applied as a whole: nothing of it is.
        for (const auto& t : batch) {
          if (t.event.value() == "m25") return absl::UnavailableError("a record it cannot take");
        }
        ++batches;
        largest = std::max<int>(largest, static_cast<int>(batch.size()));
        for (const auto& t : batch) {
          CHECK(Text(*t.message) == t.event.value());
          seen.Add(t.event.value());
        }
        return absl::OkStatus();
      },
      16);
  CHECK(handlers.max_batch() == 16);
  auto consumer = kafka::Consumer::Create({.brokers = f.cluster->bootstrap(),
                                           .group_id = "g-batch",
                                           .topics = {f.topic},
                                           .max_batch = handlers.max_batch()},
                                          handlers.AsHandler(), handlers.AsBatchHandler());
  REQUIRE(consumer.ok());
  (*consumer)->Start();
  REQUIRE(testing::Eventually([&] { return seen.Size() == 39; }));
  std::vector<std::string> expected;
  for (int i = 0; i < 40; ++i) {
    if (i != 25) expected.push_back(absl::StrCat("m", i));
  }
  CHECK(seen.Get() == expected);  // each once, in order, the refused batch's records included
  CHECK(batches.load() >= 1);
  CHECK(largest.load() > 1);
  CHECK(largest.load() <= 16);
  CHECK((*consumer)->handled() == 39);

  // Every batch's offsets were stored: the group's next member starts after the last record.
  (*consumer)->Stop();
  f.Publish(2, "n");
  Seen next;
  auto successor = f.Collect("g-batch", next);
  REQUIRE(testing::Eventually([&] { return next.Size() >= 2; }, absl::Seconds(30)));
  CHECK(next.Get() == std::vector<std::string>{"n0", "n1"});

  // Without a batch handler the Dispatch has none to give, and batches of one.
  kafka::Dispatch single;
  CHECK(single.AsBatchHandler() == nullptr);
  CHECK(single.max_batch() == 1);
}

TEST_CASE(
    "missing topics are named, asking for them creates none, and properties reach the client") {
  using switchboard::core::MetadataOf;
  using switchboard::core::ReasonOf;
  Fixture f;
  const std::string have = absl::StrCat("have.", switchboard::core::NewId());
  const std::string lack = absl::StrCat("lack.", switchboard::core::NewId());
  REQUIRE(f.cluster->CreateTopics({{have, 1}}).ok());
  for (int i = 0; i < 2; ++i) {  // the second look proves the first created nothing
    auto missing =
        kafka::MissingTopics(f.cluster->bootstrap(), {{have, 1}, {lack, 1}}, absl::Seconds(5));
    REQUIRE(missing.ok());
    CHECK(*missing == std::vector<std::string>{lack});
  }
  auto down = kafka::MissingTopics("127.0.0.1:1", {{have, 1}}, absl::Milliseconds(500));
  CHECK(ReasonOf(down.status()) == "KAFKA_UNAVAILABLE");
  auto bad = kafka::MissingTopics(f.cluster->bootstrap(), {{have, 1}}, absl::Seconds(1),
                                  {{"no.such.property", "1"}});
  CHECK(ReasonOf(bad.status()) == "INVALID_KAFKA_CONFIG");
  CHECK(MetadataOf(bad.status())["property"] == "no.such.property");
  auto good =
      kafka::MissingTopics(f.cluster->bootstrap(), {{have, 1}}, absl::Seconds(5),
                           {{"client.rack", "eu-west-1a"}, {"socket.keepalive.enable", "true"}});
  REQUIRE(good.ok());
  CHECK(good->empty());
}

TEST_CASE("the lag is measured while a handler retries, from the high watermark") {
  Fixture f;
  f.Publish(6);
  prometheus::Registry registry;
  auto lag = [&]() -> std::optional<double> {
    for (const prometheus::MetricFamily& family : registry.Collect()) {
      if (family.name != "switchboard_kafka_consumer_lag_messages") continue;
      for (const prometheus::ClientMetric& m : family.metric) return m.gauge.value;
    }
    return std::nullopt;
  };
  Seen seen;
  std::atomic<bool> store_down{true};
  auto consumer = kafka::Consumer::Create({.brokers = f.cluster->bootstrap(),
                                           .group_id = "g-lag",
                                           .topics = {f.topic},
                                           .max_backoff = absl::Milliseconds(200),
                                           .metrics = &registry},
                                          [&](const kafka::Message& m) {
                                            // m0 and m1 go through; then the store is down: m2 is
                                            // retried for as long as it is.
                                            const std::string t = Text(m);
                                            if (t != "m0" && t != "m1" && store_down.load())
                                              return absl::UnavailableError("down");
                                            seen.Add(t);
                                            return absl::OkStatus();
                                          });
  REQUIRE(consumer.ok());
  (*consumer)->Start();
  // Stuck on m2 with m2..m5 waiting: 4 behind, though nothing succeeds any more.
  CHECK(testing::Eventually([&] { return lag() == 4.0; }, absl::Seconds(20)));
  f.Publish(2, "n");  // more arrives while it is stuck: the lag grows
  CHECK(testing::Eventually([&] { return lag() == 6.0; }, absl::Seconds(20)));
  store_down = false;
  CHECK(testing::Eventually([&] { return lag() == 0.0; }, absl::Seconds(20)));
  CHECK(seen.Size() == 8);
}

TEST_CASE("records a cluster dropped before the consumer read them are counted and logged") {
  // The embedded cluster keeps 5 MB per partition. A consumer stuck on its first record, and
  // allowed to fetch ahead only a few KB, falls further behind than that while 8 MB arrive.
  Fixture f;
  f.Publish(3, "early");
  prometheus::Registry registry;
  absl::Notification entered, release;
  Seen seen;
  kafka::Handler handler = [&](const kafka::Message& m) {
    if (!entered.HasBeenNotified()) entered.Notify();
    release.WaitForNotification();
    seen.Add(Text(m));
    return absl::OkStatus();
  };
  auto consumer = kafka::Consumer::Create(
      {.brokers = f.cluster->bootstrap(),
       .group_id = "g-behind",
       .topics = {f.topic},
       .extra = {{"max.partition.fetch.bytes", "16384"}, {"queued.max.messages.kbytes", "16"}},
       .metrics = &registry},
      handler);
  REQUIRE(consumer.ok());
  // However the test ends, the handler is let go before the consumer stops.
  absl::Cleanup let_go = [&] {
    if (!release.HasBeenNotified()) release.Notify();
  };
  (*consumer)->Start();
  REQUIRE(entered.WaitForNotificationWithTimeout(absl::Seconds(30)));  // stuck on early0
  const std::string filler(1000, 'x');
  for (int i = 0; i < 8000; ++i) {
    f.producer->Publish(f.topic, TextEvent(absl::StrCat("late", i, filler), "k"), nullptr);
  }
  REQUIRE(f.producer->Flush(absl::Seconds(60)).ok());
  CHECK((*consumer)->lost() == 0);  // nothing noticed while it was stuck
  std::move(let_go).Invoke();

  // It carries on from the earliest record kept, and says how many it never saw.
  CHECK(testing::Eventually([&] { return seen.Size() > 3 && (*consumer)->lost() > 0; },
                            absl::Seconds(30)));
  CHECK(testing::Eventually([&] { return seen.Size() + (*consumer)->lost() == 8003; },
                            absl::Seconds(30)));
  const std::vector<std::string> texts = seen.Get();
  CHECK(texts.front() == "early0");
  CHECK(absl::StartsWith(texts.back(), "late7999"));
  double counted = 0;
  for (const prometheus::MetricFamily& family : registry.Collect()) {
    if (family.name != "switchboard_kafka_consumer_messages_total") continue;
    for (const prometheus::ClientMetric& m : family.metric) {
      for (const prometheus::ClientMetric::Label& l : m.label) {
        if (l.name == "outcome" && l.value == "lost") counted += m.counter.value;
      }
    }
  }
  CHECK(counted == static_cast<double>((*consumer)->lost()));
}
