// Meta's call webhooks through the whole path: the Meta simulator posts them (duplicated and
// reordered on demand) to the webhooks edge, the calls service applies them to its records in
// PostgreSQL and publishes each transition on calls.state.v1 through its outbox.
#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/token.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/http/client.h"
#include "libs/kafka/embedded.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "libs/runtime/app.h"
#include "libs/runtime/grpc.h"
#include "services/calls/module.h"
#include "services/webhooks/module.h"
#include "switchboard/calls/v1/calls_events.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "tests/support/servers.h"
#include "tools/meta-sim/sim.h"

namespace sb = switchboard;
namespace v1 = switchboard::calls::v1;
namespace testing = switchboard::testing;

namespace {

const std::string kAuthSecret = "calls-test-secret-0123456789";
const std::string kAppSecret = "calls-test-app-secret";
const std::string kNumber = "106540352242922";
const std::string kWaba = "102290129340398";

// Registers the test's business number for tenant "acme" on the suite at `grpc_port`.
void RegisterNumber(int grpc_port) {
  absl::Time now = absl::Now();
  std::string token = *sb::auth::SignToken(
      kAuthSecret,
      {.tenant_id = "acme", .subject = "ops", .roles = {"admin"}, .expires = now + absl::Hours(1)},
      now);
  auto stub = sb::webhooks::v1::WebhooksService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", grpc_port), grpc::InsecureChannelCredentials()));
  sb::webhooks::v1::RegisterPhoneNumberRequest req;
  req.set_phone_number_id(kNumber);
  req.set_waba_id(kWaba);
  req.set_display_phone_number("+1 631-555-3601");
  sb::webhooks::v1::RegisterPhoneNumberResponse resp;
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + token);
  REQUIRE(stub->RegisterPhoneNumber(&ctx, req, &resp).ok());
}

// The business number as the simulator plays it, posting to the edge at `webhooks_address`.
sb::metasim::BusinessNumber SimNumber(const std::string& webhooks_address) {
  return {.phone_number_id = kNumber,
          .display_phone_number = "+1 631-555-3601",
          .waba_id = kWaba,
          .access_token = "sim-token",
          .app_secret = kAppSecret,
          .callback_url = "http://" + webhooks_address + "/webhooks/whatsapp"};
}

struct Suite {
  Suite() : dir(testing::TempDir("switchboard-calls")) {
    sb::runtime::RegisterInfrastructure(registry);
    sb::webhooks::Register(registry);
    sb::calls::Register(registry);
    sb::runtime::Config config;
    config.targets = {"webhooks", "calls"};
    config.eligibility_address = "127.0.0.1:9";  // webhooks only: StartCall is not used here
    config.listen_host = "127.0.0.1";
    config.grpc_port = 0;
    config.metrics_port = 0;
    config.webhooks_port = 0;
    config.auth_secret = kAuthSecret;
    config.meta_app_secret = kAppSecret;
    config.redis_url = redis.url();
    postgres_url = testing::PostgresServer::Shared().CreateDatabase();
    config.postgres_url = postgres_url;
    config.kafka_bootstrap_file = dir + "/kafka.bootstrap";
    config.drain_timeout = absl::Seconds(2);
    app = std::make_unique<sb::runtime::App>(registry, config);
    REQUIRE(app->Start().ok());

    RegisterNumber(app->grpc_port());

    consumer = std::move(sb::kafka::Consumer::Create({.brokers = app->kafka_bootstrap(),
                                                      .group_id = "calls-test-" + sb::core::NewId(),
                                                      .topics = {sb::kafka::kCallsState},
                                                      .extra = {{"auto.offset.reset", "earliest"}}},
                                                     [this](const sb::kafka::Message& m) {
                                                       v1::CallStateChanged e;
                                                       REQUIRE(e.ParseFromString(m.event.payload));
                                                       CHECK(m.event.key == e.call().call_id());
                                                       absl::MutexLock lock(&mu);
                                                       events.push_back(std::move(e));
                                                       return absl::OkStatus();
                                                     })
                             .value());
    consumer->Start();

    sb::metasim::SimOptions options;
    options.numbers = {SimNumber(app->addresses().at("webhooks"))};
    options.ring_timeout = absl::Milliseconds(200);
    options.webhooks.retry_initial = absl::Milliseconds(20);
    options.webhooks.retry_max = absl::Milliseconds(100);
    sim = std::move(sb::metasim::Sim::Start(options).value());
  }
  ~Suite() {
    sim->Stop();
    consumer->Stop();
    app->RequestStop();
    app->WaitAndDrain();
  }

