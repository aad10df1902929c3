// runtime::App in-process with a test-only module: the tenant comes from the token, errors keep
// their reason and metadata across the wire, RED metrics count every call, and a drain lets
// in-flight calls finish (or cancels them at the drain timeout) while refusing new ones.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "libs/auth/testing/signing_key.h"
#include "libs/auth/token.h"
#include "libs/core/clock.h"
#include "libs/core/error.h"
#include "libs/core/trace.h"
#include "libs/kafka/embedded.h"
#include "libs/runtime/app.h"
#include "libs/runtime/grpc.h"
#include "libs/runtime/peer.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "tests/support/servers.h"

namespace auth = switchboard::auth;
namespace core = switchboard::core;
namespace runtime = switchboard::runtime;
namespace testing = switchboard::testing;
namespace v1 = switchboard::eligibility::v1;
using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

namespace {

constexpr char kSecret[] = "runtime-test-secret-0123456789";
constexpr char kModule[] = "echo";
// The handler's own bound on a "slow" call; a drain must not depend on reaching it.
constexpr absl::Duration kHandlerTimeout = absl::Seconds(5);

// What the test and the handler share: the test releases slow calls and sees them arrive.
struct Gate {
  absl::Notification release;
  std::atomic<int> entered{0};
  std::atomic<int> left{0};
  std::atomic<int> saw_cancel{0};  // cooperative calls that stopped because they were cancelled
  std::atomic<int> port{0};        // the server's, for "forward:" calls to itself
};

// CheckEligibility echoes the caller's tenant as the first blocking reason's message.
// agent_id "slow" holds the call until the gate opens (or kHandlerTimeout passes), ignoring
// cancellation; "slow-cooperative" does the same but also stops once the call is cancelled, as
// a sync handler can only learn by asking ServerContext::IsCancelled(); "fail" returns an error
// with a reason and metadata; "forward:<agent>" calls the server itself as a peer (CallPeer, at
// most 2 s) with <agent> and returns its answer; "deadline" answers the milliseconds left
// before its deadline.
class EchoService final : public v1::EligibilityService::Service {
 public:
  explicit EchoService(Gate& gate) : gate_(gate) {}

  grpc::Status CheckEligibility(grpc::ServerContext* ctx, const v1::CheckEligibilityRequest* req,
                                v1::CheckEligibilityResponse* resp) override {
    return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
      if (req->agent_id() == "fail") {
        return core::Error(absl::StatusCode::kFailedPrecondition, "SOME_REASON", "msg",
                           {{"k", "v"}});
      }
      if (absl::StartsWith(req->agent_id(), "forward:")) {
        runtime::Peer<v1::EligibilityService> self("echo");
        self.Connect(grpc::CreateChannel(absl::StrCat("127.0.0.1:", gate_.port.load()),
                                         grpc::InsecureChannelCredentials()));
        v1::CheckEligibilityRequest inner = *req;
        inner.set_agent_id(req->agent_id().substr(8));
        absl::StatusOr<v1::CheckEligibilityResponse> answer = runtime::CallPeer(
            self, ctx, &v1::EligibilityService::Stub::CheckEligibility, inner, absl::Seconds(2));
        if (!answer.ok()) return answer.status();
        *resp = *std::move(answer);
        return absl::OkStatus();
      }
      if (req->agent_id() == "trace") {
        v1::Reason* reason = resp->add_blocking_reasons();
        reason->set_code("TRACE");
        reason->set_message(core::CurrentTraceparent());
        auto header = ctx->client_metadata().find("traceparent");
        (*reason->mutable_metadata())["received"] =
            header == ctx->client_metadata().end()
                ? ""
                : std::string(header->second.data(), header->second.size());
        return absl::OkStatus();
      }
      if (req->agent_id() == "deadline") {
        v1::Reason* reason = resp->add_blocking_reasons();
        reason->set_code("DEADLINE");
        reason->set_message(absl::StrCat(
            absl::ToInt64Milliseconds(absl::FromChrono(ctx->deadline()) - absl::Now())));
        return absl::OkStatus();
      }
      if (req->agent_id() == "slow") {
        gate_.entered.fetch_add(1);
        gate_.release.WaitForNotificationWithTimeout(kHandlerTimeout);
        gate_.left.fetch_add(1);
      }
      if (req->agent_id() == "slow-cooperative") {
        gate_.entered.fetch_add(1);
        absl::Time deadline = absl::Now() + kHandlerTimeout;
        while (!gate_.release.WaitForNotificationWithTimeout(absl::Milliseconds(10)) &&
               absl::Now() < deadline) {
          if (ctx->IsCancelled()) {
            gate_.saw_cancel.fetch_add(1);
            break;
          }
        }
        gate_.left.fetch_add(1);
      }
      v1::Reason* reason = resp->add_blocking_reasons();
      reason->set_code("CALLER");
      reason->set_message(caller.tenant_id);
      (*reason->mutable_metadata())["subject"] = caller.subject;
      return absl::OkStatus();
    });
  }

 private:
  Gate& gate_;
};

