// Routing end to end on the real parts: the routing and webhooks targets in one runtime, real
// PostgreSQL, the embedded Kafka cluster. Calls' events are published as calls publishes them;
// what routing decides is read back from its topics and its API.
#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "services/routing/module.h"
#include "services/webhooks/module.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"

namespace sb = switchboard;
namespace v1 = switchboard::routing::v1;
namespace calls = switchboard::calls::v1;
namespace testing = switchboard::testing;
using Ids = std::vector<std::string>;
using testing::Who;

namespace {

constexpr char kNumber[] = "106540352242922";       // acme's (the suite's default number)
constexpr char kOtherNumber[] = "106540352242923";  // acme's too
constexpr char kGlobexNumber[] = "206540352242922";

const Who kAdmin{.subject = "admin-1", .roles = {"admin"}};
const Who kGlobexAdmin{.subject = "admin-9", .roles = {"admin"}, .tenant = "globex"};

Who Agent(const std::string& id, const std::string& tenant = "acme") {
  return {.subject = id, .roles = {"agent"}, .tenant = tenant};
}

// Everything routing publishes, as it arrives.
class Topics {
 public:
  explicit Topics(const std::string& brokers) {
    consumer_ =
        std::move(sb::kafka::Consumer::Create(
                      {.brokers = brokers,
                       .group_id = absl::StrCat("test.", sb::core::NewId()),
                       .topics = {sb::kafka::kRoutingOffers, sb::kafka::kRoutingAvailability,
                                  sb::kafka::kWhatsAppOutbound}},
                      [this](const sb::kafka::Message& m) { return Take(m); })
                      .value());
    consumer_->Start();
  }

  // The offers of `call_id` in sequence order.
  std::vector<v1::CallOffer> Offers(const std::string& call_id) {
    absl::MutexLock lock(&mu_);
    std::vector<v1::CallOffer> out;
    for (const auto& [key, offer] : offers_) {
      if (key.first == call_id) out.push_back(offer);
    }
    return out;
  }
  std::optional<v1::CallOffer> Last(const std::string& call_id) {
    std::vector<v1::CallOffer> all = Offers(call_id);
    if (all.empty()) return std::nullopt;
    return all.back();
  }
  // Waits for an offer of `call_id` that `pred` accepts.
  v1::CallOffer WaitFor(const std::string& call_id,
                        const std::function<bool(const v1::CallOffer&)>& pred,
                        absl::Duration timeout = absl::Seconds(20)) {
    std::optional<v1::CallOffer> found;
    bool ok = testing::Eventually(
        [&] {
          for (const v1::CallOffer& o : Offers(call_id)) {
            if (pred(o)) {
              found = o;
              return true;
            }
          }
          return false;
        },
        timeout);
    INFO("call " << call_id);
    REQUIRE(ok);
    return *found;
  }
  // The messages routing asked to send, by event id.
  std::map<std::string, sb::notifications::v1::OutboundMessageRequested> Messages() {
    absl::MutexLock lock(&mu_);
    return messages_;
  }
  // The availability last announced for `agent_id`.
  std::optional<v1::AgentAvailabilityChanged> Availability(const std::string& agent_id) {
    absl::MutexLock lock(&mu_);
    auto it = availability_.find(agent_id);
    if (it == availability_.end()) return std::nullopt;
    return it->second;
  }
  void WaitForAvailability(const std::string& agent_id, v1::Availability want,
                           absl::Duration timeout = absl::Seconds(20)) {
    bool ok = testing::Eventually(
        [&] {
          auto a = Availability(agent_id);
          return a.has_value() && a->agent().availability() == want;
        },
        timeout);
    INFO(agent_id << " to be " << v1::Availability_Name(want));
    REQUIRE(ok);
  }

 private:
  absl::Status Take(const sb::kafka::Message& m) {
    absl::MutexLock lock(&mu_);
    if (m.topic == sb::kafka::kWhatsAppOutbound) {
      sb::notifications::v1::OutboundMessageRequested message;
      if (!message.ParseFromString(m.event.payload)) return absl::InvalidArgumentError("message");
      messages_[m.event.id] = message;
    } else if (m.topic == sb::kafka::kRoutingOffers) {
      v1::CallOffer offer;
      if (!offer.ParseFromString(m.event.payload)) return absl::InvalidArgumentError("offer");
      offers_[{offer.call_id(), offer.header().sequence()}] = offer;
    } else {
      v1::AgentAvailabilityChanged changed;
      if (!changed.ParseFromString(m.event.payload)) return absl::InvalidArgumentError("agent");
      auto& last = availability_[changed.agent().agent_id()];
      if (last.header().sequence() < changed.header().sequence()) last = changed;
    }
    return absl::OkStatus();
  }

  absl::Mutex mu_;
  std::map<std::pair<std::string, int64_t>, v1::CallOffer> offers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, v1::AgentAvailabilityChanged> availability_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, sb::notifications::v1::OutboundMessageRequested> messages_
      ABSL_GUARDED_BY(mu_);
  std::unique_ptr<sb::kafka::Consumer> consumer_;
};

struct Fixture {
  using Flags = std::map<std::string, std::string>;
  // `meta_sim`: Meta is played by the simulator (for calling settings, which go to Meta first).
  explicit Fixture(Flags flags = {}, bool meta_sim = false)
      : suite({.services = {sb::webhooks::Register, sb::routing::Register},
               .meta_sim = meta_sim,
               .numbers = {testing::Number{},
                           {.phone_number_id = kOtherNumber,
                            .display_phone_number = "+1 631-555-3602"},
                           {.phone_number_id = kGlobexNumber,
                            .waba_id = "202290129340398",
                            .display_phone_number = "+1 631-555-9000",
                            .tenant = "globex"}},
               .flags = std::move(flags)}),
        topics(suite.kafka_bootstrap()) {
    producer = std::move(sb::kafka::Producer::Create({.brokers = suite.kafka_bootstrap()}).value());
  }

