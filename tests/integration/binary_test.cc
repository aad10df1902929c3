// The real `switchboard` executable as a child process, against its own Redis, a fresh
// PostgreSQL database and the embedded Kafka: it comes up healthy, exposes clean metrics and the
// suite's topics, authenticates every method, drains on SIGTERM, refuses bad input, and follows
// Redis going away and coming back.
#include "tests/support/binary.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/kafka/kafka.h"
#include "libs/runtime/grpc.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/calls/v1/calls_service.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.pb.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.pb.h"
#include "tests/support/servers.h"

namespace auth = switchboard::auth;
namespace core = switchboard::core;
namespace runtime = switchboard::runtime;
namespace testing = switchboard::testing;
namespace fs = std::filesystem;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;
using switchboard::testing::JsonString;
using switchboard::testing::ReadFile;

namespace {

constexpr char kSecret[] = "binary-test-secret-0123456789";

const std::vector<std::string> kTargets = {"eligibility", "calls",         "routing",
                                           "billing",     "notifications", "webhooks"};

// The six public services. Naming one message of each file links its descriptors into the
// generated pool.
std::vector<const google::protobuf::ServiceDescriptor*> Services() {
  namespace sb = switchboard;
  const std::vector<std::pair<const google::protobuf::Descriptor*, std::string>> anchors = {
      {sb::eligibility::v1::CheckEligibilityRequest::descriptor(),
       "switchboard.eligibility.v1.EligibilityService"},
      {sb::calls::v1::StartCallRequest::descriptor(), "switchboard.calls.v1.CallsService"},
      {sb::routing::v1::SetAgentAvailabilityRequest::descriptor(),
       "switchboard.routing.v1.RoutingService"},
      {sb::billing::v1::GetUsageRequest::descriptor(), "switchboard.billing.v1.BillingService"},
      {sb::notifications::v1::SubscribeRequest::descriptor(),
       "switchboard.notifications.v1.NotificationsService"},
      {sb::webhooks::v1::RegisterPhoneNumberRequest::descriptor(),
       "switchboard.webhooks.v1.WebhooksService"},
  };
  std::vector<const google::protobuf::ServiceDescriptor*> out;
  for (const auto& [anchor, name] : anchors) {
    REQUIRE(anchor != nullptr);
    const auto* service =
        google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(name);
    INFO(name);
    REQUIRE(service != nullptr);
    out.push_back(service);
  }
  return out;
}

std::string Code(const grpc::Status& s) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code()));
}

std::string Token(absl::Time now, absl::Duration ttl = absl::Hours(1),
                  const std::string& secret = kSecret, std::vector<std::string> roles = {"agent"}) {
  absl::StatusOr<std::string> token = auth::SignToken(
      secret,
      {.tenant_id = "acme", .subject = "agent-7", .roles = std::move(roles), .expires = now + ttl},
      now);
  REQUIRE(token.ok());
  return *token;
}

// Runs the binary to completion (bounded by `timeout`) with separate stdout and stderr.
struct Outcome {
  int exit_code;
  std::string out;
  std::string err;
};
Outcome RunBinary(const std::vector<std::string>& args) {
  std::string dir = testing::TempDir("switchboard-bin-run");
  // In a subshell: testing::Run appends its own 2>&1 to the whole command.
  std::string command =
      absl::StrCat("(env -u SWITCHBOARD_AUTH_SECRET timeout 15 ", SWITCHBOARD_BIN);
  for (const auto& a : args) absl::StrAppend(&command, " '", a, "'");
  absl::StrAppend(&command, " >", dir, "/out 2>", dir, "/err)");
  Outcome o;
  o.exit_code = testing::Run(command);
  o.out = ReadFile(dir + "/out");
  o.err = ReadFile(dir + "/err");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return o;
}

// One switchboard process (tests/support/binary.h) and the generic calls and lint only these
// tests make.
class Switchboard : public testing::SwitchboardProcess {
 public:
  Switchboard() : SwitchboardProcess(SWITCHBOARD_BIN, kSecret) {}