class EchoModule final : public runtime::Module {
 public:
  explicit EchoModule(Gate& gate) : service_(gate) {}
  absl::Status Init(runtime::Context& ctx) override {
    ctx.AddService(&service_, v1::EligibilityService::service_full_name());
    return absl::OkStatus();
  }

 private:
  EchoService service_;
};

std::string Code(const grpc::Status& s) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(s.error_code()));
}

class Fixture {
 public:
  explicit Fixture(absl::Duration drain_timeout = absl::Seconds(5),
                   const core::Clock& clock = core::Clock::Real(),
                   absl::Duration max_call_time = absl::Seconds(30),
                   const std::function<void(runtime::Config&)>& configure = {}) {
    registry_.Add({.name = kModule, .deps = {}, .target = true, .factory = [this] {
                     return std::make_unique<EchoModule>(gate);
                   }});
    runtime::Config config;
    config.targets = {kModule};
    config.listen_host = "127.0.0.1";
    config.grpc_port = 0;
    config.metrics_port = 0;
    config.auth_secret = kSecret;
    config.drain_timeout = drain_timeout;
    config.max_call_time = max_call_time;
    config.kafka_bootstrap_file = "";
    if (configure) configure(config);
    app = std::make_unique<runtime::App>(registry_, config, clock);
    absl::Status started = app->Start();
    INFO(started.ToString());
    REQUIRE(started.ok());
    REQUIRE(app->grpc_port() > 0);
    gate.port = app->grpc_port();
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", app->grpc_port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::EligibilityService::NewStub(channel_);
    health_ = grpc::health::v1::Health::NewStub(channel_);
  }
  ~Fixture() {
    // Never leave a handler (and with it the server's shutdown) waiting on the gate.
    if (!gate.release.HasBeenNotified()) gate.release.Notify();
  }

  // Signs a token for `tenant`, valid for `ttl` from `now`.
  static std::string Token(const std::string& tenant, absl::Time now,
                           absl::Duration ttl = absl::Hours(1),
                           const std::string& secret = kSecret) {
    absl::StatusOr<std::string> token = auth::SignToken(
        secret,
        {.tenant_id = tenant, .subject = "agent-7", .roles = {"agent"}, .expires = now + ttl}, now);
    REQUIRE(token.ok());
    return *token;
  }

