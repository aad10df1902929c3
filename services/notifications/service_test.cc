// Notification streams end to end on the real parts: the notifications target, real Redis, the
// embedded Kafka cluster. Events are published as routing, calls, billing and eligibility
// publish them; what each subscriber receives is read from real gRPC streams.
#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "services/notifications/module.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"

namespace sb = switchboard;
namespace v1 = switchboard::notifications::v1;
namespace rv1 = switchboard::routing::v1;
namespace cv1 = switchboard::calls::v1;
namespace testing = switchboard::testing;
using testing::Who;

namespace {

Who Agent(const std::string& id, const std::string& tenant = "acme") {
  return {.subject = id, .roles = {"agent"}, .tenant = tenant};
}
const Who kSupervisor{.subject = "sup-1", .roles = {"supervisor"}};

// One subscriber: reads its stream on a thread of its own and keeps what arrives.
class Reader {
 public:
  Reader(std::shared_ptr<grpc::Channel> channel, const Who& who, v1::SubscribeRequest request,
         absl::Duration ttl = absl::Hours(1))
      : stub_(v1::NotificationsService::NewStub(std::move(channel))) {
    ctx_.AddMetadata("authorization", "Bearer " + testing::Suite::Token(who, ttl));
    thread_ = std::thread([this, request] {
      auto reader = stub_->Subscribe(&ctx_, request);
      v1::SubscribeResponse r;
      while (reader->Read(&r)) {
        absl::MutexLock lock(&mu_);
        got_.push_back(r.notification());
      }
      grpc::Status s = reader->Finish();
      absl::MutexLock lock(&mu_);
      status_ = sb::runtime::FromGrpcStatus(s);
    });
  }
  ~Reader() {
    ctx_.TryCancel();
    thread_.join();
  }
  void Cancel() { ctx_.TryCancel(); }

  std::vector<v1::Notification> Got() {
    absl::MutexLock lock(&mu_);
    return got_;
  }
  // Waits until `n` notifications arrived (or the stream ended); returns them.
  std::vector<v1::Notification> WaitCount(size_t n, absl::Duration timeout = absl::Seconds(10)) {
    testing::Eventually(
        [&] {
          absl::MutexLock lock(&mu_);
          return got_.size() >= n || status_.has_value();
        },
        timeout);
    return Got();
  }
  std::optional<absl::Status> WaitEnd(absl::Duration timeout = absl::Seconds(10)) {
    testing::Eventually(
        [&] {
          absl::MutexLock lock(&mu_);
          return status_.has_value();
        },
        timeout);
    absl::MutexLock lock(&mu_);
    return status_;
  }
  // The id of the last notification that has one.
  std::string LastId() {
    absl::MutexLock lock(&mu_);
    for (auto it = got_.rbegin(); it != got_.rend(); ++it) {
      if (!it->notification_id().empty()) return it->notification_id();
    }
    return "";
  }

