#include "libs/pg/outbox.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace switchboard::pg {

const char Outbox::kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  id         bigserial PRIMARY KEY,
  topic      text NOT NULL,
  event_key  text NOT NULL,
  ce_id      text NOT NULL UNIQUE,
  ce_type    text NOT NULL,
  ce_source  text NOT NULL,
  ce_time    timestamptz NOT NULL,
  payload    bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at    timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unsent_idx ON outbox (id) WHERE sent_at IS NULL;
-- The W3C traceparent of the work that wrote the event ('' for none), published as the
-- CloudEvents distributed-tracing extension. Added to outboxes made before it; checked first so
-- a start does not take the table's lock when the column is there.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
                 AND table_name = 'outbox' AND column_name = 'traceparent') THEN
    ALTER TABLE outbox ADD COLUMN traceparent text NOT NULL DEFAULT '';
  END IF;
END $$;
CREATE INDEX IF NOT EXISTS outbox_sent_at_idx ON outbox (sent_at) WHERE sent_at IS NOT NULL;
)sql";

const char Inbox::kSchemaSql[] = R"sql(
CREATE TABLE IF NOT EXISTS processed_events (
  source       text NOT NULL,
  id           text NOT NULL,
  processed_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, id)
);
)sql";

namespace {

std::string TraceparentOf(const kafka::Event& event) {
  auto it = event.extensions.find("traceparent");
  return it == event.extensions.end() ? std::string() : it->second;
}

}  // namespace

absl::StatusOr<bool> Inbox::MarkProcessed(Conn& tx, absl::string_view source,
                                          absl::string_view id) {
  if (id.empty()) {
    return core::InvalidArgument("EVENT_WITHOUT_ID",
                                 "an event without ce_id cannot be "
                                 "de-duplicated");
  }
  ASSIGN_OR_RETURN(Result r, tx.Exec("INSERT INTO processed_events (source, id) VALUES ($1, $2) "
                                     "ON CONFLICT DO NOTHING",
                                     {source, id}));
  return r.affected() == 1;
}

absl::StatusOr<std::vector<bool>> Inbox::MarkAllProcessed(
    Conn& tx, const std::vector<std::pair<std::string, std::string>>& events) {
  std::vector<bool> first(events.size(), false);
  if (events.empty()) return first;
  Array sources, ids;
  for (const auto& [source, id] : events) {
    if (id.empty()) {
      return core::InvalidArgument("EVENT_WITHOUT_ID",
                                   "an event without ce_id cannot be de-duplicated");
    }
    sources.Add(source);
    ids.Add(id);
  }
  ASSIGN_OR_RETURN(Result r, tx.Exec("INSERT INTO processed_events (source, id) SELECT * FROM "
                                     "unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING "
                                     "RETURNING source, id",
                                     {sources.Done(), ids.Done()}));
  absl::flat_hash_set<std::pair<std::string, std::string>> marked;
  for (int i = 0; i < r.rows(); ++i)
    marked.insert({std::string(r.Get(i, 0)), std::string(r.Get(i, 1))});
  for (size_t i = 0; i < events.size(); ++i) {
    // erase: only the first copy of an event in the list is its first time
    first[i] = marked.erase(events[i]) > 0;
  }
  return first;
}

absl::Status Outbox::Enqueue(Conn& tx, absl::string_view topic, const kafka::Event& event) {
  tx.MarkOutboxWritten();
  return tx
      .Exec(
          "INSERT INTO outbox (topic, event_key, ce_id, ce_type, ce_source, ce_time, "
          "payload, traceparent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          {topic, event.key, event.id, event.type, event.source, event.time,
           Param::Bytes(event.payload), TraceparentOf(event)})
      .status();
}

absl::Status Outbox::EnqueueAll(Conn& tx, absl::string_view topic,
                                const std::vector<kafka::Event>& events, OnDuplicate on_duplicate) {
  if (events.empty()) return absl::OkStatus();
  tx.MarkOutboxWritten();
  Array keys, ids, types, sources, times, payloads, traces;
  for (const kafka::Event& e : events) {
    traces.Add(TraceparentOf(e));
    keys.Add(e.key);
    ids.Add(e.id);
    types.Add(e.type);
    sources.Add(e.source);
    times.Add(e.time);
    payloads.AddBytes(e.payload);
  }
  // WITH ORDINALITY keeps the events' order in the outbox's ids, which the relay publishes by.
  std::string sql = absl::StrCat(
      "INSERT INTO outbox (topic, event_key, ce_id, ce_type, ce_source, ce_time, payload, "
      "traceparent) SELECT $1, k, i, t, s, c, p, tp FROM unnest($2::text[], $3::text[], "
      "$4::text[], $5::text[], $6::timestamptz[], $7::bytea[], $8::text[]) WITH ORDINALITY "
      "AS u (k, i, t, s, c, p, tp, n) ORDER BY n",
      on_duplicate == OnDuplicate::kSkip ? " ON CONFLICT (ce_id) DO NOTHING" : "");
  return tx
      .Exec(sql, {topic, keys.Done(), ids.Done(), types.Done(), sources.Done(), times.Done(),
                  payloads.Done(), traces.Done()})
      .status();
}