  // CheckEligibility with `token` (none when empty); agent_id selects the handler's behaviour.
  grpc::Status Check(const std::string& token, const std::string& agent_id,
                     v1::CheckEligibilityResponse* resp = nullptr,
                     const std::vector<std::pair<std::string, std::string>>& extra_metadata = {}) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(15)));
    if (!token.empty()) ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    for (const auto& [k, v] : extra_metadata) ctx.AddMetadata(k, v);
    v1::CheckEligibilityRequest req;
    req.set_agent_id(agent_id);
    req.set_business_phone_number_id("1234567890");
    req.mutable_contact()->set_wa_id("15550001111");
    v1::CheckEligibilityResponse ignored;
    return stub_->CheckEligibility(&ctx, req, resp != nullptr ? resp : &ignored);
  }

  // The health status of `service`, or nullopt when the Check call itself failed.
  std::optional<HealthCheckResponse::ServingStatus> Health(const std::string& service) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
    HealthCheckRequest req;
    req.set_service(service);
    HealthCheckResponse resp;
    if (!health_->Check(&ctx, req, &resp).ok()) return std::nullopt;
    return resp.status();
  }

  std::string Metrics() {
    std::string out;
    int rc = testing::Run(
        absl::StrCat("curl -sf http://127.0.0.1:", app->metrics_port(), "/metrics"), &out);
    INFO(out);
    REQUIRE(rc == 0);
    return out;
  }

  // Calls any method path with an empty request and no token.
  grpc::Status CallPath(const std::string& path) {
    grpc::GenericStub stub(channel_);
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    grpc::Slice empty{std::string()};
    grpc::ByteBuffer request(&empty, 1);
    grpc::ByteBuffer response;
    absl::Notification done;
    grpc::Status result;
    stub.UnaryCall(&ctx, path, grpc::StubOptions(), &request, &response, [&](grpc::Status s) {
      result = std::move(s);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  v1::EligibilityService::Stub& stub() { return *stub_; }
  Gate gate;

 private:
  runtime::Registry registry_;  // outlives the app

 public:
  std::unique_ptr<runtime::App> app;

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::EligibilityService::Stub> stub_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace

TEST_CASE("the tenant comes from the token, never from the request") {
  Fixture f;
  absl::Time now = absl::Now();
  for (const auto& [tenant, claimed] :
       std::vector<std::pair<std::string, std::string>>{{"acme", "globex"}, {"globex", "acme"}}) {
    INFO("token tenant " << tenant << ", request claims " << claimed);
    v1::CheckEligibilityResponse resp;
    // The request has no tenant field; claim another tenant everywhere a client could try.
    grpc::Status s = f.Check(Fixture::Token(tenant, now), claimed, &resp,
                             {{"x-tenant-id", claimed}, {"tenant", claimed}});
    REQUIRE(s.ok());
    REQUIRE(resp.blocking_reasons_size() == 1);
    CHECK(resp.blocking_reasons(0).code() == "CALLER");
    CHECK(resp.blocking_reasons(0).message() == tenant);
    CHECK(resp.blocking_reasons(0).metadata().at("subject") == "agent-7");
  }
}

TEST_CASE("calls without a valid, unexpired token are refused with a reason") {
  core::FakeClock clock;
  Fixture f(absl::Seconds(5), clock);
  std::string token = Fixture::Token("acme", clock.Now(), absl::Hours(1));

  absl::Status missing = runtime::FromGrpcStatus(f.Check("", "a"));
  CHECK(missing.code() == absl::StatusCode::kUnauthenticated);
  CHECK(core::ReasonOf(missing) == "TOKEN_MISSING");

  std::string forged =
      Fixture::Token("acme", clock.Now(), absl::Hours(1), "another-secret-0123456789abcdef");
  absl::Status invalid = runtime::FromGrpcStatus(f.Check(forged, "a"));
  CHECK(invalid.code() == absl::StatusCode::kUnauthenticated);
  CHECK(core::ReasonOf(invalid) == "TOKEN_INVALID");

  absl::Status garbage = runtime::FromGrpcStatus(f.Check("not.a.jwt", "a"));
  CHECK(garbage.code() == absl::StatusCode::kUnauthenticated);
  CHECK(core::ReasonOf(garbage) == "TOKEN_INVALID");

  // The same token works until the App's clock passes its expiry.
  CHECK(f.Check(token, "a").ok());
  clock.Advance(absl::Minutes(59));
  CHECK(f.Check(token, "a").ok());
  clock.Advance(absl::Minutes(1));
  absl::Status expired = runtime::FromGrpcStatus(f.Check(token, "a"));
  CHECK(expired.code() == absl::StatusCode::kUnauthenticated);
  CHECK(core::ReasonOf(expired) == "TOKEN_EXPIRED");
}

TEST_CASE("an identity provider's RS256/ES256 tokens are taken through --auth-jwks-file") {
  auto provider = auth::testing::SigningKey::Ec("idp-2026-12");
  std::string dir = testing::TempDir("runtime-jwks");
  { std::ofstream(dir + "/jwks.json") << auth::testing::Jwks({&provider}); }
  Fixture f(absl::Seconds(5), core::Clock::Real(), absl::Seconds(30), [&](runtime::Config& c) {
    c.auth_jwks_file = dir + "/jwks.json";
    c.auth_issuer = "https://id.example.com/";
    c.auth_audience = "switchboard";
  });
  nlohmann::json claims = {
      {"sub", "ana"},         {"tenant", "globex"},
      {"roles", {"agent"}},   {"iss", "https://id.example.com/"},
      {"aud", "switchboard"}, {"exp", absl::ToUnixSeconds(absl::Now() + absl::Hours(1))}};
  v1::CheckEligibilityResponse resp;
  grpc::Status s = f.Check(provider.Sign(claims), "acme", &resp);
  REQUIRE(s.ok());
  REQUIRE(resp.blocking_reasons_size() == 1);
  CHECK(resp.blocking_reasons(0).message() == "globex");
  CHECK(resp.blocking_reasons(0).metadata().at("subject") == "ana");
  // Another audience, or a role the method does not admit, is refused as for any token.
  claims["aud"] = "another-api";
  CHECK(core::ReasonOf(runtime::FromGrpcStatus(f.Check(provider.Sign(claims), "a"))) ==
        "TOKEN_INVALID");
  claims["aud"] = "switchboard";
  claims["roles"] = {"viewer"};
  CHECK(core::ReasonOf(runtime::FromGrpcStatus(f.Check(provider.Sign(claims), "a"))) ==
        "AGENT_ROLE_REQUIRED");
  // The suite's own HS256 tokens keep working beside them.
  CHECK(f.Check(Fixture::Token("acme", absl::Now()), "a").ok());
}

TEST_CASE("a JWKS file that does not parse stops the start, naming it") {
  std::string dir = testing::TempDir("runtime-jwks");
  {
    std::ofstream(dir + "/jwks.json") << R"({"keys": [{"kty": "EC", "crv": "P-256", "x": "AA"}]})";
  }
  runtime::Registry registry;
  runtime::Config config;
  config.targets = {};
  config.listen_host = "127.0.0.1";
  config.auth_secret = kSecret;
  config.auth_jwks_file = dir + "/jwks.json";
  runtime::App app(registry, config);
  absl::Status started = app.Start();
  CHECK(core::ReasonOf(started) == "JWKS_INVALID");
  CHECK(absl::StrContains(started.message(), "jwks.json"));
}

TEST_CASE("a call to a peer gets the caller's deadline (capped) and is cancelled with it") {
  Fixture f;
  std::string token = Fixture::Token("acme", absl::Now());
  auto left_at_peer = [&](absl::Duration client_deadline) -> int64_t {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + client_deadline));
    ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
    v1::CheckEligibilityRequest req;
    req.set_agent_id("forward:deadline");
    req.set_business_phone_number_id("1234567890");
    v1::CheckEligibilityResponse resp;
    grpc::Status s = f.stub().CheckEligibility(&ctx, req, &resp);
    INFO(s.error_message());
    REQUIRE(s.ok());
    REQUIRE(resp.blocking_reasons_size() == 1);
    REQUIRE(resp.blocking_reasons(0).code() == "DEADLINE");
    int64_t ms = 0;
    REQUIRE(absl::SimpleAtoi(resp.blocking_reasons(0).message(), &ms));
    return ms;
  };
  // A caller in a hurry: the peer has no more time than the caller had.
  int64_t hurried = left_at_peer(absl::Milliseconds(800));
  CHECK(hurried > 0);
  CHECK(hurried <= 850);
  // A patient caller: the peer's time is capped at CallPeer's 2 s.
  int64_t patient = left_at_peer(absl::Seconds(20));
  CHECK(patient > 1000);
  CHECK(patient <= 2100);  // grpc-timeout travels rounded up, and is counted from arrival

  // The caller gives up: the peer's call is cancelled at once, well before its own 2 s deadline
  // would end it.
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(20)));
  ctx.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  v1::CheckEligibilityRequest req;
  req.set_agent_id("forward:slow-cooperative");
  std::thread caller([&] {
    v1::CheckEligibilityResponse resp;
    f.stub().CheckEligibility(&ctx, req, &resp);
  });
  REQUIRE(testing::Eventually([&] { return f.gate.entered.load() == 1; }, absl::Seconds(10)));
  ctx.TryCancel();
  caller.join();
  CHECK(testing::Eventually([&] { return f.gate.saw_cancel.load() == 1; }, absl::Seconds(1)));
  f.gate.release.Notify();
}

