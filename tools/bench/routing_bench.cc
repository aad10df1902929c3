// Benchmark of routing's two hot paths, in process against a real PostgreSQL (the suite's, in a
// database of its own that it drops at the end):
//
//   routing_bench --postgres-url=postgresql://postgres@127.0.0.1:PORT/switchboard
//                 [--tenants=50] [--agents=20] [--rates=100,250,500,1000] [--seconds=10]
//                 [--workers=8] [--calls=100] [--claimers=50]
//
// 1. Offer decisions: --tenants tenants with --agents agents each (1 000 by default), one
//    round-robin team per tenant. Inbound OFFERED calls arrive at each rate in turn (open loop,
//    evenly spaced) and go through Ringer::OnCallStateChanged exactly as the calls.state.v1
//    consumer hands them over: the team and its agents read and locked, the step chosen, the
//    rows and the CallOffer written in one transaction (the outbox; the relay that publishes it
//    is measured by calls_bench). Latency is from the call's scheduled arrival to the commit, so
//    queueing counts. Each call then ends (the caller hangs up) on other threads, freeing its
//    agent. Per rate: decisions/s, p50, p99, max.
// 2. Claims: --calls calls, each ringing --claimers agents of a broadcast team at once; that
//    many threads claim it at the same instant (Ringer::Claim: the ring locked, one winner, the
//    others told who). Baseline in the same run: the same threads racing the single-row update
//    a claim needs at least (UPDATE ... SET winner WHERE winner IS NULL, else read the winner),
//    and that update with one event row in one transaction (the least a claim that announces
//    itself can be). Claims/s of each and the ratios.
// One JSON object per line.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <latch>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/core/clock.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/migrate.h"
#include "libs/pg/pg.h"
#include "services/routing/agents.h"
#include "services/routing/module.h"
#include "services/routing/ringer.h"
#include "services/routing/store/store.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "tools/bench/bench_flags.h"
#include "tools/bench/scratch_database.h"