  template <typename Req, typename Resp>
  absl::Status Call(grpc::Status (v1::RoutingService::Stub::*method)(grpc::ClientContext*,
                                                                     const Req&, Resp*),
                    const Req& req, Resp* resp, const Who& who) {
    auto stub = suite.Stub<v1::RoutingService>();  // the channel of the app running now
    return testing::Suite::Call(stub.get(), method, req, resp, who);
  }

  v1::Agent Set(const std::string& agent, v1::Availability availability,
                const std::string& tenant = "acme") {
    v1::SetAgentAvailabilityRequest req;
    req.set_availability(availability);
    v1::SetAgentAvailabilityResponse resp;
    absl::Status s =
        Call(&v1::RoutingService::Stub::SetAgentAvailability, req, &resp, Agent(agent, tenant));
    INFO(s.ToString());
    REQUIRE(s.ok());
    return resp.agent();
  }
  v1::Agent Get(const std::string& agent, const Who& who = kAdmin) {
    v1::GetAgentAvailabilityRequest req;
    req.set_agent_id(agent);
    v1::GetAgentAvailabilityResponse resp;
    absl::Status s = Call(&v1::RoutingService::Stub::GetAgentAvailability, req, &resp, who);
    INFO(s.ToString());
    REQUIRE(s.ok());
    return resp.agent();
  }
  absl::StatusOr<v1::RoutingSettings> Settings(const Who& who) {
    v1::GetRoutingSettingsResponse resp;
    absl::Status s = Call(&v1::RoutingService::Stub::GetRoutingSettings, {}, &resp, who);
    if (!s.ok()) return s;
    return resp.settings();
  }
  absl::StatusOr<v1::RoutingSettings> UpdateSettings(const v1::RoutingSettings& settings, Ids mask,
                                                     const Who& who) {
    v1::UpdateRoutingSettingsRequest req;
    *req.mutable_settings() = settings;
    for (const auto& path : mask) req.mutable_update_mask()->add_paths(path);
    v1::UpdateRoutingSettingsResponse resp;
    absl::Status s = Call(&v1::RoutingService::Stub::UpdateRoutingSettings, req, &resp, who);
    if (!s.ok()) return s;
    return resp.settings();
  }
  absl::Status Upsert(const v1::Team& team, const Who& who = kAdmin) {
    v1::UpsertTeamRequest req;
    *req.mutable_team() = team;
    v1::UpsertTeamResponse resp;
    return Call(&v1::RoutingService::Stub::UpsertTeam, req, &resp, who);
  }
  absl::StatusOr<v1::ClaimCallResponse> Claim(const std::string& call_id, const std::string& agent,
                                              const std::string& tenant = "acme") {
    v1::ClaimCallRequest req;
    req.set_call_id(call_id);
    v1::ClaimCallResponse resp;
    absl::Status s = Call(&v1::RoutingService::Stub::ClaimCall, req, &resp, Agent(agent, tenant));
    if (!s.ok()) return s;
    return resp;
  }

  // Publishes a call's transition as calls does (key: the call id, unless `key` says).
  void Publish(const calls::Call& call, const std::string& key = "") {
    calls::CallStateChanged changed;
    changed.mutable_header()->set_tenant_id(call.tenant_id());
    changed.mutable_header()->set_entity_id(call.call_id());
    changed.mutable_header()->set_sequence(call.sequence());
    *changed.mutable_call() = call;
    changed.set_state(call.state());
    REQUIRE(producer
                ->PublishAndWait(
                    sb::kafka::kCallsState,
                    sb::kafka::MakeEvent(changed, key.empty() ? call.call_id() : key, "calls"),
                    absl::Seconds(10))
                .ok());
  }
  // An inbound call to `number`, in `state`, at its `sequence`-th event.
  static calls::Call Inbound(const std::string& call_id, calls::CallState state, int sequence,
                             const std::string& number = kNumber) {
    calls::Call call;
    call.set_call_id(call_id);
    call.set_tenant_id(number == kGlobexNumber ? "globex" : "acme");
    call.set_direction(calls::CALL_DIRECTION_INBOUND);
    call.set_state(state);
    call.set_sequence(sequence);
    call.set_business_phone_number_id(number);
    call.set_business_display_number("+1 631-555-3601");
    call.mutable_contact()->set_wa_id("13175551399");
    call.mutable_contact()->set_display_name("Ada");
    *call.mutable_offered_time() = sb::core::ToProto(absl::Now());
    return call;
  }
  // A call ringing now: OFFERED published, the first offer awaited.
  v1::CallOffer Ring(const std::string& call_id, const std::string& number = kNumber,
                     const std::string& key = "") {
    Publish(Inbound(call_id, calls::CALL_STATE_OFFERED, 1, number), key);
    return topics.WaitFor(call_id, [](const v1::CallOffer& o) {
      return o.kind() == v1::CALL_OFFER_KIND_OFFERED || o.ringing_ended();
    });
  }