TEST_CASE("a handler works in its caller's trace (traceparent) and passes its own span on") {
  Fixture f;
  const std::string parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto ask = [&](const std::string& agent, const std::string& traceparent) {
    v1::CheckEligibilityResponse resp;
    std::vector<std::pair<std::string, std::string>> md;
    if (!traceparent.empty()) md.emplace_back("traceparent", traceparent);
    grpc::Status s = f.Check(Fixture::Token("acme", absl::Now()), agent, &resp, md);
    REQUIRE(s.ok());
    REQUIRE(resp.blocking_reasons_size() == 1);
    REQUIRE(resp.blocking_reasons(0).code() == "TRACE");
    return resp.blocking_reasons(0);
  };
  // Directly: the handler's span is a child of the caller's.
  v1::Reason direct = ask("trace", parent);
  auto mine = core::ParseTraceparent(direct.message());
  REQUIRE(mine.has_value());
  CHECK(mine->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(mine->span_id != "00f067aa0ba902b7");
  CHECK(mine->flags == 1);
  // Through a peer: the peer receives the first handler's span as its parent, same trace.
  v1::Reason forwarded = ask("forward:trace", parent);
  auto received = core::ParseTraceparent(forwarded.metadata().at("received"));
  REQUIRE(received.has_value());
  CHECK(received->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(received->span_id != "00f067aa0ba902b7");
  auto peer = core::ParseTraceparent(forwarded.message());
  REQUIRE(peer.has_value());
  CHECK(peer->trace_id == "4bf92f3577b34da6a3ce929d0e0e4736");
  CHECK(peer->span_id != received->span_id);
  // No (or a malformed) traceparent: a trace of its own, still passed on.
  for (const std::string& none : {std::string(), std::string("00-nonsense")}) {
    v1::Reason fresh = ask("forward:trace", none);
    auto started = core::ParseTraceparent(fresh.metadata().at("received"));
    REQUIRE(started.has_value());
    CHECK(started->trace_id != "4bf92f3577b34da6a3ce929d0e0e4736");
    CHECK(core::ParseTraceparent(fresh.message())->trace_id == started->trace_id);
  }
}

TEST_CASE("a handler's error reaches the client with its code, reason and metadata") {
  Fixture f;
  grpc::Status raw = f.Check(Fixture::Token("acme", absl::Now()), "fail");
  CHECK(Code(raw) == "FAILED_PRECONDITION");
  CHECK(raw.error_message() == "msg");
  absl::Status s = runtime::FromGrpcStatus(raw);
  CHECK(s.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(core::ReasonOf(s) == "SOME_REASON");
  CHECK(core::MetadataOf(s) == core::ErrorMetadata{{"k", "v"}});
}

TEST_CASE("health reports the module and its service by name") {
  Fixture f;
  CHECK(f.Health("") == HealthCheckResponse::SERVING);
  CHECK(f.Health(kModule) == HealthCheckResponse::SERVING);
  CHECK(f.Health(v1::EligibilityService::service_full_name()) == HealthCheckResponse::SERVING);
  CHECK_FALSE(f.Health("switchboard.calls.v1.CallsService").has_value());  // NOT_FOUND
}

TEST_CASE("a drain lets in-flight calls finish and refuses new ones") {
  Fixture f(absl::Seconds(10));
  std::string token = Fixture::Token("acme", absl::Now());
  REQUIRE(f.Check(token, "fast").ok());

  std::atomic<bool> slow_done{false};
  grpc::Status slow;
  v1::CheckEligibilityResponse slow_resp;
  std::thread caller([&] {
    slow = f.Check(token, "slow", &slow_resp);
    slow_done = true;
  });
  REQUIRE(testing::Eventually([&] { return f.gate.entered.load() == 1; }));

  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    f.app->RequestStop();
    f.app->WaitAndDrain();
    drained = true;
  });

  // Load balancers see the drain: health is NOT_SERVING (or the server no longer answers).
  REQUIRE(testing::Eventually([&] { return f.Health("") != HealthCheckResponse::SERVING; }));
  // New calls are refused while the slow one is still running.
  grpc::Status refused;
  REQUIRE(testing::Eventually([&] {
    refused = f.Check(token, "fast");
    return !refused.ok();
  }));
  INFO("a new call during the drain: " << Code(refused) << " " << refused.error_message());
  // Refused either way: UNAVAILABLE when the server no longer takes calls, CANCELLED when one
  // reaches it as gRPC shuts it down (which of the two depends on timing).
  CHECK((Code(refused) == "UNAVAILABLE" || Code(refused) == "CANCELLED"));
  CHECK_FALSE(slow_done.load());
  CHECK_FALSE(drained.load());
  CHECK(f.gate.left.load() == 0);

  f.gate.release.Notify();
  caller.join();
  drainer.join();
  INFO("the slow call: " << Code(slow) << " " << slow.error_message());
  CHECK(slow.ok());
  REQUIRE(slow_resp.blocking_reasons_size() == 1);
  CHECK(slow_resp.blocking_reasons(0).message() == "acme");
  CHECK(drained.load());
}

// Runs a call with agent_id `mode` into a drain with a 300 ms timeout, the handler never
// released. Every bound here is a guard against hangs (the handler waits 5 s), not a
// performance figure.
void DrainPastTimeout(const std::string& mode, bool expect_cooperation) {
  Fixture f(absl::Milliseconds(300));
  std::string token = Fixture::Token("acme", absl::Now());

  grpc::Status slow;
  std::atomic<bool> slow_done{false};
  std::thread caller([&] {
    slow = f.Check(token, mode);
    slow_done = true;
  });
  REQUIRE(testing::Eventually([&] { return f.gate.entered.load() == 1; }));

  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    f.app->RequestStop();
    f.app->WaitAndDrain();
    drained = true;
  });
  absl::Time began = absl::Now();
  bool answered = testing::Eventually([&] { return slow_done.load(); }, absl::Seconds(4));
  absl::Duration answer_took = absl::Now() - began;
  bool in_time = testing::Eventually([&] { return drained.load(); }, absl::Seconds(4));
  absl::Duration drain_took = absl::Now() - began;
  bool handler_released = f.gate.release.HasBeenNotified();
  f.gate.release.Notify();  // whatever happened, let the handler (and the server) go
  drainer.join();
  caller.join();
  INFO("the client had its answer after " << absl::FormatDuration(answer_took) << ": " << Code(slow)
                                          << " " << slow.error_message());
  INFO("WaitAndDrain returned after " << absl::FormatDuration(drain_took));
  CHECK_FALSE(handler_released);
  CHECK(answered);
  CHECK_FALSE(slow.ok());
  if (expect_cooperation) CHECK(f.gate.saw_cancel.load() == 1);
  CHECK(in_time);
}

