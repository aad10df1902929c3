#include "libs/pg/outbox.h"

#include <catch2/catch.hpp>
#include <map>

#include "absl/strings/str_cat.h"
#include "google/protobuf/wrappers.pb.h"
#include "libs/core/error.h"
#include "libs/core/trace.h"
#include "libs/kafka/embedded.h"
#include "libs/pg/migrate.h"
#include "tests/support/servers.h"

namespace kafka = switchboard::kafka;
namespace pg = switchboard::pg;
namespace testing = switchboard::testing;
namespace core = switchboard::core;

namespace {

// Everything a consumer saw on the topic: ce_id -> (times seen, text), in arrival order.
struct Received {
  absl::Mutex mu;
  std::map<std::string, int> times;
  std::vector<std::string> order;  // texts, in arrival order
  // text -> the record's traceparent extension, and the trace id current in the handler
  std::map<std::string, std::string> traceparents, handled_in;
  void Add(const kafka::Message& m) {
    google::protobuf::StringValue v;
    v.ParseFromString(m.event.payload);
    absl::MutexLock l(&mu);
    if (times[m.event.id]++ == 0) order.push_back(v.value());
    auto tp = m.event.extensions.find("traceparent");
    traceparents[v.value()] = tp == m.event.extensions.end() ? "" : tp->second;
    const core::TraceContext* current = core::CurrentTrace();
    handled_in[v.value()] = current == nullptr ? "" : current->trace_id;
  }
  size_t Distinct() {
    absl::MutexLock l(&mu);
    return times.size();
  }
  int Total() {
    absl::MutexLock l(&mu);
    int n = 0;
    for (auto& [id, t] : times) n += t;
    return n;
  }
};

struct Fixture {
  Fixture() {
    pool = std::make_unique<pg::Pool>(
        pg::Options{.url = testing::PostgresServer::Shared().CreateDatabase(), .schema = "calls"});
    REQUIRE(
        pg::Migrate(*pool, {{1, "0001.sql", "CREATE TABLE calls (id text PRIMARY KEY);"}}).ok());
    cluster = std::move(kafka::EmbeddedCluster::Start().value());
    REQUIRE(cluster->CreateTopics({{"calls.state.v1", 3}}).ok());
    producer = std::move(kafka::Producer::Create({.brokers = cluster->bootstrap(),
                                                  .delivery_timeout = absl::Seconds(60)})
                             .value());
    consumer = std::move(
        kafka::Consumer::Create(
            {.brokers = cluster->bootstrap(), .group_id = "observer", .topics = {"calls.state.v1"}},
            [this](const kafka::Message& m) {
              received.Add(m);
              return absl::OkStatus();
            })
            .value());
    consumer->Start();
  }

  // A state change and its event, in one transaction.
  // `key` defaults to the call id; events sharing a key share a partition and stay ordered.
  absl::Status OpenCall(const std::string& id, bool fail_after_event = false,
                        const std::string& key = "") {
    return pool->InTransaction([&](pg::Conn& tx) -> absl::Status {
      auto r = tx.Exec("INSERT INTO calls (id) VALUES ($1)", {id});
      if (!r.ok()) return r.status();
      google::protobuf::StringValue v;
      v.set_value(id);
      absl::Status s = pg::Outbox::Enqueue(tx, "calls.state.v1",
                                           kafka::MakeEvent(v, key.empty() ? id : key, "calls"));
      if (!s.ok()) return s;
      if (fail_after_event) return absl::InternalError("crash before commit");
      return absl::OkStatus();
    });
  }
  int64_t Unsent() {
    return pool->Exec("SELECT count(*) FROM outbox WHERE sent_at IS NULL")->GetInt(0, 0);
  }

  std::unique_ptr<pg::Pool> pool;
  std::unique_ptr<kafka::EmbeddedCluster> cluster;
  std::unique_ptr<kafka::Producer> producer;
  Received received;
  std::unique_ptr<kafka::Consumer> consumer;
};

}  // namespace

TEST_CASE("state and event commit together; a rolled-back change publishes nothing") {
  Fixture f;
  REQUIRE(f.OpenCall("c1").ok());
  CHECK_FALSE(f.OpenCall("c2", /*fail_after_event=*/true).ok());
  CHECK(f.pool->Exec("SELECT count(*) FROM outbox")->GetInt(0, 0) == 1);

  pg::OutboxRelay relay(*f.pool, *f.producer);
  CHECK(*relay.RunOnce() == 1);
  CHECK(f.Unsent() == 0);
  REQUIRE(testing::Eventually([&] { return f.received.Distinct() == 1; }));
  CHECK(f.received.order == std::vector<std::string>{"c1"});
}

