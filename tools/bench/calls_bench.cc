// Benchmark of the Calls page and the lifecycle, against a running suite (make demo):
//
//   calls_bench --postgres-url=postgresql://postgres@127.0.0.1:PORT/switchboard
//               [--calls=1000000] [--other-tenants=3] [--other-calls=100000] [--requests=200]
//               [--transitions=20000] [--tenant=T --no-seed]
//   (address, secret and Kafka from SWITCHBOARD_ADDR, SWITCHBOARD_AUTH_SECRET, SWITCHBOARD_KAFKA)
//
// 1. Seeds a tenant with --calls calls over the last year (and other tenants around it) by
//    COPY, with exactly the rows the calls store writes (Store::Row), then ANALYZE.
// 2. ListCalls: each filter and search of the Calls page, --requests times from one client;
//    p50/p95/max per scenario, and a walk through consecutive keyset pages.
// 3. ExportCalls of the whole tenant (CSV over gRPC) against PostgreSQL's own
//    COPY (SELECT ...) TO STDOUT WITH CSV of the same rows, in the same run: rows/s and ratio.
// 4. Lifecycle transitions/s: inbound calls (connect, then terminate) published on
//    whatsapp.events.v1 until every CallStateChanged is on calls.state.v1 (consumer →
//    PostgreSQL transaction → outbox → Kafka), against Kafka alone carrying the same records
//    from producer to consumer.
// One JSON object per line.
#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "libs/auth/token.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "services/calls/store/store.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"
#include "tools/bench/bench_flags.h"

namespace {

using namespace switchboard;  // NOLINT
namespace cv1 = calls::v1;

struct Flags : bench::Suite {
  std::string postgres_url;
  std::string tenant = absl::StrCat("bench", absl::ToUnixSeconds(absl::Now()));
  bool seed = true;
  int64_t calls = 1'000'000;
  int other_tenants = 3;
  int64_t other_calls = 100'000;
  int requests = 200;
  int transitions = 20'000;
};

Flags Parse(int argc, char** argv) {
  Flags f;
  bench::FlagReader flags(argc, argv);
  flags.Suite(&f);
  flags.Text("postgres-url", &f.postgres_url);
  flags.Text("tenant", &f.tenant);
  flags.Int("calls", &f.calls);
  flags.Int("other-tenants", &f.other_tenants);
  flags.Int("other-calls", &f.other_calls);
  flags.Int("requests", &f.requests);
  flags.Int("transitions", &f.transitions);
  f.seed = !flags.Has("no-seed");
  return f;
}

// ---- seeding --------------------------------------------------------------------------------

const char* kFirst[] = {"Ana",   "João",  "Maria",  "José",   "Lucía",  "François", "Jürgen",
                        "Priya", "Budi",  "Carlos", "Fátima", "Chloé",  "Ömer",     "Siti",
                        "Pedro", "Renée", "Aarav",  "Sofía",  "Thiago", "Ingrid"};
const char* kLast[] = {"Souza",   "Silva",  "Müller", "García",   "Dubois", "Pereira", "Sharma",
                       "Santoso", "Lima",   "Gómez",  "Schmidt",  "Nguyễn", "Costa",   "Moreau",
                       "Kumar",   "Wijaya", "Rocha",  "Ferreira", "López",  "Almeida"};

// The calls of one tenant: deterministic, spread over the last year, 50 000 contacts, 50 agents,
// 3 numbers; mostly ENDED, then MISSED, FAILED, REJECTED.
class Generator {
 public:
  Generator(std::string tenant, int64_t count, uint32_t seed)
      : tenant_(std::move(tenant)), count_(count), rng_(seed), now_(absl::Now()) {}