 private:
  std::unique_ptr<v1::NotificationsService::Stub> stub_;
  grpc::ClientContext ctx_;
  std::thread thread_;
  absl::Mutex mu_;
  std::vector<v1::Notification> got_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> status_ ABSL_GUARDED_BY(mu_);
};

v1::SubscribeRequest ForAgent(const std::string& resume = "") {
  v1::SubscribeRequest r;
  r.set_resume_after_id(resume);
  return r;
}

rv1::CallOffer OfferOf(const std::string& call, rv1::CallOfferKind kind,
                       std::vector<std::string> agents, const std::string& claimed_by = "",
                       const std::string& tenant = "acme",
                       absl::Time ring_deadline = absl::Now() + absl::Minutes(5)) {
  rv1::CallOffer o;
  o.mutable_header()->set_tenant_id(tenant);
  o.mutable_header()->set_entity_id(call);
  o.set_call_id(call);
  o.set_kind(kind);
  for (auto& a : agents) o.add_offered_agent_ids(a);
  o.set_claimed_by_agent_id(claimed_by);
  o.set_withdraw_reason(kind == rv1::CALL_OFFER_KIND_WITHDRAWN ? rv1::WITHDRAW_REASON_CALL_ENDED
                                                               : rv1::WITHDRAW_REASON_UNSPECIFIED);
  *o.mutable_ring_deadline_time() = sb::core::ToProto(ring_deadline);
  o.mutable_contact()->set_wa_id("15551230001");
  o.mutable_contact()->set_display_name("Carla");
  o.set_business_phone_number_id("106540352242922");
  return o;
}

cv1::CallStateChanged StateOf(const std::string& call, cv1::CallState state,
                              const std::string& agent, const std::string& tenant = "acme") {
  cv1::CallStateChanged e;
  e.mutable_header()->set_tenant_id(tenant);
  e.mutable_header()->set_entity_id(call);
  e.mutable_call()->set_call_id(call);
  e.mutable_call()->set_tenant_id(tenant);
  e.mutable_call()->set_state(state);
  e.mutable_call()->set_answered_by_agent_id(agent);
  *e.mutable_call()->mutable_offered_time() = sb::core::ToProto(absl::Now());
  e.set_state(state);
  return e;
}

struct Fixture {
  Fixture()
      : suite({.services = {sb::notifications::Register},
               .targets = {"notifications"},
               // The notice settings' number check goes nowhere: no test here names a number.
               .flags = {{"webhooks-address", "127.0.0.1:9"}}}),
        producer(
            std::move(sb::kafka::Producer::Create({.brokers = suite.kafka_bootstrap()}).value())) {}

  void Publish(const char* topic, const google::protobuf::Message& message, const std::string& key,
               const std::string& id = "") {
    sb::kafka::Event event = sb::kafka::MakeEvent(message, key, "test");
    if (!id.empty()) event.id = id;
    REQUIRE(producer->PublishAndWait(topic, event, absl::Seconds(10)).ok());
  }
  void Offer(const std::string& call, rv1::CallOfferKind kind, std::vector<std::string> agents,
             const std::string& claimed_by = "", const std::string& tenant = "acme",
             const std::string& id = "") {
    Publish(sb::kafka::kRoutingOffers, OfferOf(call, kind, agents, claimed_by, tenant), call, id);
  }
  void State(const std::string& call, cv1::CallState state, const std::string& agent,
             const std::string& tenant = "acme") {
    Publish(sb::kafka::kCallsState, StateOf(call, state, agent, tenant), call);
  }
  // An event published with the ce_time it first had, `at`: as the outbox relay publishes again
  // what it sent before a crash, or a consumer far behind reads it.
  void Late(const char* topic, const google::protobuf::Message& message, const std::string& key,
            absl::Time at) {
    sb::kafka::Event event = sb::kafka::MakeEvent(message, key, "test");
    event.time = at;
    REQUIRE(producer->PublishAndWait(topic, event, absl::Seconds(10)).ok());
  }
  std::string Redis(std::vector<std::string> args) {
    std::vector<std::string> cmd = {"redis-cli", "-p", absl::StrCat(suite.redis().port())};
    cmd.insert(cmd.end(), args.begin(), args.end());
    std::string line;
    for (auto& a : cmd) absl::StrAppend(&line, a, " ");
    FILE* f = popen(line.c_str(), "r");
    std::string out;
    char buf[256];
    while (f != nullptr && fgets(buf, sizeof buf, f) != nullptr) out += buf;
    if (f != nullptr) pclose(f);
    return out;
  }

  testing::Suite suite;
  std::unique_ptr<sb::kafka::Producer> producer;
};

// The notifications after the opening SubscriptionStarted and reset.
std::vector<v1::Notification> Events(const std::vector<v1::Notification>& all) {
  std::vector<v1::Notification> out;
  for (const auto& n : all) {
    if (!n.has_subscription_started() && !n.has_reset()) out.push_back(n);
  }
  return out;
}

}  // namespace

