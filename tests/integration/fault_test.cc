// The call pipeline under faults (label `fault`): the real `switchboard --target=all` on its
// embedded Kafka, Meta played by the simulator, inbound calls (answered by agents and missed)
// and outbound calls driven without pause while the process is killed with SIGKILL at seeded
// moments and started again. At the end every call must agree with what Meta (the simulator)
// knows, every answered call must be billed exactly once and no agent may be left Busy.
//
// SWITCHBOARD_FAULT_SEED (default 1) and SWITCHBOARD_FAULT_KILLS (default 20) make longer runs;
// docs/reliability.md records one.
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/auth/token.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/embedded.h"
#include "libs/kafka/kafka.h"
#include "services/calls/rules/lifecycle.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "tests/support/binary.h"
#include "tests/support/servers.h"
#include "tools/meta-sim/sim.h"

namespace sb = switchboard;
namespace testing = switchboard::testing;
namespace cv1 = switchboard::calls::v1;
namespace rv1 = switchboard::routing::v1;

namespace {

constexpr char kSecret[] = "fault-test-secret-0123456789";
constexpr char kAppSecret[] = "fault-test-app-secret";
constexpr char kAccessToken[] = "fault-test-access-token";
constexpr char kNumber[] = "106540352242922";
constexpr char kWaba[] = "102290129340398";
constexpr char kSdp[] =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";
// agent-0..15 answer inbound calls (the number's team, round robin); agent-16..21 call out.
constexpr int kTeamAgents = 16;
constexpr int kAgents = 22;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  int out = 0;
  return v != nullptr && absl::SimpleAtoi(v, &out) ? out : fallback;
}

std::string Token(const std::string& subject) {
  absl::Time now = absl::Now();
  return *sb::auth::SignToken(kSecret,
                              {.tenant_id = "acme",
                               .subject = subject,
                               .roles = {"admin", "supervisor", "agent"},
                               .expires = now + absl::Hours(2)},
                              now);
}

// The process, the simulator, and a channel that follows the process across restarts.
class Pipeline {
 public:
  // `kafka_brokers` empty: the process's embedded Kafka.
  explicit Pipeline(std::string kafka_brokers = "") : process_(SWITCHBOARD_BIN, kSecret) {
    process_.kafka_brokers = std::move(kafka_brokers);
    int port = testing::FreePort();
    sb::metasim::SimOptions options;
    options.numbers.push_back(
        {.phone_number_id = kNumber,
         .display_phone_number = "+1 631-555-3601",
         .waba_id = kWaba,
         .access_token = kAccessToken,
         .app_secret = kAppSecret,
         .callback_url = absl::StrCat("http://127.0.0.1:", port, "/webhooks/whatsapp")});
    options.ring_timeout = absl::Seconds(8);
    options.permissions.connected_calls_per_day = 1000;  // contacts are called again and again
    options.webhooks.retry_initial = absl::Milliseconds(50);
    options.webhooks.retry_max = absl::Milliseconds(500);
    options.default_behaviour.answer_after = absl::Milliseconds(300);
    options.default_behaviour.hang_up_after = absl::Milliseconds(1500);
    sim = std::move(sb::metasim::Sim::Start(options).value());
    process_.webhooks_port = absl::StrCat(port);
    process_.extra_args = {absl::StrCat("--meta-app-secret=", kAppSecret),
                           absl::StrCat("--meta-access-token=", kAccessToken),
                           absl::StrCat("--meta-graph-url=", sim->base_url()), "--ring-timeout=3s",
                           // Agents take the next call a second after the last, are never moved
                           // to DND for calls that ring out, and stay present without heartbeats.
                           "--agent-cooldown=1s", "--max-unanswered-offers=0",
                           "--presence-ttl=12h"};
  }
  ~Pipeline() { sim->Stop(); }

  void Start() {
    process_.Start("all");
    Follow();
  }
  void KillAndRestart() {
    process_.KillAndRestart("all");
    Follow();
  }

  template <typename Service>
  std::unique_ptr<typename Service::Stub> Stub() {
    absl::MutexLock lock(&mu_);
    return Service::NewStub(channel_);
  }