TEST_CASE("a drain cancels calls still running at the drain timeout") {
  DrainPastTimeout("slow-cooperative", /*expect_cooperation=*/true);
}

// gRPC's synchronous server waits in Server::Shutdown for every handler thread to return;
// WaitAndDrain bounds its own wait instead (drain timeout + 1 s grace).
TEST_CASE("a drain does not wait for a handler that ignores cancellation") {
  DrainPastTimeout("slow", /*expect_cooperation=*/false);
}

TEST_CASE("a call running past --max-call-time is cut, whatever the client's deadline") {
  Fixture f(absl::Seconds(5), core::Clock::Real(), /*max_call_time=*/absl::Seconds(1));
  std::string token = Fixture::Token("acme", absl::Now());
  // The client allows 15 s; the server allows 1 s. The handler holds the call for up to 5 s
  // unless it is cancelled.
  absl::Time began = absl::Now();
  grpc::Status slow = f.Check(token, "slow-cooperative");
  absl::Duration took = absl::Now() - began;
  INFO(Code(slow) << " " << slow.error_message() << " after " << absl::FormatDuration(took));
  CHECK(slow.error_code() == grpc::StatusCode::CANCELLED);
  // The handler learns it and lets go (a moment after the client hears).
  CHECK(testing::Eventually([&] { return f.gate.saw_cancel.load() == 1; }, absl::Seconds(3)));
  CHECK(took < absl::Seconds(5));  // it did not run to its own bound
  // The cut is counted as the server's deadline, not as a client cancellation.
  REQUIRE(testing::Eventually([&] {
    return testing::MetricSample(
               f.Metrics(), "switchboard_grpc_server_handled_total",
               {{"grpc_method", "CheckEligibility"}, {"grpc_code", "DeadlineExceeded"}}) == 1.0;
  }));
  // Calls within the limit are untouched.
  CHECK(f.Check(token, "fast").ok());
}