TEST_CASE(
    "two agents rung, one answers: the other's alert is withdrawn; another tenant hears "
    "nothing") {
  Fixture f;
  Reader ana(f.suite.channel(), Agent("ana"), ForAgent());
  Reader ben(f.suite.channel(), Agent("ben"), ForAgent());
  Reader globex_ana(f.suite.channel(), Agent("ana", "globex"), ForAgent());
  for (Reader* r : {&ana, &ben, &globex_ana}) {
    auto first = r->WaitCount(2);
    REQUIRE(first.size() >= 2);
    CHECK(first[0].has_subscription_started());
    CHECK_FALSE(first[0].subscription_started().resumed());
    CHECK(first[0].notification_id().empty());
    REQUIRE(first[1].has_reset());
    CHECK(first[1].reset().reason() == v1::RESET_REASON_NEW_SUBSCRIPTION);
    CHECK_FALSE(first[1].notification_id().empty());
  }

  f.Offer("call-1", rv1::CALL_OFFER_KIND_OFFERED, {"ana", "ben"});
  auto rung = Events(ana.WaitCount(3));
  REQUIRE(rung.size() == 1);
  CHECK(rung[0].incoming_call().call_id() == "call-1");
  CHECK(rung[0].incoming_call().contact().display_name() == "Carla");
  CHECK_FALSE(rung[0].event_id().empty());

  absl::Time claimed = absl::Now();
  f.Offer("call-1", rv1::CALL_OFFER_KIND_CLAIMED, {"ana", "ben"}, "ben");
  auto ana_got = Events(ana.WaitCount(4));
  REQUIRE(ana_got.size() == 2);
  CHECK(absl::Now() - claimed < absl::Seconds(1));
  CHECK(ana_got[1].alert_withdrawn().reason() == v1::WITHDRAWN_REASON_ANSWERED_ELSEWHERE);
  CHECK(ana_got[1].alert_withdrawn().answered_by_agent_id() == "ben");
  auto ben_got = Events(ben.WaitCount(4));
  REQUIRE(ben_got.size() == 2);
  CHECK(ben_got[1].alert_withdrawn().reason() == v1::WITHDRAWN_REASON_ANSWERED_HERE);
  // Ids order the stream.
  CHECK(ana_got[0].notification_id() < ana_got[1].notification_id());

  // globex's "ana" is another agent: a marker for globex proves its stream works, and that it
  // holds nothing of acme's.
  f.Offer("call-g", rv1::CALL_OFFER_KIND_OFFERED, {"ana"}, "", "globex");
  auto g = Events(globex_ana.WaitCount(3));
  REQUIRE(g.size() == 1);
  CHECK(g[0].incoming_call().call_id() == "call-g");
}

