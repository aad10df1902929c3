// Benchmark of billing's rating, in process: ended calls through the real Kafka protocol (an
// embedded cluster) into the billing consumer's handler (Ledger::OnCallStateChanged), against a
// real PostgreSQL (the suite's, in a database of its own that it drops at the end):
//
//   billing_bench --postgres-url=postgresql://postgres@127.0.0.1:PORT/switchboard
//                 [--calls=20000] [--tenants=1000] [--batch=500] [--pgbench=PATH]
//                 [--baseline-seconds=10]
//
// 1. Rating: --calls ENDED calls spread over --tenants tenants are published on calls.state.v1,
//    half of them twice more (redeliveries), then one consumer rates them as the billing
//    target does. The figure is ledger entries per second, from the first message handled to
//    the last. Afterwards the bench checks exactly one CALL entry and one rated-call key per
//    call. Meanwhile another thread reads GetUsage (Usage::Get) every 10 ms: its p99.
// 2. Baseline in the same run, on the same database: pgbench's single-row inserts
//    (`INSERT INTO public.bench_inserts (v) VALUES (...)`) for --baseline-seconds, with one
//    client (as the consumer is one: the ratio) and with eight (the database's ceiling here).
// 3. The write floor, same run: the three rows a rated call leaves (key, entry, CallRated in the
//    outbox, the real tables' indexes), 250 calls per transaction generated inside PostgreSQL
//    by pgbench: what the database alone can write, with no client, Kafka or rating.
// One JSON object per line.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/core/clock.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/dispatch.h"
#include "libs/kafka/embedded.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pg.h"
#include "services/billing/invoices.h"
#include "services/billing/ledger.h"
#include "services/billing/module.h"
#include "services/billing/plans.h"
#include "services/billing/usage.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "tools/bench/bench_flags.h"
#include "tools/bench/scratch_database.h"

namespace {

using namespace switchboard;  // NOLINT
using bench::Must;
namespace cv1 = calls::v1;

struct Flags {
  std::string postgres_url;
  int calls = 20000;
  int tenants = 1000;
  int batch = 500;  // the billing target's; 1: one transaction per record
  std::string pgbench;
  int baseline_seconds = 10;
};

std::string Tenant(int i) { return absl::StrCat("tenant-", i); }

kafka::Event Ended(int i, int tenants, absl::Time ended) {
  cv1::CallStateChanged e;
  cv1::Call& c = *e.mutable_call();
  c.set_call_id(absl::StrCat("bench-call-", i));
  c.set_tenant_id(Tenant(i % tenants));
  c.set_direction(i % 2 ? cv1::CALL_DIRECTION_INBOUND : cv1::CALL_DIRECTION_OUTBOUND);
  c.set_state(cv1::CALL_STATE_ENDED);
  c.mutable_contact()->set_wa_id("5511966860300");
  c.set_contact_region_code("BR");
  const absl::Duration talk = absl::Seconds(5 + i % 600);
  *c.mutable_answered_time() = core::ToProto(ended - talk);
  *c.mutable_ended_time() = core::ToProto(ended);
  *c.mutable_duration() = core::ToProto(talk);
  e.mutable_header()->set_tenant_id(c.tenant_id());
  e.set_state(cv1::CALL_STATE_ENDED);
  return kafka::MakeEvent(e, c.call_id(), "calls");
}

// pgbench's transactions per second running `sql` on `url`'s database, `clients` at once.
double Pgbench(const Flags& f, const std::string& url, const std::string& sql, int clients) {
  const std::string script = "/tmp/billing_bench_script.sql";
  if (FILE* out = std::fopen(script.c_str(), "w")) {
    std::fputs(sql.c_str(), out);
    std::fclose(out);
  }
  const std::string command =
      absl::StrCat(f.pgbench, " -n -c ", clients, " -j ", std::min(clients, 2), " -T ",
                   f.baseline_seconds, " -f ", script, " '", url, "' 2>&1");
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return 0;
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, p) != nullptr) output += buffer;
  pclose(p);
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StartsWith(line, "tps = ")) {
      double tps = 0;
      if (absl::SimpleAtod(line.substr(6, line.find(' ', 6) - 6), &tps)) return tps;
    }
  }
  std::fprintf(stderr, "billing_bench: pgbench said: %s\n", output.c_str());
  return 0;
}

// Single-row inserts per second, `clients` at once: the baseline.
double PgbenchInserts(const Flags& f, const std::string& url, pg::Pool& pool, int clients) {
  Must(pool.Exec(
               "CREATE TABLE IF NOT EXISTS public.bench_inserts (id bigserial PRIMARY KEY, v text)",
               {})
           .status(),
       "baseline table");
  return Pgbench(f, url,
                 "INSERT INTO public.bench_inserts (v) VALUES ('a ledger entry''s worth of "
                 "text');\n",
                 clients);
}

