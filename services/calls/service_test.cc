// The calls API end to end: the runtime with the webhooks, eligibility and calls targets, real
// Redis, PostgreSQL and embedded Kafka, and the Meta simulator playing Meta and the contacts
// (Graph API and signed webhooks). Agents drive calls over gRPC as the gateway would.
#include <catch2/catch.hpp>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/http/client.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "libs/runtime/app.h"
#include "libs/runtime/grpc.h"
#include "services/billing/module.h"
#include "services/calls/journal.h"
#include "services/calls/module.h"
#include "services/calls/store/store.h"
#include "services/eligibility/module.h"
#include "services/routing/module.h"
#include "services/webhooks/module.h"
#include "switchboard/billing/v1/billing_events.pb.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"
#include "tools/meta-sim/sim.h"

namespace sb = switchboard;
namespace v1 = switchboard::calls::v1;
namespace testing = switchboard::testing;
using sb::core::ReasonOf;

namespace {

const std::string kAuthSecret = testing::Suite::kAuthSecret;
const std::string kAppSecret = "calls-service-test-app-secret";
const std::string kNumber = "106540352242922";
const std::string kWaba = "102290129340398";
const std::string kSdp =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

struct Who {
  std::string subject = "agent-1";
  std::vector<std::string> roles = {"agent"};
  std::string tenant = "acme";
};

// Which targets run beside calls: routing only where agents answer (without it an inbound
// call waits OFFERED for the ring timer, which several tests are about).
std::vector<std::function<void(sb::runtime::Registry&)>> Targets(bool routing, bool billing) {
  std::vector<std::function<void(sb::runtime::Registry&)>> out = {
      sb::webhooks::Register, sb::eligibility::Register, sb::calls::Register};
  if (routing) out.push_back(sb::routing::Register);
  if (billing) out.push_back(sb::billing::Register);
  return out;
}

std::map<std::string, std::string> Flags(absl::Duration ring_timeout, bool routing,
                                         absl::Duration max_call_duration) {
  std::map<std::string, std::string> out = {
      {"ring-timeout", absl::FormatDuration(ring_timeout)},
      {"max-call-duration", absl::FormatDuration(max_call_duration)},
      {"meta-app-secret", kAppSecret}};
  if (!routing) out["routing-address"] = "127.0.0.1:9";  // AnswerCall's claims go nowhere
  return out;
}

struct Suite {
  explicit Suite(absl::Duration ring_timeout = absl::Seconds(30), bool routing = false,
                 bool billing = false, absl::Duration max_call_duration = absl::Hours(4))
      : suite({.services = Targets(routing, billing),
               .meta_sim = true,
               .sim_options =
                   [](sb::metasim::SimOptions& o) {
                     o.ring_timeout = absl::Seconds(20);
                     for (auto& n : o.numbers) n.app_secret = kAppSecret;
                   },
               .numbers = {{.phone_number_id = kNumber, .waba_id = kWaba}},
               .flags = Flags(ring_timeout, routing, max_call_duration)}),
        sim(suite.sim()),
        app(&suite.app()),
        postgres_url(suite.postgres_url()) {
    auto channel = suite.channel();
    calls = v1::CallsService::NewStub(channel);
    eligibility = sb::eligibility::v1::EligibilityService::NewStub(channel);
    webhooks = sb::webhooks::v1::WebhooksService::NewStub(channel);

    consumer =
        std::move(sb::kafka::Consumer::Create(
                      {.brokers = app->kafka_bootstrap(),
                       .group_id = "calls-api-test-" + sb::core::NewId(),
                       .topics = {sb::kafka::kCallsState, sb::kafka::kConversationsTimeline},
                       .extra = {{"auto.offset.reset", "earliest"}}},
                      [this](const sb::kafka::Message& m) {
                        absl::MutexLock lock(&mu);
                        if (m.event.type == v1::CallStateChanged::descriptor()->full_name()) {
                          v1::CallStateChanged e;
                          REQUIRE(e.ParseFromString(m.event.payload));
                          CHECK(m.event.key == e.call().call_id());
                          changes.push_back(std::move(e));
                        } else if (m.event.type == v1::TimelineEntry::descriptor()->full_name()) {
                          v1::TimelineEntry e;
                          REQUIRE(e.ParseFromString(m.event.payload));
                          timeline.push_back(std::move(e));
                        } else if (m.event.type == v1::CallbackDue::descriptor()->full_name()) {
                          v1::CallbackDue e;
                          REQUIRE(e.ParseFromString(m.event.payload));
                          due.push_back(std::move(e));
                        }
                        return absl::OkStatus();
                      })
                      .value());
    consumer->Start();
    producer = std::move(sb::kafka::Producer::Create({.brokers = app->kafka_bootstrap()}).value());
  }
  ~Suite() {
    sim->Stop();
    consumer->Stop();
  }