  // The events published for the call Meta knows as `meta_call_id`.
  std::vector<v1::CallStateChanged> EventsOf(const std::string& meta_call_id) {
    absl::MutexLock lock(&mu);
    std::vector<v1::CallStateChanged> out;
    for (const auto& e : events) {
      if (e.call().meta_call_id() == meta_call_id) out.push_back(e);
    }
    return out;
  }
  // The stored record.
  std::optional<v1::Call> Stored(const std::string& meta_call_id) {
    sb::pg::Pool pool({.url = postgres_url, .schema = "calls", .pool_size = 1});
    auto r = pool.Exec("SELECT record FROM calls WHERE meta_call_id = $1", {meta_call_id});
    REQUIRE(r.ok());
    if (r->rows() == 0) return std::nullopt;
    v1::Call call;
    REQUIRE(call.ParseFromString(r->GetBytes(0, 0)));
    return call;
  }

  testing::RedisServer redis;
  std::string dir;
  std::string postgres_url;
  sb::runtime::Registry registry;
  std::unique_ptr<sb::runtime::App> app;
  absl::Mutex mu;
  std::vector<v1::CallStateChanged> events;
  std::unique_ptr<sb::kafka::Consumer> consumer;
  std::unique_ptr<sb::metasim::Sim> sim;
};

}  // namespace

TEST_CASE("an unanswered inbound call: offered, then missed, each published once") {
  Suite s;
  s.sim->SetWebhookFaults({.duplicates = 2});
  std::string call = s.sim->PlaceUserCall(kNumber, "5511966881743").value();
  REQUIRE(s.sim->WaitIdle(absl::Seconds(20)));
  REQUIRE(testing::Eventually([&] { return s.EventsOf(call).size() >= 2; }, absl::Seconds(20)));
  auto events = s.EventsOf(call);
  REQUIRE(events.size() == 2);
  CHECK(events[0].state() == v1::CALL_STATE_OFFERED);
  CHECK(events[0].previous_state() == v1::CALL_STATE_UNSPECIFIED);
  CHECK(events[0].header().sequence() == 1);
  CHECK(events[0].header().tenant_id() == "acme");
  CHECK(events[1].state() == v1::CALL_STATE_MISSED);
  CHECK(events[1].previous_state() == v1::CALL_STATE_OFFERED);
  CHECK(events[1].header().sequence() == 2);
  const v1::Call& missed = events[1].call();
  CHECK(missed.direction() == v1::CALL_DIRECTION_INBOUND);
  CHECK(missed.end_reason() == "CALLER_HUNG_UP");
  CHECK(missed.contact().wa_id() == "5511966881743");
  CHECK(missed.contact().phone_e164() == "+5511966881743");
  CHECK(missed.business_phone_number_id() == kNumber);
  CHECK(missed.call_id() == events[0].call().call_id());
  auto stored = s.Stored(call);
  REQUIRE(stored.has_value());
  CHECK(stored->state() == v1::CALL_STATE_MISSED);
  CHECK(stored->sequence() == 2);
}

TEST_CASE("a terminate that beats its connect: one call, missed, with the offer time filled in") {
  Suite s;
  s.sim->SetWebhookFaults({.duplicates = 1, .hold_connect_until_terminate = true});
  std::string call = s.sim->PlaceUserCall(kNumber, "5511966881744").value();
  REQUIRE(s.sim->WaitIdle(absl::Seconds(20)));
  // The connect arrives after the terminate: wait until the record has its offer time.
  REQUIRE(testing::Eventually(
      [&] {
        auto stored = s.Stored(call);
        return stored.has_value() && stored->has_offered_time();
      },
      absl::Seconds(20)));
  auto stored = s.Stored(call);
  CHECK(stored->state() == v1::CALL_STATE_MISSED);
  CHECK(stored->sequence() == 1);
  REQUIRE(testing::Eventually([&] { return !s.EventsOf(call).empty(); }, absl::Seconds(20)));
  auto events = s.EventsOf(call);
  REQUIRE(events.size() == 1);
  CHECK(events[0].state() == v1::CALL_STATE_MISSED);
  CHECK(events[0].previous_state() == v1::CALL_STATE_UNSPECIFIED);
}