  // Calls "/<service>/<method>" with an empty request, and `token` when not empty.
  grpc::Status Call(const std::string& method, const std::string& token) {
    grpc::GenericStub stub(channel());
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    if (!token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    grpc::Slice empty{std::string()};
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status result;
    stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      result = std::move(s);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  // Lints the current /metrics with promtool; returns its output (empty when clean).
  std::string Lint(int* rc) {
    Metrics();
    std::string out;
    *rc = testing::Run(absl::StrCat("promtool check metrics < ", dir(), "/metrics.txt"), &out);
    return out;
  }
};

}  // namespace

TEST_CASE("--target=all comes up and every target and service reports SERVING") {
  Switchboard sb;
  sb.Spawn("all");
  absl::Duration took = sb.WaitReady();
  WARN("spawn -> ready file (--target=all): " << absl::FormatDuration(took));

  std::vector<std::string> names = {""};
  for (const auto& t : kTargets) names.push_back(t);
  for (const auto* s : Services()) names.push_back(s->full_name());
  for (const auto& name : names) {
    INFO("health of '" << name << "'");
    CHECK(testing::Eventually([&] { return sb.Health(name) == HealthCheckResponse::SERVING; },
                              absl::Seconds(10)));
  }
  // The binary serves exactly its own services: an unknown name is not reported at all.
  CHECK_FALSE(sb.Health("switchboard.nope.v1.NopeService").has_value());
}

TEST_CASE("/metrics is clean for promtool and carries build info and RED metrics") {
  Switchboard sb;
  sb.Start("all");

  int rc = -1;
  std::string lint = sb.Lint(&rc);
  INFO("promtool: " << lint);
  CHECK(rc == 0);
  CHECK(lint.empty());
  std::string text = sb.Metrics();
  CHECK(testing::MetricSample(text, "switchboard_build_info", {}) == 1.0);

  // A refused call is counted under its code.
  grpc::Status s = sb.Call("/switchboard.calls.v1.CallsService/GetCall", Token(absl::Now()));
  CHECK(Code(s) == "INVALID_ARGUMENT");
  const std::map<std::string, std::string> labels = {
      {"grpc_service", "switchboard.calls.v1.CallsService"},
      {"grpc_method", "GetCall"},
      {"grpc_code", "InvalidArgument"}};
  REQUIRE(testing::Eventually(
      [&] {
        text = sb.Metrics();
        return testing::MetricSample(text, "switchboard_grpc_server_handled_total", labels) == 1.0;
      },
      absl::Seconds(5)));
  CHECK(testing::MetricSample(text, "switchboard_grpc_server_handling_seconds_count",
                              {{"grpc_method", "GetCall"}}) == 1.0);
  // The stores' round trips (the migrations and relays at start made some), and the process.
  CHECK(testing::MetricSample(text, "switchboard_postgres_statement_duration_seconds_count",
                              {{"schema", "calls"}}) > 0);
  CHECK(testing::MetricSample(text, "switchboard_redis_command_duration_seconds_count", {}) > 0);
  CHECK(testing::MetricSample(text, "process_open_fds", {}) > 10);

  // Still clean with counters and histograms in it.
  lint = sb.Lint(&rc);
  INFO("promtool after a call: " << lint);
  CHECK(rc == 0);
  CHECK(lint.empty());
}

TEST_CASE("the embedded Kafka has every topic of the suite") {
  Switchboard sb;
  sb.Start("all");
  std::string bootstrap(absl::StripAsciiWhitespace(ReadFile(sb.bootstrap_path())));
  CHECK(bootstrap == sb.kafka_bootstrap);

  std::string out;
  int rc = testing::Run(absl::StrCat("timeout 30 kcat -L -J -m 10 -b ", bootstrap), &out);
  INFO(out);
  REQUIRE(rc == 0);
  for (const char* topic :
       {"whatsapp.events.v1", "calls.state.v1", "routing.offers.v1", "billing.usage.v1",
        "conversations.timeline.v1", "whatsapp.outbound.v1", "routing.availability.v1",
        "eligibility.state.v1", "switchboard.deadletter.v1"}) {
    INFO(topic);
    CHECK(absl::StrContains(out, absl::StrCat("\"topic\":\"", topic, "\"")));
  }
}

TEST_CASE("a Python gRPC client knowing only the address works through reflection, as grpcurl") {
  Switchboard sb;
  sb.Start("all");
  std::string out;
  int rc = testing::Run(absl::StrCat("/usr/bin/python3 " SWITCHBOARD_SOURCE_DIR
                                     "/tests/integration/reflection_client.py ",
                                     sb.grpc_address, " " SWITCHBOARD_SOURCE_DIR),
                        &out);
  INFO(out);
  REQUIRE(rc == 0);
  CHECK(absl::StrContains(out, "grpc.health.v1.Health/Check: SERVING"));
  CHECK(absl::StrContains(out, "switchboard.calls.v1.CallsService/GetCall: UNAUTHENTICATED"));
}

TEST_CASE("every method of every service requires a valid bearer token") {
  Switchboard sb;
  sb.Start("all");
  absl::Time now = absl::Now();
  const std::string valid = Token(now);
  const std::string forged = Token(now, absl::Hours(1), "some-other-secret-0123456789");
  const std::string expired = Token(now - absl::Hours(2), absl::Hours(1));

  int methods = 0;
  for (const auto* service : Services()) {
    REQUIRE(service->method_count() > 0);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* m = service->method(i);
      std::string path = absl::StrCat("/", service->full_name(), "/", m->name());
      INFO(path << (m->server_streaming() ? " (server streaming)" : ""));
      ++methods;

      absl::Status none = runtime::FromGrpcStatus(sb.Call(path, ""));
      CHECK(none.code() == absl::StatusCode::kUnauthenticated);
      CHECK(core::ReasonOf(none) == "TOKEN_MISSING");

      absl::Status bad = runtime::FromGrpcStatus(sb.Call(path, forged));
      CHECK(bad.code() == absl::StatusCode::kUnauthenticated);
      CHECK(core::ReasonOf(bad) == "TOKEN_INVALID");

      absl::Status old = runtime::FromGrpcStatus(sb.Call(path, expired));
      CHECK(old.code() == absl::StatusCode::kUnauthenticated);
      CHECK(core::ReasonOf(old) == "TOKEN_EXPIRED");

      // A subscription that works streams until the client leaves: its own tests read it.
      if (m->name() == "Subscribe") continue;
      grpc::Status ok = sb.Call(path, valid);
      INFO("with a valid token: " << Code(ok) << " " << ok.error_message());
      // Past authentication: the service answers for itself (an empty request is refused as
      // INVALID_ARGUMENT, an admin-only method as PERMISSION_DENIED for this agent token).
      CHECK(ok.error_code() != grpc::StatusCode::UNAUTHENTICATED);
      CHECK((ok.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
             ok.error_code() == grpc::StatusCode::PERMISSION_DENIED || ok.ok()));
    }
  }
  WARN("checked " << methods << " methods");