TEST_CASE(
    "a stream cut mid-ring resumes with exactly what it missed; a reload gets the ringing "
    "call in its reset") {
  Fixture f;
  std::string resume;
  {
    Reader ana(f.suite.channel(), Agent("ana"), ForAgent());
    ana.WaitCount(2);
    f.Offer("call-1", rv1::CALL_OFFER_KIND_OFFERED, {"ana", "ben"}, "", "acme", "offer-1");
    REQUIRE(Events(ana.WaitCount(3)).size() == 1);
    resume = ana.LastId();
  }
  // While ana is away: call-1 is answered by ben, call-2 rings, and call-1's offer is delivered
  // again (the same event): it must not show twice.
  f.Offer("call-1", rv1::CALL_OFFER_KIND_CLAIMED, {"ana", "ben"}, "ben");
  f.Offer("call-2", rv1::CALL_OFFER_KIND_OFFERED, {"ana"});
  f.Offer("call-1", rv1::CALL_OFFER_KIND_OFFERED, {"ana", "ben"}, "", "acme", "offer-1");

  Reader back(f.suite.channel(), Agent("ana"), ForAgent(resume));
  auto got = back.WaitCount(3);
  REQUIRE(got.size() >= 3);
  CHECK(got[0].subscription_started().resumed());
  // Two calls' events are ordered within each call only (Kafka keys them by call).
  std::set<std::string> missed;
  for (int i : {1, 2})
    missed.insert((got[i].has_alert_withdrawn() ? "withdrawn " + got[i].alert_withdrawn().call_id()
                                                : "ringing " + got[i].incoming_call().call_id()));
  CHECK(missed == std::set<std::string>{"withdrawn call-1", "ringing call-2"});
  // Then live, no reset and nothing twice.
  f.Offer("call-3", rv1::CALL_OFFER_KIND_OFFERED, {"ana"});
  got = back.WaitCount(4);
  REQUIRE(got.size() == 4);
  CHECK(got[3].incoming_call().call_id() == "call-3");
  for (const auto& n : got) CHECK_FALSE(n.has_reset());

  // A reloaded page without an id: a reset that still shows the calls ringing for ana.
  Reader reload(f.suite.channel(), Agent("ana"), ForAgent());
  auto fresh = reload.WaitCount(2);
  REQUIRE(fresh.size() == 2);
  REQUIRE(fresh[1].has_reset());
  std::set<std::string> ringing;
  for (const auto& a : fresh[1].reset().ringing()) ringing.insert(a.call_id());
  CHECK(ringing == std::set<std::string>{"call-2", "call-3"});
  // The reset's id resumes: nothing missed since.
  Reader after(f.suite.channel(), Agent("ana"), ForAgent(fresh[1].notification_id()));
  auto resumed = after.WaitCount(1);
  REQUIRE(!resumed.empty());
  CHECK(resumed[0].subscription_started().resumed());
}

TEST_CASE(
    "a resume id past retention, of another stream or tenant, or not ours gets a reset and "
    "never another stream's events") {
  Fixture f;
  std::string ana_id;
  {
    Reader ana(f.suite.channel(), Agent("ana"), ForAgent());
    ana.WaitCount(2);
    f.Offer("call-1", rv1::CALL_OFFER_KIND_OFFERED, {"ana"});
    ana.WaitCount(3);
    ana_id = ana.LastId();
  }
  f.Offer("call-2", rv1::CALL_OFFER_KIND_OFFERED, {"ana"});
  REQUIRE(testing::Eventually([&] {
    return f.Redis({"XLEN", "'sb:notify:{acme}:agent:ana:log'"}) == "2\n";
  }));

  auto first_two = [&](const Who& who, const std::string& resume) {
    Reader r(f.suite.channel(), who, ForAgent(resume));
    auto got = r.WaitCount(2);
    REQUIRE(got.size() >= 2);
    CHECK_FALSE(got[0].subscription_started().resumed());
    REQUIRE(got[1].has_reset());
    // Nothing of ana's: ben's snapshot is empty, and no alert follows.
    CHECK(got.size() == 2);
    return got[1].reset();
  };
  CHECK(first_two(Agent("ben"), ana_id).reason() == v1::RESET_REASON_STREAM_CHANGED);
  CHECK(first_two(Agent("ben"), ana_id).ringing_size() == 0);
  CHECK(first_two(Agent("ana", "globex"), ana_id).reason() == v1::RESET_REASON_STREAM_CHANGED);
  CHECK(first_two(Agent("ana"), "not-an-id").reason() == v1::RESET_REASON_RESUME_ID_INVALID);
  std::string ahead = ana_id.substr(0, ana_id.find('.')) + ".99999999999999-0";
  CHECK(first_two(Agent("ana"), ahead).reason() == v1::RESET_REASON_RESUME_ID_AHEAD);

  // Retention passes for what came after ana's id (trimmed by age): a reset that still shows
  // both calls ringing.
  f.Redis({"XTRIM", "'sb:notify:{acme}:agent:ana:log'", "MAXLEN", "0"});
  v1::StreamReset late = first_two(Agent("ana"), ana_id);
  CHECK(late.reason() == v1::RESET_REASON_TOO_FAR_BEHIND);
  CHECK(late.ringing_size() == 2);

  // The stream forgotten altogether (idle past retention, or its store emptied): a new epoch.
  f.Redis({"DEL", "'sb:notify:{acme}:agent:ana:log'", "'sb:notify:{acme}:agent:ana:epoch'"});
  CHECK(first_two(Agent("ana"), ana_id).reason() == v1::RESET_REASON_STREAM_CHANGED);
}