  testing::Suite suite;
  Topics topics;
  std::unique_ptr<sb::kafka::Producer> producer;
};

v1::Team Team(const std::string& id, Ids members, Ids numbers,
              v1::RoutingMode mode = v1::ROUTING_MODE_BROADCAST) {
  v1::Team t;
  t.set_team_id(id);
  t.set_display_name(id);
  t.set_routing_mode(mode);
  for (const auto& m : members) t.add_members()->set_agent_id(m);
  for (const auto& n : numbers) t.add_business_phone_number_ids(n);
  return t;
}

Ids AgentsOf(const v1::CallOffer& o) {
  return {o.offered_agent_ids().begin(), o.offered_agent_ids().end()};
}

void RequireOk(const absl::Status& s) {
  INFO(s.ToString());
  REQUIRE(s.ok());
}

}  // namespace

TEST_CASE("agents choose their availability, and each change is announced with its reason") {
  Fixture f;
  v1::Agent alice = f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  CHECK(alice.availability() == v1::AVAILABILITY_AVAILABLE);
  CHECK(alice.availability_reason() == "AGENT_CHOSE");
  f.topics.WaitForAvailability("alice", v1::AVAILABILITY_AVAILABLE);
  f.Set("alice", v1::AVAILABILITY_DND);
  f.topics.WaitForAvailability("alice", v1::AVAILABILITY_DND);
  CHECK(f.topics.Availability("alice")->previous_availability() == v1::AVAILABILITY_AVAILABLE);
  CHECK(f.Get("alice").availability() == v1::AVAILABILITY_DND);

  {  // BUSY and COOLDOWN are routing's to set
    v1::SetAgentAvailabilityRequest req;
    req.set_availability(v1::AVAILABILITY_BUSY);
    v1::SetAgentAvailabilityResponse resp;
    absl::Status s =
        f.Call(&v1::RoutingService::Stub::SetAgentAvailability, req, &resp, Agent("alice"));
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(sb::core::ReasonOf(s) == "AVAILABILITY_NOT_SETTABLE");
    CHECK(f.Get("alice").availability() == v1::AVAILABILITY_DND);
  }
  {  // an agent sets only its own availability
    v1::SetAgentAvailabilityRequest req;
    req.set_agent_id("alice");
    req.set_availability(v1::AVAILABILITY_OFFLINE);
    v1::SetAgentAvailabilityResponse resp;
    absl::Status s =
        f.Call(&v1::RoutingService::Stub::SetAgentAvailability, req, &resp, Agent("bob"));
    CHECK(s.code() == absl::StatusCode::kPermissionDenied);
    CHECK(f.Get("alice").availability() == v1::AVAILABILITY_DND);
  }
  {  // an agent never seen is OFFLINE; another tenant's agent of the same id is not seen
    v1::GetAgentAvailabilityRequest req;
    req.set_agent_id("alice");
    v1::GetAgentAvailabilityResponse resp;
    RequireOk(f.Call(&v1::RoutingService::Stub::GetAgentAvailability, req, &resp,
                     {.subject = "admin-9", .roles = {"admin"}, .tenant = "globex"}));
    CHECK(resp.agent().availability() == v1::AVAILABILITY_OFFLINE);
    CHECK_FALSE(resp.agent().has_availability_change_time());
  }
  {  // ListAgents filters by availability and pages
    f.Set("bob", v1::AVAILABILITY_AVAILABLE);
    f.Set("carol", v1::AVAILABILITY_AVAILABLE);
    f.topics.WaitForAvailability("carol", v1::AVAILABILITY_AVAILABLE);
    v1::ListAgentsRequest req;
    req.set_filter("availability = AVAILABLE");
    req.set_page_size(1);
    Ids seen;
    for (int page = 0; page < 5; ++page) {
      v1::ListAgentsResponse resp;
      RequireOk(f.Call(&v1::RoutingService::Stub::ListAgents, req, &resp, kAdmin));
      for (const auto& a : resp.agents()) seen.push_back(a.agent_id());
      if (resp.next_page_token().empty()) break;
      req.set_page_token(resp.next_page_token());
    }
    CHECK(seen == Ids{"bob", "carol"});
  }
}