TEST_CASE("an answered inbound call ends with Meta's duration") {
  Suite s;
  sb::metasim::UserBehaviour caller;
  caller.hang_up_after = absl::Milliseconds(1200);
  s.sim->SetBehaviour("5511966881745", caller);
  std::string call = s.sim->PlaceUserCall(kNumber, "5511966881745").value();
  // The business answers at Meta (the calls service's AnswerCall will do this).
  sb::http::Client http;
  for (const char* action : {"pre_accept", "accept"}) {
    auto r = http.Send(
        {.method = "POST",
         .url = s.sim->base_url() + "/v23.0/" + kNumber + "/calls",
         .headers = {{"Authorization", "Bearer sim-token"}, {"Content-Type", "application/json"}},
         .body = absl::StrCat(
             R"({"messaging_product":"whatsapp","call_id":")", call, R"(","action":")", action,
             R"(","session":{"sdp_type":"answer","sdp":"v=0\\r\\nm=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\n"}})")});
    REQUIRE(r.ok());
    INFO(r->body);
    REQUIRE(r->status == 200);
  }
  REQUIRE(s.sim->WaitIdle(absl::Seconds(20)));
  REQUIRE(testing::Eventually(
      [&] {
        auto stored = s.Stored(call);
        return stored.has_value() && stored->state() == v1::CALL_STATE_ENDED;
      },
      absl::Seconds(20)));
  auto stored = s.Stored(call);
  CHECK(stored->end_reason() == "COMPLETED");
  CHECK(stored->duration().seconds() >= 1);
  CHECK(stored->has_answered_time());
}

TEST_CASE("a restart while the call rings still ends it as missed when its ring timeout is due") {
  testing::RedisServer redis;
  auto cluster = std::move(sb::kafka::EmbeddedCluster::Start().value());
  REQUIRE(cluster->CreateTopics(sb::kafka::SuiteTopics()).ok());
  std::string postgres_url = testing::PostgresServer::Shared().CreateDatabase();
  int webhooks_port = testing::FreePort();
  sb::runtime::Registry registry;
  sb::runtime::RegisterInfrastructure(registry);
  sb::webhooks::Register(registry);
  sb::calls::Register(registry);
  sb::runtime::Config config;
  config.targets = {"webhooks", "calls"};
  config.eligibility_address = "127.0.0.1:9";  // webhooks only: StartCall is not used here
  config.listen_host = "127.0.0.1";
  config.grpc_port = 0;
  config.metrics_port = 0;
  config.webhooks_port = webhooks_port;
  config.auth_secret = kAuthSecret;
  config.meta_app_secret = kAppSecret;
  config.redis_url = redis.url();
  config.postgres_url = postgres_url;
  config.kafka_brokers = cluster->bootstrap();
  config.drain_timeout = absl::Seconds(1);
  config.ring_timeout = absl::Seconds(3);

  auto first = std::make_unique<sb::runtime::App>(registry, config);
  REQUIRE(first->Start().ok());
  RegisterNumber(first->grpc_port());
  sb::metasim::SimOptions options;
  options.numbers = {SimNumber(absl::StrCat("127.0.0.1:", webhooks_port))};
  options.ring_timeout = absl::Seconds(50);  // Meta would wait longer than we do
  auto sim = std::move(sb::metasim::Sim::Start(options).value());
  std::string call = sim->PlaceUserCall(kNumber, "5511966881746").value();

  sb::pg::Pool pool({.url = postgres_url, .schema = "calls", .pool_size = 1});
  auto stored = [&]() -> std::optional<v1::Call> {
    auto r = pool.Exec("SELECT record FROM calls WHERE meta_call_id = $1", {call});
    if (!r.ok() || r->rows() == 0) return std::nullopt;
    v1::Call c;
    c.ParseFromString(r->GetBytes(0, 0));
    return c;
  };
  REQUIRE(testing::Eventually([&] { return stored().has_value(); }, absl::Seconds(20)));
  CHECK(stored()->state() == v1::CALL_STATE_OFFERED);

  // The process goes away while the call rings; another one takes over.
  first->RequestStop();
  first->WaitAndDrain();
  first.reset();
  auto second = std::make_unique<sb::runtime::App>(registry, config);
  REQUIRE(second->Start().ok());
  REQUIRE(testing::Eventually(
      [&] {
        auto c = stored();
        return c.has_value() && c->state() == v1::CALL_STATE_MISSED;
      },
      absl::Seconds(20)));
  v1::Call missed = *stored();
  CHECK(missed.end_reason() == "RING_TIMEOUT");
  CHECK(missed.disconnected_by() == v1::DISCONNECTOR_SYSTEM);
  CHECK(missed.sequence() == 2);
  absl::Duration rang =
      sb::core::FromProto(missed.ended_time()) - sb::core::FromProto(missed.offered_time());
  CHECK(rang >= absl::Seconds(2));  // due after the ring timeout, not at the restart
  auto timers = pool.Exec("SELECT count(*) FROM call_timers", {});
  REQUIRE(timers.ok());
  CHECK(timers->GetInt(0, 0) == 0);
  sim->Stop();
  second->RequestStop();
  second->WaitAndDrain();
}