TEST_CASE("a supervisor's tenant-wide stream sees every call; agents may not open it") {
  Fixture f;
  v1::SubscribeRequest wide;
  wide.set_tenant_wide(true);
  Reader sup(f.suite.channel(), kSupervisor, wide);
  sup.WaitCount(2);
  f.State("call-1", cv1::CALL_STATE_RINGING, "");
  f.State("call-1", cv1::CALL_STATE_ANSWERED, "ana");
  auto got = Events(sup.WaitCount(4));
  REQUIRE(got.size() == 2);
  CHECK(got[1].call_state().call().state() == cv1::CALL_STATE_ANSWERED);

  Reader refused(f.suite.channel(), Agent("ana"), wide);
  auto end = refused.WaitEnd();
  REQUIRE(end.has_value());
  CHECK(end->code() == absl::StatusCode::kPermissionDenied);
  CHECK(sb::core::ReasonOf(*end) == "SUPERVISOR_ROLE_REQUIRED");

  v1::SubscribeRequest other;
  other.set_agent_id("ben");
  Reader nosy(f.suite.channel(), Agent("ana"), other);
  end = nosy.WaitEnd();
  REQUIRE(end.has_value());
  CHECK(sb::core::ReasonOf(*end) == "NOT_CALLER_AGENT");

  v1::SubscribeRequest bad;
  bad.add_kinds(static_cast<v1::NotificationKind>(99));
  Reader odd(f.suite.channel(), Agent("ana"), bad);
  end = odd.WaitEnd();
  REQUIRE(end.has_value());
  CHECK(end->code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE(
    "events from hours ago (a replay after a crash) ring nobody and add no call; their ends still "
    "apply") {
  Fixture f;
  v1::SubscribeRequest wide;
  wide.set_tenant_wide(true);
  Reader ben(f.suite.channel(), Agent("ben"), ForAgent());
  Reader sup(f.suite.channel(), kSupervisor, wide);
  ben.WaitCount(2);
  sup.WaitCount(2);
  const absl::Time hours_ago = absl::Now() - absl::Hours(3);

  // One key per topic: one partition, read in order, so the last event seen proves the earlier
  // ones were handled. An offer from hours ago (its deadline still ahead, to tell the rules
  // apart) and a fresh one whose ring is over alert nobody; the next one does.
  f.Late(sb::kafka::kRoutingOffers, OfferOf("call-old", rv1::CALL_OFFER_KIND_OFFERED, {"ben"}),
         "ring", hours_ago);
  f.Late(sb::kafka::kRoutingOffers,
         OfferOf("call-expired", rv1::CALL_OFFER_KIND_OFFERED, {"ben"}, "", "acme",
                 absl::Now() - absl::Seconds(1)),
         "ring", absl::Now() - absl::Seconds(31));
  f.Late(sb::kafka::kRoutingOffers, OfferOf("call-new", rv1::CALL_OFFER_KIND_OFFERED, {"ben"}),
         "ring", absl::Now());
  auto rung = Events(ben.WaitCount(3));
  REQUIRE(!rung.empty());
  CHECK(rung[0].incoming_call().call_id() == "call-new");
  CHECK(rung.size() == 1);

  // An answered call from hours ago is not put on the wall board; a live call's end, however
  // late, still takes it off.
  f.Late(sb::kafka::kCallsState, StateOf("call-old", cv1::CALL_STATE_ANSWERED, "ana"), "board",
         hours_ago);
  f.Late(sb::kafka::kCallsState, StateOf("call-live", cv1::CALL_STATE_ANSWERED, "ana"), "board",
         absl::Now());
  f.Late(sb::kafka::kCallsState, StateOf("call-live", cv1::CALL_STATE_ENDED, "ana"), "board",
         hours_ago);
  f.Late(sb::kafka::kCallsState, StateOf("call-marker", cv1::CALL_STATE_RINGING, ""), "board",
         absl::Now());
  auto board = Events(sup.WaitCount(5));
  REQUIRE(board.size() >= 3);
  CHECK(board[0].call_state().call().call_id() == "call-live");
  CHECK(board[1].call_state().call().state() == cv1::CALL_STATE_ENDED);
  CHECK(board[2].call_state().call().call_id() == "call-marker");
  CHECK(board.size() == 3);

  // A reload shows only what is current.
  Reader reload(f.suite.channel(), kSupervisor, wide);
  auto fresh = reload.WaitCount(2);
  REQUIRE(fresh.size() == 2);
  REQUIRE(fresh[1].reset().calls_size() == 1);
  CHECK(fresh[1].reset().calls(0).call_id() == "call-marker");
  Reader ben_again(f.suite.channel(), Agent("ben"), ForAgent());
  auto ben_fresh = ben_again.WaitCount(2);
  REQUIRE(ben_fresh.size() == 2);
  REQUIRE(ben_fresh[1].reset().ringing_size() == 1);
  CHECK(ben_fresh[1].reset().ringing(0).call_id() == "call-new");
}

TEST_CASE(
    "a slow consumer is cut without delaying the others; a token expiring ends its stream; "
    "a drain ends every stream") {
  Fixture f;
  v1::SubscribeRequest wide;
  wide.set_tenant_wide(true);
  // A client that stops reading: small HTTP/2 windows so its backlog reaches the server's queue.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 8192);
  auto slow_channel =
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", f.suite.app().grpc_port()),
                                grpc::InsecureChannelCredentials(), args);
  auto slow_stub = v1::NotificationsService::NewStub(slow_channel);
  grpc::ClientContext slow_ctx;
  slow_ctx.AddMetadata("authorization", "Bearer " + testing::Suite::Token(kSupervisor));
  auto slow = slow_stub->Subscribe(&slow_ctx, wide);
  v1::SubscribeResponse first;
  REQUIRE(slow->Read(&first));  // up, then never read again until the end

  Reader fast(f.suite.channel(), kSupervisor, wide);
  fast.WaitCount(2);
  Reader expiring(f.suite.channel(), Agent("ana"), ForAgent(), absl::Seconds(3));
  expiring.WaitCount(2);

  constexpr int kCalls = 1500;
  for (int i = 0; i < kCalls; ++i) {
    cv1::CallStateChanged e;
    e.mutable_header()->set_tenant_id("acme");
    e.mutable_call()->set_call_id(absl::StrCat("call-", i));
    e.mutable_call()->set_state(cv1::CALL_STATE_RINGING);
    e.mutable_call()->set_end_reason(std::string(400, 'x'));
    f.producer->Publish(sb::kafka::kCallsState, sb::kafka::MakeEvent(e, e.call().call_id(), "t"),
                        [](absl::Status) {});
  }
  REQUIRE(f.producer->Flush(absl::Seconds(20)).ok());
  auto all = Events(fast.WaitCount(kCalls + 2, absl::Seconds(30)));
  CHECK(all.size() == kCalls);
  REQUIRE(testing::Eventually(
      [&] {
        return absl::StrContains(f.suite.Metrics(),
                                 "switchboard_notifications_streams_ended_total{reason=\"slow_"
                                 "consumer\"} 1");
      },
      absl::Seconds(20)));
  // The slow client, reading at last, finds its stream ended.
  v1::SubscribeResponse r;
  while (slow->Read(&r)) {
  }
  CHECK_FALSE(slow->Finish().ok());

  auto expired = expiring.WaitEnd();
  REQUIRE(expired.has_value());
  CHECK(expired->code() == absl::StatusCode::kUnauthenticated);
  CHECK(sb::core::ReasonOf(*expired) == "TOKEN_EXPIRED");

  absl::Time began = absl::Now();
  f.suite.Stop();
  auto drained = fast.WaitEnd();
  REQUIRE(drained.has_value());
  CHECK(sb::core::ReasonOf(*drained) == "SERVER_DRAINING");
  CHECK(absl::Now() - began < absl::Seconds(5));
}

TEST_CASE(
    "two replicas: each delivers every event to its own subscribers, and a stream resumes "
    "on the other replica without a reset") {
  Fixture f;
  std::unique_ptr<sb::runtime::App> b = f.suite.StartReplica();
  auto b_channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", b->grpc_port()),
                                       grpc::InsecureChannelCredentials());
  std::string resume;
  {
    Reader on_a(f.suite.channel(), Agent("ana"), ForAgent());
    Reader on_b(b_channel, Agent("ben"), ForAgent());
    on_a.WaitCount(2);
    on_b.WaitCount(2);
    // Whichever replica's consumer appends them (the groups are shared), both hear them. The
    // groups rebalance as B joins, which may hold the first appends for several seconds.
    for (int i = 0; i < 6; ++i) {
      f.Offer(absl::StrCat("call-", i), rv1::CALL_OFFER_KIND_OFFERED, {"ana", "ben"});
    }
    CHECK(Events(on_a.WaitCount(8, absl::Seconds(40))).size() == 6);
    CHECK(Events(on_b.WaitCount(8, absl::Seconds(40))).size() == 6);
    resume = on_a.LastId();
  }
  f.Offer("call-9", rv1::CALL_OFFER_KIND_OFFERED, {"ana"});
  Reader moved(b_channel, Agent("ana"), ForAgent(resume));
  auto got = moved.WaitCount(2);
  REQUIRE(got.size() == 2);
  CHECK(got[0].subscription_started().resumed());
  CHECK(got[1].incoming_call().call_id() == "call-9");
}