TEST_CASE(
    "an event carries the trace of the work that wrote it, through the outbox, to its handler") {
  Fixture f;
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  std::string writer_span;
  {
    core::TraceScope work(core::ContinueTrace("00-" + trace_id + "-00f067aa0ba902b7-01"));
    writer_span = core::CurrentTrace()->span_id;
    REQUIRE(f.OpenCall("traced").ok());
    google::protobuf::StringValue v;
    v.set_value("traced-batch");
    REQUIRE(f.pool
                ->InTransaction([&](pg::Conn& tx) {
                  return pg::Outbox::EnqueueAll(tx, "calls.state.v1",
                                                {kafka::MakeEvent(v, "k", "calls")});
                })
                .ok());
  }
  REQUIRE(f.OpenCall("untraced").ok());  // no work in progress: no trace
  pg::OutboxRelay relay(*f.pool, *f.producer);
  while (f.Unsent() > 0) REQUIRE(relay.RunOnce().ok());
  REQUIRE(testing::Eventually([&] { return f.received.Distinct() == 3; }));
  absl::MutexLock l(&f.received.mu);
  for (const char* text : {"traced", "traced-batch"}) {
    INFO(text);
    CHECK(f.received.traceparents[text] == absl::StrCat("00-", trace_id, "-", writer_span, "-01"));
    CHECK(f.received.handled_in[text] == trace_id);
  }
  CHECK(f.received.traceparents["untraced"].empty());
  CHECK(f.received.handled_in["untraced"].empty());
}

TEST_CASE("many events enqueued in one statement arrive once each, in order per key") {
  Fixture f;
  std::vector<kafka::Event> events;
  for (int i = 0; i < 300; ++i) {
    google::protobuf::StringValue v;
    v.set_value(absl::StrCat("e", i));
    events.push_back(kafka::MakeEvent(v, "one-key", "calls"));
  }
  REQUIRE(f.pool
              ->InTransaction([&](pg::Conn& tx) {
                return pg::Outbox::EnqueueAll(tx, "calls.state.v1", events);
              })
              .ok());
  REQUIRE(f.pool
              ->InTransaction([&](pg::Conn& tx) {
                return pg::Outbox::EnqueueAll(tx, "calls.state.v1", {});  // nothing
              })
              .ok());
  pg::OutboxRelay relay(*f.pool, *f.producer);
  while (f.Unsent() > 0) REQUIRE(relay.RunOnce().ok());
  REQUIRE(testing::Eventually([&] { return f.received.Distinct() == 300; }));
  std::vector<std::string> expected;
  for (int i = 0; i < 300; ++i) expected.push_back(absl::StrCat("e", i));
  absl::MutexLock l(&f.received.mu);
  CHECK(f.received.order == expected);
}