TEST_CASE("RED metrics count calls by method and code") {
  Fixture f;
  std::string token = Fixture::Token("acme", absl::Now());
  for (int i = 0; i < 3; ++i) REQUIRE(f.Check(token, "fast").ok());
  for (int i = 0; i < 2; ++i) REQUIRE(!f.Check("", "fast").ok());
  REQUIRE(Code(f.Check(token, "fail")) == "FAILED_PRECONDITION");
  REQUIRE(f.Health("") == HealthCheckResponse::SERVING);

  const std::string method = "CheckEligibility";
  const std::string service = v1::EligibilityService::service_full_name();
  const std::string handled = "switchboard_grpc_server_handled_total";
  // The status is recorded as it is sent; the client may see it a moment earlier.
  std::string text;
  REQUIRE(testing::Eventually(
      [&] {
        text = f.Metrics();
        return testing::MetricSample(text, handled,
                                     {{"grpc_method", method}, {"grpc_code", "FailedPrecondition"}})
            .has_value();
      },
      absl::Seconds(5)));
  INFO(text);
  CHECK(testing::MetricSample(
            text, handled,
            {{"grpc_service", service}, {"grpc_method", method}, {"grpc_code", "OK"}}) == 3.0);
  CHECK(testing::MetricSample(text, handled,
                              {{"grpc_method", method}, {"grpc_code", "Unauthenticated"}}) == 2.0);
  CHECK(testing::MetricSample(
            text, handled, {{"grpc_method", method}, {"grpc_code", "FailedPrecondition"}}) == 1.0);
  CHECK(testing::MetricSample(text, "switchboard_grpc_server_handling_seconds_count",
                              {{"grpc_method", method}}) == 6.0);
  CHECK(testing::MetricSample(text, "switchboard_build_info", {}) == 1.0);
}