  bool Next(cv1::Call* c) {
    if (i_ >= count_) return false;
    c->Clear();
    // Evenly over the year, newest last.
    absl::Time offered = now_ - absl::Hours(24 * 365) +
                         absl::Seconds(absl::ToInt64Seconds(absl::Hours(24 * 365)) * i_ / count_);
    int contact = static_cast<int>(rng_() % 50'000);
    if (i_ % 333'333 == 7) contact = 50'001;  // a rare contact: a handful of calls
    c->set_call_id(core::NewId());
    c->set_tenant_id(tenant_);
    c->set_meta_call_id(absl::StrCat("wacid.bench.", tenant_, ".", i_));
    c->set_direction(rng_() % 2 ? cv1::CALL_DIRECTION_INBOUND : cv1::CALL_DIRECTION_OUTBOUND);
    c->set_business_phone_number_id(absl::StrCat("10654035224292", i_ % 3));
    c->set_business_display_number("16315553601");
    auto* who = c->mutable_contact();
    std::string wa = absl::StrCat(5511900000000 + contact);
    who->set_wa_id(wa);
    who->set_phone_e164("+" + wa);
    who->set_display_name(
        contact == 50'001 ? "Zacarias Quintanilha"
                          : absl::StrCat(kFirst[contact % 20], " ", kLast[(contact / 20) % 20]));
    c->set_contact_region_code("BR");
    *c->mutable_offered_time() = core::ToProto(offered);
    int roll = static_cast<int>(rng_() % 100);
    if (roll < 62) {
      c->set_state(cv1::CALL_STATE_ENDED);
      int talk = 20 + static_cast<int>(rng_() % 600);
      c->set_answered_by_agent_id(absl::StrCat("agent-", rng_() % 50));
      *c->mutable_ringing_time() = core::ToProto(offered + absl::Seconds(1));
      *c->mutable_answered_time() = core::ToProto(offered + absl::Seconds(6));
      *c->mutable_ended_time() = core::ToProto(offered + absl::Seconds(6 + talk));
      c->mutable_duration()->set_seconds(talk);
      c->set_end_reason("COMPLETED");
      c->set_disconnected_by(rng_() % 2 ? cv1::DISCONNECTOR_CONTACT : cv1::DISCONNECTOR_AGENT);
      c->mutable_cost()->set_amount_micros(5000 * ((talk + 59) / 60));
      c->mutable_cost()->set_currency_code("USD");
    } else {
      c->set_state(roll < 87   ? cv1::CALL_STATE_MISSED
                   : roll < 95 ? cv1::CALL_STATE_FAILED
                               : cv1::CALL_STATE_REJECTED);
      *c->mutable_ended_time() = core::ToProto(offered + absl::Seconds(30));
      c->set_end_reason(roll < 87   ? "RING_TIMEOUT"
                        : roll < 95 ? "MEDIA_TIMEOUT"
                                    : "CONTACT_REJECTED");
      c->set_disconnected_by(cv1::DISCONNECTOR_SYSTEM);
      if (c->direction() == cv1::CALL_DIRECTION_OUTBOUND) {
        c->set_answered_by_agent_id(absl::StrCat("agent-", rng_() % 50));
      }
    }
    c->set_sequence(3);
    ++i_;
    return true;
  }

 private:
  std::string tenant_;
  int64_t count_;
  int64_t i_ = 0;
  std::mt19937_64 rng_;
  absl::Time now_;
};

// One field in COPY's text format.
void AppendCopyField(const pg::Param& p, std::string* out) {
  if (p.is_null()) {
    out->append("\\N");
    return;
  }
  if (p.binary()) {
    out->append("\\\\x");
    out->append(absl::BytesToHexString(p.value()));
    return;
  }
  // What COPY's text format writes with a backslash; the rest stands as it is.
  constexpr std::pair<char, const char*> kEscapes[] = {
      {'\\', "\\\\"}, {'\t', "\\t"}, {'\n', "\\n"}, {'\r', "\\r"}};
  for (char c : p.value()) {
    const auto* escape = std::find_if(std::begin(kEscapes), std::end(kEscapes),
                                      [c](const auto& e) { return e.first == c; });
    if (escape != std::end(kEscapes)) {
      out->append(escape->second);
    } else {
      out->push_back(c);
    }
  }
}

bool Seed(PGconn* conn, const std::string& tenant, int64_t count, uint32_t seed) {
  std::string copy = absl::StrCat("COPY calls (", calls::Store::kRowColumns, ") FROM STDIN");
  PGresult* r = PQexec(conn, copy.c_str());
  if (PQresultStatus(r) != PGRES_COPY_IN) {
    std::fprintf(stderr, "COPY failed: %s\n", PQerrorMessage(conn));
    PQclear(r);
    return false;
  }
  PQclear(r);
  Generator gen(tenant, count, seed);
  cv1::Call call;
  std::string buffer;
  absl::Time now = absl::Now();
  while (gen.Next(&call)) {
    std::vector<pg::Param> row = calls::Store::Row(call, "", now);
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) buffer.push_back('\t');
      AppendCopyField(row[i], &buffer);
    }
    buffer.push_back('\n');
    if (buffer.size() > (1 << 20)) {
      if (PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) != 1) return false;
      buffer.clear();
    }
  }
  if (!buffer.empty() && PQputCopyData(conn, buffer.data(), static_cast<int>(buffer.size())) != 1) {
    return false;
  }
  if (PQputCopyEnd(conn, nullptr) != 1) return false;
  r = PQgetResult(conn);
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) std::fprintf(stderr, "COPY failed: %s\n", PQerrorMessage(conn));
  PQclear(r);
  while ((r = PQgetResult(conn)) != nullptr) PQclear(r);
  return ok;
}