TEST_CASE("a team that breaks the rules is refused with a reason and nothing is written") {
  Fixture f;
  RequireOk(f.Upsert(Team("support", {"alice", "bob"}, {kNumber})));

  auto refused = [&](const v1::Team& team, absl::StatusCode code, const std::string& reason) {
    absl::Status s = f.Upsert(team);
    INFO(team.ShortDebugString() << " -> " << s.ToString());
    CHECK(s.code() == code);
    CHECK(sb::core::ReasonOf(s) == reason);
    v1::GetTeamRequest get;
    get.set_team_id(team.team_id());
    v1::GetTeamResponse resp;
    absl::Status found = f.Call(&v1::RoutingService::Stub::GetTeam, get, &resp, kAdmin);
    CHECK(sb::core::ReasonOf(found) == "TEAM_NOT_FOUND");
  };
  v1::Team slow = Team("sales", {"carol"}, {kOtherNumber});
  slow.mutable_ring_timeout()->set_seconds(61);
  refused(slow, absl::StatusCode::kInvalidArgument, "INVALID_RING_TIMEOUT");
  refused(Team("sales", {"carol"}, {kNumber}), absl::StatusCode::kFailedPrecondition,
          "NUMBER_IN_OTHER_TEAM");
  refused(Team("sales", {"carol"}, {kGlobexNumber}), absl::StatusCode::kNotFound,
          "PHONE_NUMBER_NOT_FOUND");
  v1::Team orphan = Team("sales", {"carol"}, {});
  orphan.mutable_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
  orphan.mutable_fallback()->set_escalation_team_id("nobody");
  refused(orphan, absl::StatusCode::kFailedPrecondition, "ESCALATION_TEAM_NOT_FOUND");

  // support → sales is fine; then sales → support closes a loop.
  v1::Team sales = Team("sales", {"carol"}, {kOtherNumber});
  RequireOk(f.Upsert(sales));
  v1::Team escalating = Team("support", {"alice", "bob"}, {kNumber});
  escalating.mutable_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
  escalating.mutable_fallback()->set_escalation_team_id("sales");
  RequireOk(f.Upsert(escalating));
  sales.mutable_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
  sales.mutable_fallback()->set_escalation_team_id("support");
  absl::Status loop = f.Upsert(sales);
  CHECK(sb::core::ReasonOf(loop) == "ESCALATION_LOOP");
  CHECK(sb::core::MetadataOf(loop)["path"] == "sales → support → sales");

  {  // only admins write teams
    absl::Status s = f.Upsert(Team("ops", {"dave"}, {}), Agent("alice"));
    CHECK(s.code() == absl::StatusCode::kPermissionDenied);
  }
  {  // members named before they ever signed in are listed, Offline
    v1::Agent bob = f.Get("bob");
    CHECK(bob.availability() == v1::AVAILABILITY_OFFLINE);
    CHECK(bob.team_ids_size() == 1);
    CHECK(bob.business_phone_number_ids(0) == kNumber);
  }
}

TEST_CASE("broadcast: every available member rings, the first claim wins, the others' alerts go") {
  Fixture f(Fixture::Flags{{"agent-cooldown", "2s"}});
  RequireOk(f.Upsert(Team("support", {"alice", "bob", "carol", "dave"}, {kNumber})));
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  f.Set("bob", v1::AVAILABILITY_AVAILABLE);
  f.Set("carol", v1::AVAILABILITY_DND);  // dave never signed in
  v1::CallOffer offered = f.Ring("call-1");
  CHECK(offered.kind() == v1::CALL_OFFER_KIND_OFFERED);
  CHECK(AgentsOf(offered) == Ids{"alice", "bob"});
  CHECK(offered.team_id() == "support");
  CHECK(offered.contact().display_name() == "Ada");
  CHECK(f.Get("alice").offered_call_id() == "call-1");

  // 50 claims at once from both agents: one winner, everyone told who.
  std::vector<std::thread> claimers;
  std::vector<absl::StatusOr<v1::ClaimCallResponse>> results(50, absl::UnknownError("not run"));
  for (int i = 0; i < 50; ++i) {
    claimers.emplace_back([&, i] { results[i] = f.Claim("call-1", i % 2 ? "alice" : "bob"); });
  }
  for (auto& t : claimers) t.join();
  std::map<std::string, int> wins;
  std::set<std::string> winners;
  for (int i = 0; i < 50; ++i) {
    INFO(results[i].status().ToString());
    REQUIRE(results[i].ok());
    if (results[i]->won()) ++wins[i % 2 ? "alice" : "bob"];
    winners.insert(results[i]->winner_agent_id());
  }
  REQUIRE(winners.size() == 1);
  const std::string winner = *winners.begin();
  const std::string loser = winner == "alice" ? "bob" : "alice";
  CHECK(wins.count(loser) == 0);
  CHECK(wins[winner] == 25);  // the winner's repeats are wins too: it holds the call

  v1::CallOffer claimed = f.topics.WaitFor(
      "call-1", [](const v1::CallOffer& o) { return o.kind() == v1::CALL_OFFER_KIND_CLAIMED; });
  CHECK(claimed.claimed_by_agent_id() == winner);
  CHECK(AgentsOf(claimed) == Ids{loser});
  CHECK(claimed.ringing_ended());
  f.topics.WaitForAvailability(winner, v1::AVAILABILITY_BUSY);
  CHECK(f.Get(loser).offered_call_id().empty());

  {  // the call ending starts the winner's cooldown, which ends by itself
    calls::Call ended = Fixture::Inbound("call-1", calls::CALL_STATE_ENDED, 4);
    ended.set_answered_by_agent_id(winner);
    *ended.mutable_answered_time() = sb::core::ToProto(absl::Now() - absl::Seconds(30));
    *ended.mutable_ended_time() = sb::core::ToProto(absl::Now());
    f.Publish(ended);
    f.topics.WaitForAvailability(winner, v1::AVAILABILITY_COOLDOWN);
    CHECK(f.topics.Availability(winner)->agent().availability_reason() == "COOLDOWN_AFTER_CALL");
    f.topics.WaitForAvailability(winner, v1::AVAILABILITY_AVAILABLE);
  }
  {  // the supervisor's wallboard: one answered today, nobody ringing, every member listed
    v1::GetTeamStatsRequest req;
    req.set_team_id("support");
    req.set_time_zone("America/Sao_Paulo");
    v1::GetTeamStatsResponse resp;
    RequireOk(f.Call(&v1::RoutingService::Stub::GetTeamStats, req, &resp,
                     {.subject = "sup-1", .roles = {"supervisor"}}));
    const v1::TeamStats& t = resp.stats();
    CHECK(t.answered_today() == 1);
    CHECK(t.missed_today() == 0);
    CHECK(t.waiting_calls() == 0);
    CHECK(t.ringing_agent_ids().empty());
    CHECK(t.average_time_to_answer().seconds() < 20);
    CHECK(t.agents_size() == 4);
    CHECK(sb::core::FromProto(t.since_time()) <= absl::Now());
    CHECK(sb::core::FromProto(t.since_time()) > absl::Now() - absl::Hours(24));
    req.set_time_zone("Mars/Olympus");
    CHECK(sb::core::ReasonOf(f.Call(&v1::RoutingService::Stub::GetTeamStats, req, &resp,
                                    {.subject = "sup-1", .roles = {"supervisor"}})) ==
          "INVALID_TIME_ZONE");
  }
  {  // a claim after the call was won is lost, and one for a call not ringing is refused
    absl::StatusOr<v1::ClaimCallResponse> late = f.Claim("call-1", loser);
    REQUIRE(late.ok());
    CHECK_FALSE(late->won());
    absl::StatusOr<v1::ClaimCallResponse> unknown = f.Claim("call-404", loser);
    CHECK(sb::core::ReasonOf(unknown.status()) == "CALL_NOT_FOUND");
  }
}