  static std::string Token(const Who& who) {
    absl::Time now = absl::Now();
    return *sb::auth::SignToken(kAuthSecret,
                                {.tenant_id = who.tenant,
                                 .subject = who.subject,
                                 .roles = who.roles,
                                 .expires = now + absl::Hours(1)},
                                now);
  }
  template <typename Stub, typename Req, typename Resp, typename Method>
  static absl::Status Call(Stub* stub, Method method, const Req& req, Resp* resp, Who who = {}) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + Token(who));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
    return sb::runtime::FromGrpcStatus((stub->*method)(&ctx, req, resp));
  }
  template <typename Req, typename Resp, typename Method>
  absl::Status Calls(Method method, const Req& req, Resp* resp, Who who = {}) {
    return Call(calls.get(), method, req, resp, std::move(who));
  }

  // The contact writes "call me" and grants Meta's call permission; returns once eligibility
  // says an agent may call them.
  void MakeCallable(const std::string& wa_id) {
    REQUIRE(sim->SendUserMessage(kNumber, wa_id, "Hi! Please call me when you can").ok());
    REQUIRE(sim->SendPermissionReply(kNumber, wa_id, {.accept = true}).ok());
    REQUIRE(testing::Eventually(
        [&] {
          sb::eligibility::v1::CheckEligibilityRequest req;
          req.mutable_contact()->set_wa_id(wa_id);
          req.set_business_phone_number_id(kNumber);
          req.set_call_kind(sb::eligibility::v1::CALL_KIND_USER_REQUESTED);
          sb::eligibility::v1::CheckEligibilityResponse resp;
          return Call(eligibility.get(),
                      &sb::eligibility::v1::EligibilityService::Stub::CheckEligibility, req, &resp)
                     .ok() &&
                 resp.eligible();
        },
        absl::Seconds(60)));
  }

  absl::StatusOr<v1::Call> Start(const std::string& wa_id, const std::string& request_id,
                                 Who who = {}) {
    v1::StartCallRequest req;
    req.set_agent_id(who.subject);
    req.mutable_contact()->set_wa_id(wa_id);
    req.mutable_contact()->set_phone_e164("+" + wa_id);
    req.mutable_contact()->set_display_name("Ana Souza");
    req.set_business_phone_number_id(kNumber);
    req.set_sdp_offer(kSdp);
    req.set_request_id(request_id);
    req.set_call_kind(sb::eligibility::v1::CALL_KIND_USER_REQUESTED);
    v1::StartCallResponse resp;
    RETURN_IF_ERROR(Calls(&v1::CallsService::Stub::StartCall, req, &resp, std::move(who)));
    return resp.call();
  }

  absl::StatusOr<v1::Call> Get(const std::string& call_id, Who who = {}) {
    v1::GetCallRequest req;
    req.set_call_id(call_id);
    v1::GetCallResponse resp;
    RETURN_IF_ERROR(Calls(&v1::CallsService::Stub::GetCall, req, &resp, std::move(who)));
    return resp.call();
  }

  // Waits until the call reaches `state` (by GetCall); returns it.
  v1::Call WaitFor(const std::string& call_id, v1::CallState state,
                   absl::Duration timeout = absl::Seconds(40)) {
    v1::Call last;
    bool reached = testing::Eventually(
        [&] {
          auto c = Get(call_id);
          if (c.ok()) last = *c;
          return c.ok() && c->state() == state;
        },
        timeout);
    INFO("state " << v1::CallState_Name(last.state()) << " waiting for "
                  << v1::CallState_Name(state));
    REQUIRE(reached);
    return last;
  }

  // The inbound call Meta knows as `meta_call_id`, once the calls service has it.
  v1::Call InboundCall(const std::string& meta_call_id) {
    std::optional<v1::Call> found;
    REQUIRE(testing::Eventually(
        [&] {
          v1::ListCallsRequest req;
          req.set_filter("direction = INBOUND");
          v1::ListCallsResponse resp;
          if (!Calls(&v1::CallsService::Stub::ListCalls, req, &resp).ok()) return false;
          for (const auto& c : resp.calls()) {
            if (c.meta_call_id() == meta_call_id) found = c;
          }
          return found.has_value();
        },
        absl::Seconds(60)));
    return *found;
  }

  std::vector<v1::CallState> StatesOf(const std::string& call_id) {
    absl::MutexLock lock(&mu);
    std::vector<v1::CallState> out;
    for (const auto& e : changes) {
      if (e.call().call_id() == call_id) out.push_back(e.state());
    }
    return out;
  }
  std::vector<v1::TimelineEntry> TimelineOf(const std::string& call_id) {
    absl::MutexLock lock(&mu);
    std::vector<v1::TimelineEntry> out;
    for (const auto& e : timeline) {
      if (e.call_id() == call_id) out.push_back(e);
    }
    return out;
  }

  int64_t GraphRequests(const std::string& action) {
    auto stats = sim->Stats();
    auto it = stats.graph_requests.find(action);
    return it == stats.graph_requests.end() ? 0 : it->second;
  }

  // Seeds a call straight through the calls store (history tests need many calls fast).
  void Seed(v1::Call call) {
    sb::pg::Pool pool({.url = postgres_url, .schema = "calls", .pool_size = 1});
    sb::calls::Store store(pool, pool, pool, sb::core::Clock::Real());
    sb::calls::Journal journal(store, sb::core::Clock::Real(), sb::calls::Timing());
    REQUIRE(pool.InTransaction([&](sb::pg::Conn& tx) -> absl::Status {
                  return journal.Save(tx, call, {.to = call.state(), .changed = true},
                                      {.at = absl::Now()});
                })
                .ok());
  }

  testing::Suite suite;
  sb::metasim::Sim* sim;
  sb::runtime::App* app;
  std::string postgres_url;
  std::unique_ptr<v1::CallsService::Stub> calls;
  std::unique_ptr<sb::eligibility::v1::EligibilityService::Stub> eligibility;
  std::unique_ptr<sb::webhooks::v1::WebhooksService::Stub> webhooks;
  absl::Mutex mu;
  std::vector<v1::CallStateChanged> changes;
  std::vector<v1::TimelineEntry> timeline;
  std::vector<v1::CallbackDue> due;
  std::unique_ptr<sb::kafka::Consumer> consumer;
  std::unique_ptr<sb::kafka::Producer> producer;
};

v1::Call Seeded(const std::string& tenant, int n, v1::CallDirection direction, v1::CallState state,
                absl::Time offered, const std::string& name, const std::string& wa_id,
                int duration_seconds = 0, const std::string& agent = "agent-1") {
  v1::Call c;
  c.set_call_id(sb::core::NewId());
  c.set_tenant_id(tenant);
  c.set_meta_call_id(absl::StrCat("wacid.seed.", tenant, ".", n));
  c.set_direction(direction);
  c.set_state(state);
  c.set_business_phone_number_id(kNumber);
  c.mutable_contact()->set_wa_id(wa_id);
  c.mutable_contact()->set_phone_e164("+" + wa_id);
  c.mutable_contact()->set_display_name(name);
  *c.mutable_offered_time() = sb::core::ToProto(offered);
  if (state == v1::CALL_STATE_ENDED) {
    c.set_answered_by_agent_id(agent);
    *c.mutable_answered_time() = sb::core::ToProto(offered + absl::Seconds(5));
    *c.mutable_ended_time() = sb::core::ToProto(offered + absl::Seconds(5 + duration_seconds));
    c.mutable_duration()->set_seconds(duration_seconds);
    c.set_end_reason("COMPLETED");
  } else if (state != v1::CALL_STATE_OFFERED && state != v1::CALL_STATE_RINGING) {
    *c.mutable_ended_time() = sb::core::ToProto(offered + absl::Seconds(20));
    c.set_end_reason(state == v1::CALL_STATE_MISSED ? "RING_TIMEOUT" : "META_ERROR");
  }
  return c;
}

}  // namespace

TEST_CASE(
    "an outbound call: reserved, placed, ringing, answered by the contact, hung up by the agent") {
  Suite s;
  sb::metasim::UserBehaviour contact;
  contact.name = "Ana Souza";
  contact.ring_after = absl::Milliseconds(50);
  contact.answer_after = absl::Milliseconds(300);
  contact.hang_up_after = absl::InfiniteDuration();
  s.sim->SetBehaviour("5511966880001", contact);
  s.MakeCallable("5511966880001");

  auto placed = s.Start("5511966880001", "start-1");
  INFO(placed.status().ToString());
  REQUIRE(placed.ok());
  CHECK(placed->direction() == v1::CALL_DIRECTION_OUTBOUND);
  CHECK(placed->answered_by_agent_id() == "agent-1");
  CHECK(absl::StartsWith(placed->meta_call_id(), "wacid."));
  CHECK(placed->contact_region_code() == "BR");
  const std::string id = placed->call_id();

  // A retried StartCall is the same call, and Meta is not asked twice.
  auto retried = s.Start("5511966880001", "start-1");
  REQUIRE(retried.ok());
  CHECK(retried->call_id() == id);
  CHECK(s.GraphRequests("connect") == 1);

  v1::Call answered = s.WaitFor(id, v1::CALL_STATE_ANSWERED);
  CHECK(answered.has_ringing_time());
  CHECK(answered.business_display_number() == "16315553601");

  v1::EndCallRequest end;
  end.set_call_id(id);
  end.set_request_id("end-1");
  v1::EndCallResponse ended_resp;
  REQUIRE(s.Calls(&v1::CallsService::Stub::EndCall, end, &ended_resp).ok());
  CHECK(ended_resp.call().has_hangup_requested_time());
  v1::Call ended = s.WaitFor(id, v1::CALL_STATE_ENDED);
  CHECK(ended.disconnected_by() == v1::DISCONNECTOR_AGENT);
  CHECK(ended.end_reason() == "COMPLETED");
  CHECK(s.GraphRequests("terminate") == 1);

  REQUIRE(testing::Eventually([&] { return s.StatesOf(id).size() >= 4; }, absl::Seconds(20)));
  CHECK(s.StatesOf(id) == std::vector<v1::CallState>{v1::CALL_STATE_OFFERED, v1::CALL_STATE_RINGING,
                                                     v1::CALL_STATE_ANSWERED,
                                                     v1::CALL_STATE_ENDED});
  REQUIRE(testing::Eventually([&] { return !s.TimelineOf(id).empty(); }, absl::Seconds(20)));
  auto entries = s.TimelineOf(id);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].kind() == v1::TIMELINE_ENTRY_KIND_COMPLETED_OUTBOUND);
  CHECK(absl::StartsWith(entries[0].text(), "Outgoing call, 0:0"));
  CHECK(entries[0].contact().wa_id() == "5511966880001");
  CHECK(entries[0].header().tenant_id() == "acme");
}