// The write floor: the rows a rated call leaves (its key, its entry, its CallRated in the
// outbox, with the real tables' indexes and about their sizes), 250 calls per transaction,
// generated inside PostgreSQL: no client, no Kafka, no rating, no replays. Calls per second.
double WriteFloor(const Flags& f, const std::string& url, pg::Pool& pool) {
  Must(
      pool.Exec("CREATE TABLE public.floor_keys (tenant_id text, call_id text, duration_us bigint, "
                "current_duration_us bigint, entry_id text, rate_time timestamptz, PRIMARY KEY "
                "(tenant_id, call_id));"
                "CREATE TABLE public.floor_entries (tenant_id text, entry_id text, kind smallint, "
                "month text, call_id text, minutes bigint, amount_micros bigint, currency text, "
                "record bytea, create_time timestamptz, ended_time timestamptz, direction "
                "smallint, region text, PRIMARY KEY (tenant_id, entry_id));"
                "CREATE INDEX ON public.floor_entries (tenant_id, month, entry_id);"
                "CREATE INDEX ON public.floor_entries (tenant_id, call_id) WHERE call_id <> '';"
                "CREATE TABLE public.floor_outbox (id bigserial PRIMARY KEY, topic text, event_key "
                "text, ce_id text UNIQUE, ce_type text, ce_source text, ce_time timestamptz, "
                "payload bytea, created_at timestamptz DEFAULT now(), sent_at timestamptz);"
                "CREATE INDEX ON public.floor_outbox (id) WHERE sent_at IS NULL;")
          .status(),
      "floor tables");
  constexpr char kScript[] = R"sql(\set b random(1, 2000000000)
BEGIN;
INSERT INTO public.floor_keys SELECT 'tenant-'||(g%1000), :b||'-'||g, g, g, md5(:b||'-'||g), now() FROM generate_series(1, 250) g;
INSERT INTO public.floor_entries SELECT 'tenant-'||(g%1000), md5(:b||'-'||g), 1, '2026-12', :b||'-'||g, 2, 10000, 'USD', decode(repeat('ab', 110), 'hex'), now(), now(), 2, 'BR' FROM generate_series(1, 250) g;
INSERT INTO public.floor_outbox (topic, event_key, ce_id, ce_type, ce_source, ce_time, payload) SELECT 'billing.usage.v1', 'tenant-'||(g%1000), 'rated.'||:b||'-'||g, 'switchboard.billing.v1.CallRated', '//switchboard/billing', now(), decode(repeat('cd', 90), 'hex') FROM generate_series(1, 250) g;
COMMIT;
)sql";
  return 250 * Pgbench(f, url, kScript, 1);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  bench::FlagReader flags(argc, argv);
  flags.Text("postgres-url", &f.postgres_url);
  flags.Int("calls", &f.calls);
  flags.Int("tenants", &f.tenants);
  flags.Int("batch", &f.batch);
  flags.Text("pgbench", &f.pgbench);
  flags.Int("baseline-seconds", &f.baseline_seconds);
  if (f.postgres_url.empty()) {
    std::fprintf(stderr, "billing_bench: --postgres-url=postgresql://... is required\n");
    return 2;
  }
  if (f.pgbench.empty()) {
    for (const char* candidate : {"/usr/lib/postgresql/15/bin/pgbench", "/usr/bin/pgbench"}) {
      if (FILE* probe = std::fopen(candidate, "r")) {
        std::fclose(probe);
        f.pgbench = candidate;
        break;
      }
    }
  }
  bench::ScratchDatabase db(f.postgres_url, "billing_bench");
  const std::string& url = db.url();
  {
    pg::Pool pool({.url = url, .schema = "billing", .pool_size = 8});
    Must(pg::Migrate(pool, billing::Migrations()), "migrate");
    const core::Clock& clock = core::Clock::Real();
    billing::Plans plans(pool, clock);
    billing::Invoices invoices(pool, plans, clock);
    billing::Ledger ledger(pool, plans, invoices, clock);
    billing::Usage usage(pool, plans, clock);

    auto cluster = kafka::EmbeddedCluster::Start().value();
    Must(cluster->CreateTopics({{.name = kafka::kCallsState, .partitions = 6}}), "topic");
    int64_t messages = 0;
    {
      auto producer = kafka::Producer::Create({.brokers = cluster->bootstrap()}).value();
      const absl::Time ended = absl::Now();
      for (int i = 0; i < f.calls; ++i) {
        producer->Publish(kafka::kCallsState, Ended(i, f.tenants, ended), [](absl::Status) {});
        ++messages;
      }
      for (int round = 0; round < 2; ++round) {  // half of them redelivered twice
        for (int i = 0; i < f.calls; i += 2) {
          producer->Publish(kafka::kCallsState, Ended(i, f.tenants, ended), [](absl::Status) {});
          ++messages;
        }
      }
      Must(producer->Flush(absl::Minutes(2)), "publish");
    }

    std::atomic<bool> rating{true};
    std::vector<absl::Duration> reads;
    std::thread reader([&] {
      auth::Principal caller{.tenant_id = Tenant(0), .subject = "bench", .roles = {"admin"}};
      while (rating.load()) {
        const absl::Time t0 = absl::Now();
        Must(usage.Get(caller, billing::v1::GetUsageRequest()).status(), "GetUsage");
        reads.push_back(absl::Now() - t0);
        absl::SleepFor(absl::Milliseconds(10));  // a dashboard's pace, not a busy loop
      }
    });
    std::atomic<int64_t> handled{0};
    std::atomic<int64_t> first_ns{0};  // when the first message was handled
    // As the billing target's consumer: one record at a time, and with --batch > 1 what is
    // already fetched in one transaction (Ledger::OnCallsEnded).
    kafka::Dispatch handlers;
    handlers.On<cv1::CallStateChanged>(
        [&](const cv1::CallStateChanged& e, const kafka::Message& m) {
          if (handled.load() == 0) first_ns = absl::GetCurrentTimeNanos();
          absl::Status s = ledger.OnCallStateChanged(e, m);
          ++handled;
          return s;
        });
    if (f.batch > 1) {
      handlers.OnBatch<cv1::CallStateChanged>(
          [&](const std::vector<kafka::Typed<cv1::CallStateChanged>>& batch) {
            if (handled.load() == 0) first_ns = absl::GetCurrentTimeNanos();
            absl::Status s = ledger.OnCallsEnded(batch);
            if (s.ok()) handled += static_cast<int64_t>(batch.size());
            return s;
          },
          f.batch);
    }
    auto consumer = kafka::Consumer::Create({.brokers = cluster->bootstrap(),
                                             .group_id = "billing.calls",
                                             .topics = {kafka::kCallsState},
                                             .max_batch = handlers.max_batch(),
                                             .extra = {{"auto.offset.reset", "earliest"}}},
                                            handlers.AsHandler(), handlers.AsBatchHandler())
                        .value();
    consumer->Start();
    while (handled.load() < messages) absl::SleepFor(absl::Milliseconds(20));
    const absl::Time last = absl::Now();
    consumer->Stop();
    rating = false;
    reader.join();

    auto count = [&](const char* sql) {
      absl::StatusOr<pg::Result> r = pool.Exec(sql, {});
      return r.ok() ? r->GetInt(0, 0) : -1;
    };
    const int64_t entries = count("SELECT count(*) FROM entries WHERE kind = 1");
    const int64_t keys = count("SELECT count(*) FROM rated_calls");
    const double seconds = absl::ToDoubleSeconds(last - absl::FromUnixNanos(first_ns.load()));
    std::sort(reads.begin(), reads.end());
    const double p99 =
        reads.empty() ? 0 : absl::ToDoubleMilliseconds(reads[reads.size() * 99 / 100]);
    // One client, as the consumer is one; and eight, the database's ceiling here.
    const double baseline = f.pgbench.empty() ? 0 : PgbenchInserts(f, url, pool, 1);
    const double ceiling = f.pgbench.empty() ? 0 : PgbenchInserts(f, url, pool, 8);
    const double floor = f.pgbench.empty() ? 0 : WriteFloor(f, url, pool);
    const double rate = entries / seconds;
    std::printf(
        "{\"scenario\":\"rating\",\"batch\":%d,\"calls\":%d,\"tenants\":%d,\"messages\":%lld,"
        "\"entries\":%lld,\"rated_keys\":%lld,\"exactly_once\":%s,\"seconds\":%.2f,"
        "\"entries_per_second\":%.0f,\"messages_per_second\":%.0f,"
        "\"get_usage_reads\":%zu,\"get_usage_p99_ms\":%.2f,"
        "\"baseline\":\"pgbench single-row insert, 1 client\",\"baseline_per_second\":%.0f,"
        "\"ratio\":%.2f,\"pgbench_8_clients_per_second\":%.0f,\"ratio_8_clients\":%.2f,"
        "\"write_floor_calls_per_second\":%.0f,\"of_floor\":%.2f}\n",
        f.batch, f.calls, f.tenants, static_cast<long long>(messages),
        static_cast<long long>(entries), static_cast<long long>(keys),
        entries == f.calls && keys == f.calls ? "true" : "false", seconds, rate, messages / seconds,
        reads.size(), p99, baseline, baseline > 0 ? rate / baseline : 0, ceiling,
        ceiling > 0 ? rate / ceiling : 0, floor, floor > 0 ? rate / floor : 0);
  }
  return 0;
}