TEST_CASE("an agent in two teams holds one offer at a time, and busy agents are skipped") {
  Fixture f;
  RequireOk(f.Upsert(Team("support", {"alice", "bob"}, {kNumber})));
  RequireOk(f.Upsert(Team("sales", {"alice", "carol"}, {kOtherNumber})));
  for (const char* a : {"alice", "bob", "carol"}) f.Set(a, v1::AVAILABILITY_AVAILABLE);
  CHECK(AgentsOf(f.Ring("call-1", kNumber)) == Ids{"alice", "bob"});
  CHECK(AgentsOf(f.Ring("call-2", kOtherNumber)) == Ids{"carol"});  // alice holds call-1's

  // alice wins call-1: Busy, so a third call does not ring her either.
  REQUIRE(f.Claim("call-1", "alice")->won());
  CHECK(AgentsOf(f.Ring("call-3", kNumber)) == Ids{"bob"});
}

TEST_CASE("the caller hanging up while ringing withdraws every alert and cools nobody down") {
  Fixture f;
  RequireOk(f.Upsert(Team("support", {"alice", "bob"}, {kNumber})));
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  f.Set("bob", v1::AVAILABILITY_AVAILABLE);
  f.Ring("call-1");
  v1::GetTeamStatsRequest board;
  board.set_team_id("support");
  v1::GetTeamStatsResponse stats;
  RequireOk(f.Call(&v1::RoutingService::Stub::GetTeamStats, board, &stats, kAdmin));
  CHECK(stats.stats().waiting_calls() == 1);
  CHECK(stats.stats().ringing_agent_ids_size() == 2);
  calls::Call gone = Fixture::Inbound("call-1", calls::CALL_STATE_MISSED, 3);
  *gone.mutable_ended_time() = sb::core::ToProto(absl::Now());
  f.Publish(gone);
  v1::CallOffer withdrawn = f.topics.WaitFor(
      "call-1", [](const v1::CallOffer& o) { return o.kind() == v1::CALL_OFFER_KIND_WITHDRAWN; });
  CHECK(withdrawn.withdraw_reason() == v1::WITHDRAW_REASON_CALL_ENDED);
  CHECK(withdrawn.ringing_ended());
  CHECK(withdrawn.fallback_action() == v1::FALLBACK_ACTION_NONE);
  CHECK(AgentsOf(withdrawn) == Ids{"alice", "bob"});
  CHECK(f.Get("alice").availability() == v1::AVAILABILITY_AVAILABLE);
  CHECK(f.Get("bob").offered_call_id().empty());
  CHECK(sb::core::ReasonOf(f.Claim("call-1", "alice").status()) == "OFFER_CLOSED");
  RequireOk(f.Call(&v1::RoutingService::Stub::GetTeamStats, board, &stats, kAdmin));
  CHECK(stats.stats().waiting_calls() == 0);
  CHECK(stats.stats().missed_today() == 1);  // the caller gave up: missed for the wallboard

  {  // a terminate that arrives before the connect rings nobody
    // All three on one key, so one partition: once call-3 rings, call-2's records were
    // consumed before it.
    f.Publish(Fixture::Inbound("call-2", calls::CALL_STATE_MISSED, 2), "order");
    f.Publish(Fixture::Inbound("call-2", calls::CALL_STATE_OFFERED, 1), "order");
    f.Ring("call-3", kNumber, "order");
    CHECK(f.topics.Offers("call-2").empty());
  }
}