TEST_CASE("an answered call whose end never comes is ended at the tenant's maximum duration") {
  // The deployment allows an hour; the tenant five seconds.
  Suite s(absl::Seconds(30), /*routing=*/false, /*billing=*/false,
          /*max_call_duration=*/absl::Hours(1));
  auto set_max = [&](std::optional<absl::Duration> d) {
    v1::UpdateCallsSettingsRequest req;
    if (d.has_value()) *req.mutable_settings()->mutable_max_call_duration() = sb::core::ToProto(*d);
    req.mutable_update_mask()->add_paths("max_call_duration");
    v1::UpdateCallsSettingsResponse resp;
    absl::Status s_ = s.Calls(&v1::CallsService::Stub::UpdateCallsSettings, req, &resp,
                              {.subject = "admin-1", .roles = {"admin"}});
    return s_.ok() ? absl::StatusOr<v1::CallsSettings>(resp.settings())
                   : absl::StatusOr<v1::CallsSettings>(s_);
  };
  for (absl::Duration bad :
       {absl::Milliseconds(999), absl::Hours(25), absl::Microseconds(1500500)}) {
    INFO(absl::FormatDuration(bad));
    auto refused = set_max(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(ReasonOf(refused.status()) == "SETTING_OUT_OF_RANGE");
    CHECK(sb::core::MetadataOf(refused.status())["field"] == "settings.max_call_duration");
  }
  auto cleared = set_max(std::nullopt);  // named but unset: the deployment's
  REQUIRE(cleared.ok());
  CHECK_FALSE(cleared->has_max_call_duration());
  auto set = set_max(absl::Seconds(5));
  REQUIRE(set.ok());
  CHECK(sb::core::FromProto(set->max_call_duration()) == absl::Seconds(5));
  CHECK(set->time_zone() == "UTC");  // the fields not named are kept

  sb::metasim::UserBehaviour contact;
  contact.ring_after = absl::Milliseconds(50);
  contact.answer_after = absl::Milliseconds(200);
  contact.hang_up_after = absl::InfiniteDuration();  // and Meta never sends its terminate
  s.sim->SetBehaviour("5511966880009", contact);
  s.MakeCallable("5511966880009");
  auto placed = s.Start("5511966880009", "start-max");
  REQUIRE(placed.ok());
  const std::string id = placed->call_id();
  v1::Call answered = s.WaitFor(id, v1::CALL_STATE_ANSWERED);

  v1::Call ended = s.WaitFor(id, v1::CALL_STATE_ENDED, absl::Seconds(20));
  CHECK(ended.end_reason() == "MAX_DURATION");
  CHECK(ended.disconnected_by() == v1::DISCONNECTOR_SYSTEM);
  CHECK(sb::core::FromProto(ended.ended_time()) ==
        sb::core::FromProto(answered.answered_time()) + absl::Seconds(5));
  CHECK_FALSE(ended.has_duration());  // billed only on what Meta reports
  // Meta is told to end it too, in case it still thinks the call is live.
  REQUIRE(testing::Eventually([&] { return s.GraphRequests("terminate") == 1; }));
  REQUIRE(testing::Eventually([&] { return s.StatesOf(id).size() >= 4; }, absl::Seconds(20)));
  CHECK(s.StatesOf(id).back() == v1::CALL_STATE_ENDED);
}

TEST_CASE("a call eligibility refuses is not placed, and the refusal carries every reason") {
  Suite s;
  auto refused = s.Start("5511966880002", "start-2");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ReasonOf(refused.status()) == "CALL_NOT_ELIGIBLE");
  std::string reasons = sb::core::MetadataOf(refused.status())["blocking_reasons"];
  CHECK(absl::StrContains(reasons, "NO_CONVERSATION_HISTORY"));
  CHECK(absl::StrContains(reasons, "NO_CALL_PERMISSION"));
  CHECK(s.GraphRequests("connect") == 0);
  v1::ListCallsRequest list;
  v1::ListCallsResponse listed;
  REQUIRE(s.Calls(&v1::CallsService::Stub::ListCalls, list, &listed).ok());
  CHECK(listed.calls().empty());
}

TEST_CASE("Meta refusing the connect fails the call with Meta's code") {
  Suite s;
  s.MakeCallable("5511966880003");
  s.sim->AddGraphFault({.action = "connect", .http_status = 400, .meta_code = 138006});
  auto refused = s.Start("5511966880003", "start-3");
  REQUIRE_FALSE(refused.ok());
  CHECK(ReasonOf(refused.status()) == "META_NO_CALL_PERMISSION");
  CHECK(sb::core::MetadataOf(refused.status())["meta_error_code"] == "138006");
  std::string id = sb::core::MetadataOf(refused.status())["call_id"];
  REQUIRE_FALSE(id.empty());
  v1::Call failed = s.WaitFor(id, v1::CALL_STATE_FAILED);
  CHECK(failed.end_reason() == "GRAPH_API_ERROR");
  CHECK(failed.meta_error_code() == 138006);
}

TEST_CASE("ten agents press Answer at once: one wins, Meta is asked to accept once") {
  Suite s(absl::Seconds(30), /*routing=*/true);
  auto routing = sb::routing::v1::RoutingService::NewStub(s.suite.channel());
  std::vector<std::string> agents;
  for (int i = 1; i <= 10; ++i) {
    agents.push_back(absl::StrCat("agent-", i));
    sb::routing::v1::SetAgentAvailabilityRequest available;
    available.set_availability(sb::routing::v1::AVAILABILITY_AVAILABLE);
    sb::routing::v1::SetAgentAvailabilityResponse resp;
    REQUIRE(Suite::Call(routing.get(), &sb::routing::v1::RoutingService::Stub::SetAgentAvailability,
                        available, &resp, {.subject = agents.back()})
                .ok());
  }
  std::string meta_id = s.sim->PlaceUserCall(kNumber, "5511966880005").value();
  v1::Call ringing = s.WaitFor(s.InboundCall(meta_id).call_id(), v1::CALL_STATE_RINGING);
  REQUIRE(ringing.offered_agent_ids_size() == 10);

  std::vector<absl::Status> results(agents.size());
  std::vector<std::thread> pressing;
  for (size_t i = 0; i < agents.size(); ++i) {
    pressing.emplace_back([&, i] {
      v1::AnswerCallRequest answer;
      answer.set_call_id(ringing.call_id());
      answer.set_sdp_answer(kSdp);
      v1::AnswerCallResponse resp;
      results[i] =
          s.Calls(&v1::CallsService::Stub::AnswerCall, answer, &resp, {.subject = agents[i]});
    });
  }
  for (auto& t : pressing) t.join();
  int won = 0;
  for (const absl::Status& r : results) {
    if (r.ok()) {
      ++won;
      continue;
    }
    INFO(r.ToString());
    CHECK(r.code() == absl::StatusCode::kFailedPrecondition);
    CHECK((ReasonOf(r) == "CALL_CLAIMED_BY_OTHER" || ReasonOf(r) == "CALL_NOT_RINGING"));
  }
  CHECK(won == 1);
  CHECK(s.GraphRequests("accept") == 1);
  v1::Call answered = s.WaitFor(ringing.call_id(), v1::CALL_STATE_ANSWERED);
  CHECK(std::count(agents.begin(), agents.end(), answered.answered_by_agent_id()) == 1);
}