  template <typename Service, typename Req, typename Resp, typename Method>
  grpc::Status Call(Method method, const Req& req, Resp* resp, const std::string& who = "admin-1",
                    absl::Duration deadline = absl::Seconds(5)) {
    auto stub = Stub<Service>();
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + Token(who));
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return (stub.get()->*method)(&ctx, req, resp);
  }

  // Every call the calls service has, by Meta's call id (and ours for calls Meta never saw).
  std::map<std::string, cv1::Call> Calls() {
    std::map<std::string, cv1::Call> out;
    cv1::ListCallsRequest req;
    req.set_page_size(500);
    do {
      cv1::ListCallsResponse resp;
      grpc::Status s = Call<cv1::CallsService>(&cv1::CallsService::Stub::ListCalls, req, &resp);
      if (!s.ok()) return {};
      for (const cv1::Call& c : resp.calls()) {
        out[c.meta_call_id().empty() ? c.call_id() : c.meta_call_id()] = c;
      }
      req.set_page_token(resp.next_page_token());
    } while (!req.page_token().empty());
    return out;
  }

  std::unique_ptr<sb::metasim::Sim> sim;
  testing::SwitchboardProcess& process() { return process_; }

 private:
  void Follow() {
    absl::MutexLock lock(&mu_);
    channel_ = process_.channel();
  }

  testing::SwitchboardProcess process_;
  absl::Mutex mu_;
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
};

// The agents, the business number and the contacts agents may call back.
struct Setup {
  std::vector<std::string> callable;
};

// As each agent's console does on start (and again when routing lost it).
void SetAgentsAvailable(Pipeline& p) {
  for (int i = 0; i < kAgents; ++i) {
    rv1::SetAgentAvailabilityRequest available;
    available.set_availability(rv1::AVAILABILITY_AVAILABLE);
    rv1::SetAgentAvailabilityResponse set;
    REQUIRE(testing::Eventually([&] {
      return p
          .Call<rv1::RoutingService>(&rv1::RoutingService::Stub::SetAgentAvailability, available,
                                     &set, absl::StrCat("agent-", i))
          .ok();
    }));
  }
}