// The RED interceptor sees whatever method path a client sends, before authentication; only
// served methods get their own labels, so nobody can create series at will.
TEST_CASE("made-up method names do not create metric series") {
  Fixture f;
  for (int i = 0; i < 3; ++i) {
    grpc::Status s = f.CallPath(absl::StrCat("/made.up.Service/Method", i));
    INFO(Code(s) << " " << s.error_message());
    CHECK_FALSE(s.ok());
  }
  std::string text = f.Metrics();
  CHECK_FALSE(absl::StrContains(text, "made.up.Service"));
  CHECK_FALSE(absl::StrContains(text, "Method1"));
  // They are still counted, under one bounded label.
  CHECK(testing::MetricSample(text, "switchboard_grpc_server_handled_total",
                              {{"grpc_service", "unknown"}, {"grpc_method", "unknown"}}) == 3.0);
}

TEST_CASE("the metrics endpoint also serves the process's CPU, memory, descriptors and threads") {
  Fixture f;
  const std::string text = f.Metrics();
  INFO(text);
  CHECK(absl::StrContains(text, "# TYPE process_cpu_seconds_total counter"));
  CHECK(testing::MetricSample(text, "process_resident_memory_bytes", {}) > 1e6);
  CHECK(testing::MetricSample(text, "process_open_fds", {}) >= 3);
  CHECK(testing::MetricSample(text, "process_threads", {}) > 1);
  CHECK(testing::MetricSample(text, "process_start_time_seconds", {}) > 1.7e9);
}

TEST_CASE("keepalive: a client pinging between calls keeps its connection; connections age out") {
  Fixture f(absl::Seconds(5), core::Clock::Real(), absl::Seconds(30), [](runtime::Config& c) {
    c.grpc_min_ping_interval = absl::Seconds(1);
    c.grpc_max_connection_age = absl::Seconds(12);
    c.grpc_max_connection_age_grace = absl::Seconds(1);
  });
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 1500);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", f.app->grpc_port()),
                                           grpc::InsecureChannelCredentials(), args);
  auto health = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  HealthCheckResponse resp;
  REQUIRE(health->Check(&ctx, HealthCheckRequest(), &resp).ok());
  REQUIRE(channel->GetState(false) == GRPC_CHANNEL_READY);
  // Four pings without a call: under gRPC's default policy the second is a strike and the third
  // ends the connection (GOAWAY too_many_pings); with the suite's the channel stays READY.
  CHECK_FALSE(channel->WaitForStateChange(GRPC_CHANNEL_READY,
                                          absl::ToChronoTime(absl::Now() + absl::Seconds(6))));
  CHECK(channel->GetState(false) == GRPC_CHANNEL_READY);
  // At its age (12 s, less 10 % jitter at most) the server closes the connection.
  CHECK(channel->WaitForStateChange(GRPC_CHANNEL_READY,
                                    absl::ToChronoTime(absl::Now() + absl::Seconds(20))));
}

namespace {

// A module that needs Kafka, and nothing else.
class KafkaUser final : public runtime::Module {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    ctx.producer();
    return absl::OkStatus();
  }
};

absl::Status StartWithKafka(const std::string& brokers,
                            const std::function<void(runtime::Config&)>& configure = {}) {
  runtime::Registry registry;
  runtime::RegisterInfrastructure(registry);
  registry.Add({.name = "kafka-user", .deps = {"kafka"}, .target = true, .factory = [] {
                  return std::make_unique<KafkaUser>();
                }});
  runtime::Config config;
  config.targets = {"kafka-user"};
  config.listen_host = "127.0.0.1";
  config.grpc_port = 0;
  config.metrics_port = 0;
  config.auth_secret = kSecret;
  config.kafka_brokers = brokers;
  config.kafka_bootstrap_file = "";
  if (configure) configure(config);
  runtime::App app(registry, config);
  return app.Start();  // stopped again by ~App
}

}  // namespace