TEST_CASE("an inbound call: two agents answer, the first wins; the contact hangs up") {
  Suite s(absl::Seconds(30), /*routing=*/true);
  // Both agents take calls; the number is in no team, so routing rings them both.
  auto routing = sb::routing::v1::RoutingService::NewStub(s.suite.channel());
  for (const char* agent : {"agent-1", "agent-2"}) {
    sb::routing::v1::SetAgentAvailabilityRequest available;
    available.set_availability(sb::routing::v1::AVAILABILITY_AVAILABLE);
    sb::routing::v1::SetAgentAvailabilityResponse resp;
    REQUIRE(Suite::Call(routing.get(), &sb::routing::v1::RoutingService::Stub::SetAgentAvailability,
                        available, &resp, {.subject = agent})
                .ok());
  }
  sb::metasim::UserBehaviour caller;
  caller.name = "João Lima";
  caller.hang_up_after = absl::Milliseconds(1500);
  s.sim->SetBehaviour("5511966880004", caller);
  std::string meta_id = s.sim->PlaceUserCall(kNumber, "5511966880004").value();
  v1::Call offered = s.WaitFor(s.InboundCall(meta_id).call_id(), v1::CALL_STATE_RINGING);
  CHECK(offered.contact().display_name() == "João Lima");
  CHECK(offered.offered_agent_ids_size() == 2);
  // The agents it rings get the user's offer, to build their answer from.
  v1::GetCallRequest get;
  get.set_call_id(offered.call_id());
  v1::GetCallResponse ringing;
  REQUIRE(s.Calls(&v1::CallsService::Stub::GetCall, get, &ringing, {.subject = "agent-2"}).ok());
  CHECK(!ringing.sdp_offer().empty());
  CHECK(ringing.sdp_offer() == s.sim->Call(meta_id)->sdp_offer);

  v1::AnswerCallRequest answer;
  answer.set_call_id(offered.call_id());
  answer.set_sdp_answer(kSdp);
  answer.set_request_id("answer-1");
  v1::AnswerCallResponse first;
  REQUIRE(s.Calls(&v1::CallsService::Stub::AnswerCall, answer, &first).ok());
  CHECK(first.call().state() == v1::CALL_STATE_ANSWERED);
  CHECK(first.call().answered_by_agent_id() == "agent-1");
  // Its retry is the same answer; another agent is too late.
  v1::AnswerCallResponse again;
  REQUIRE(s.Calls(&v1::CallsService::Stub::AnswerCall, answer, &again).ok());
  CHECK(again.call().answered_by_agent_id() == "agent-1");
  answer.set_request_id("answer-2");
  v1::AnswerCallResponse second;
  absl::Status late =
      s.Calls(&v1::CallsService::Stub::AnswerCall, answer, &second, {.subject = "agent-2"});
  CHECK(late.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(ReasonOf(late) == "CALL_NOT_RINGING");
  CHECK(sb::core::MetadataOf(late)["state"] == "CALL_STATE_ANSWERED");
  CHECK(s.GraphRequests("pre_accept") == 1);
  CHECK(s.GraphRequests("accept") == 1);
  CHECK(s.sim->Call(meta_id)->sdp_answer == kSdp);
  // Answered: the offer is no longer given out.
  v1::GetCallResponse answered;
  REQUIRE(s.Calls(&v1::CallsService::Stub::GetCall, get, &answered).ok());
  CHECK(answered.sdp_offer().empty());

  v1::Call ended = s.WaitFor(offered.call_id(), v1::CALL_STATE_ENDED);
  CHECK(ended.disconnected_by() == v1::DISCONNECTOR_CONTACT);
  CHECK(ended.duration().seconds() >= 1);
  REQUIRE(testing::Eventually([&] { return !s.TimelineOf(offered.call_id()).empty(); },
                              absl::Seconds(20)));
  CHECK(absl::StartsWith(s.TimelineOf(offered.call_id())[0].text(), "Incoming call, 0:0"));
}

TEST_CASE("an inbound call declined by an agent, and one nobody answers") {
  // Long enough for the first call to be found and rejected while it still rings on a loaded
  // machine (it failed once with 1 s: the ring timer had missed it first), short for the second.
  Suite s(/*ring_timeout=*/absl::Seconds(4));
  std::string declined = s.sim->PlaceUserCall(kNumber, "5511966880005").value();
  v1::Call call = s.InboundCall(declined);
  v1::RejectCallRequest reject;
  reject.set_call_id(call.call_id());
  reject.set_reason("outside business hours");
  v1::RejectCallResponse rejected;
  REQUIRE(s.Calls(&v1::CallsService::Stub::RejectCall, reject, &rejected).ok());
  CHECK(rejected.call().state() == v1::CALL_STATE_REJECTED);
  CHECK(rejected.call().end_reason() == "BUSINESS_REJECTED");
  CHECK(s.GraphRequests("reject") == 1);
  // Rejecting again is refused with the state: it is over.
  absl::Status twice = s.Calls(&v1::CallsService::Stub::RejectCall, reject, &rejected);
  CHECK(ReasonOf(twice) == "CALL_NOT_RINGING");

  std::string unanswered = s.sim->PlaceUserCall(kNumber, "5511966880006").value();
  v1::Call ringing = s.InboundCall(unanswered);
  v1::Call missed = s.WaitFor(ringing.call_id(), v1::CALL_STATE_MISSED);
  CHECK(missed.end_reason() == "RING_TIMEOUT");
  CHECK(missed.disconnected_by() == v1::DISCONNECTOR_SYSTEM);
  // Meta is told, so the caller stops hearing it ring.
  REQUIRE(testing::Eventually([&] { return s.GraphRequests("reject") == 2; }, absl::Seconds(10)));
  REQUIRE(testing::Eventually([&] { return !s.TimelineOf(ringing.call_id()).empty(); },
                              absl::Seconds(20)));
  auto entry = s.TimelineOf(ringing.call_id())[0];
  CHECK(entry.kind() == v1::TIMELINE_ENTRY_KIND_MISSED_INBOUND);
  CHECK(entry.text() == "Missed call from WhatsApp User");

  // Dashboards count finished calls by outcome.
  sb::http::Client http;
  auto metrics =
      http.Send({.method = "GET",
                 .url = absl::StrCat("http://127.0.0.1:", s.app->metrics_port(), "/metrics")});
  REQUIRE(metrics.ok());
  CHECK(testing::MetricSample(metrics->body, "switchboard_calls_finished_total",
                              {{"direction", "INBOUND"},
                               {"state", "REJECTED"},
                               {"end_reason", "BUSINESS_REJECTED"}}) == 1.0);
  CHECK(testing::MetricSample(
            metrics->body, "switchboard_calls_finished_total",
            {{"direction", "INBOUND"}, {"state", "MISSED"}, {"end_reason", "RING_TIMEOUT"}}) ==
        1.0);
  CHECK(testing::MetricSample(metrics->body, "switchboard_calls_graph_requests_total",
                              {{"action", "reject"}, {"outcome", "ok"}}) == 2.0);
}

TEST_CASE("history: filters, search, stable pages, stats, analytics and export") {
  Suite s;
  const absl::Time t0 = absl::Now() - absl::Hours(2);
  std::vector<v1::Call> seeded;
  for (int i = 0; i < 30; ++i) {
    v1::CallState state = i % 3 == 0   ? v1::CALL_STATE_MISSED
                          : i % 3 == 1 ? v1::CALL_STATE_ENDED
                                       : v1::CALL_STATE_FAILED;
    v1::CallDirection dir = i % 2 == 0 ? v1::CALL_DIRECTION_INBOUND : v1::CALL_DIRECTION_OUTBOUND;
    std::string name = i == 7   ? "José Müller"
                       : i == 8 ? "=HYPERLINK(\"x\")"
                                : "Cliente " + std::to_string(i);
    seeded.push_back(Seeded("acme", i, dir, state, t0 + absl::Minutes(i), name,
                            absl::StrCat("55119000000", 10 + i), 90 + i));
    if (i % 6 == 5) {
      // Picked up, then failed (Meta's start_time on a FAILED terminate): failed, not answered.
      v1::Call& c = seeded.back();
      *c.mutable_answered_time() = sb::core::ToProto(t0 + absl::Minutes(i) + absl::Seconds(5));
      c.mutable_duration()->set_seconds(12);
    }
    s.Seed(seeded.back());
  }
  // Another tenant's calls, with a name that would match.
  for (int i = 0; i < 5; ++i) {
    s.Seed(Seeded("globex", i, v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_ENDED,
                  t0 + absl::Minutes(i), "José Müller", absl::StrCat("55119000001", 10 + i), 60));
  }

  auto list = [&](const std::string& filter, const std::string& query, int size,
                  const std::string& token = "") {
    v1::ListCallsRequest req;
    req.set_filter(filter);
    req.set_query(query);
    req.set_page_size(size);
    req.set_page_token(token);
    v1::ListCallsResponse resp;
    absl::Status st = s.Calls(&v1::CallsService::Stub::ListCalls, req, &resp);
    INFO(st.ToString());
    REQUIRE(st.ok());
    return resp;
  };

  SECTION("newest first, keyset pages that stay stable under inserts") {
    v1::ListCallsResponse p1 = list("", "", 12);
    REQUIRE(p1.calls_size() == 12);
    CHECK(p1.calls(0).call_id() == seeded[29].call_id());
    REQUIRE_FALSE(p1.next_page_token().empty());
    // New calls arrive between pages: they sort before page 1 and do not shift page 2.
    for (int i = 30; i < 33; ++i) {
      s.Seed(Seeded("acme", i, v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_MISSED,
                    t0 + absl::Minutes(60 + i), "Late", "5511900000099"));
    }
    v1::ListCallsResponse p2 = list("", "", 12, p1.next_page_token());
    REQUIRE(p2.calls_size() == 12);
    CHECK(p2.calls(0).call_id() == seeded[17].call_id());
    v1::ListCallsResponse p3 = list("", "", 12, p2.next_page_token());
    CHECK(p3.calls_size() == 6);
    CHECK(p3.next_page_token().empty());
    CHECK(p3.calls(5).call_id() == seeded[0].call_id());
    // A token only works with the filter it was made for.
    v1::ListCallsRequest req;
    req.set_filter("state = MISSED");
    req.set_page_token(p1.next_page_token());
    v1::ListCallsResponse resp;
    CHECK(ReasonOf(s.Calls(&v1::CallsService::Stub::ListCalls, req, &resp)) ==
          "INVALID_PAGE_TOKEN");
  }
  SECTION("filters by direction, state and time, and search by name or number") {
    v1::ListCallsResponse missed_in =
        list("direction = INBOUND AND (state = MISSED OR state = FAILED)", "", 100);
    for (const auto& c : missed_in.calls()) {
      CHECK(c.direction() == v1::CALL_DIRECTION_INBOUND);
      CHECK((c.state() == v1::CALL_STATE_MISSED || c.state() == v1::CALL_STATE_FAILED));
    }
    CHECK(missed_in.calls_size() == 10);
    v1::ListCallsResponse recent =
        list(absl::StrCat(
                 "offered_time >= \"",
                 absl::FormatTime(absl::RFC3339_full, t0 + absl::Minutes(25), absl::UTCTimeZone()),
                 "\""),
             "", 100);
    CHECK(recent.calls_size() == 5);
    v1::ListCallsResponse by_name = list("", "jose muller", 100);
    REQUIRE(by_name.calls_size() == 1);
    CHECK(by_name.calls(0).call_id() == seeded[7].call_id());
    CHECK(list("", "MÜLLER", 100).calls_size() == 1);
    v1::ListCallsResponse by_number = list("", "+55 11 9000000 17", 100);
    REQUIRE(by_number.calls_size() == 1);
    CHECK(by_number.calls(0).call_id() == seeded[7].call_id());
  }
  SECTION("bad filters are refused with where they went wrong") {
    v1::ListCallsRequest req;
    req.set_filter("direction = SIDEWAYS");
    v1::ListCallsResponse resp;
    absl::Status bad = s.Calls(&v1::CallsService::Stub::ListCalls, req, &resp);
    CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
    CHECK(ReasonOf(bad) == "INVALID_FILTER");
    CHECK(sb::core::MetadataOf(bad).count("position") == 1);
    req.set_filter("colour = \"red\"");
    CHECK(ReasonOf(s.Calls(&v1::CallsService::Stub::ListCalls, req, &resp)) == "INVALID_FILTER");
  }
  SECTION("another tenant's calls do not exist for this one") {
    auto theirs = s.Get(seeded[0].call_id(), {.tenant = "globex"});
    CHECK(theirs.status().code() == absl::StatusCode::kNotFound);
    CHECK(ReasonOf(theirs.status()) == "CALL_NOT_FOUND");
  }
  SECTION("stats and analytics add up") {
    v1::GetCallStatsRequest req;
    *req.mutable_start_time() = sb::core::ToProto(t0 - absl::Minutes(1));
    *req.mutable_end_time() = sb::core::ToProto(t0 + absl::Hours(1));
    v1::GetCallStatsResponse stats;
    REQUIRE(s.Calls(&v1::CallsService::Stub::GetCallStats, req, &stats).ok());
    CHECK(stats.total_calls() == 30);
    CHECK(stats.answered_calls() == 10);
    CHECK(stats.missed_calls() == 10);
    CHECK(stats.failed_calls() == 10);
    CHECK(stats.waiting_calls() == 0);
    // The categories partition the total.
    CHECK(stats.answered_calls() + stats.missed_calls() + stats.rejected_calls() +
              stats.failed_calls() + stats.waiting_calls() ==
          stats.total_calls());
    CHECK(stats.inbound_calls() == 15);
    CHECK(stats.success_rate_bps() == 3333);
    int64_t talk = 0;
    for (int i = 1; i < 30; i += 3) talk += 90 + i;
    CHECK(stats.total_duration().seconds() == talk);
    CHECK(stats.average_duration().seconds() == talk / 10);

    v1::GetCallAnalyticsRequest areq;
    areq.set_period(v1::ANALYTICS_PERIOD_LAST_24_HOURS);
    v1::GetCallAnalyticsResponse analytics;
    REQUIRE(s.Calls(&v1::CallsService::Stub::GetCallAnalytics, areq, &analytics).ok());
    CHECK(analytics.buckets_size() == 24);
    CHECK(analytics.totals().total_calls() == 30);
    int64_t summed = 0;
    for (const auto& b : analytics.buckets()) summed += b.total_calls();
    CHECK(summed == 30);
    REQUIRE(analytics.top_contacts_size() == 10);
    CHECK(analytics.top_contacts(0).call_count() == 1);
  }
  SECTION("export: header, every row, cells safe for spreadsheets") {
    v1::ExportCallsRequest req;
    req.set_filter("state = ENDED");
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + Suite::Token({}));
    auto reader = s.calls->ExportCalls(&ctx, req);
    std::string csv;
    v1::ExportCallsResponse chunk;
    while (reader->Read(&chunk)) csv += chunk.data();
    REQUIRE(reader->Finish().ok());
    std::vector<std::string> rows = absl::StrSplit(csv, "\r\n", absl::SkipEmpty());
    REQUIRE(rows.size() == 11);
    CHECK(absl::StartsWith(rows[0], "call_id,direction,state,contact_name"));
    CHECK(absl::StrContains(csv, "José Müller"));
    // The contact named like a formula (a FAILED call) is in the full export, defused.
    v1::ExportCallsRequest all;
    grpc::ClientContext ctx2;
    ctx2.AddMetadata("authorization", "Bearer " + Suite::Token({}));
    auto reader2 = s.calls->ExportCalls(&ctx2, all);
    std::string full;
    while (reader2->Read(&chunk)) full += chunk.data();
    REQUIRE(reader2->Finish().ok());
    CHECK(absl::StrContains(full, "\"'=HYPERLINK(\"\"x\"\")\""));
    CHECK_FALSE(absl::StrContains(full, ",=HYPERLINK"));
  }
}