  // Health needs no token.
  CHECK(sb.Health("") == HealthCheckResponse::SERVING);
}

TEST_CASE("SIGTERM drains and exits 0, removing the ready file") {
  Switchboard sb;
  sb.Start("all");
  REQUIRE(fs::exists(sb.ready_path()));
  absl::Time sent = absl::Now();
  sb.process.Signal(SIGTERM);
  int code = sb.process.Wait(absl::Seconds(2 + 5));  // --drain-timeout=2s, plus slack
  absl::Duration took = absl::Now() - sent;
  WARN("SIGTERM -> exit (idle, --drain-timeout=2s): " << absl::FormatDuration(took));
  INFO(sb.Log());
  CHECK(code == 0);
  CHECK_FALSE(fs::exists(sb.ready_path()));
  CHECK(absl::StrContains(sb.Log(), "\"stopped\""));
}

TEST_CASE("bad flags are refused with exit code 2 and one line on stderr") {
  // Everything valid except the flag under test; nothing needs to be reachable.
  const std::vector<std::string> base = {
      "--listen-host=127.0.0.1", "--grpc-port=0", "--metrics-port=0",
      "--kafka-brokers=", "--auth-secret=binary-test-secret-0123456789"};
  auto with = [&](std::vector<std::string> extra, bool keep_secret = true) {
    std::vector<std::string> args;
    for (const auto& a : base) {
      if (keep_secret || !absl::StartsWith(a, "--auth-secret")) args.push_back(a);
    }
    for (auto& e : extra) args.push_back(std::move(e));
    return args;
  };
  auto one_line = [](const std::string& err) {
    return !err.empty() && err.back() == '\n' && std::count(err.begin(), err.end(), '\n') == 1 &&
           absl::StartsWith(err, "switchboard: ");
  };

  SECTION("unknown target") {
    Outcome o = RunBinary(with({"--target=bogus"}));
    INFO(o.err);
    CHECK(o.exit_code == 2);
    CHECK(one_line(o.err));
    CHECK(absl::StrContains(o.err, "bogus"));
    CHECK(o.out.empty());
  }
  SECTION("port out of range") {
    Outcome o = RunBinary(with({"--target=all", "--grpc-port=99999"}));
    INFO(o.err);
    CHECK(o.exit_code == 2);
    CHECK(one_line(o.err));
    CHECK(absl::StrContains(o.err, "grpc-port"));
    CHECK(o.out.empty());
  }
  SECTION("no auth secret") {
    Outcome o = RunBinary(with({"--target=all"}, /*keep_secret=*/false));
    INFO(o.err);
    CHECK(o.exit_code == 2);
    CHECK(one_line(o.err));
    CHECK(absl::StrContains(o.err, "auth-secret"));
  }
  SECTION("auth secret too short") {
    Outcome o = RunBinary(with({"--target=all", "--auth-secret=short"}));
    INFO(o.err);
    CHECK(o.exit_code == 2);
    CHECK(one_line(o.err));
    CHECK_FALSE(absl::StrContains(o.err, "short"));  // secrets are never echoed
  }
}