TEST_CASE("against real brokers the topics are checked, not raced: a missing one stops the start") {
  auto cluster = switchboard::kafka::EmbeddedCluster::Start();
  REQUIRE(cluster.ok());
  absl::Status missing = StartWithKafka((*cluster)->bootstrap());
  INFO(missing.ToString());
  CHECK(core::ReasonOf(missing) == "KAFKA_TOPICS_MISSING");
  CHECK(absl::StrContains(core::MetadataOf(missing)["topics"], "calls.state.v1"));
  // Asked to create them, it tries with the flags' partitions and replicas (the embedded
  // cluster does not take admin requests: the attempt fails and says so).
  absl::Status create = StartWithKafka((*cluster)->bootstrap(),
                                       [](runtime::Config& c) { c.kafka_create_topics = true; });
  CHECK_FALSE(create.ok());
  CHECK(absl::StrContains(create.message(), "--kafka-create-topics=on"));
  REQUIRE((*cluster)->CreateTopics(switchboard::kafka::SuiteTopics()).ok());
  CHECK(StartWithKafka((*cluster)->bootstrap()).ok());
  // Properties from --kafka-config reach every client; one librdkafka does not know stops it.
  const std::string dir = testing::TempDir("kafka-config");
  {
    std::ofstream(dir + "/good.properties") << "client.rack=eu-west-1a\nsocket.keepalive.enable="
                                               "${file:"
                                            << dir << "/secret}\n";
    std::ofstream(dir + "/secret") << "true\n";
    std::ofstream(dir + "/bad.properties") << "# typo\nsecurity.protocl=SASL_SSL\n";
  }
  CHECK(StartWithKafka((*cluster)->bootstrap(), [&](runtime::Config& c) {
          c.kafka_config = dir + "/good.properties";
        }).ok());
  absl::Status bad = StartWithKafka((*cluster)->bootstrap(), [&](runtime::Config& c) {
    c.kafka_config = dir + "/bad.properties";
  });
  CHECK(core::ReasonOf(bad) == "INVALID_KAFKA_CONFIG");
  CHECK(core::MetadataOf(bad)["property"] == "security.protocl");
}

TEST_CASE("reflection v1 answers on the server, without a token: services, health, methods") {
  Fixture f;
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", f.app->grpc_port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = grpc::reflection::v1::ServerReflection::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  auto stream = stub->ServerReflectionInfo(&ctx);
  auto ask = [&](const std::function<void(grpc::reflection::v1::ServerReflectionRequest&)>& set) {
    grpc::reflection::v1::ServerReflectionRequest req;
    set(req);
    REQUIRE(stream->Write(req));
    grpc::reflection::v1::ServerReflectionResponse resp;
    REQUIRE(stream->Read(&resp));
    return resp;
  };
  auto services = ask([](auto& r) { r.set_list_services(""); });
  std::vector<std::string> names;
  for (const auto& s : services.list_services_response().service()) names.push_back(s.name());
  INFO(absl::StrJoin(names, ", "));
  CHECK(std::count(names.begin(), names.end(), "switchboard.eligibility.v1.EligibilityService") ==
        1);
  CHECK(std::count(names.begin(), names.end(), "grpc.health.v1.Health") == 1);
  CHECK(std::count(names.begin(), names.end(), "grpc.reflection.v1.ServerReflection") == 1);
  // Targets' health names ("echo" here) are no service a tool could describe.
  CHECK(std::count(names.begin(), names.end(), kModule) == 0);
  // What grpcurl asks before `grpcurl ... grpc.health.v1.Health/Check` (the chart's NOTES).
  auto health = ask([](auto& r) { r.set_file_containing_symbol("grpc.health.v1.Health"); });
  REQUIRE(health.file_descriptor_response().file_descriptor_proto_size() == 1);
  auto method = ask([](auto& r) {
    r.set_file_containing_symbol("switchboard.eligibility.v1.EligibilityService.CheckEligibility");
  });
  CHECK(method.file_descriptor_response().file_descriptor_proto_size() > 1);
  REQUIRE(stream->WritesDone());
  CHECK(stream->Finish().ok());
}
