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
#include "tests/support/suite.h"
#include "tools/meta-sim/sim.h"

namespace sb = switchboard;
namespace v1 = switchboard::calls::v1;
namespace testing = switchboard::testing;

namespace {

const std::string kNumber = "106540352242922";

// The webhooks and calls targets, the simulator playing Meta with `ring_timeout` for calls
// nobody answers, and the calls service's own ring timeout.
testing::SuiteOptions Options(absl::Duration sim_ring_timeout, const std::string& ring_timeout) {
  return {.services = {sb::webhooks::Register, sb::calls::Register},
          .meta_sim = true,
          .sim_options =
              [sim_ring_timeout](sb::metasim::SimOptions& o) {
                o.ring_timeout = sim_ring_timeout;
                o.webhooks.retry_max = absl::Milliseconds(100);
              },
          // webhooks only: StartCall, which needs eligibility, is not used here
          .flags = {{"eligibility-address", "127.0.0.1:9"},
                    {"routing-address", "127.0.0.1:9"},
                    {"ring-timeout", ring_timeout}}};
}

struct Suite {
  Suite() : suite(Options(absl::Milliseconds(200), "30s")), sim(suite.sim()) {
    consumer = std::move(sb::kafka::Consumer::Create({.brokers = suite.kafka_bootstrap(),
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
  }
  ~Suite() {
    sim->Stop();
    consumer->Stop();
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
    sb::pg::Pool pool({.url = suite.postgres_url(), .schema = "calls", .pool_size = 1});
    auto r = pool.Exec("SELECT record FROM calls WHERE meta_call_id = $1", {meta_call_id});
    REQUIRE(r.ok());
    if (r->rows() == 0) return std::nullopt;
    v1::Call call;
    REQUIRE(call.ParseFromString(r->GetBytes(0, 0)));
    return call;
  }

  testing::Suite suite;
  sb::metasim::Sim* sim;
  absl::Mutex mu;
  std::vector<v1::CallStateChanged> events;
  std::unique_ptr<sb::kafka::Consumer> consumer;
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
         .headers = {{"Authorization", absl::StrCat("Bearer ", testing::Suite::kAccessToken)},
                     {"Content-Type", "application/json"}},
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
  // Meta would wait longer than we do.
  testing::Suite suite(Options(absl::Seconds(50), "3s"));
  std::string postgres_url = suite.postgres_url();
  sb::metasim::Sim* sim = suite.sim();
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
  suite.Restart();
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
}