// ---- measuring ------------------------------------------------------------------------------

struct Latencies {
  std::vector<double> ms;
  int64_t errors = 0;
  double Quantile(double q) {
    if (ms.empty()) return 0;
    std::sort(ms.begin(), ms.end());
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * ms.size()))];
  }
};

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

int main(int argc, char** argv) {
  Flags f = Parse(argc, argv);
  if (f.secret.empty() || f.postgres_url.empty()) {
    std::fprintf(stderr,
                 "calls_bench: --postgres-url and --secret (or SWITCHBOARD_AUTH_SECRET) are "
                 "required\n");
    return 2;
  }
  pg::Pool pool({.url = f.postgres_url,
                 .schema = "calls",
                 .pool_size = 2,
                 .statement_timeout = absl::Minutes(30)});
  auto lease = pool.Acquire();
  if (!lease.ok()) {
    std::fprintf(stderr, "postgres: %s\n", lease.status().ToString().c_str());
    return 1;
  }
  PGconn* conn = (*lease)->raw();

  if (f.seed) {
    absl::Time began = absl::Now();
    for (int t = 0; t < f.other_tenants; ++t) {
      if (!Seed(conn, absl::StrCat(f.tenant, "-other", t), f.other_calls, 100 + t)) return 1;
    }
    if (!Seed(conn, f.tenant, f.calls, 7)) return 1;
    if (!pool.Exec("ANALYZE calls").ok()) return 1;
    double seconds = absl::ToDoubleSeconds(absl::Now() - began);
    std::printf(
        "{\"scenario\":\"seed\",\"tenant\":\"%s\",\"calls\":%lld,\"other_tenants\":%d,"
        "\"other_calls\":%lld,\"seconds\":%.1f}\n",
        f.tenant.c_str(), static_cast<long long>(f.calls), f.other_tenants,
        static_cast<long long>(f.other_calls), seconds);
    std::fflush(stdout);
  }

  absl::Time now = absl::Now();
  std::string token = absl::StrCat("Bearer ", *auth::SignToken(f.secret,
                                                               {.tenant_id = f.tenant,
                                                                .subject = "bench",
                                                                .roles = {"agent"},
                                                                .expires = now + absl::Hours(4)},
                                                               now));
  auto channel = grpc::CreateChannel(f.addr, grpc::InsecureChannelCredentials());
  auto stub = cv1::CallsService::NewStub(channel);

  auto list = [&](const cv1::ListCallsRequest& req, cv1::ListCallsResponse* resp) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", token);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub->ListCalls(&ctx, req, resp);
  };

  // ---- ListCalls ----------------------------------------------------------------------------
  struct Scenario {
    const char* name;
    std::string filter;
    std::string query;
  };
  const std::string wa = absl::StrCat(5511900000000 + 4242);
  const std::vector<Scenario> scenarios = {
      {"no_filter", "", ""},
      {"direction", "direction = INBOUND", ""},
      {"state_missed", "state = MISSED", ""},
      {"state_rejected_or_failed", "(state = REJECTED OR state = FAILED)", ""},
      {"last_7_days", absl::StrCat("offered_time >= \"", Rfc3339(now - absl::Hours(24 * 7)), "\""),
       ""},
      {"one_day_200_days_ago",
       absl::StrCat("offered_time >= \"", Rfc3339(now - absl::Hours(24 * 200)),
                    "\" AND offered_time < \"", Rfc3339(now - absl::Hours(24 * 199)), "\""),
       ""},
      {"business_number", "business_phone_number_id = \"106540352242921\"", ""},
      {"agent", "answered_by_agent_id = \"agent-7\"", ""},
      {"contact", absl::StrCat("contact.wa_id = \"", wa, "\""), ""},
      {"outbound_ended_last_30_days",
       absl::StrCat("direction = OUTBOUND AND state = ENDED AND offered_time >= \"",
                    Rfc3339(now - absl::Hours(24 * 30)), "\""),
       ""},
      {"search_common_name", "", "souza"},
      {"search_accented_name", "", "JÜRGEN MÜLLER"},
      {"search_rare_name", "", "quintanilha"},
      {"search_full_number", "", absl::StrCat("+", wa)},
      {"search_partial_number", "", wa.substr(6, 7)},
      {"missed_inbound_search", "direction = INBOUND AND state = MISSED", "ana"},
  };
  for (const Scenario& sc : scenarios) {
    Latencies lat;
    int64_t rows = 0;
    for (int i = -1; i < f.requests; ++i) {  // -1: a first request that warms caches, not timed
      cv1::ListCallsRequest req;
      req.set_filter(sc.filter);
      req.set_query(sc.query);
      req.set_page_size(50);
      cv1::ListCallsResponse resp;
      absl::Time t = absl::Now();
      grpc::Status s = list(req, &resp);
      if (i < 0) continue;
      lat.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
      if (!s.ok()) {
        ++lat.errors;
        if (lat.errors == 1) std::fprintf(stderr, "%s: %s\n", sc.name, s.error_message().c_str());
      }
      rows = resp.calls_size();
    }
    std::printf(
        "{\"scenario\":\"list_%s\",\"requests\":%d,\"rows\":%lld,\"p50_ms\":%.2f,"
        "\"p95_ms\":%.2f,\"max_ms\":%.2f,\"errors\":%lld,\"target_p95_ms\":50}\n",
        sc.name, f.requests, static_cast<long long>(rows), lat.Quantile(0.5), lat.Quantile(0.95),
        lat.Quantile(1.0), static_cast<long long>(lat.errors));
    std::fflush(stdout);
  }
  {
    // Consecutive pages, as a supervisor scrolling the history.
    Latencies lat;
    std::string token_next;
    for (int i = 0; i < f.requests; ++i) {
      cv1::ListCallsRequest req;
      req.set_page_size(50);
      req.set_page_token(token_next);
      cv1::ListCallsResponse resp;
      absl::Time t = absl::Now();
      if (!list(req, &resp).ok()) ++lat.errors;
      lat.ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t));
      token_next = resp.next_page_token();
    }
    std::printf(
        "{\"scenario\":\"list_page_walk\",\"pages\":%d,\"p50_ms\":%.2f,\"p95_ms\":%.2f,"
        "\"max_ms\":%.2f,\"errors\":%lld,\"target_p95_ms\":50}\n",
        f.requests, lat.Quantile(0.5), lat.Quantile(0.95), lat.Quantile(1.0),
        static_cast<long long>(lat.errors));
    std::fflush(stdout);
  }

  // ---- export against COPY ------------------------------------------------------------------
  // Both read the same rows: the first pass of either would pay for reading them from disk
  // into PostgreSQL's cache, so an untimed pass comes first.
  {
    std::string warm = absl::StrCat("COPY (SELECT record FROM calls WHERE tenant_id = '", f.tenant,
                                    "' ORDER BY offered_time DESC, call_id DESC) "
                                    "TO STDOUT");
    PGresult* r = PQexec(conn, warm.c_str());
    if (PQresultStatus(r) == PGRES_COPY_OUT) {
      char* line = nullptr;
      while (PQgetCopyData(conn, &line, 0) > 0) PQfreemem(line);
    }
    PQclear(r);
    while ((r = PQgetResult(conn)) != nullptr) PQclear(r);
  }
  for (int round = 0; round < 3; ++round) {
    absl::Time t = absl::Now();
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", token);
    auto reader = stub->ExportCalls(&ctx, cv1::ExportCallsRequest());
    cv1::ExportCallsResponse chunk;
    int64_t bytes = 0, lines = 0;
    while (reader->Read(&chunk)) {
      bytes += chunk.data().size();
      lines += std::count(chunk.data().begin(), chunk.data().end(), '\n');
    }
    grpc::Status s = reader->Finish();
    double export_s = absl::ToDoubleSeconds(absl::Now() - t);
    int64_t export_rows = lines - 1;  // the header

    // PostgreSQL's own CSV of the same rows and columns, in the same order.
    std::string sql = absl::StrCat(
        "COPY (SELECT call_id, direction, state, contact_name, contact_key, contact_key, "
        "business_phone_number_id, agent_id, offered_time, answered_time, ended_time, "
        "duration_seconds, duration_seconds, cost_micros, cost_currency, '' FROM calls "
        "WHERE tenant_id = ",
        "'", f.tenant, "' ORDER BY offered_time DESC, call_id DESC) TO STDOUT WITH CSV HEADER");
    t = absl::Now();
    PGresult* r = PQexec(conn, sql.c_str());
    int64_t copy_bytes = 0, copy_lines = 0;
    if (PQresultStatus(r) == PGRES_COPY_OUT) {
      char* line = nullptr;
      int n;
      while ((n = PQgetCopyData(conn, &line, 0)) > 0) {
        copy_bytes += n;
        ++copy_lines;
        PQfreemem(line);
      }
    }
    PQclear(r);
    while ((r = PQgetResult(conn)) != nullptr) PQclear(r);
    double copy_s = absl::ToDoubleSeconds(absl::Now() - t);
    int64_t copy_rows = copy_lines - 1;
    double export_rps = export_rows / export_s, copy_rps = copy_rows / copy_s;
    std::printf(
        "{\"scenario\":\"export_vs_copy\",\"round\":%d,\"ok\":%s,\"export_rows\":%lld,"
        "\"export_mb\":%.1f,\"export_s\":%.2f,\"export_rows_per_s\":%.0f,\"copy_rows\":%lld,"
        "\"copy_mb\":%.1f,\"copy_s\":%.2f,\"copy_rows_per_s\":%.0f,\"ratio\":%.3f,"
        "\"target_ratio\":0.5}\n",
        round, s.ok() ? "true" : "false", static_cast<long long>(export_rows), bytes / 1e6,
        export_s, export_rps, static_cast<long long>(copy_rows), copy_bytes / 1e6, copy_s, copy_rps,
        export_rps / copy_rps);
    std::fflush(stdout);
  }

  // ---- lifecycle transitions through the outbox ---------------------------------------------
  if (!f.kafka.empty() && f.transitions > 0) {
    const int calls = f.transitions / 2;  // each call: OFFERED, then MISSED
    const std::string run = core::NewId();
    // A tenant of its own per run, so a reused --tenant does not count an earlier run's events.
    const std::string tenant = absl::StrCat(f.tenant, "-lc-", run.substr(run.size() - 12));
    auto producer = kafka::Producer::Create({.brokers = f.kafka, .client_id = "calls-bench"});
    if (!producer.ok()) return 1;
    std::atomic<int64_t> seen{0};
    std::atomic<int64_t> raw_seen{0};
    absl::Mutex mu;
    absl::Time last_seen;
    auto consumer = kafka::Consumer::Create(
        {.brokers = f.kafka,
         .group_id = "calls-bench-" + run,
         .topics = {kafka::kCallsState},
         // This run's tenant is new: reading from the start counts all of its events, however
         // long the group takes to join.
         .extra = {{"auto.offset.reset", "earliest"}}},
        [&](const kafka::Message& m) {
          cv1::CallStateChanged e;
          if (e.ParseFromString(m.event.payload) && e.header().tenant_id() == tenant) {
            ++seen;
            absl::MutexLock lock(&mu);
            last_seen = absl::Now();
          }
          return absl::OkStatus();
        });
    // The baseline: Kafka alone carrying the same records from producer to consumer, on a
    // topic no service of the suite consumes.
    const std::string raw_marker = "calls-bench-raw-" + run;
    const std::string warmup = "calls-bench-warmup-" + run;
    std::atomic<bool> warm{false};
    auto raw = kafka::Consumer::Create({.brokers = f.kafka,
                                        .group_id = "calls-bench-raw-" + run,
                                        .topics = {kafka::kWhatsAppOutbound},
                                        .extra = {{"auto.offset.reset", "latest"}}},
                                       [&](const kafka::Message& m) {
                                         if (m.event.source == raw_marker) {
                                           ++raw_seen;
                                           absl::MutexLock lock(&mu);
                                           last_seen = absl::Now();
                                         } else if (m.event.source == warmup) {
                                           warm = true;
                                         }
                                         return absl::OkStatus();
                                       });
    if (!consumer.ok() || !raw.ok()) return 1;
    (*consumer)->Start();
    (*raw)->Start();
    // The consumers start at the end of their topics once they joined their groups: knock until
    // one hears (both groups join alike), so nothing measured is published before that.
    for (int i = 0; i < 600 && !warm; ++i) {
      webhooks::v1::WhatsAppEvent knock;
      kafka::Event ev = kafka::MakeEvent(knock, "warmup", "bench");
      ev.source = warmup;
      (void)(*producer)->PublishAndWait(kafka::kWhatsAppOutbound, ev, absl::Seconds(5));
      absl::SleepFor(absl::Milliseconds(100));
    }

    auto publish = [&](const std::string& topic, const std::string& source) {
      std::atomic<int64_t> failed{0};
      absl::Time base = absl::Now() - absl::Minutes(1);
      for (int i = 0; i < calls; ++i) {
        std::string wacid = absl::StrCat("wacid.", source, ".", i);
        for (int step = 0; step < 2; ++step) {
          webhooks::v1::WhatsAppEvent e;
          e.mutable_header()->set_tenant_id(tenant);
          e.mutable_header()->set_entity_id(wacid);
          e.set_phone_number_id("106540352242920");
          e.set_display_phone_number("16315553601");
          *e.mutable_meta_event_time() = core::ToProto(base + absl::Seconds(step * 20));
          events::v1::ContactRef who;
          who.set_wa_id(absl::StrCat(5511800000000 + i));
          who.set_display_name("Bench Caller");
          if (step == 0) {
            auto* c = e.mutable_call_connected();
            c->set_meta_call_id(wacid);
            c->set_direction(webhooks::v1::CALL_DIRECTION_USER_INITIATED);
            *c->mutable_contact() = who;
          } else {
            auto* c = e.mutable_call_terminated();
            c->set_meta_call_id(wacid);
            c->set_direction(webhooks::v1::CALL_DIRECTION_USER_INITIATED);
            c->set_status(webhooks::v1::TERMINATE_STATUS_FAILED);
            *c->mutable_contact() = who;
          }
          kafka::Event ev = kafka::MakeEvent(e, wacid, "bench");
          ev.source = source;
          (*producer)->Publish(topic, ev, [&](absl::Status s) {
            if (!s.ok()) ++failed;
          });
        }
      }
      (void)(*producer)->Flush(absl::Seconds(60));
      return failed.load();
    };
    auto wait = [&](std::atomic<int64_t>& counter, int64_t want) {
      absl::Time deadline = absl::Now() + absl::Minutes(10);
      while (counter.load() < want && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    };

    absl::Time t = absl::Now();
    int64_t raw_failed = publish(kafka::kWhatsAppOutbound, raw_marker);
    wait(raw_seen, 2LL * calls);
    double raw_s;
    {
      absl::MutexLock lock(&mu);
      raw_s = absl::ToDoubleSeconds(last_seen - t);
    }

    t = absl::Now();
    int64_t failed = publish(kafka::kWhatsAppEvents, "//whatsapp/bench-" + run);
    wait(seen, 2LL * calls);
    double lifecycle_s;
    {
      absl::MutexLock lock(&mu);
      lifecycle_s = absl::ToDoubleSeconds(last_seen - t);
    }
    (*consumer)->Stop();
    (*raw)->Stop();
    double rate = seen.load() / lifecycle_s, raw_rate = raw_seen.load() / raw_s;
    std::printf(
        "{\"scenario\":\"lifecycle_transitions\",\"calls\":%d,\"webhook_events\":%d,"
        "\"transitions_published\":%lld,\"seconds\":%.2f,\"transitions_per_s\":%.0f,"
        "\"kafka_only_records\":%lld,\"kafka_only_seconds\":%.2f,\"kafka_only_per_s\":%.0f,"
        "\"ratio\":%.3f,\"publish_failures\":%lld}\n",
        calls, 2 * calls, static_cast<long long>(seen.load()), lifecycle_s, rate,
        static_cast<long long>(raw_seen.load()), raw_s, raw_rate, rate / raw_rate,
        static_cast<long long>(failed + raw_failed));
  }
  return 0;
}