TEST_CASE("Redis restarted and emptied: a stream says reset, then goes on live") {
  Fixture f;
  Reader ana(f.suite.channel(), Agent("ana"), ForAgent());
  ana.WaitCount(2);
  f.Offer("call-1", rv1::CALL_OFFER_KIND_OFFERED, {"ana"});
  REQUIRE(Events(ana.WaitCount(3)).size() == 1);
  f.suite.redis().Restart();  // no persistence: everything the streams kept is gone
  // The events keep coming; the first one after the restart creates the stream anew.
  std::vector<v1::Notification> got;
  REQUIRE(testing::Eventually(
      [&] {
        f.Offer(absl::StrCat("call-", sb::core::NewId()), rv1::CALL_OFFER_KIND_OFFERED, {"ana"});
        got = ana.Got();
        for (size_t i = 3; i < got.size(); ++i) {
          if (got[i].has_reset() && i + 1 < got.size() && got[i + 1].has_incoming_call()) {
            return true;
          }
        }
        return false;
      },
      absl::Seconds(30), absl::Milliseconds(500)));
  // A reset of a stream that changed, and nothing after it twice.
  bool reset_seen = false;
  std::set<std::string> ids;
  for (size_t i = 3; i < got.size(); ++i) {
    if (got[i].has_reset()) {
      reset_seen = true;
      CHECK(got[i].reset().reason() == v1::RESET_REASON_STREAM_CHANGED);
    }
    if (got[i].has_incoming_call()) CHECK(ids.insert(got[i].notification_id()).second);
  }
  CHECK(reset_seen);
}