absl::Status Outbox::Enqueue(Conn& tx, absl::string_view topic,
                             const google::protobuf::Message& message, std::string key,
                             std::string id, absl::Time time, absl::string_view service) {
  return Enqueue(tx, topic, EventOf(message, std::move(key), std::move(id), time, service));
}

kafka::Event Outbox::EventOf(const google::protobuf::Message& message, std::string key,
                             std::string id, absl::Time time, absl::string_view service) {
  kafka::Event event = kafka::MakeEvent(message, std::move(key), service);
  event.id = std::move(id);
  event.time = time;
  return event;
}

struct OutboxRelay::Metrics {
  prometheus::Counter* published = nullptr;
  prometheus::Counter* republished = nullptr;
  prometheus::Gauge* oldest_age = nullptr;
};

OutboxRelay::OutboxRelay(Pool& pool, kafka::Producer& producer, RelayOptions options)
    : pool_(pool),
      producer_(producer),
      options_(std::move(options)),
      metrics_(std::make_unique<Metrics>()) {
  if (options_.metrics != nullptr) {
    prometheus::Labels labels = {{"schema", pool_.options().schema}};
    metrics_->published = &prometheus::BuildCounter()
                               .Name("switchboard_outbox_published_total")
                               .Help("Outbox events published to Kafka and marked sent.")
                               .Register(*options_.metrics)
                               .Add(labels);
    metrics_->republished =
        &prometheus::BuildCounter()
             .Name("switchboard_outbox_republished_total")
             .Help("Sent outbox events published again because Kafka started empty (embedded).")
             .Register(*options_.metrics)
             .Add(labels);
    metrics_->oldest_age = &prometheus::BuildGauge()
                                .Name("switchboard_outbox_oldest_unsent_age_seconds")
                                .Help("Age of the oldest event not yet published (0 if none).")
                                .Register(*options_.metrics)
                                .Add(labels);
  }
}

OutboxRelay::~OutboxRelay() { Stop(); }

void OutboxRelay::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void OutboxRelay::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return;
    stop_ = true;
  }
  if (!thread_.joinable()) {  // never started: nothing to drain
    leader_lease_.reset();
    return;
  }
  thread_.join();
  // Drain: publish what was committed before the stop, within the publish timeout.
  absl::StatusOr<int> n;
  do {
    n = RunOnce();
  } while (n.ok() && *n == options_.batch_size);
  if (!n.ok())
    log::Warning("outbox relay stopped with unsent events", {{"error", n.status().ToString()}});
  leader_lease_.reset();
}

void OutboxRelay::Notify() {
  absl::MutexLock lock(&mu_);
  wake_ = true;
}

absl::Status OutboxRelay::EnsureLeader() {
  if (leader_lease_.has_value() && !(*leader_lease_)->broken()) return absl::OkStatus();
  leader_lease_.reset();
  ASSIGN_OR_RETURN(Pool::Lease lease, pool_.Acquire());
  ASSIGN_OR_RETURN(Result r,
                   lease->Exec("SELECT pg_try_advisory_lock(hashtext($1))",
                               {absl::StrCat("switchboard.outbox.", pool_.options().schema)}));
  if (r.GetBool(0, 0)) leader_lease_.emplace(std::move(lease));
  return absl::OkStatus();
}

namespace {
constexpr char kColumns[] =
    "id, topic, event_key, ce_id, ce_type, ce_source, ce_time, payload, created_at, traceparent";
}  // namespace

OutboxRelay::Published OutboxRelay::Publish(const Result& rows) {
  int n = rows.rows();
  struct Outcomes {
    absl::Mutex mu;
    std::vector<std::optional<absl::Status>> results;
    int done = 0;
  } outcomes;
  outcomes.results.resize(n);
  for (int i = 0; i < n; ++i) {
    kafka::Event e;
    e.key = std::string(rows.Get(i, 2));
    e.id = std::string(rows.Get(i, 3));
    e.type = std::string(rows.Get(i, 4));
    e.source = std::string(rows.Get(i, 5));
    e.time = rows.GetTime(i, 6);
    e.payload = rows.GetBytes(i, 7);
    if (!rows.Get(i, 9).empty()) e.extensions["traceparent"] = std::string(rows.Get(i, 9));
    producer_.Publish(rows.Get(i, 1), e, [&outcomes, i](absl::Status s) {
      absl::MutexLock lock(&outcomes.mu);
      outcomes.results[i] = std::move(s);
      ++outcomes.done;
    });
  }
  Published published;
  absl::MutexLock lock(&outcomes.mu);
  auto all_done = [&outcomes]() {
    return outcomes.done == static_cast<int>(outcomes.results.size());
  };
  outcomes.mu.AwaitWithTimeout(absl::Condition(&all_done), options_.publish_timeout);
  // Only the acknowledged prefix counts: a later event of the same key must not be marked
  // sent while an earlier one is still to be re-sent.
  while (published.ok_prefix < n && outcomes.results[published.ok_prefix].has_value() &&
         outcomes.results[published.ok_prefix]->ok()) {
    ++published.ok_prefix;
  }
  if (published.ok_prefix < n) {
    published.first_error = outcomes.results[published.ok_prefix].value_or(
        core::Error(absl::StatusCode::kDeadlineExceeded, "KAFKA_DELIVERY_TIMEOUT",
                    "kafka did not acknowledge outbox events in time"));
  }
  // Callbacks still pending reference `outcomes`: wait for them before it goes away. They
  // end at the producer's delivery timeout at the latest.
  outcomes.mu.Await(absl::Condition(&all_done));
  return published;
}