Setup Prepare(Pipeline& p) {
  {
    sb::webhooks::v1::RegisterPhoneNumberRequest number;
    number.set_phone_number_id(kNumber);
    number.set_waba_id(kWaba);
    number.set_display_phone_number("+1 631-555-3601");
    sb::webhooks::v1::RegisterPhoneNumberResponse registered;
    REQUIRE(p.Call<sb::webhooks::v1::WebhooksService>(
                 &sb::webhooks::v1::WebhooksService::Stub::RegisterPhoneNumber, number, &registered)
                .ok());
  }
  {
    rv1::UpsertTeamRequest team;
    team.mutable_team()->set_team_id("support");
    team.mutable_team()->set_routing_mode(rv1::ROUTING_MODE_ROUND_ROBIN);
    team.mutable_team()->mutable_ring_timeout()->set_seconds(5);
    for (int i = 0; i < kTeamAgents; ++i) {
      team.mutable_team()->add_members()->set_agent_id(absl::StrCat("agent-", i));
    }
    team.mutable_team()->add_business_phone_number_ids(kNumber);
    rv1::UpsertTeamResponse upserted;
    grpc::Status s =
        p.Call<rv1::RoutingService>(&rv1::RoutingService::Stub::UpsertTeam, team, &upserted);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  {
    // The traffic is one business number's: room for its pace, and no suspension for the
    // calls its callers give up on.
    sb::eligibility::v1::UpdateTenantPolicyRequest policy;
    policy.mutable_policy()->set_calls_per_minute(600);
    policy.mutable_policy()->set_calls_per_hour(10000);
    policy.mutable_policy()->set_missed_call_threshold(1000);
    for (const char* path : {"calls_per_minute", "calls_per_hour", "missed_call_threshold"}) {
      policy.mutable_update_mask()->add_paths(path);
    }
    sb::eligibility::v1::UpdateTenantPolicyResponse updated;
    grpc::Status s = p.Call<sb::eligibility::v1::EligibilityService>(
        &sb::eligibility::v1::EligibilityService::Stub::UpdateTenantPolicy, policy, &updated);
    INFO(s.error_message());
    REQUIRE(s.ok());
  }
  SetAgentsAvailable(p);
  // Contacts agents may call back: each wrote and granted Meta's permission.
  Setup setup;
  for (int i = 0; i < 30; ++i) {
    std::string wa_id = absl::StrCat("55119668", 10000 + i);
    REQUIRE(p.sim->SendUserMessage(kNumber, wa_id, "Please call me").ok());
    REQUIRE(p.sim->SendPermissionReply(kNumber, wa_id, {.accept = true, .permanent = true}).ok());
    setup.callable.push_back(wa_id);
  }
  // Every one of them may be called (the last to be recorded tells).
  sb::eligibility::v1::CheckEligibilityResponse eligibility;
  grpc::Status checked;
  bool callable = testing::Eventually(
      [&] {
        sb::eligibility::v1::CheckEligibilityRequest req;
        req.mutable_contact()->set_wa_id(setup.callable.back());
        req.set_business_phone_number_id(kNumber);
        req.set_call_kind(sb::eligibility::v1::CALL_KIND_USER_REQUESTED);
        checked = p.Call<sb::eligibility::v1::EligibilityService>(
            &sb::eligibility::v1::EligibilityService::Stub::CheckEligibility, req, &eligibility,
            absl::StrCat("agent-", kTeamAgents));
        return checked.ok() && eligibility.eligible();
      },
      absl::Seconds(60));
  INFO(checked.error_message() << " " << eligibility.ShortDebugString());
  REQUIRE(callable);
  return setup;
}

struct Traffic {
  int placed = 0;         // inbound calls Meta accepted from the simulator's users
  int start_refused = 0;  // StartCall refused, or cut short by a fault
  int answers = 0;        // AnswerCall that succeeded
  // Why StartCall and AnswerCall failed: "<method>: <gRPC code>", how often.
  std::map<std::string, int> failures;
};

// Drives calls while `faults` runs, then stops placing new ones: a new call every 250 ms, in
// turn an inbound call an agent answers, an inbound call its caller gives up on after a second
// of ringing, and an outbound call the contact answers; each connected call lasts 1.5 s.
Traffic Drive(Pipeline& p, const Setup& setup, const std::function<void()>& faults) {
  std::atomic<bool> stop{false};
  std::atomic<int> placed{0}, start_refused{0}, answers{0};
  absl::Mutex failures_mu;
  std::map<std::string, int> failures;
  auto failed = [&](const char* method, const grpc::Status& s) {
    absl::MutexLock lock(&failures_mu);
    ++failures[absl::StrCat(method, ": ", s.error_message().substr(0, 60))];
  };
  absl::Mutex answer_mu;
  std::set<std::string> to_answer;  // contacts whose inbound call an agent answers
  std::thread caller([&] {
    int n = 0, next_callable = 0;
    std::vector<std::pair<absl::Time, std::string>> give_up;  // (when, Meta's call id)
    while (!stop) {
      while (!give_up.empty() && give_up.front().first <= absl::Now()) {
        (void)p.sim->HangUp(give_up.front().second);  // the caller gave up while it rang
        give_up.erase(give_up.begin());
      }
      const int kind = n % 3;
      std::string contact = absl::StrCat("55119669", 10000 + n);
      if (kind == 2) {
        cv1::StartCallRequest req;
        std::string agent = absl::StrCat("agent-", kTeamAgents + (n / 3) % (kAgents - kTeamAgents));
        req.set_agent_id(agent);
        req.mutable_contact()->set_wa_id(setup.callable[next_callable++ % setup.callable.size()]);
        req.set_business_phone_number_id(kNumber);
        req.set_sdp_offer(kSdp);
        req.set_request_id(absl::StrCat("start-", n));
        req.set_call_kind(sb::eligibility::v1::CALL_KIND_USER_REQUESTED);
        cv1::StartCallResponse resp;
        grpc::Status started =
            p.Call<cv1::CallsService>(&cv1::CallsService::Stub::StartCall, req, &resp, agent);
        if (!started.ok()) {
          ++start_refused;  // refused (the agent is busy), or cut short: either is allowed
          failed("StartCall", started);
        }
      } else if (kind != 2) {
        if (kind == 0) {
          absl::MutexLock lock(&answer_mu);
          to_answer.insert(contact);
        }
        absl::StatusOr<std::string> id = p.sim->PlaceUserCall(kNumber, contact);
        if (id.ok()) {
          ++placed;
          if (kind == 1) give_up.emplace_back(absl::Now() + absl::Seconds(1), *id);
        }
      }
      ++n;
      absl::SleepFor(absl::Milliseconds(250));  // the traffic's pace, not a wait for a result
    }
  });
  std::thread answerer([&] {
    std::set<std::string> tried;
    while (!stop) {
      cv1::ListCallsRequest req;
      req.set_filter("state = RINGING AND direction = INBOUND");
      req.set_page_size(100);
      cv1::ListCallsResponse resp;
      if (p.Call<cv1::CallsService>(&cv1::CallsService::Stub::ListCalls, req, &resp).ok()) {
        for (const cv1::Call& c : resp.calls()) {
          {
            absl::MutexLock lock(&answer_mu);
            if (to_answer.count(c.contact().wa_id()) == 0) continue;
          }
          if (c.offered_agent_ids().empty() || !tried.insert(c.call_id()).second) continue;
          cv1::AnswerCallRequest answer;
          answer.set_call_id(c.call_id());
          answer.set_sdp_answer(kSdp);
          answer.set_request_id(absl::StrCat("answer-", c.call_id()));
          cv1::AnswerCallResponse answered;
          grpc::Status a = p.Call<cv1::CallsService>(&cv1::CallsService::Stub::AnswerCall, answer,
                                                     &answered, c.offered_agent_ids(0));
          if (a.ok()) {
            ++answers;
          } else {
            failed("AnswerCall", a);
          }
        }
      }
      absl::SleepFor(absl::Milliseconds(50));  // polling pace
    }
  });
  faults();
  stop = true;
  caller.join();
  answerer.join();
  return {.placed = placed,
          .start_refused = start_refused,
          .answers = answers,
          .failures = std::move(failures)};
}

// What the end state says against Meta's truth; every count but `calls_at_meta`,
// `connected` and `in_switchboard` must be 0.
struct Verdict {
  std::map<std::string, int> outcomes;  // "INBOUND ENDED" -> how many
  size_t calls_at_meta = 0;
  int connected = 0;
  size_t in_switchboard = 0;
  int differing = 0;
  int billed_twice = 0;
  int not_billed = 0;
  int billed_without_talk = 0;
  int left_busy = 0;
  int unattributed = 0;  // connected inbound calls that name no agent who answered
};

Verdict Check(Pipeline& p) {
  Verdict v;
  // Meta finishes every call (users hang up, rings time out) and delivers every webhook.
  REQUIRE(p.sim->WaitIdle(absl::Seconds(120)));
  std::vector<sb::metasim::CallView> truth = p.sim->Calls();
  v.calls_at_meta = truth.size();
  std::map<std::string, cv1::Call> calls;
  auto converged = [&] {
    calls = p.Calls();
    v.differing = v.connected = 0;
    for (const auto& t : truth) {
      auto it = calls.find(t.id);
      bool connected = t.end_status == "COMPLETED";
      v.connected += connected;
      if (it == calls.end()) {
        ++v.differing;
        continue;
      }
      const cv1::Call& c = it->second;
      bool ok = connected ? c.state() == cv1::CALL_STATE_ENDED && c.duration().seconds() > 0
                          : sb::calls::IsTerminal(c.state()) && c.state() != cv1::CALL_STATE_ENDED;
      v.differing += !ok;
    }
    // Calls Meta never heard of (StartCall cut short) must be over too.
    for (const auto& [id, c] : calls) v.differing += !sb::calls::IsTerminal(c.state());
    return v.differing == 0;
  };
  testing::Eventually(converged, absl::Seconds(60), absl::Milliseconds(500));
  v.in_switchboard = calls.size();
  for (const auto& [id, c] : calls) {
    v.unattributed += c.direction() == cv1::CALL_DIRECTION_INBOUND &&
                      c.state() == cv1::CALL_STATE_ENDED && c.answered_by_agent_id().empty();
    ++v.outcomes[absl::StrCat(cv1::CallDirection_Name(c.direction()).substr(15), " ",
                              cv1::CallState_Name(c.state()).substr(11), " ", c.end_reason())];
  }
  for (const auto& t : truth) {
    auto it = calls.find(t.id);
    UNSCOPED_INFO(
        "meta " << t.id << " " << sb::metasim::CallStageName(t.stage) << " " << t.end_status
                << " -> "
                << (it == calls.end() ? "MISSING" : cv1::CallState_Name(it->second.state())));
  }

  // Billing: exactly one usage entry per call with talk time, none for the others.
  std::set<std::string> rateable;
  for (const auto& [id, c] : calls) {
    if (c.state() == cv1::CALL_STATE_ENDED && c.duration().seconds() > 0) {
      rateable.insert(c.call_id());
    }
  }
  std::map<std::string, int> entries;
  testing::Eventually(
      [&] {
        entries.clear();
        sb::billing::v1::ListUsageEntriesRequest req;
        req.set_page_size(500);
        do {
          sb::billing::v1::ListUsageEntriesResponse resp;
          if (!p.Call<sb::billing::v1::BillingService>(
                    &sb::billing::v1::BillingService::Stub::ListUsageEntries, req, &resp)
                   .ok()) {
            return false;
          }
          for (const auto& e : resp.entries()) {
            if (!e.call_id().empty()) ++entries[e.call_id()];
          }
          req.set_page_token(resp.next_page_token());
        } while (!req.page_token().empty());
        return entries.size() == rateable.size();
      },
      absl::Seconds(30), absl::Milliseconds(500));
  for (const auto& [call_id, n] : entries) {
    v.billed_twice += n > 1;
    v.billed_without_talk += rateable.count(call_id) == 0;
  }
  for (const std::string& id : rateable) v.not_billed += entries.count(id) == 0;

  // Routing: no agent Busy once every call is over.
  testing::Eventually(
      [&] {
        rv1::ListAgentsRequest req;
        req.set_page_size(100);
        rv1::ListAgentsResponse resp;
        if (!p.Call<rv1::RoutingService>(&rv1::RoutingService::Stub::ListAgents, req, &resp).ok()) {
          return false;
        }
        v.left_busy = 0;
        for (const auto& a : resp.agents()) {
          v.left_busy += a.availability() == rv1::AVAILABILITY_BUSY;
        }
        return v.left_busy == 0;
      },
      absl::Seconds(30), absl::Milliseconds(500));
  return v;
}

void Report(const std::string& what, const Traffic& traffic, const Verdict& v, Pipeline& p) {
  sb::metasim::SimStats stats = p.sim->Stats();
  std::string failures, outcomes;
  for (const auto& [why, n] : traffic.failures) absl::StrAppend(&failures, "\n  ", n, "x ", why);
  for (const auto& [outcome, n] : v.outcomes) absl::StrAppend(&outcomes, "\n  ", n, "x ", outcome);
  WARN(what << ": " << v.calls_at_meta << " calls at Meta (" << v.connected << " connected), "
            << v.in_switchboard << " in Switchboard; " << traffic.placed << " inbound placed, "
            << traffic.answers << " answered by agents, " << traffic.start_refused
            << " StartCall refused or cut; webhooks: " << stats.webhooks.changes << " changes, "
            << stats.webhooks.failed << " POSTs refused or unanswered and retried. Calls differing "
            << "from Meta: " << v.differing << ", billed twice: " << v.billed_twice
            << ", not billed: " << v.not_billed << ", billed without talk time: "
            << v.billed_without_talk << ", agents left Busy: " << v.left_busy
            << ", connected inbound calls naming no agent: " << v.unattributed
            << "\nCalls by direction, final state and end reason:" << outcomes
            << "\nRPCs that failed (refused, or cut by a fault):" << failures);
  CHECK(v.connected > 0);
  CHECK(v.differing == 0);
  CHECK(v.billed_twice == 0);
  CHECK(v.not_billed == 0);
  CHECK(v.billed_without_talk == 0);
  CHECK(v.left_busy == 0);
  CHECK(v.unattributed == 0);
}

}  // namespace