TEST_CASE("notes on a call, listed per call and per contact; only authors edit them") {
  Suite s;
  v1::Call call = Seeded("acme", 1, v1::CALL_DIRECTION_INBOUND, v1::CALL_STATE_ENDED,
                         absl::Now() - absl::Minutes(5), "Ana Souza", "5511966880007", 120);
  s.Seed(call);
  v1::AddCallNoteRequest add;
  add.set_call_id(call.call_id());
  add.set_text("Wants a refund for order 1234");
  add.set_request_id("note-1");
  v1::AddCallNoteResponse added;
  REQUIRE(s.Calls(&v1::CallsService::Stub::AddCallNote, add, &added).ok());
  CHECK(added.note().author_agent_id() == "agent-1");
  CHECK(added.note().contact().wa_id() == "5511966880007");
  v1::AddCallNoteResponse repeat;
  REQUIRE(s.Calls(&v1::CallsService::Stub::AddCallNote, add, &repeat).ok());
  CHECK(repeat.note().note_id() == added.note().note_id());

  v1::ListCallNotesRequest by_contact;
  by_contact.mutable_contact()->set_wa_id("5511966880007");
  v1::ListCallNotesResponse listed;
  REQUIRE(s.Calls(&v1::CallsService::Stub::ListCallNotes, by_contact, &listed).ok());
  REQUIRE(listed.notes_size() == 1);

  v1::UpdateCallNoteRequest edit;
  edit.set_note_id(added.note().note_id());
  edit.set_text("Refund approved");
  v1::UpdateCallNoteResponse edited;
  absl::Status other =
      s.Calls(&v1::CallsService::Stub::UpdateCallNote, edit, &edited, {.subject = "agent-2"});
  CHECK(other.code() == absl::StatusCode::kPermissionDenied);
  CHECK(ReasonOf(other) == "NOT_NOTE_AUTHOR");
  REQUIRE(s.Calls(&v1::CallsService::Stub::UpdateCallNote, edit, &edited,
                  {.subject = "lead-1", .roles = {"supervisor"}})
              .ok());
  CHECK(edited.note().text() == "Refund approved");

  v1::DeleteCallNoteRequest del;
  del.set_note_id(added.note().note_id());
  v1::DeleteCallNoteResponse deleted;
  REQUIRE(s.Calls(&v1::CallsService::Stub::DeleteCallNote, del, &deleted).ok());
  REQUIRE(s.Calls(&v1::CallsService::Stub::DeleteCallNote, del, &deleted).ok());
  v1::ListCallNotesRequest by_call;
  by_call.set_call_id(call.call_id());
  REQUIRE(s.Calls(&v1::CallsService::Stub::ListCallNotes, by_call, &listed).ok());
  CHECK(listed.notes().empty());

  add.set_call_id(call.call_id());
  add.set_request_id("");
  add.set_text(std::string(4001, 'x'));
  CHECK(s.Calls(&v1::CallsService::Stub::AddCallNote, add, &added).code() ==
        absl::StatusCode::kInvalidArgument);
  add.set_text("hello");
  CHECK(ReasonOf(s.Calls(&v1::CallsService::Stub::AddCallNote, add, &added,
                         {.tenant = "globex"})) == "CALL_NOT_FOUND");
}