absl::StatusOr<int> OutboxRelay::ReplayOnce() {
  // Rows sent within the retention, in id order, from where the last round stopped. Their
  // sent_at stays: a second crash replays them again only while they are still that young.
  ASSIGN_OR_RETURN(
      Result rows,
      pool_.Exec(absl::StrCat("SELECT ", kColumns,
                              " FROM outbox WHERE sent_at IS NOT NULL AND sent_at "
                              ">= $1 AND id > $2 ORDER BY id LIMIT $3"),
                 {absl::Now() - options_.retention, replay_after_, options_.batch_size}));
  Published published = Publish(rows);
  if (published.ok_prefix > 0) {
    replay_after_ = rows.GetInt(published.ok_prefix - 1, 0);
    replayed_ += published.ok_prefix;
    if (metrics_->republished) metrics_->republished->Increment(published.ok_prefix);
  }
  if (!published.first_error.ok()) return published.first_error;
  if (rows.rows() < options_.batch_size) {
    replay_done_ = true;
    if (replayed_ > 0) {
      log::Info("outbox events published again to a new Kafka",
                {{"schema", pool_.options().schema}, {"events", replayed_}});
    }
  }
  return rows.rows();
}

absl::StatusOr<int> OutboxRelay::RunOnce() {
  RETURN_IF_ERROR(EnsureLeader());
  if (!leader_lease_.has_value()) return 0;  // another replica relays this schema
  int replayed = 0;
  if (options_.republish_on_start && !replay_done_) {
    // The Kafka behind us is new and empty: what it had is sent again first, in id order, so
    // each key's events stay in order before anything not yet sent.
    ASSIGN_OR_RETURN(replayed, ReplayOnce());
    if (!replay_done_) return replayed;
  }
  ASSIGN_OR_RETURN(Result rows, pool_.Exec(absl::StrCat("SELECT ", kColumns,
                                                        " FROM outbox WHERE sent_at IS NULL "
                                                        "ORDER BY id LIMIT $1"),
                                           {options_.batch_size}));
  int n = rows.rows();
  if (metrics_->oldest_age) {
    metrics_->oldest_age->Set(n == 0 ? 0 : absl::ToDoubleSeconds(absl::Now() - rows.GetTime(0, 8)));
  }
  if (n == 0) return replayed;
  Published published = Publish(rows);
  if (options_.before_mark) RETURN_IF_ERROR(options_.before_mark());
  if (published.ok_prefix > 0) {
    std::vector<std::string> ids;
    ids.reserve(published.ok_prefix);
    for (int i = 0; i < published.ok_prefix; ++i) ids.emplace_back(rows.Get(i, 0));
    RETURN_IF_ERROR(pool_
                        .Exec("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])",
                              {absl::StrCat("{", absl::StrJoin(ids, ","), "}")})
                        .status());
    if (metrics_->published) metrics_->published->Increment(published.ok_prefix);
  }
  if (!published.first_error.ok()) return published.first_error;
  return replayed + published.ok_prefix;
}

void OutboxRelay::Loop() {
  absl::Time last_error_log = absl::InfinitePast();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wake_ || stop_; };
      mu_.AwaitWithTimeout(absl::Condition(&woken), options_.poll_interval);
      if (stop_) return;
      wake_ = false;
    }
    absl::StatusOr<int> n;
    do {
      n = RunOnce();
    } while (n.ok() && *n == options_.batch_size);
    if (!n.ok() && absl::Now() - last_error_log > absl::Seconds(10)) {
      last_error_log = absl::Now();
      log::Warning("outbox relay round failed; events stay queued",
                   {{"schema", pool_.options().schema}, {"error", n.status().ToString()}});
    }
    if (++rounds_ % 300 == 0) {
      absl::Status cleaned =
          pool_.Exec("DELETE FROM outbox WHERE sent_at < $1", {absl::Now() - options_.retention})
              .status();
      if (!cleaned.ok()) log::Warning("outbox cleanup failed", {{"error", cleaned.ToString()}});
    }
  }
}

}  // namespace switchboard::pg