TEST_CASE("an unreachable Redis fails start-up with exit code 1, not a hang") {
  Switchboard sb;
  int port = testing::FreePort();
  sb.redis_url = absl::StrCat("redis://127.0.0.1:", port, "/0");
  absl::Time began = absl::Now();
  sb.Spawn("all");
  int code = sb.process.Wait(absl::Seconds(15));
  std::string log = sb.Log();
  INFO("exited after " << absl::FormatDuration(absl::Now() - began) << "\n" << log);
  CHECK(code == 1);
  CHECK(absl::StrContains(log, "start-up failed"));
  CHECK(absl::StrContains(log, absl::StrCat("127.0.0.1:", port)));
  CHECK_FALSE(fs::exists(sb.ready_path()));
}

TEST_CASE("a listener that cannot bind fails start-up with exit code 1, not a crash") {
  // Someone else holds the port the webhooks edge is told to use.
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(holder >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(holder, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  REQUIRE(listen(holder, 1) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(getsockname(holder, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  Switchboard sb;
  sb.webhooks_port = absl::StrCat(ntohs(addr.sin_port));
  sb.Spawn("webhooks");
  int code = sb.process.Wait(absl::Seconds(20));
  close(holder);
  std::string log = sb.Log();
  INFO(log);
  CHECK(code == 1);
  CHECK(absl::StrContains(log, "start-up failed"));
  CHECK(absl::StrContains(log, "starting webhooks"));
  CHECK_FALSE(fs::exists(sb.ready_path()));
}

TEST_CASE("health follows Redis going away and coming back") {
  Switchboard sb;
  sb.Start("eligibility");
  const std::string service = "switchboard.eligibility.v1.EligibilityService";
  const std::map<std::string, std::string> redis_up = {{"dependency", "redis"},
                                                       {"target", "eligibility"}};
  REQUIRE(testing::Eventually(
      [&] { return sb.Health("eligibility") == HealthCheckResponse::SERVING; }, absl::Seconds(10)));
  CHECK(sb.Health(service) == HealthCheckResponse::SERVING);
  CHECK(testing::MetricSample(sb.Metrics(), "switchboard_dependency_up", redis_up) == 1.0);
  // Only what runs here is reported.
  CHECK_FALSE(sb.Health("calls").has_value());

  sb.redis.Kill();
  CHECK(testing::Eventually(
      [&] { return sb.Health("eligibility") == HealthCheckResponse::NOT_SERVING; },
      absl::Seconds(10)));
  CHECK(sb.Health(service) == HealthCheckResponse::NOT_SERVING);
  CHECK(testing::MetricSample(sb.Metrics(), "switchboard_dependency_up", redis_up) == 0.0);
  // The other dependencies are still up, and the server itself still answers.
  CHECK(testing::MetricSample(sb.Metrics(), "switchboard_dependency_up",
                              {{"dependency", "postgres"}, {"target", "eligibility"}}) == 1.0);
  CHECK(sb.Health("") == HealthCheckResponse::SERVING);

  sb.redis.Restart();
  CHECK(testing::Eventually(
      [&] { return sb.Health("eligibility") == HealthCheckResponse::SERVING; }, absl::Seconds(10)));
  CHECK(sb.Health(service) == HealthCheckResponse::SERVING);
  CHECK(testing::Eventually(
      [&] {
        return testing::MetricSample(sb.Metrics(), "switchboard_dependency_up", redis_up) == 1.0;
      },
      absl::Seconds(5)));
}

namespace {

// What the process's (embedded) Kafka holds on `topic` that `keep` selects, read from the
// start, one per event id (a restart publishes what was sent before again, ids unchanged).
// Returns once `at_least` are there, or after `wait` with what there is.
template <typename Event>
std::vector<Event> Read(const std::string& bootstrap, const std::string& topic,
                        const std::function<bool(const Event&)>& keep, absl::Duration wait,
                        size_t at_least = 1) {
  absl::Mutex mu;
  std::vector<Event> out;
  std::set<std::string> ids;
  auto consumer = switchboard::kafka::Consumer::Create(
      {.brokers = bootstrap,
       .group_id = absl::StrCat("binary-test-", absl::ToUnixNanos(absl::Now())),
       .topics = {topic},
       .extra = {{"auto.offset.reset", "earliest"}}},
      [&](const switchboard::kafka::Message& m) {
        Event e;
        if (e.ParseFromString(m.event.payload) && keep(e)) {
          absl::MutexLock lock(&mu);
          if (ids.insert(m.event.id).second) out.push_back(e);
        }
        return absl::OkStatus();
      });
  REQUIRE(consumer.ok());
  (*consumer)->Start();
  // Long enough for the group to join and read what is there (records published before).
  testing::Eventually(
      [&] {
        absl::MutexLock lock(&mu);
        return out.size() >= at_least;
      },
      wait);
  (*consumer)->Stop();
  absl::MutexLock lock(&mu);
  return out;
}

std::string AdminToken() {
  const absl::Time now = absl::Now();
  return *auth::SignToken(kSecret,
                          {.tenant_id = "acme",
                           .subject = "admin-1",
                           .roles = {"admin", "agent"},
                           .expires = now + absl::Hours(1)},
                          now);
}

template <typename Stub, typename Req, typename Resp, typename Method>
void MustCall(Stub* stub, Method method, const Req& req, Resp* resp) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + AdminToken());
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  grpc::Status s = (stub->*method)(&ctx, req, resp);
  INFO(s.error_message());
  REQUIRE(s.ok());
}

}  // namespace

TEST_CASE("kill -9 mid-ring: after a restart past the deadline the fallback runs exactly once") {
  namespace rv1 = switchboard::routing::v1;
  namespace wv1 = switchboard::webhooks::v1;
  namespace cv1 = switchboard::calls::v1;
  Switchboard sb;
  sb.extra_args = {"--meta-app-secret=binary-test-app-secret"};  // numbers can be registered
  sb.Start("webhooks,routing");
  {
    auto webhooks = wv1::WebhooksService::NewStub(sb.channel());
    wv1::RegisterPhoneNumberRequest number;
    number.set_phone_number_id("106540352242922");
    number.set_waba_id("102290129340398");
    number.set_display_phone_number("+1 631-555-3601");
    wv1::RegisterPhoneNumberResponse registered;
    MustCall(webhooks.get(), &wv1::WebhooksService::Stub::RegisterPhoneNumber, number, &registered);
    auto routing = rv1::RoutingService::NewStub(sb.channel());
    rv1::UpsertTeamRequest team;
    team.mutable_team()->set_team_id("support");
    team.mutable_team()->set_routing_mode(rv1::ROUTING_MODE_BROADCAST);
    team.mutable_team()->mutable_ring_timeout()->set_seconds(5);
    team.mutable_team()->add_members()->set_agent_id("admin-1");
    team.mutable_team()->add_business_phone_number_ids("106540352242922");
    team.mutable_team()->mutable_fallback()->set_action(rv1::FALLBACK_ACTION_VOICEMAIL);
    team.mutable_team()->mutable_fallback()->set_voicemail_prompt_text("Leave us a message.");
    rv1::UpsertTeamResponse upserted;
    MustCall(routing.get(), &rv1::RoutingService::Stub::UpsertTeam, team, &upserted);
    rv1::SetAgentAvailabilityRequest available;
    available.set_availability(rv1::AVAILABILITY_AVAILABLE);
    rv1::SetAgentAvailabilityResponse set;
    MustCall(routing.get(), &rv1::RoutingService::Stub::SetAgentAvailability, available, &set);
  }
  // calls announces an inbound call (as calls would, on the process's own Kafka).
  cv1::CallStateChanged offered;
  offered.mutable_header()->set_tenant_id("acme");
  cv1::Call& call = *offered.mutable_call();
  call.set_call_id("call-kill-1");
  call.set_tenant_id("acme");
  call.set_direction(cv1::CALL_DIRECTION_INBOUND);
  call.set_state(cv1::CALL_STATE_OFFERED);
  call.set_sequence(1);
  call.set_business_phone_number_id("106540352242922");
  call.mutable_contact()->set_wa_id("13175551399");
  offered.set_state(cv1::CALL_STATE_OFFERED);
  {
    auto producer = switchboard::kafka::Producer::Create({.brokers = sb.kafka_bootstrap}).value();
    REQUIRE(producer
                ->PublishAndWait(switchboard::kafka::kCallsState,
                                 switchboard::kafka::MakeEvent(offered, "call-kill-1", "calls"),
                                 absl::Seconds(10))
                .ok());
  }
  auto for_call = [](const rv1::CallOffer& o) { return o.call_id() == "call-kill-1"; };
  std::vector<rv1::CallOffer> first = Read<rv1::CallOffer>(
      sb.kafka_bootstrap, switchboard::kafka::kRoutingOffers, for_call, absl::Seconds(20));
  REQUIRE(first.size() == 1);
  REQUIRE(first[0].kind() == rv1::CALL_OFFER_KIND_OFFERED);
  const absl::Time deadline = core::FromProto(first[0].ring_deadline_time());

  // Killed while it rings; down across the deadline; then started again (a fresh embedded
  // Kafka: only what PostgreSQL kept can bring the fallback about).
  sb.process.Signal(SIGKILL);
  sb.process.Wait();
  while (absl::Now() < deadline + absl::Seconds(1)) absl::SleepFor(absl::Milliseconds(100));
  fs::remove(sb.ready_path());
  sb.Start("webhooks,routing");
  auto withdrawn = [](const rv1::CallOffer& o) {
    return o.call_id() == "call-kill-1" && o.kind() == rv1::CALL_OFFER_KIND_WITHDRAWN;
  };
  std::vector<rv1::CallOffer> after = Read<rv1::CallOffer>(
      sb.kafka_bootstrap, switchboard::kafka::kRoutingOffers, withdrawn, absl::Seconds(20));
  REQUIRE(after.size() == 1);
  CHECK(after[0].ringing_ended());
  CHECK(after[0].fallback_action() == rv1::FALLBACK_ACTION_VOICEMAIL);
  auto prompt_for_call = [](const auto& m) { return m.call_id() == "call-kill-1"; };
  using Outbound = switchboard::notifications::v1::OutboundMessageRequested;
  CHECK(Read<Outbound>(sb.kafka_bootstrap, switchboard::kafka::kWhatsAppOutbound, prompt_for_call,
                       absl::Seconds(10))
            .size() == 1);

  // Killed again: what was sent is published again (same ids), but the fallback does not run a
  // second time: a second one would be a second id.
  sb.process.Signal(SIGKILL);
  sb.process.Wait();
  fs::remove(sb.ready_path());
  sb.Start("webhooks,routing");
  CHECK(Read<rv1::CallOffer>(sb.kafka_bootstrap, switchboard::kafka::kRoutingOffers, withdrawn,
                             absl::Seconds(8), 2)
            .size() == 1);
  CHECK(Read<Outbound>(sb.kafka_bootstrap, switchboard::kafka::kWhatsAppOutbound, prompt_for_call,
                       absl::Seconds(5), 2)
            .size() == 1);
}

TEST_CASE("kill -9 while rating, then the whole topic replayed twice: one entry per call") {
  namespace bv1 = switchboard::billing::v1;
  namespace cv1 = switchboard::calls::v1;
  constexpr int kCalls = 2000;
  Switchboard sb;
  sb.Start("billing");
  // kCalls outbound calls of 61 s (2 minutes, $0.01 each on the default plan), as calls
  // publishes them.
  auto publish_all = [&] {
    auto producer = switchboard::kafka::Producer::Create({.brokers = sb.kafka_bootstrap}).value();
    const absl::Time ended = absl::Now();
    for (int i = 0; i < kCalls; ++i) {
      cv1::CallStateChanged changed;
      changed.mutable_header()->set_tenant_id("acme");
      cv1::Call& call = *changed.mutable_call();
      call.set_call_id(absl::StrCat("kill-", i));
      call.set_tenant_id("acme");
      call.set_direction(cv1::CALL_DIRECTION_OUTBOUND);
      call.set_state(cv1::CALL_STATE_ENDED);
      call.mutable_contact()->set_wa_id("5511966860300");
      *call.mutable_answered_time() = core::ToProto(ended - absl::Seconds(61));
      *call.mutable_ended_time() = core::ToProto(ended);
      *call.mutable_duration() = core::ToProto(absl::Seconds(61));
      changed.set_state(cv1::CALL_STATE_ENDED);
      producer->Publish(switchboard::kafka::kCallsState,
                        switchboard::kafka::MakeEvent(changed, call.call_id(), "calls"),
                        [](absl::Status) {});
    }
    REQUIRE(producer->Flush(absl::Seconds(30)).ok());
  };
  auto usage = [&] {
    auto billing = bv1::BillingService::NewStub(sb.channel());
    bv1::GetUsageResponse resp;
    MustCall(billing.get(), &bv1::BillingService::Stub::GetUsage, bv1::GetUsageRequest(), &resp);
    return resp.usage();
  };
  publish_all();
  // Killed part-way through the calls.
  REQUIRE(testing::Eventually([&] { return usage().rated_calls() >= 50; }, absl::Seconds(30)));
  const int64_t before_kill = usage().rated_calls();
  sb.process.Signal(SIGKILL);
  sb.process.Wait();
  fs::remove(sb.ready_path());

  // Started again on a fresh embedded Kafka, and every call delivered twice more.
  WARN("rated before the kill: " << before_kill << " of " << kCalls);
  sb.Start("billing");
  publish_all();
  publish_all();
  REQUIRE(testing::Eventually([&] { return usage().rated_calls() == kCalls; }, absl::Seconds(120)));
  // A marker after everything: once it is rated, every replay before it was handled.
  bv1::Usage before = usage();
  {
    auto producer = switchboard::kafka::Producer::Create({.brokers = sb.kafka_bootstrap}).value();
    cv1::CallStateChanged marker;
    cv1::Call& call = *marker.mutable_call();
    call.set_call_id("kill-marker");
    call.set_tenant_id("acme");
    call.set_direction(cv1::CALL_DIRECTION_OUTBOUND);
    call.set_state(cv1::CALL_STATE_ENDED);
    *call.mutable_answered_time() = core::ToProto(absl::Now() - absl::Seconds(1));
    *call.mutable_ended_time() = core::ToProto(absl::Now());
    *call.mutable_duration() = core::ToProto(absl::Seconds(1));
    marker.set_state(cv1::CALL_STATE_ENDED);
    REQUIRE(producer
                ->PublishAndWait(switchboard::kafka::kCallsState,
                                 switchboard::kafka::MakeEvent(marker, "kill-marker", "calls"),
                                 absl::Seconds(10))
                .ok());
  }
  REQUIRE(
      testing::Eventually([&] { return usage().rated_calls() == kCalls + 1; }, absl::Seconds(60)));
  const bv1::Usage after = usage();
  CHECK(before.rated_calls() == kCalls);
  CHECK(after.minutes_used() == 2 * kCalls + 1);
  CHECK(after.call_cost().amount_micros() == 10'000LL * kCalls + 5'000);
}