TEST_CASE("nobody answers: the round rings out, escalates, then the last fallback ends it") {
  Fixture f(Fixture::Flags{{"max-unanswered-offers", "1"}});
  v1::Team backup = Team("backup", {"bob"}, {kOtherNumber});
  backup.mutable_ring_timeout()->set_seconds(5);
  backup.mutable_fallback()->set_action(v1::FALLBACK_ACTION_AUTO_REPLY);
  backup.mutable_fallback()->set_auto_reply_text("Sorry we missed you; we will call back.");
  backup.mutable_fallback()->set_template_name("missed_call");
  backup.mutable_fallback()->set_template_language_code("en_US");
  backup.set_schedule_callback_on_miss(true);
  RequireOk(f.Upsert(backup));
  v1::SetContactAssignmentRequest assign;
  assign.mutable_contact()->set_wa_id("13175551399");
  assign.set_agent_id("carol");
  v1::SetContactAssignmentResponse assigned;
  RequireOk(f.Call(&v1::RoutingService::Stub::SetContactAssignment, assign, &assigned, kAdmin));
  v1::Team front = Team("front", {"alice"}, {kNumber});
  front.mutable_ring_timeout()->set_seconds(5);
  front.mutable_fallback()->set_action(v1::FALLBACK_ACTION_ESCALATION);
  front.mutable_fallback()->set_escalation_team_id("backup");
  RequireOk(f.Upsert(front));
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  f.Set("bob", v1::AVAILABILITY_AVAILABLE);

  v1::CallOffer first = f.Ring("call-1");
  CHECK(AgentsOf(first) == Ids{"alice"});
  CHECK(first.round() == 1);
  v1::CallOffer second = f.topics.WaitFor("call-1", [](const v1::CallOffer& o) {
    return o.kind() == v1::CALL_OFFER_KIND_OFFERED && o.round() == 2;
  });
  CHECK(AgentsOf(second) == Ids{"bob"});
  CHECK(second.team_id() == "backup");
  v1::CallOffer last =
      f.topics.WaitFor("call-1", [](const v1::CallOffer& o) { return o.ringing_ended(); });
  CHECK(last.kind() == v1::CALL_OFFER_KIND_WITHDRAWN);
  CHECK(last.withdraw_reason() == v1::WITHDRAW_REASON_RING_TIMEOUT);
  CHECK(last.fallback_action() == v1::FALLBACK_ACTION_AUTO_REPLY);
  // backup's team option: calls is told to schedule a callback, for the contact's agent.
  CHECK(last.schedule_callback());
  CHECK(last.callback_agent_id() == "carol");
  // The auto-reply goes to the contact once, keyed by the call; the sender picks the text or,
  // outside the service window, the template.
  std::map<std::string, sb::notifications::v1::OutboundMessageRequested> messages;
  REQUIRE(testing::Eventually([&] {
    messages = f.topics.Messages();
    return !messages.empty();
  }));
  REQUIRE(messages.size() == 1);
  const auto& [id, reply] = *messages.begin();
  CHECK(id == "fallback.acme.call-1");
  CHECK(reply.call_id() == "call-1");
  CHECK(reply.contact().wa_id() == "13175551399");
  CHECK(reply.business_phone_number_id() == kNumber);
  CHECK(reply.text() == "Sorry we missed you; we will call back.");
  CHECK(reply.fallback_template().name() == "missed_call");
  CHECK(reply.reason() == sb::notifications::v1::OUTBOUND_REASON_MISSED_CALL_AUTO_REPLY);
  // Each let one offer ring out: with max-unanswered-offers=1 both are DND now, and say why.
  f.topics.WaitForAvailability("alice", v1::AVAILABILITY_DND);
  CHECK(f.topics.Availability("alice")->agent().availability_reason() == "MAX_NO_ANSWER");
  f.topics.WaitForAvailability("bob", v1::AVAILABILITY_DND);
}

TEST_CASE("a ring deadline survives the process: after a restart past it the fallback runs once") {
  Fixture f;
  v1::Team team = Team("support", {"alice"}, {kNumber});
  team.mutable_ring_timeout()->set_seconds(5);
  team.mutable_fallback()->set_action(v1::FALLBACK_ACTION_VOICEMAIL);
  team.mutable_fallback()->set_voicemail_prompt_text("Leave us a voice message.");
  RequireOk(f.Upsert(team));
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  v1::CallOffer offered = f.Ring("call-1");
  const absl::Time deadline = sb::core::FromProto(offered.ring_deadline_time());
  f.suite.Stop();
  // Down across the deadline.
  while (absl::Now() < deadline + absl::Milliseconds(500)) absl::SleepFor(absl::Milliseconds(100));
  f.suite.Restart();
  v1::CallOffer ended =
      f.topics.WaitFor("call-1", [](const v1::CallOffer& o) { return o.ringing_ended(); });
  CHECK(ended.fallback_action() == v1::FALLBACK_ACTION_VOICEMAIL);
  f.suite.Restart();
  f.Set("bob", v1::AVAILABILITY_AVAILABLE);  // something after, to know the restart settled
  f.topics.WaitForAvailability("bob", v1::AVAILABILITY_AVAILABLE);
  int finals = 0;
  for (const v1::CallOffer& o : f.topics.Offers("call-1")) finals += o.ringing_ended();
  CHECK(finals == 1);
  // One voicemail prompt, though the fallback's deadline passed while the process was down.
  REQUIRE(testing::Eventually([&] { return !f.topics.Messages().empty(); }));
  CHECK(f.topics.Messages().size() == 1);
  CHECK(f.topics.Messages().begin()->second.reason() ==
        sb::notifications::v1::OUTBOUND_REASON_VOICEMAIL_PROMPT);
}

TEST_CASE("an agent going DND while ringing has its alert withdrawn at once") {
  Fixture f;
  RequireOk(f.Upsert(Team("support", {"alice", "bob"}, {kNumber})));
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  f.Set("bob", v1::AVAILABILITY_AVAILABLE);
  f.Ring("call-1");
  f.Set("alice", v1::AVAILABILITY_DND);
  v1::CallOffer withdrawn = f.topics.WaitFor("call-1", [](const v1::CallOffer& o) {
    return o.withdraw_reason() == v1::WITHDRAW_REASON_AGENT_UNAVAILABLE;
  });
  CHECK(AgentsOf(withdrawn) == Ids{"alice"});
  CHECK_FALSE(withdrawn.ringing_ended());
  CHECK(sb::core::ReasonOf(f.Claim("call-1", "alice").status()) == "AGENT_NOT_OFFERED");
  REQUIRE(f.Claim("call-1", "bob")->won());
}