TEST_CASE("a relay in front of a new, empty Kafka publishes again what it kept, in order") {
  Fixture f;
  for (int i = 0; i < 10; ++i) REQUIRE(f.OpenCall(absl::StrCat("e", i), false, "one-key").ok());
  {
    pg::OutboxRelay relay(*f.pool, *f.producer);
    REQUIRE(*relay.RunOnce() == 10);
  }
  REQUIRE(testing::Eventually([&] { return f.received.Distinct() == 10; }));
  // Five of them were sent longer ago than the retention (24 h): they are not replayed.
  REQUIRE(f.pool
              ->Exec("UPDATE outbox SET sent_at = now() - interval '25 hours' "
                     "WHERE id <= (SELECT min(id) + 4 FROM outbox)")
              .ok());
  // The process dies with its embedded Kafka; the new one starts empty, and two more events
  // were committed meanwhile.
  for (int i = 10; i < 12; ++i) {
    REQUIRE(f.OpenCall(absl::StrCat("e", i), false, "one-key").ok());
  }
  auto fresh = std::move(kafka::EmbeddedCluster::Start().value());
  REQUIRE(fresh->CreateTopics({{"calls.state.v1", 3}}).ok());
  auto producer = std::move(kafka::Producer::Create({.brokers = fresh->bootstrap()}).value());
  Received received;
  auto consumer = std::move(
      kafka::Consumer::Create(
          {.brokers = fresh->bootstrap(), .group_id = "observer", .topics = {"calls.state.v1"}},
          [&received](const kafka::Message& m) {
            received.Add(m);
            return absl::OkStatus();
          })
          .value());
  consumer->Start();

  pg::OutboxRelay relay(*f.pool, *producer, {.batch_size = 3, .republish_on_start = true});
  int published = 0;
  for (int round = 0; round < 10 && f.Unsent() > 0; ++round) published += *relay.RunOnce();
  CHECK(published == 7);  // e5..e9 again, then e10 and e11
  CHECK(f.Unsent() == 0);
  CHECK(*relay.RunOnce() == 0);  // once per start, not every round
  REQUIRE(testing::Eventually([&] { return received.Distinct() == 7; }));
  std::vector<std::string> expected;
  for (int i = 5; i < 12; ++i) expected.push_back(absl::StrCat("e", i));
  CHECK(received.Total() == 7);
  // The replay kept the rows' sent_at: the old ones still age out with their first sending.
  CHECK(f.pool->Exec("SELECT count(*) FROM outbox WHERE sent_at < now() - interval '24 hours'")
            ->GetInt(0, 0) == 5);
  absl::MutexLock l(&received.mu);
  CHECK(received.order == expected);
}

TEST_CASE("an event already in the outbox is skipped when asked, refused otherwise") {
  Fixture f;
  google::protobuf::StringValue v;
  v.set_value("journalled");
  kafka::Event event = kafka::MakeEvent(v, "k", "webhooks");
  auto write = [&](pg::Outbox::OnDuplicate on_duplicate) {
    return f.pool->InTransaction([&](pg::Conn& tx) {
      return pg::Outbox::EnqueueAll(tx, "calls.state.v1", {event, event}, on_duplicate);
    });
  };
  REQUIRE(write(pg::Outbox::OnDuplicate::kSkip).ok());  // twice in one statement: one row
  REQUIRE(write(pg::Outbox::OnDuplicate::kSkip).ok());  // and again later: still one
  CHECK_FALSE(write(pg::Outbox::OnDuplicate::kFail).ok());
  CHECK(f.Unsent() == 1);
}

TEST_CASE("a crash between publish and mark re-sends, never loses") {
  Fixture f;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(f.OpenCall(absl::StrCat("c", i), false, "one-entity").ok());
  }
  {
    pg::OutboxRelay crashing(*f.pool, *f.producer,
                             {.before_mark = [] { return absl::InternalError("crashed"); }});
    CHECK_FALSE(crashing.RunOnce().ok());
  }                         // the crashed relay is gone, its lock released with its connection
  CHECK(f.Unsent() == 20);  // published, but not marked

  pg::OutboxRelay relay(*f.pool, *f.producer);
  CHECK(*relay.RunOnce() == 20);
  CHECK(f.Unsent() == 0);
  // Each event arrived twice with the same ce_id: a consumer de-duplicating on it sees every
  // event exactly once, and (one key) in the order they were committed.
  REQUIRE(testing::Eventually([&] { return f.received.Total() == 40; }));
  CHECK(f.received.Distinct() == 20);
  std::vector<std::string> expected;
  for (int i = 0; i < 20; ++i) expected.push_back(absl::StrCat("c", i));
  absl::MutexLock l(&f.received.mu);
  CHECK(f.received.order == expected);
}

TEST_CASE("while Kafka is down events stay queued; the running relay sends them when it is back") {
  Fixture f;
  pg::OutboxRelay relay(
      *f.pool, *f.producer,
      {.poll_interval = absl::Milliseconds(20), .publish_timeout = absl::Milliseconds(300)});
  relay.Start();
  REQUIRE(f.OpenCall("before").ok());
  relay.Notify();
  REQUIRE(testing::Eventually([&] { return f.received.Distinct() == 1; }));

  f.cluster->SetAllBrokersDown(true);
  for (int i = 0; i < 5; ++i) REQUIRE(f.OpenCall(absl::StrCat("during", i)).ok());
  relay.Notify();
  // Nothing can be acknowledged now, so nothing may be marked sent.
  CHECK_FALSE(testing::Eventually([&] { return f.Unsent() == 0; }, absl::Milliseconds(500)));

  f.cluster->SetAllBrokersDown(false);
  REQUIRE(testing::Eventually([&] { return f.Unsent() == 0; }, absl::Seconds(60)));
  REQUIRE(testing::Eventually([&] { return f.received.Distinct() == 6; }, absl::Seconds(30)));
  relay.Stop();
}