TEST_CASE("kill -9 at seeded moments of calls' lives: every call ends as Meta knows it") {
  const int seed = EnvInt("SWITCHBOARD_FAULT_SEED", 1);
  const int kills = EnvInt("SWITCHBOARD_FAULT_KILLS", 20);
  std::mt19937 random(seed);
  Pipeline p;
  p.Start();
  Setup setup = Prepare(p);
  // After 1–5 s of each life, so the kills fall on every stage of the calls in flight.
  std::uniform_int_distribution<int> uptime_ms(1000, 5000);
  Traffic traffic = Drive(p, setup, [&] {
    for (int k = 0; k < kills; ++k) {
      absl::SleepFor(absl::Milliseconds(uptime_ms(random)));  // the seeded moment of the fault
      p.KillAndRestart();
    }
  });
  Verdict v = Check(p);
  CHECK(v.calls_at_meta >= static_cast<size_t>(kills));  // traffic ran through the faults
  Report(absl::StrCat("kill -9 x", kills, " (seed ", seed, ")"), traffic, v, p);
}

TEST_CASE("Kafka brokers down and back, Redis flushed, PostgreSQL restarted: the same end") {
  auto cluster = std::move(sb::kafka::EmbeddedCluster::Start().value());
  REQUIRE(cluster->CreateTopics(sb::kafka::SuiteTopics()).ok());
  Pipeline p(cluster->bootstrap());
  p.Start();
  Setup setup = Prepare(p);
  Traffic traffic = Drive(p, setup, [&] {
    absl::SleepFor(absl::Seconds(2));  // traffic before the first fault
    cluster->SetAllBrokersDown(true);
    absl::SleepFor(absl::Seconds(3));  // the outage's length
    cluster->SetAllBrokersDown(false);
    absl::SleepFor(absl::Seconds(2));
    // Redis restarts empty: agents' availability is gone until their consoles set it again.
    p.process().redis.Restart();
    SetAgentsAvailable(p);
    absl::SleepFor(absl::Seconds(2));
    testing::PostgresServer::Shared().Restart();
    absl::SleepFor(absl::Seconds(3));
  });
  Report("brokers down 3 s, Redis flushed, PostgreSQL restarted", traffic, Check(p), p);
}