TEST_CASE("a call outside the number's hours rings nobody and runs the after-hours fallback") {
  Fixture f(Fixture::Flags{}, /*meta_sim=*/true);
  v1::Team team = Team("support", {"alice"}, {kNumber});
  team.mutable_after_hours_fallback()->set_action(v1::FALLBACK_ACTION_AUTO_REPLY);
  team.mutable_after_hours_fallback()->set_auto_reply_text("We are closed; we open at 9.");
  RequireOk(f.Upsert(team));
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  // Open only on a weekday three days from now: closed today, whatever the hour.
  namespace wv1 = sb::webhooks::v1;
  const absl::CivilDay today = absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
  const int weekday = static_cast<int>(absl::GetWeekday(today + 3)) + 1;  // absl: monday is 0
  wv1::UpdateCallingSettingsRequest settings;
  settings.set_phone_number_id(kNumber);
  wv1::CallHours& hours = *settings.mutable_calling_settings()->mutable_call_hours();
  hours.set_enabled(true);
  hours.set_timezone_id("UTC");
  wv1::OperatingHours& open = *hours.add_weekly_operating_hours();
  open.set_day_of_week(static_cast<wv1::DayOfWeek>(weekday));
  open.set_open_time("0900");
  open.set_close_time("1700");
  settings.mutable_update_mask()->add_paths("call_hours");
  wv1::UpdateCallingSettingsResponse updated;
  auto webhooks = f.suite.Stub<wv1::WebhooksService>();
  RequireOk(testing::Suite::Call(webhooks.get(), &wv1::WebhooksService::Stub::UpdateCallingSettings,
                                 settings, &updated, kAdmin));

  v1::CallOffer first = f.Ring("call-1");
  CHECK(first.kind() == v1::CALL_OFFER_KIND_WITHDRAWN);
  CHECK(first.withdraw_reason() == v1::WITHDRAW_REASON_AFTER_HOURS);
  CHECK(first.ringing_ended());
  CHECK(first.fallback_action() == v1::FALLBACK_ACTION_AUTO_REPLY);
  CHECK(first.offered_agent_ids().empty());
  CHECK(f.Get("alice").offered_call_id().empty());
  REQUIRE(testing::Eventually([&] { return !f.topics.Messages().empty(); }));
  CHECK(f.topics.Messages().begin()->second.text() == "We are closed; we open at 9.");
}

TEST_CASE("a cooldown ends by itself across a restart") {
  Fixture f(Fixture::Flags{{"agent-cooldown", "3s"}});
  RequireOk(f.Upsert(Team("support", {"alice"}, {kNumber})));
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  f.Ring("call-1");
  REQUIRE(f.Claim("call-1", "alice")->won());
  calls::Call ended = Fixture::Inbound("call-1", calls::CALL_STATE_ENDED, 4);
  ended.set_answered_by_agent_id("alice");
  *ended.mutable_answered_time() = sb::core::ToProto(absl::Now() - absl::Seconds(20));
  *ended.mutable_ended_time() = sb::core::ToProto(absl::Now());
  f.Publish(ended);
  f.topics.WaitForAvailability("alice", v1::AVAILABILITY_COOLDOWN);
  // Down while the cooldown runs out; nobody touches alice after the restart.
  f.suite.Stop();
  f.suite.Restart();
  f.topics.WaitForAvailability("alice", v1::AVAILABILITY_AVAILABLE);
  const auto announced = f.topics.Availability("alice");
  CHECK(announced->previous_availability() == v1::AVAILABILITY_COOLDOWN);
  // Announced as of when the cooldown ended, not when the restarted process noticed.
  CHECK(announced->agent().availability_change_time().seconds() <=
        ended.ended_time().seconds() + 4);
}