TEST_CASE("the inbox applies an event once however often it arrives") {
  Fixture f;
  int applied = 0;
  auto apply = [&](const std::string& source, const std::string& id) {
    return f.pool->InTransaction([&](pg::Conn& tx) -> absl::Status {
      auto first = pg::Inbox::MarkProcessed(tx, source, id);
      if (!first.ok()) return first.status();
      if (*first) ++applied;
      return absl::OkStatus();
    });
  };
  CHECK(apply("//switchboard/webhooks", "e1").ok());
  CHECK(apply("//switchboard/webhooks", "e1").ok());
  CHECK(apply("//switchboard/calls", "e1").ok());  // same id, another source: another event
  CHECK(applied == 2);
  CHECK(switchboard::core::ReasonOf(apply("//switchboard/calls", "")) == "EVENT_WITHOUT_ID");
}

TEST_CASE("the inbox marks a list of events in one statement, each once") {
  Fixture f;
  auto mark = [&](const std::vector<std::pair<std::string, std::string>>& events) {
    std::vector<bool> first;
    absl::Status s = f.pool->InTransaction([&](pg::Conn& tx) -> absl::Status {
      auto marked = pg::Inbox::MarkAllProcessed(tx, events);
      if (!marked.ok()) return marked.status();
      first = *marked;
      return absl::OkStatus();
    });
    REQUIRE(s.ok());
    return first;
  };
  const std::string w = "//switchboard/webhooks", c = "//switchboard/calls";
  // A later copy in the same list is not its first time; another source is another event.
  CHECK(mark({{w, "e1"}, {w, "e2"}, {w, "e1"}, {c, "e1"}}) ==
        std::vector<bool>{true, true, false, true});
  CHECK(mark({{w, "e2"}, {w, "e3"}}) == std::vector<bool>{false, true});  // e2 seen before
  CHECK(mark({}).empty());
  absl::Status without_id = f.pool->InTransaction([&](pg::Conn& tx) {
    return pg::Inbox::MarkAllProcessed(tx, {{w, "e4"}, {w, ""}}).status();
  });
  CHECK(switchboard::core::ReasonOf(without_id) == "EVENT_WITHOUT_ID");
  CHECK(mark({{w, "e4"}}) == std::vector<bool>{true});  // the refused list marked nothing
}

TEST_CASE("one statement is its own transaction, and wakes the relay when it wrote the outbox") {
  Fixture f;
  int woken = 0;
  f.pool->SetOutboxListener([&] { ++woken; });
  google::protobuf::StringValue v;
  v.set_value("journalled");
  kafka::Event event = kafka::MakeEvent(v, "k", "webhooks");
  auto journal = [&](const std::vector<kafka::Event>& events) {
    return f.pool->InOneStatement(
        [&](pg::Conn& conn) { return pg::Outbox::EnqueueAll(conn, "calls.state.v1", events); });
  };
  REQUIRE(journal({event}).ok());
  CHECK(woken == 1);
  CHECK(f.Unsent() == 1);
  // A statement that fails writes nothing (here its second row is the first again) and wakes
  // nobody.
  google::protobuf::StringValue w;
  w.set_value("second");
  CHECK_FALSE(journal({kafka::MakeEvent(w, "k", "webhooks"), event}).ok());
  CHECK(woken == 1);
  CHECK(f.Unsent() == 1);
  // Nor does one that wrote no outbox row.
  REQUIRE(
      f.pool->InOneStatement([](pg::Conn& conn) { return conn.Exec("SELECT 1").status(); }).ok());
  CHECK(woken == 1);
}

TEST_CASE("only one relay per schema is active") {
  Fixture f;
  REQUIRE(f.OpenCall("c1").ok());
  pg::OutboxRelay first(*f.pool, *f.producer);
  pg::OutboxRelay second(*f.pool, *f.producer);
  CHECK(*first.RunOnce() == 1);
  REQUIRE(f.OpenCall("c2").ok());
  CHECK(*second.RunOnce() == 0);  // not the leader
  CHECK(f.Unsent() == 1);
  CHECK(*first.RunOnce() == 1);
}