namespace {

using namespace switchboard;  // NOLINT
using bench::Must;
namespace rv1 = routing::v1;
namespace cv1 = calls::v1;

struct Flags {
  std::string postgres_url;
  int tenants = 50;
  int agents = 20;
  std::string rates = "100,250,500,1000";
  int seconds = 10;
  int workers = 8;
  int calls = 100;
  int claimers = 50;
};

// Every number takes calls around the clock.
class AlwaysOpen final : public routing::Hours {
 public:
  absl::StatusOr<std::optional<webhooks::v1::CallHours>> Of(absl::string_view,
                                                            absl::string_view) override {
    return std::nullopt;
  }
};

cv1::CallStateChanged Inbound(const std::string& tenant, const std::string& call_id,
                              const std::string& number, cv1::CallState state, int sequence) {
  cv1::CallStateChanged e;
  e.mutable_header()->set_tenant_id(tenant);
  cv1::Call& c = *e.mutable_call();
  c.set_call_id(call_id);
  c.set_tenant_id(tenant);
  c.set_direction(cv1::CALL_DIRECTION_INBOUND);
  c.set_state(state);
  c.set_sequence(sequence);
  c.set_business_phone_number_id(number);
  c.mutable_contact()->set_wa_id(absl::StrCat("55119", call_id.size(), sequence));
  e.set_state(state);
  return e;
}

std::string Agent(int tenant, int i) { return absl::StrCat("agent-", tenant, "-", i); }
std::string Tenant(int t) { return absl::StrCat("bench-", t); }
std::string Number(int t) { return absl::StrCat("1065", 100000 + t); }

// Agents AVAILABLE and teams in place, straight through the store as UpsertTeam and
// SetAgentAvailability would leave them.
void Seed(pg::Pool& pool, routing::Agents& agents, const std::string& tenant,
          const std::string& team_id, const std::string& number, rv1::RoutingMode mode,
          const std::vector<std::string>& members) {
  Must(pool.InTransaction([&](pg::Conn& tx) -> absl::Status {
    rv1::Team team;
    team.set_team_id(team_id);
    team.set_routing_mode(mode);
    team.mutable_ring_timeout()->set_seconds(60);
    team.mutable_agent_ring_timeout()->set_seconds(60);
    if (!number.empty()) team.add_business_phone_number_ids(number);
    for (const std::string& m : members) team.add_members()->set_agent_id(m);
    *team.mutable_update_time() = core::ToProto(absl::Now());
    RETURN_IF_ERROR(routing::store::SaveTeam(tx, tenant, team));
    for (const std::string& m : members) {
      routing::store::AgentRow row;
      row.agent.agent_id = m;
      (void)routing::rules::Choose(row.agent, rv1::AVAILABILITY_AVAILABLE, absl::Now());
      RETURN_IF_ERROR(agents.Save(tx, tenant, row));
    }
    return absl::OkStatus();
  }),
       "seed");
}

struct Stats {
  double per_second = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
};

Stats Summarize(std::vector<double> ms, absl::Duration elapsed) {
  Stats s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.per_second = static_cast<double>(ms.size()) / absl::ToDoubleSeconds(elapsed);
  s.p50_ms = ms[ms.size() / 2];
  s.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  s.max_ms = ms.back();
  return s;
}

// A queue of work items for a fixed set of threads.
template <typename T>
class Queue {
 public:
  void Push(T item) {
    absl::MutexLock lock(&mu_);
    items_.push_back(std::move(item));
  }
  // Blocks until an item or Close(); nullopt when closed and empty.
  std::optional<T> Pop() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Queue* q) { return !q->items_.empty() || q->closed_; }, this));
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }
  void Close() {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

 private:
  absl::Mutex mu_;
  std::deque<T> items_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

void OfferScenario(const Flags& f, routing::Ringer& ringer) {
  struct Arrival {
    int tenant;
    int64_t n;
    absl::Time due;
  };
  int64_t next_call = 0;
  std::mt19937 random(7);
  for (absl::string_view rate_text : absl::StrSplit(f.rates, ',')) {
    int rate = 0;
    if (!absl::SimpleAtoi(rate_text, &rate) || rate <= 0) continue;
    Queue<Arrival> offers;
    Queue<Arrival> ends;
    absl::Mutex mu;
    std::vector<double> latencies;
    std::atomic<int64_t> errors{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < f.workers; ++w) {
      threads.emplace_back([&] {
        while (std::optional<Arrival> a = offers.Pop()) {
          const std::string call = absl::StrCat("call-", a->n);
          absl::Status s = ringer.OnCallStateChanged(
              Inbound(Tenant(a->tenant), call, Number(a->tenant), cv1::CALL_STATE_OFFERED, 1), {});
          const double ms = absl::ToDoubleMilliseconds(absl::Now() - a->due);
          if (!s.ok()) ++errors;
          {
            absl::MutexLock lock(&mu);
            latencies.push_back(ms);
          }
          ends.Push(*a);
        }
      });
    }
    std::vector<std::thread> enders;
    for (int w = 0; w < std::max(1, f.workers / 2); ++w) {
      enders.emplace_back([&] {
        while (std::optional<Arrival> a = ends.Pop()) {
          cv1::CallStateChanged gone = Inbound(Tenant(a->tenant), absl::StrCat("call-", a->n),
                                               Number(a->tenant), cv1::CALL_STATE_MISSED, 2);
          if (!ringer.OnCallStateChanged(gone, {}).ok()) ++errors;
        }
      });
    }
    const absl::Time start = absl::Now();
    const absl::Duration gap = absl::Seconds(1) / rate;
    const int64_t total = static_cast<int64_t>(rate) * f.seconds;
    for (int64_t i = 0; i < total; ++i) {
      const absl::Time due = start + gap * i;
      absl::SleepFor(due - absl::Now());
      offers.Push({static_cast<int>(random() % f.tenants), next_call++, due});
    }
    offers.Close();
    for (auto& t : threads) t.join();
    const absl::Duration elapsed = absl::Now() - start;
    ends.Close();
    for (auto& t : enders) t.join();
    Stats s = Summarize(latencies, elapsed);
    std::printf(
        "{\"scenario\":\"offer_decisions\",\"rate\":%d,\"decisions\":%lld,\"per_second\":%.0f,"
        "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f,\"errors\":%lld,\"agents\":%d,"
        "\"workers\":%d}\n",
        rate, static_cast<long long>(latencies.size()), s.per_second, s.p50_ms, s.p99_ms, s.max_ms,
        static_cast<long long>(errors.load()), f.tenants * f.agents, f.workers);
    std::fflush(stdout);
  }
}

// `claim(call, claimer)` for --calls calls, all --claimers threads at once per call; returns
// claims/s and how many calls had exactly one winner.
template <typename Prepare, typename ClaimFn>
std::pair<double, int> Race(const Flags& f, Prepare prepare, ClaimFn claim) {
  absl::Duration racing;
  int single_winner = 0;
  for (int c = 0; c < f.calls; ++c) {
    const std::string call = absl::StrCat("claim-", c);
    prepare(call);
    std::latch start(f.claimers + 1);
    std::atomic<int> wins{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < f.claimers; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        if (claim(call, i)) ++wins;
      });
    }
    const absl::Time begin = absl::Now();
    start.arrive_and_wait();
    for (auto& t : threads) t.join();
    racing += absl::Now() - begin;
    single_winner += wins.load() == 1;
  }
  return {static_cast<double>(f.calls) * f.claimers / absl::ToDoubleSeconds(racing), single_winner};
}