TEST_CASE("a scheduled callback comes due once, then is completed; closed ones stay closed") {
  Suite s;
  v1::ScheduleCallbackRequest req;
  req.mutable_contact()->set_wa_id("5511966880008");
  req.set_business_phone_number_id(kNumber);
  req.set_assigned_agent_id("agent-1");
  *req.mutable_due_time() = sb::core::ToProto(absl::Now() + absl::Milliseconds(800));
  req.set_note("Call back about the invoice");
  req.set_request_id("cb-1");
  v1::ScheduleCallbackResponse scheduled;
  REQUIRE(s.Calls(&v1::CallsService::Stub::ScheduleCallback, req, &scheduled).ok());
  CHECK(scheduled.callback().state() == v1::CALLBACK_STATE_PENDING);
  const std::string id = scheduled.callback().callback_id();

  REQUIRE(testing::Eventually(
      [&] {
        absl::MutexLock lock(&s.mu);
        return !s.due.empty();
      },
      absl::Seconds(20)));
  {
    absl::MutexLock lock(&s.mu);
    REQUIRE(s.due.size() == 1);
    CHECK(s.due[0].callback().callback_id() == id);
    CHECK(s.due[0].header().tenant_id() == "acme");
    CHECK(s.due[0].callback().state() == v1::CALLBACK_STATE_DUE);
  }
  v1::ListCallbacksRequest list;
  list.set_filter("assigned_agent_id = \"agent-1\" AND state = DUE");
  v1::ListCallbacksResponse listed;
  REQUIRE(s.Calls(&v1::CallsService::Stub::ListCallbacks, list, &listed).ok());
  REQUIRE(listed.callbacks_size() == 1);

  v1::CompleteCallbackRequest complete;
  complete.set_callback_id(id);
  v1::CompleteCallbackResponse completed;
  REQUIRE(s.Calls(&v1::CallsService::Stub::CompleteCallback, complete, &completed).ok());
  CHECK(completed.callback().state() == v1::CALLBACK_STATE_COMPLETED);
  v1::CancelCallbackRequest cancel;
  cancel.set_callback_id(id);
  v1::CancelCallbackResponse canceled;
  CHECK(ReasonOf(s.Calls(&v1::CallsService::Stub::CancelCallback, cancel, &canceled)) ==
        "CALLBACK_COMPLETED");

  *req.mutable_due_time() = sb::core::ToProto(absl::Now() - absl::Minutes(1));
  req.set_request_id("cb-2");
  CHECK(s.Calls(&v1::CallsService::Stub::ScheduleCallback, req, &scheduled).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE(
    "a call through Meta is billed: its cost on the call, in the ledger and the month; "
    "at the limit eligibility blocks, a top-up lifts it") {
  namespace bv1 = sb::billing::v1;
  Suite s(absl::Seconds(30), /*routing=*/false, /*billing=*/true);
  auto billing = bv1::BillingService::NewStub(s.suite.channel());
  const Who admin{.subject = "admin-1", .roles = {"admin"}};
  bv1::UpdateRatePlanRequest plan;
  plan.mutable_rate_plan()->set_monthly_minutes_limit(1);
  plan.mutable_update_mask()->add_paths("monthly_minutes_limit");
  bv1::UpdateRatePlanResponse planned;
  REQUIRE(
      Suite::Call(billing.get(), &bv1::BillingService::Stub::UpdateRatePlan, plan, &planned, admin)
          .ok());

  sb::metasim::UserBehaviour contact;
  contact.answer_after = absl::Milliseconds(200);
  contact.hang_up_after = absl::Seconds(2);  // Meta's terminate carries the talk time
  s.sim->SetBehaviour("5511966880011", contact);
  s.MakeCallable("5511966880011");
  auto placed = s.Start("5511966880011", "billed-1");
  INFO(placed.status().ToString());
  REQUIRE(placed.ok());
  const v1::Call ended = s.WaitFor(placed->call_id(), v1::CALL_STATE_ENDED);
  REQUIRE(ended.has_duration());
  // Billing rates what Meta reported (a few seconds: one whole minute, $0.005) and calls keeps
  // the cost it was told.
  REQUIRE(testing::Eventually(
      [&] {
        auto c = s.Get(placed->call_id());
        return c.ok() && c->cost().amount_micros() == 5'000;
      },
      absl::Seconds(30)));
  bv1::ListUsageEntriesRequest entries;
  entries.set_filter(absl::StrCat("call_id = \"", placed->call_id(), "\""));
  bv1::ListUsageEntriesResponse listed;
  REQUIRE(Suite::Call(billing.get(), &bv1::BillingService::Stub::ListUsageEntries, entries, &listed,
                      admin)
              .ok());
  REQUIRE(listed.entries_size() == 1);
  CHECK(listed.entries(0).duration().seconds() == ended.duration().seconds());
  CHECK(listed.entries(0).minutes() == 1);
  bv1::GetUsageResponse usage;
  REQUIRE(Suite::Call(billing.get(), &bv1::BillingService::Stub::GetUsage, bv1::GetUsageRequest(),
                      &usage, admin)
              .ok());
  CHECK(usage.usage().minutes_used() == 1);
  CHECK(usage.usage().level() == bv1::USAGE_LEVEL_EXHAUSTED);

  // Eligibility hears of it on billing.usage.v1: the month's minutes are gone.
  auto blocked_by_minutes = [&] {
    sb::eligibility::v1::CheckEligibilityRequest req;
    req.mutable_contact()->set_wa_id("5511966880011");
    req.set_business_phone_number_id(kNumber);
    req.set_call_kind(sb::eligibility::v1::CALL_KIND_USER_REQUESTED);
    sb::eligibility::v1::CheckEligibilityResponse resp;
    if (!Suite::Call(s.eligibility.get(),
                     &sb::eligibility::v1::EligibilityService::Stub::CheckEligibility, req, &resp)
             .ok()) {
      return std::optional<bool>();
    }
    for (const auto& r : resp.blocking_reasons()) {
      if (r.code() == "MONTHLY_MINUTES_EXHAUSTED") return std::optional<bool>(true);
    }
    return std::optional<bool>(false);
  };
  REQUIRE(testing::Eventually([&] { return blocked_by_minutes() == true; }, absl::Seconds(20)));
  bv1::PurchaseMinutesRequest topup;
  topup.set_minutes(10);
  topup.set_request_id(sb::core::NewId());
  bv1::PurchaseMinutesResponse bought;
  REQUIRE(
      Suite::Call(billing.get(), &bv1::BillingService::Stub::PurchaseMinutes, topup, &bought, admin)
          .ok());
  REQUIRE(testing::Eventually([&] { return blocked_by_minutes() == false; }, absl::Seconds(20)));
}

TEST_CASE("billing's rating sets the call's cost, once") {
  Suite s;
  v1::Call call = Seeded("acme", 1, v1::CALL_DIRECTION_OUTBOUND, v1::CALL_STATE_ENDED,
                         absl::Now() - absl::Minutes(10), "Ana Souza", "5511966880009", 330);
  s.Seed(call);
  sb::billing::v1::CallRated rated;
  rated.mutable_header()->set_tenant_id("acme");
  rated.mutable_header()->set_entity_id("acme");
  rated.set_call_id(call.call_id());
  rated.mutable_cost()->set_amount_micros(30000);
  rated.mutable_cost()->set_currency_code("USD");
  rated.set_usage_minutes(6);
  sb::kafka::Event e = sb::kafka::MakeEvent(rated, "acme", "billing");
  for (int i = 0; i < 2; ++i) {
    REQUIRE(s.producer->PublishAndWait(sb::kafka::kBillingUsage, e, absl::Seconds(10)).ok());
  }
  REQUIRE(testing::Eventually(
      [&] {
        auto c = s.Get(call.call_id());
        return c.ok() && c->cost().amount_micros() == 30000;
      },
      absl::Seconds(20)));
  v1::GetCallStatsRequest req;
  v1::GetCallStatsResponse stats;
  REQUIRE(s.Calls(&v1::CallsService::Stub::GetCallStats, req, &stats).ok());
  CHECK(stats.total_cost().amount_micros() == 30000);
  CHECK(stats.total_cost().currency_code() == "USD");
  CHECK(stats.billed_minutes() == 6);
}

TEST_CASE("settings: admins set the time zone and language; bad values change nothing") {
  Suite s;
  v1::GetCallsSettingsRequest get;
  v1::GetCallsSettingsResponse got;
  REQUIRE(s.Calls(&v1::CallsService::Stub::GetCallsSettings, get, &got).ok());
  CHECK(got.settings().time_zone() == "UTC");
  CHECK(got.settings().language() == "en");
  v1::UpdateCallsSettingsRequest update;
  update.mutable_settings()->set_time_zone("America/Sao_Paulo");
  update.mutable_settings()->set_language("pt-BR");
  v1::UpdateCallsSettingsResponse updated;
  CHECK(ReasonOf(s.Calls(&v1::CallsService::Stub::UpdateCallsSettings, update, &updated)) ==
        "ADMIN_ROLE_REQUIRED");
  Who admin{.subject = "ops", .roles = {"admin"}};
  REQUIRE(s.Calls(&v1::CallsService::Stub::UpdateCallsSettings, update, &updated, admin).ok());
  update.mutable_settings()->set_time_zone("Mars/Olympus");
  CHECK(ReasonOf(s.Calls(&v1::CallsService::Stub::UpdateCallsSettings, update, &updated, admin)) ==
        "INVALID_TIME_ZONE");
  REQUIRE(s.Calls(&v1::CallsService::Stub::GetCallsSettings, get, &got).ok());
  CHECK(got.settings().time_zone() == "America/Sao_Paulo");
  CHECK(got.settings().language() == "pt-BR");
}

TEST_CASE("bad requests are refused with the field, and write nothing") {
  Suite s;
  s.MakeCallable("5511966880010");
  struct Case {
    const char* what;
    std::function<void(v1::StartCallRequest&)> spoil;
    const char* reason;
  };
  const Case cases[] = {
      {"no request id", [](auto& r) { r.clear_request_id(); }, "MISSING_REQUEST_ID"},
      {"no contact", [](auto& r) { r.clear_contact(); }, "MISSING_CONTACT"},
      {"bad phone", [](auto& r) { r.mutable_contact()->set_phone_e164("+1234"); },
       "INVALID_PHONE_NUMBER"},
      {"no sdp", [](auto& r) { r.clear_sdp_offer(); }, "MISSING_SDP_OFFER"},
      {"no kind", [](auto& r) { r.set_call_kind(sb::eligibility::v1::CALL_KIND_UNSPECIFIED); },
       "MISSING_CALL_KIND"},
      {"bad number id", [](auto& r) { r.set_business_phone_number_id("12 34"); }, "INVALID_ID"},
  };
  for (const Case& c : cases) {
    v1::StartCallRequest req;
    req.set_agent_id("agent-1");
    req.mutable_contact()->set_wa_id("5511966880010");
    req.set_business_phone_number_id(kNumber);
    req.set_sdp_offer(kSdp);
    req.set_request_id("bad-1");
    req.set_call_kind(sb::eligibility::v1::CALL_KIND_USER_REQUESTED);
    c.spoil(req);
    v1::StartCallResponse resp;
    absl::Status st = s.Calls(&v1::CallsService::Stub::StartCall, req, &resp);
    INFO(c.what << ": " << st.ToString());
    CHECK(st.code() == absl::StatusCode::kInvalidArgument);
    CHECK(ReasonOf(st) == c.reason);
  }
  // Another agent's call may not be placed by a plain agent.
  v1::StartCallRequest req;
  req.set_agent_id("agent-9");
  req.mutable_contact()->set_wa_id("5511966880010");
  req.set_business_phone_number_id(kNumber);
  req.set_sdp_offer(kSdp);
  req.set_request_id("bad-2");
  req.set_call_kind(sb::eligibility::v1::CALL_KIND_USER_REQUESTED);
  v1::StartCallResponse resp;
  CHECK(s.Calls(&v1::CallsService::Stub::StartCall, req, &resp).code() ==
        absl::StatusCode::kPermissionDenied);
  CHECK(s.GraphRequests("connect") == 0);
  v1::ListCallsRequest list;
  v1::ListCallsResponse listed;
  REQUIRE(s.Calls(&v1::CallsService::Stub::ListCalls, list, &listed).ok());
  CHECK(listed.calls().empty());
}

TEST_CASE(
    "the contact's answer that beats the Graph response is kept and applied once Meta's id is "
    "known") {
  Suite s;
  sb::metasim::UserBehaviour contact;
  contact.ring_after = absl::Seconds(30);  // the simulator itself stays quiet meanwhile
  contact.on_call = sb::metasim::CallAnswer::kNoAnswer;
  s.sim->SetBehaviour("5511966880011", contact);
  s.MakeCallable("5511966880011");
  // Meta takes the call at once but answers the business's connect late.
  s.sim->AddGraphFault({.action = "connect", .http_status = 0, .delay = absl::Seconds(3)});
  absl::StatusOr<v1::Call> placed;
  std::thread starter([&] { placed = s.Start("5511966880011", "start-slow"); });

  // Meta's id exists at Meta before the business knows it: the contact's connect (SDP answer,
  // without our id in it) arrives through Kafka as the edge would publish it.
  std::string wacid;
  REQUIRE(testing::Eventually(
      [&] {
        for (const auto& c : s.sim->Calls()) {
          if (c.business_initiated && c.user == "5511966880011") wacid = c.id;
        }
        return !wacid.empty();
      },
      absl::Seconds(10)));
  sb::webhooks::v1::WhatsAppEvent answer;
  answer.mutable_header()->set_tenant_id("acme");
  answer.mutable_header()->set_entity_id(wacid);
  answer.set_phone_number_id(kNumber);
  answer.set_display_phone_number("16315553601");
  *answer.mutable_meta_event_time() = sb::core::ToProto(absl::Now());
  auto* connected = answer.mutable_call_connected();
  connected->set_meta_call_id(wacid);
  connected->set_direction(sb::webhooks::v1::CALL_DIRECTION_BUSINESS_INITIATED);
  connected->set_sdp_type(sb::webhooks::v1::SDP_TYPE_ANSWER);
  connected->set_sdp(kSdp);
  connected->mutable_contact()->set_wa_id("5511966880011");
  sb::kafka::Event event = sb::kafka::MakeEvent(answer, wacid, "webhooks");
  event.source = "//switchboard/webhooks";
  REQUIRE(s.producer->PublishAndWait(sb::kafka::kWhatsAppEvents, event, absl::Seconds(10)).ok());
  // It is parked: the call it belongs to does not carry Meta's id yet.
  REQUIRE(testing::Eventually(
      [&] {
        sb::pg::Pool pool({.url = s.postgres_url, .schema = "calls", .pool_size = 1});
        auto r = pool.Exec("SELECT count(*) FROM parked_events WHERE meta_call_id = $1", {wacid});
        return r.ok() && r->GetInt(0, 0) == 1;
      },
      absl::Seconds(10)));

  starter.join();
  INFO(placed.status().ToString());
  REQUIRE(placed.ok());
  CHECK(placed->meta_call_id() == wacid);
  CHECK(placed->state() == v1::CALL_STATE_ANSWERED);
  REQUIRE(testing::Eventually([&] { return s.StatesOf(placed->call_id()).size() >= 2; },
                              absl::Seconds(20)));
  CHECK(s.StatesOf(placed->call_id()) ==
        std::vector<v1::CallState>{v1::CALL_STATE_OFFERED, v1::CALL_STATE_ANSWERED});
  sb::pg::Pool pool({.url = s.postgres_url, .schema = "calls", .pool_size = 1});
  auto left = pool.Exec("SELECT count(*) FROM parked_events", {});
  REQUIRE(left.ok());
  CHECK(left->GetInt(0, 0) == 0);
}