TEST_CASE("each tenant sets its own cooldown and max-no-answer; the others keep the defaults") {
  Fixture f;
  {  // refused changes change nothing
    v1::RoutingSettings wanted;
    *wanted.mutable_agent_cooldown() = sb::core::ToProto(absl::Seconds(1));
    absl::StatusOr<v1::RoutingSettings> s = f.UpdateSettings(wanted, {}, Agent("alice"));
    CHECK(sb::core::ReasonOf(s.status()) == "ADMIN_ROLE_REQUIRED");
    wanted.set_max_unanswered_offers(21);
    s = f.UpdateSettings(wanted, {}, kAdmin);
    CHECK(s.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(sb::core::ReasonOf(s.status()) == "SETTING_OUT_OF_RANGE");
    CHECK(sb::core::MetadataOf(s.status()).at("field") == "settings.max_unanswered_offers");
    s = f.UpdateSettings(wanted, {"ring_timeout"}, kAdmin);
    CHECK(sb::core::ReasonOf(s.status()) == "INVALID_UPDATE_MASK");
    absl::StatusOr<v1::RoutingSettings> now = f.Settings(Agent("alice"));
    REQUIRE(now.ok());
    CHECK(now->agent_cooldown().seconds() == 60);
    CHECK(now->max_unanswered_offers() == 3);
  }
  v1::RoutingSettings wanted;
  *wanted.mutable_agent_cooldown() = sb::core::ToProto(absl::Seconds(1));
  wanted.set_max_unanswered_offers(1);
  absl::StatusOr<v1::RoutingSettings> set = f.UpdateSettings(wanted, {}, kAdmin);
  RequireOk(set.status());
  CHECK(set->agent_cooldown().seconds() == 1);
  CHECK(set->presence_ttl().seconds() == 90);  // not set: the process's default
  CHECK(set->max_unanswered_offers() == 1);
  absl::StatusOr<v1::RoutingSettings> globex = f.Settings(Agent("gina", "globex"));
  RequireOk(globex.status());
  CHECK(globex->agent_cooldown().seconds() == 60);
  CHECK(globex->max_unanswered_offers() == 3);

  v1::Team support = Team("support", {"alice"}, {kNumber});
  support.mutable_ring_timeout()->set_seconds(5);
  RequireOk(f.Upsert(support));
  v1::Team desk = Team("desk", {"gina"}, {kGlobexNumber});
  desk.mutable_ring_timeout()->set_seconds(5);
  RequireOk(f.Upsert(desk, kGlobexAdmin));
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  f.Set("gina", v1::AVAILABILITY_AVAILABLE, "globex");

  {  // one offer left to ring out: DND for acme (1), not for globex (3)
    f.Ring("call-1", kNumber);
    f.Ring("call-2", kGlobexNumber);
    for (const char* call : {"call-1", "call-2"}) {
      f.topics.WaitFor(call, [](const v1::CallOffer& o) { return o.ringing_ended(); });
    }
    f.topics.WaitForAvailability("alice", v1::AVAILABILITY_DND);
    CHECK(f.topics.Availability("alice")->agent().availability_reason() == "MAX_NO_ANSWER");
    CHECK(f.Get("gina", kGlobexAdmin).availability() == v1::AVAILABILITY_AVAILABLE);
  }
  {  // a talked call: acme cools down for 1 s, globex for 60 s
    f.Set("alice", v1::AVAILABILITY_AVAILABLE);
    f.Ring("call-3", kNumber);
    f.Ring("call-4", kGlobexNumber);
    REQUIRE(f.Claim("call-3", "alice")->won());
    REQUIRE(f.Claim("call-4", "gina", "globex")->won());
    const absl::Time end = absl::Now();
    for (const auto& [call, agent, number] :
         {std::tuple{"call-3", "alice", kNumber}, std::tuple{"call-4", "gina", kGlobexNumber}}) {
      calls::Call ended = Fixture::Inbound(call, calls::CALL_STATE_ENDED, 4, number);
      ended.set_answered_by_agent_id(agent);
      *ended.mutable_answered_time() = sb::core::ToProto(end - absl::Seconds(30));
      *ended.mutable_ended_time() = sb::core::ToProto(end);
      f.Publish(ended);
    }
    f.topics.WaitForAvailability("gina", v1::AVAILABILITY_COOLDOWN);
    CHECK(sb::core::FromProto(f.topics.Availability("gina")->agent().cooldown_end_time()) ==
          absl::FromUnixMicros(absl::ToUnixMicros(end)) + absl::Seconds(60));
    f.topics.WaitForAvailability("alice", v1::AVAILABILITY_AVAILABLE);
    const auto alice = f.topics.Availability("alice");
    CHECK(alice->previous_availability() == v1::AVAILABILITY_COOLDOWN);
    CHECK(sb::core::FromProto(alice->agent().availability_change_time()) ==
          absl::FromUnixMicros(absl::ToUnixMicros(end)) + absl::Seconds(1));
    CHECK(f.Get("gina", kGlobexAdmin).availability() == v1::AVAILABILITY_COOLDOWN);
  }
}

TEST_CASE(
    "a tenant's presence TTL: longer keeps its agents, raised brings one back, reset ends it") {
  Fixture f(Fixture::Flags{{"presence-ttl", "10s"}});
  v1::RoutingSettings longer;
  *longer.mutable_presence_ttl() = sb::core::ToProto(absl::Minutes(10));
  RequireOk(f.UpdateSettings(longer, {}, kGlobexAdmin).status());
  f.Set("alice", v1::AVAILABILITY_AVAILABLE);
  f.Set("gina", v1::AVAILABILITY_AVAILABLE, "globex");

  // No heartbeats: acme's alice lapses after the default 10 s; globex's gina does not.
  f.topics.WaitForAvailability("alice", v1::AVAILABILITY_OFFLINE, absl::Seconds(30));
  CHECK(f.topics.Availability("alice")->agent().availability_reason() == "PRESENCE_EXPIRED");
  CHECK(f.Get("gina", kGlobexAdmin).availability() == v1::AVAILABILITY_AVAILABLE);

  // acme raises its TTL: alice was last heard from well within 10 min, so she is back.
  RequireOk(f.UpdateSettings(longer, {}, kAdmin).status());
  f.topics.WaitForAvailability("alice", v1::AVAILABILITY_AVAILABLE);

  // globex goes back to the default (the path named, the field unset): gina lapsed long ago,
  // and is announced as of when she did.
  absl::StatusOr<v1::RoutingSettings> reset = f.UpdateSettings({}, {"presence_ttl"}, kGlobexAdmin);
  RequireOk(reset.status());
  CHECK(reset->presence_ttl().seconds() == 10);
  f.topics.WaitForAvailability("gina", v1::AVAILABILITY_OFFLINE);
  const auto gina = f.topics.Availability("gina");
  CHECK(gina->agent().availability_reason() == "PRESENCE_EXPIRED");
  CHECK(sb::core::FromProto(gina->agent().availability_change_time()) <
        absl::Now() - absl::Seconds(1));
}