void ClaimScenario(const Flags& f, pg::Pool& pool, routing::Agents& agents,
                   routing::Ringer& ringer) {
  const std::string tenant = "bench-claims";
  const std::string number = "1065999999";
  std::vector<std::string> members;
  for (int i = 0; i < f.claimers; ++i) members.push_back(absl::StrCat("claimer-", i));
  Seed(pool, agents, tenant, "claims", number, rv1::ROUTING_MODE_BROADCAST, members);

  std::string previous;
  auto [routing_rate, routing_single] = Race(
      f,
      [&](const std::string& call) {
        // The last call's winner hangs up first (not measured), so every call rings all agents.
        if (!previous.empty()) {
          Must(ringer.OnCallStateChanged(
                   Inbound(tenant, previous, number, cv1::CALL_STATE_MISSED, 3), {}),
               "end");
        }
        previous = call;
        Must(ringer.OnCallStateChanged(Inbound(tenant, call, number, cv1::CALL_STATE_OFFERED, 1),
                                       {}),
             "offer");
      },
      [&](const std::string& call, int i) {
        rv1::ClaimCallRequest req;
        req.set_call_id(call);
        absl::StatusOr<rv1::ClaimCallResponse> r =
            ringer.Claim({.tenant_id = tenant, .subject = members[i], .roles = {"agent"}}, req);
        return r.ok() && r->won();
      });

  Must(pool.Exec("CREATE TABLE IF NOT EXISTS bench_claims (call_id text PRIMARY KEY, "
                 "winner text)",
                 {})
           .status(),
       "baseline table");
  auto [baseline_rate, baseline_single] = Race(
      f,
      [&](const std::string& call) {
        Must(pool.Exec("INSERT INTO bench_claims (call_id) VALUES ($1)", {call}).status(),
             "baseline row");
      },
      [&](const std::string& call, int i) {
        absl::StatusOr<pg::Result> r = pool.Exec(
            "UPDATE bench_claims SET winner = $2 WHERE call_id = $1 AND winner IS NULL "
            "RETURNING winner",
            {call, members[i]});
        if (r.ok() && r->rows() == 1) return true;
        (void)pool.Exec("SELECT winner FROM bench_claims WHERE call_id = $1", {call});
        return false;
      });
  // The least a claim can be and still announce itself: the same update and one event row,
  // committed together.
  Must(pool.Exec("CREATE TABLE IF NOT EXISTS bench_claim_events (call_id text, winner text)", {})
           .status(),
       "baseline events table");
  Must(pool.Exec("UPDATE bench_claims SET winner = NULL", {}).status(), "baseline reset");
  auto [tx_rate, tx_single] = Race(
      f, [&](const std::string&) {},
      [&](const std::string& call, int i) {
        bool won = false;
        Must(pool.InTransaction([&](pg::Conn& tx) -> absl::Status {
          ASSIGN_OR_RETURN(pg::Result r,
                           tx.Exec("UPDATE bench_claims SET winner = $2 WHERE call_id = $1 AND "
                                   "winner IS NULL RETURNING winner",
                                   {call, members[i]}));
          won = r.rows() == 1;
          if (!won)
            return tx.Exec("SELECT winner FROM bench_claims WHERE call_id = $1", {call}).status();
          return tx.Exec("INSERT INTO bench_claim_events VALUES ($1, $2)", {call, members[i]})
              .status();
        }),
             "baseline transaction");
        return won;
      });
  std::printf(
      "{\"scenario\":\"claims\",\"calls\":%d,\"claimers\":%d,\"claims_per_second\":%.0f,"
      "\"one_winner\":%d,\"baseline\":\"postgres single-row update\","
      "\"baseline_claims_per_second\":%.0f,\"baseline_one_winner\":%d,\"ratio\":%.2f,"
      "\"baseline_with_event\":\"the same update and one event row in a transaction\","
      "\"baseline_with_event_claims_per_second\":%.0f,\"baseline_with_event_one_winner\":%d,"
      "\"ratio_with_event\":%.2f}\n",
      f.calls, f.claimers, routing_rate, routing_single, baseline_rate, baseline_single,
      routing_rate / baseline_rate, tx_rate, tx_single, routing_rate / tx_rate);
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  bench::FlagReader flags(argc, argv);
  flags.Text("postgres-url", &f.postgres_url);
  flags.Int("tenants", &f.tenants);
  flags.Int("agents", &f.agents);
  flags.Text("rates", &f.rates);
  flags.Int("seconds", &f.seconds);
  flags.Int("workers", &f.workers);
  flags.Int("calls", &f.calls);
  flags.Int("claimers", &f.claimers);
  if (f.postgres_url.empty()) {
    std::fprintf(stderr, "routing_bench: --postgres-url=postgresql://... is required\n");
    return 2;
  }
  bench::ScratchDatabase db(f.postgres_url, "routing_bench");
  {
    pg::Pool pool({.url = db.url(),
                   .schema = "routing",
                   .pool_size = std::max(f.workers * 2, f.claimers) + 4});
    Must(pg::Migrate(pool, routing::Migrations()), "migrate");
    const core::Clock& clock = core::Clock::Real();
    routing::Settings settings(pool, clock,
                               {.cooldown = absl::ZeroDuration(),
                                .presence_ttl = absl::Hours(12),
                                .max_unanswered_offers = 0});
    routing::Agents agents(pool, clock, settings);
    AlwaysOpen hours;
    routing::Ringer ringer(pool, agents, hours, clock);
    for (int t = 0; t < f.tenants; ++t) {
      std::vector<std::string> members;
      for (int i = 0; i < f.agents; ++i) members.push_back(Agent(t, i));
      Seed(pool, agents, Tenant(t), "support", Number(t), rv1::ROUTING_MODE_ROUND_ROBIN, members);
    }
    OfferScenario(f, ringer);
    ClaimScenario(f, pool, agents, ringer);
  }
  return 0;
}
