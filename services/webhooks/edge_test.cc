// The webhooks edge end to end: the runtime with the real module, real Redis and PostgreSQL,
// an embedded Kafka cluster, signed webhooks posted over real HTTP connections and the typed
// events read back from whatsapp.events.v1.

#include <catch2/catch.hpp>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/auth/token.h"
#include "libs/core/error.h"
#include "libs/core/id.h"
#include "libs/core/proto_time.h"
#include "libs/http/client.h"
#include "libs/kafka/embedded.h"
#include "libs/kafka/kafka.h"
#include "libs/pg/pg.h"
#include "libs/runtime/app.h"
#include "libs/runtime/grpc.h"
#include "libs/whatsapp/signature.h"
#include "services/webhooks/module.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "switchboard/webhooks/v1/whatsapp_events.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"
#include "tools/meta-sim/sim.h"

namespace sb = switchboard;
namespace v1 = switchboard::webhooks::v1;
namespace testing = switchboard::testing;
using sb::core::ReasonOf;

namespace {

const std::string kAuthSecret = "webhooks-test-secret-0123456789";
const std::string kAppSecret = "default-app-secret";
const std::string kOtherSecret = "other-app-secret";
const std::string kVerifyToken = "verify-me-please";
const std::string kNumber = "106540352242922";
const std::string kWaba = "102290129340398";

struct Received {
  std::string id;
  std::string key;
  std::string type;
  v1::WhatsAppEvent event;
};

struct Suite {
  // `embedded_kafka`: the app runs its own embedded Kafka (no brokers), as the demo does, and
  // the edge journals to PostgreSQL (ADR 0023).
  explicit Suite(bool embedded_kafka = false)
      : dir(testing::TempDir("switchboard-webhooks")),
        embedded(embedded_kafka),
        suite({.services = {sb::webhooks::Register},
               .numbers = {},
               .configure =
                   [this](sb::runtime::Config& config) {
                     std::ofstream(dir + "/meta.json")
                         << R"({"apps":[{"id":"other","app_secret":")" << kOtherSecret
                         << R"(","verify_token":"other-token"}]})";
                     config.auth_secret = kAuthSecret;
                     config.flags["meta-app-secret"] = kAppSecret;
                     config.flags["meta-verify-token"] = kVerifyToken;
                     config.flags["meta-credentials-file"] = dir + "/meta.json";
                     config.flags["meta-access-token"] = "test-access-token";
                     config.flags["webhooks-port"] = "0";
                     if (embedded) config.kafka_brokers = "";
                   }}),
        redis(suite.redis()),
        cluster(&suite.kafka()),
        app(&suite.app()) {
    base = "http://" + app->addresses().at("webhooks");
    stub = v1::WebhooksService::NewStub(suite.channel());
    consumer =
        std::move(sb::kafka::Consumer::Create(
                      {.brokers = embedded ? app->kafka_bootstrap() : cluster->bootstrap(),
                       .group_id = "edge-test-" + sb::core::NewId(),
                       .topics = {sb::kafka::kWhatsAppEvents},
                       .extra = {{"auto.offset.reset", "earliest"}}},
                      [this](const sb::kafka::Message& m) {
                        Received r{.id = m.event.id, .key = m.event.key, .type = m.event.type};
                        REQUIRE(r.event.ParseFromString(m.event.payload));
                        absl::MutexLock lock(&mu);
                        received.push_back(std::move(r));
                        return absl::OkStatus();
                      })
                      .value());
    consumer->Start();
    REQUIRE(RegisterNumber("acme", kNumber, kWaba, "+1 631-555-3601").ok());
  }
  ~Suite() { consumer->Stop(); }

  static std::string Token(const std::string& tenant, const std::string& role = "admin") {
    absl::Time now = absl::Now();
    return *sb::auth::SignToken(
        kAuthSecret,
        {.tenant_id = tenant, .subject = "ops-1", .roles = {role}, .expires = now + absl::Hours(1)},
        now);
  }
  template <typename Req, typename Resp, typename Method>
  absl::Status Call(Method method, const Req& req, Resp* resp, const std::string& tenant = "acme",
                    const std::string& role = "admin") {
    grpc::ClientContext ctx;
    ctx.AddMetadata("authorization", "Bearer " + Token(tenant, role));
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    return sb::runtime::FromGrpcStatus((stub.get()->*method)(&ctx, req, resp));
  }
  absl::Status RegisterNumber(const std::string& tenant, const std::string& number,
                              const std::string& waba, const std::string& display,
                              const std::string& app_id = "") {
    v1::RegisterPhoneNumberRequest req;
    req.set_phone_number_id(number);
    req.set_waba_id(waba);
    req.set_display_phone_number(display);
    req.set_app_id(app_id);
    v1::RegisterPhoneNumberResponse resp;
    return Call(&v1::WebhooksService::Stub::RegisterPhoneNumber, req, &resp, tenant);
  }

  sb::http::ClientResponse Post(const std::string& body, const std::string& path = "",
                                const std::string& secret = kAppSecret,
                                const std::string& content_type = "application/json") {
    std::vector<std::pair<std::string, std::string>> headers = {{"Content-Type", content_type}};
    if (!secret.empty()) {
      headers.emplace_back(sb::whatsapp::kSignatureHeader,
                           sb::whatsapp::SignatureHeader(secret, body));
    }
    auto r = http.Send({.method = "POST",
                        .url = base + "/webhooks/whatsapp" + path,
                        .headers = headers,
                        .body = body});
    REQUIRE(r.ok());
    return *r;
  }
  // Posts like Meta: again, with a short pause, until the edge answers 200. (A redelivery that
  // arrives within the millisecond before the first delivery's done mark is written gets 503.)
  int PostUntilAccepted(const std::string& body) {
    int status = 0;
    testing::Eventually([&] { return (status = Post(body).status) == 200; }, absl::Seconds(10),
                        absl::Milliseconds(20));
    return status;
  }
  // Waits until an event with this ce_id arrived; returns how many did.
  int Arrived(const std::string& id, int at_least = 1) {
    int n = 0;
    testing::Eventually(
        [&] {
          absl::MutexLock lock(&mu);
          n = 0;
          for (const auto& r : received) n += r.id == id;
          return n >= at_least;
        },
        absl::Seconds(30));
    return n;
  }
  int Count(const std::string& id) {
    absl::MutexLock lock(&mu);
    int n = 0;
    for (const auto& r : received) n += r.id == id;
    return n;
  }
  Received Find(const std::string& id) {
    absl::MutexLock lock(&mu);
    for (const auto& r : received) {
      if (r.id == id) return r;
    }
    FAIL("no event " << id);
    return {};
  }
  double Metric(const std::string& name, const std::map<std::string, std::string>& labels) {
    auto r = http.Send({.url = absl::StrCat("http://127.0.0.1:", app->metrics_port(), "/metrics")});
    REQUIRE(r.ok());
    return testing::MetricSample(r->body, name, labels).value_or(0);
  }

  std::string dir;
  bool embedded;
  testing::Suite suite;
  testing::RedisServer& redis;
  sb::kafka::EmbeddedCluster* cluster;
  sb::runtime::App* app;
  std::string base;
  std::unique_ptr<v1::WebhooksService::Stub> stub;
  sb::http::Client http;
  absl::Mutex mu;
  std::vector<Received> received;
  std::unique_ptr<sb::kafka::Consumer> consumer;
};

std::string Envelope(const std::string& field, const std::string& value,
                     const std::string& waba = kWaba) {
  return R"({"object":"whatsapp_business_account","entry":[{"id":")" + waba +
         R"(","changes":[{"field":")" + field + R"(","value":)" + value + "}]}]}";
}

std::string Metadata(const std::string& number = kNumber) {
  return R"("messaging_product":"whatsapp","metadata":{"display_phone_number":"16315553601","phone_number_id":")" +
         number + R"("})";
}

std::string TextMessage(const std::string& id, const std::string& number = kNumber) {
  return Envelope("messages", "{" + Metadata(number) + R"(,
      "contacts":[{"profile":{"name":"Ana Souza"},"wa_id":"13175551399"}],
      "messages":[{"from":"13175551399","id":")" +
                                  id +
                                  R"(","timestamp":"1749197000","type":"text",
                   "text":{"body":"please call me"}}]})");
}

std::string Connect(const std::string& call) {
  return Envelope("calls", "{" + Metadata() + R"(,
      "contacts":[{"profile":{"name":"Ana Souza"},"wa_id":"13175551399"}],
      "calls":[{"id":")" + call +
                               R"(","to":"16315553601","from":"13175551399","event":"connect",
                "timestamp":"1749197000","direction":"USER_INITIATED",
                "session":{"sdp_type":"offer","sdp":"v=0"}}]})");
}

std::string Terminate(const std::string& call) {
  return Envelope("calls", "{" + Metadata() + R"(,
      "calls":[{"id":")" + call +
                               R"(","to":"16315553601","from":"13175551399","event":"terminate",
                "timestamp":"1749197070","direction":"USER_INITIATED","status":"COMPLETED",
                "start_time":"1749197010","end_time":"1749197070","duration":60}]})");
}

// The status line the server answered to `bytes` sent as they are.
std::string RawStatusLine(const std::string& address, const std::string& bytes) {
  std::string out = testing::SendRaw(std::stoi(address.substr(address.find(':') + 1)), bytes);
  return out.substr(0, out.find("\r\n"));
}

}  // namespace

TEST_CASE("the subscription handshake echoes the challenge only for the right verify token") {
  Suite s;
  auto get = [&](const std::string& query, const std::string& path = "") {
    auto r = s.http.Send({.url = s.base + "/webhooks/whatsapp" + path + "?" + query});
    REQUIRE(r.ok());
    return *r;
  };
  auto ok = get("hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=1158201444");
  CHECK(ok.status == 200);
  CHECK(ok.body == "1158201444");
  CHECK(get("hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1").status == 403);
  CHECK(get("hub.mode=unsubscribe&hub.verify_token=verify-me-please&hub.challenge=1").status ==
        403);
  CHECK(get("hub.verify_token=verify-me-please&hub.challenge=1").status == 403);
  CHECK(get("hub.mode=subscribe&hub.verify_token=other-token&hub.challenge=7", "/other").body ==
        "7");
  CHECK(get("hub.mode=subscribe&hub.verify_token=verify-me-please&hub.challenge=7", "/other")
            .status == 403);
  CHECK(get("hub.mode=subscribe&hub.verify_token=x&hub.challenge=7", "/nope").status == 404);
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "verify_refused"}}) == 4);
}

TEST_CASE("every kind of item becomes a typed event for the number's tenant") {
  Suite s;
  std::string call = "wacid." + sb::core::NewId();
  std::string body = R"({"object":"whatsapp_business_account","entry":[{"id":")" + kWaba +
                     R"(","changes":[
    {"field":"calls","value":{)" +
                     Metadata() + R"(,
      "contacts":[{"profile":{"name":"Ana Souza"},"wa_id":"13175551399"}],
      "calls":[{"id":")" +
                     call + R"(","to":"16315553601","from":"13175551399","event":"connect",
                "timestamp":"1749197000","direction":"USER_INITIATED",
                "session":{"sdp_type":"offer","sdp":"v=0"}},
               {"id":")" +
                     call + R"(","to":"16315553601","from":"13175551399","event":"terminate",
                "timestamp":"1749197070","direction":"USER_INITIATED","status":"COMPLETED",
                "start_time":"1749197010","end_time":"1749197070","duration":60}]}},
    {"field":"calls","value":{)" +
                     Metadata() + R"(,
      "statuses":[{"id":")" +
                     call + R"(b","type":"call","status":"RINGING","timestamp":"1749197000",
                   "recipient_id":"12185552828"}]}},
    {"field":"messages","value":{)" +
                     Metadata() + R"(,
      "contacts":[{"profile":{"name":"Ana Souza"},"wa_id":"13175551399"}],
      "messages":[{"from":"13175551399","id":"wamid.)" +
                     call + R"(t","timestamp":"1749197000",
                   "type":"text","text":{"body":"call me"}},
                  {"from":"13175551399","id":"wamid.)" +
                     call + R"(p","timestamp":"1749197001",
                   "type":"interactive","interactive":{"type":"call_permission_reply",
                   "call_permission_reply":{"response":"accept","is_permanent":true,
                                            "response_source":"user_action"}}}]}},
    {"field":"account_update","value":{"phone_number":"16315553601","event":"ACCOUNT_RESTRICTION",
      "restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_CALLING","expiration":"1750000000"}],
      "nonce":")" + call +
                     R"("}},
    {"field":"phone_number_quality_update","value":{"display_phone_number":"16315553601",
      "event":"DOWNGRADE","new_quality_rating":"YELLOW","current_limit":")" +
                     call + R"("}}]}]})";
  auto r = s.Post(body);
  CHECK(r.status == 200);

  Received connect = (s.Arrived(call + "/connect"), s.Find(call + "/connect"));
  CHECK(connect.key == call);
  CHECK(connect.type == "switchboard.webhooks.v1.WhatsAppEvent");
  CHECK(connect.event.header().tenant_id() == "acme");
  CHECK(connect.event.header().entity_id() == call);
  CHECK(connect.event.header().sequence() == 1);
  CHECK(connect.event.has_header());
  CHECK(connect.event.header().has_occurred_time());
  CHECK_FALSE(connect.event.header().correlation_id().empty());
  CHECK(connect.event.call_connected().contact().display_name() == "Ana Souza");
  CHECK(connect.event.call_connected().sdp_type() == v1::SDP_TYPE_OFFER);

  s.Arrived(call + "/terminate");
  Received terminate = s.Find(call + "/terminate");
  CHECK(terminate.event.header().sequence() == 2);  // same call: numbered in arrival order
  CHECK(terminate.event.call_terminated().duration().seconds() == 60);

  s.Arrived(call + "b/ringing");
  CHECK(s.Find(call + "b/ringing").event.call_status_updated().status() == v1::CALL_STATUS_RINGING);

  s.Arrived("wamid." + call + "t");
  Received text = s.Find("wamid." + call + "t");
  CHECK(text.key == "13175551399");
  CHECK(text.event.inbound_message().text() == "call me");

  s.Arrived("wamid." + call + "p");
  CHECK(s.Find("wamid." + call + "p").event.call_permission_reply().is_permanent());

  // WABA-level changes: mapped through the WABA; the number found by its display digits.
  REQUIRE(testing::Eventually([&] {
    absl::MutexLock lock(&s.mu);
    int n = 0;
    for (const auto& e : s.received) {
      if (e.event.has_account_update() || e.event.has_quality_update()) {
        CHECK(e.event.header().tenant_id() == "acme");
        CHECK(e.event.phone_number_id() == kNumber);
        ++n;
      }
    }
    return n == 2;
  }));
  CHECK(s.Metric("switchboard_webhook_events_total",
                 {{"kind", "call_connected"}, {"outcome", "published"}}) == 1);
}

TEST_CASE("a redelivered webhook, and a reordered call, yield each event exactly once") {
  Suite s;
  std::string call = "wacid." + sb::core::NewId();
  // Meta's worst order: the terminate first, then the connect, then both again.
  CHECK(s.PostUntilAccepted(Terminate(call)) == 200);
  CHECK(s.PostUntilAccepted(Connect(call)) == 200);
  CHECK(s.PostUntilAccepted(Terminate(call)) == 200);
  CHECK(s.PostUntilAccepted(Connect(call)) == 200);
  std::string sentinel = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(sentinel)).status == 200);
  s.Arrived(sentinel);
  CHECK(s.Arrived(call + "/terminate") == 1);
  CHECK(s.Arrived(call + "/connect") == 1);
  CHECK(s.Find(call + "/terminate").event.header().sequence() == 1);
  CHECK(s.Find(call + "/connect").event.header().sequence() == 2);
  CHECK(s.Metric("switchboard_webhook_events_total",
                 {{"kind", "call_connected"}, {"outcome", "duplicate"}}) == 1);

  // The same item twice within one POST is published once, and the POST succeeds.
  std::string id = "wamid." + sb::core::NewId();
  std::string twice = Envelope("messages", "{" + Metadata() + R"(,
      "messages":[{"from":"13175551399","id":")" +
                                               id + R"(","type":"text","text":{"body":"a"}},
                  {"from":"13175551399","id":")" +
                                               id + R"(","type":"text","text":{"body":"a"}}]})");
  CHECK(s.Post(twice).status == 200);
  std::string sentinel2 = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(sentinel2)).status == 200);
  s.Arrived(sentinel2);
  CHECK(s.Count(id) == 1);
}

TEST_CASE("bad requests get the right status, a counter, and publish nothing") {
  Suite s;
  std::string id = "wamid." + sb::core::NewId();
  std::string body = TextMessage(id);
  CHECK(s.Post(body, "", "").status == 401);                        // no signature
  CHECK(s.Post(body, "", "not-the-secret").status == 403);          // wrong secret
  CHECK(s.Post(body, "", kAppSecret, "text/plain").status == 415);  // wrong content type
  CHECK(s.Post("{\"object\":\"whatsapp_business_account\",\"entry\":[{").status == 400);
  CHECK(s.Post(body.substr(0, body.size() / 2)).status == 400);  // truncated, then signed
  CHECK(s.Post(std::string(3 * 1024 * 1024 + 1, ' ')).status == 413);
  // A body cut short of its Content-Length, and a signature over other bytes.
  std::string sig = sb::whatsapp::SignatureHeader(kAppSecret, body);
  CHECK(RawStatusLine(s.app->addresses().at("webhooks"),
                      "POST /webhooks/whatsapp HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      "application/json\r\nX-Hub-Signature-256: " +
                          sig + "\r\nContent-Length: " + std::to_string(body.size() + 10) +
                          "\r\n\r\n" + body) == "HTTP/1.1 400 Bad Request");
  CHECK(s.Post(body + " ", "", kAppSecret).status == 200);  // signed as sent: accepted
  s.Arrived(id);
  CHECK(s.Count(id) == 1);
  {
    absl::MutexLock lock(&s.mu);
    CHECK(s.received.size() == 1);
  }
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "missing_signature"}}) == 1);
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "bad_signature"}}) == 1);
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "wrong_content_type"}}) == 1);
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "malformed"}}) == 2);
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "too_large"}}) == 1);
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "truncated"}}) == 1);
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "accepted"}}) == 1);
}

TEST_CASE("unknown numbers, and numbers signed for by another app, are acknowledged and dropped") {
  Suite s;
  std::string stranger = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(stranger, "999000111")).status == 200);
  std::string forged = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(forged), "/other", kOtherSecret).status == 200);
  std::string sentinel = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(sentinel)).status == 200);
  s.Arrived(sentinel);
  CHECK(s.Count(stranger) == 0);
  CHECK(s.Count(forged) == 0);
  CHECK(s.Metric("switchboard_webhook_events_total",
                 {{"kind", "inbound_message"}, {"outcome", "unknown_number"}}) == 1);
  CHECK(s.Metric("switchboard_webhook_events_total",
                 {{"kind", "inbound_message"}, {"outcome", "app_mismatch"}}) == 1);

  // Registered for the other app, its webhooks are welcome there and nowhere else.
  REQUIRE(s.RegisterNumber("acme", "777000111", kWaba, "+1 631 555 3602", "other").ok());
  std::string welcome = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(welcome, "777000111"), "/other", kOtherSecret).status == 200);
  CHECK(s.Arrived(welcome) == 1);
}

TEST_CASE("with Kafka down the edge answers 503, and Meta's retry lands exactly once") {
  Suite s;
  std::string id = "wamid." + sb::core::NewId();
  std::string body = TextMessage(id);
  s.cluster->SetAllBrokersDown(true);
  CHECK(s.Post(body).status == 503);
  s.cluster->SetAllBrokersDown(false);
  // Meta retries with backoff until it gets a 200.
  int status = 0;
  CHECK(testing::Eventually(
      [&] {
        status = s.Post(body).status;
        return status == 200;
      },
      absl::Seconds(60), absl::Milliseconds(200)));
  CHECK(s.Arrived(id) == 1);
  std::string sentinel = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(sentinel)).status == 200);
  s.Arrived(sentinel);
  CHECK(s.Count(id) == 1);
  CHECK(s.Metric("switchboard_webhook_requests_total", {{"outcome", "retry_later"}}) >= 1);
}

TEST_CASE("with the embedded Kafka the edge journals: 200 once PostgreSQL holds the item") {
  Suite s(/*embedded_kafka=*/true);
  sb::pg::Pool webhooks({.url = s.suite.postgres_url(), .schema = "webhooks"});
  auto journalled = [&](const std::string& id) {
    return webhooks.Exec("SELECT count(*) FROM outbox WHERE ce_id = $1", {id})->GetInt(0, 0);
  };
  std::string id = "wamid." + sb::core::NewId();
  REQUIRE(s.Post(TextMessage(id)).status == 200);
  CHECK(journalled(id) == 1);  // committed before Meta got its 200, not eventually
  CHECK(s.Arrived(id) == 1);   // and the schema's relay published it
  CHECK(s.Find(id).event.event_case() == v1::WhatsAppEvent::kInboundMessage);

  // The Redis mark lost (Redis restarted empty): Meta's redelivery is journalled again, and
  // skipped there by its id.
  s.redis.Restart();
  REQUIRE(testing::Eventually([&] { return s.Post(TextMessage(id)).status == 200; },
                              absl::Seconds(10), absl::Milliseconds(100)));
  CHECK(journalled(id) == 1);
  std::string sentinel = "wamid." + sb::core::NewId();
  REQUIRE(s.Post(TextMessage(sentinel)).status == 200);
  s.Arrived(sentinel);
  CHECK(s.Count(id) == 1);
  CHECK(s.Metric("switchboard_outbox_published_total", {{"schema", "webhooks"}}) >= 2);
}

TEST_CASE("with Redis down the edge still publishes (without de-duplication)") {
  Suite s;
  s.redis.Kill();
  std::string id = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(id)).status == 200);
  CHECK(s.Arrived(id) == 1);
  CHECK(s.Find(id).event.header().sequence() == 0);
  CHECK(s.Metric("switchboard_webhook_dedup_unavailable_total", {}) == 1);
}

TEST_CASE("the number registry: tenants, roles, validation, paging") {
  Suite s;
  // Another tenant cannot take the number or the WABA, and is not told whose they are.
  absl::Status taken = s.RegisterNumber("globex", kNumber, "555", "+1 631 555 3601");
  CHECK(ReasonOf(taken) == "PHONE_NUMBER_REGISTERED_ELSEWHERE");
  CHECK(taken.message().find("acme") == std::string::npos);
  CHECK(ReasonOf(s.RegisterNumber("globex", "1234", kWaba, "+1 631 555 0000")) ==
        "WABA_REGISTERED_ELSEWHERE");
  CHECK(ReasonOf(s.RegisterNumber("acme", "12ab", kWaba, "+1 631 555 0000")) ==
        "INVALID_PHONE_NUMBER_ID");
  CHECK(ReasonOf(s.RegisterNumber("acme", "1234", "", "+1 631 555 0000")) == "INVALID_WABA_ID");
  CHECK(ReasonOf(s.RegisterNumber("acme", "1234", kWaba, "12")) == "INVALID_DISPLAY_PHONE_NUMBER");
  CHECK(ReasonOf(s.RegisterNumber("acme", "1234", kWaba, "+1 631 555 0000", "nope")) ==
        "UNKNOWN_APP");
  {
    v1::RegisterPhoneNumberRequest req;
    req.set_phone_number_id("1234");
    req.set_waba_id(kWaba);
    req.set_display_phone_number("+16315550000");
    v1::RegisterPhoneNumberResponse resp;
    CHECK(ReasonOf(s.Call(&v1::WebhooksService::Stub::RegisterPhoneNumber, req, &resp, "acme",
                          "agent")) == "ADMIN_ROLE_REQUIRED");
  }
  for (int i = 0; i < 5; ++i) {
    REQUIRE(
        s.RegisterNumber("acme", absl::StrCat("20", i), kWaba, "+1 631 555 000" + std::to_string(i))
            .ok());
  }
  std::vector<std::string> seen;
  std::string token;
  do {
    v1::ListPhoneNumbersRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    v1::ListPhoneNumbersResponse resp;
    REQUIRE(s.Call(&v1::WebhooksService::Stub::ListPhoneNumbers, req, &resp, "acme", "agent").ok());
    for (const auto& n : resp.phone_numbers()) seen.push_back(n.phone_number_id());
    token = resp.next_page_token();
  } while (!token.empty());
  CHECK(seen == std::vector<std::string>{kNumber, "200", "201", "202", "203", "204"});
  v1::ListPhoneNumbersResponse other;
  REQUIRE(s.Call(&v1::WebhooksService::Stub::ListPhoneNumbers, v1::ListPhoneNumbersRequest(),
                 &other, "globex")
              .ok());
  CHECK(other.phone_numbers().empty());

  // Deleting: its webhooks are dropped from then on (this replica forgets it at once).
  v1::DeletePhoneNumberRequest del;
  del.set_phone_number_id(kNumber);
  v1::DeletePhoneNumberResponse deleted;
  REQUIRE(s.Call(&v1::WebhooksService::Stub::DeletePhoneNumber, del, &deleted).ok());
  std::string after = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(after)).status == 200);
  CHECK(s.Metric("switchboard_webhook_events_total",
                 {{"kind", "inbound_message"}, {"outcome", "unknown_number"}}) == 1);
}

TEST_CASE("calling settings are validated, and not recorded when Meta cannot be told") {
  Suite s;
  auto update = [&](const std::function<void(v1::CallingSettings*)>& fill,
                    const std::vector<std::string>& paths) {
    v1::UpdateCallingSettingsRequest req;
    req.set_phone_number_id(kNumber);
    fill(req.mutable_calling_settings());
    for (const auto& p : paths) req.mutable_update_mask()->add_paths(p);
    v1::UpdateCallingSettingsResponse resp;
    return s.Call(&v1::WebhooksService::Stub::UpdateCallingSettings, req, &resp);
  };
  auto hours = [](v1::CallingSettings* c) {
    c->mutable_call_hours()->set_enabled(true);
    c->mutable_call_hours()->set_timezone_id("Europe/Berlin");
  };
  auto range = [](v1::CallingSettings* c, v1::DayOfWeek d, const char* open, const char* close) {
    auto* h = c->mutable_call_hours()->add_weekly_operating_hours();
    h->set_day_of_week(d);
    h->set_open_time(open);
    h->set_close_time(close);
  };
  CHECK(ReasonOf(update([](v1::CallingSettings*) {}, {})) == "MISSING_UPDATE_MASK");
  CHECK(ReasonOf(update([](v1::CallingSettings*) {}, {"bogus"})) == "INVALID_UPDATE_MASK");
  CHECK(ReasonOf(update(
            [&](v1::CallingSettings* c) {
              hours(c);
              c->mutable_call_hours()->set_timezone_id("Mars/Olympus");
            },
            {"call_hours"})) == "INVALID_CALL_HOURS");
  CHECK(ReasonOf(update(
            [&](v1::CallingSettings* c) {
              hours(c);
              range(c, v1::DAY_OF_WEEK_MONDAY, "0900", "1200");
              range(c, v1::DAY_OF_WEEK_MONDAY, "1100", "1700");
            },
            {"call_hours"})) == "INVALID_CALL_HOURS");
  CHECK(ReasonOf(update(
            [&](v1::CallingSettings* c) {
              hours(c);
              for (auto [o, cl] : {std::pair{"0800", "0900"}, {"1000", "1100"}, {"1200", "1300"}}) {
                range(c, v1::DAY_OF_WEEK_FRIDAY, o, cl);
              }
            },
            {"call_hours"})) == "INVALID_CALL_HOURS");
  CHECK(ReasonOf(update(
            [&](v1::CallingSettings* c) {
              hours(c);
              range(c, v1::DAY_OF_WEEK_MONDAY, "1700", "0900");
            },
            {"call_hours"})) == "INVALID_CALL_HOURS");
  CHECK(ReasonOf(update(
            [&](v1::CallingSettings* c) {
              hours(c);
              for (int i = 0; i < 21; ++i) {
                auto* h = c->mutable_call_hours()->add_holiday_schedule();
                h->set_date(absl::StrCat("2026-12-", 10 + i));
                h->set_start_time("0000");
                h->set_end_time("2359");
              }
            },
            {"call_hours"})) == "INVALID_CALL_HOURS");
  // Valid, but Meta is unreachable: the change is refused and nothing is stored.
  absl::Status unreachable = update(
      [&](v1::CallingSettings* c) {
        hours(c);
        range(c, v1::DAY_OF_WEEK_MONDAY, "0900", "1200");
        range(c, v1::DAY_OF_WEEK_MONDAY, "1300", "1730");
      },
      {"call_hours"});
  CHECK(unreachable.code() == absl::StatusCode::kUnavailable);
  v1::ListPhoneNumbersResponse list;
  REQUIRE(s.Call(&v1::WebhooksService::Stub::ListPhoneNumbers, v1::ListPhoneNumbersRequest(), &list)
              .ok());
  REQUIRE(list.phone_numbers_size() == 1);
  CHECK_FALSE(list.phone_numbers(0).calling_settings().call_hours().enabled());
}

TEST_CASE("the simulator's duplicates, reordering and batches yield one event per item") {
  Suite s;
  sb::metasim::SimOptions options;
  options.numbers = {{.phone_number_id = kNumber,
                      .display_phone_number = "+1 631-555-3601",
                      .waba_id = kWaba,
                      .access_token = "sim-token",
                      .app_secret = kAppSecret,
                      .callback_url = s.base + "/webhooks/whatsapp"}};
  options.ring_timeout = absl::Milliseconds(300);
  options.webhooks.retry_initial = absl::Milliseconds(50);
  options.webhooks.retry_max = absl::Milliseconds(200);
  options.webhooks.senders = 4;  // copies race each other into the edge
  auto sim = std::move(sb::metasim::Sim::Start(options).value());
  sim->SetWebhookFaults({.duplicates = 2, .hold_connect_until_terminate = true, .batch_size = 3});

  std::vector<std::string> calls;
  std::vector<std::string> messages;
  for (int i = 0; i < 5; ++i) {
    std::string user = absl::StrCat("1317555140", i);
    calls.push_back(sim->PlaceUserCall(kNumber, user).value());  // nobody answers: it times out
    messages.push_back(sim->SendUserMessage(kNumber, user, "call me back please").value());
  }
  REQUIRE(sim->WaitIdle(absl::Seconds(30)));
  auto stats = sim->Stats();
  CHECK(stats.webhooks.duplicates > 0);
  CHECK(stats.webhooks.held == 5);
  CHECK(stats.webhooks.dropped == 0);
  for (const auto& call : calls) {
    CHECK(s.Arrived(call + "/connect") == 1);
    CHECK(s.Arrived(call + "/terminate") == 1);
  }
  for (const auto& m : messages) CHECK(s.Arrived(m) == 1);
  std::string sentinel = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(sentinel)).status == 200);
  s.Arrived(sentinel);
  absl::MutexLock lock(&s.mu);
  CHECK(s.received.size() == calls.size() * 2 + messages.size() + 1);
  for (const auto& call : calls) {
    int connects = 0, terminates = 0;
    for (const auto& r : s.received) {
      connects += r.id == call + "/connect";
      terminates += r.id == call + "/terminate";
    }
    CHECK(connects == 1);
    CHECK(terminates == 1);
  }
}

TEST_CASE("an item too large for Kafka is acknowledged and kept as a dead letter, once") {
  Suite s;
  std::string big = "wamid." + sb::core::NewId();
  std::string body = Envelope("messages", "{" + Metadata() + R"(,
      "contacts":[{"profile":{"name":"Ana Souza"},"wa_id":"13175551399"}],
      "messages":[{"from":"13175551399","id":")" +
                                              big +
                                              R"(","timestamp":"1749197000","type":"text",
                   "text":{"body":")" + std::string(1200 * 1024, 'a') +
                                              R"("}}]})");
  // Before this was kept, Kafka refused the record and Meta got 503 for a week.
  CHECK(s.Post(body).status == 200);
  CHECK(s.PostUntilAccepted(body) == 200);  // Meta's redelivery: acknowledged again
  std::string sentinel = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(sentinel)).status == 200);
  s.Arrived(sentinel);
  CHECK(s.Count(big) == 0);
  CHECK(s.Metric("switchboard_webhook_events_total",
                 {{"kind", "inbound_message"}, {"outcome", "dead_lettered"}}) == 1);
  sb::pg::Pool pool({.url = s.suite.postgres_url(), .schema = "webhooks", .pool_size = 1});
  auto kept = pool.Exec(
      "SELECT count(*), min(tenant_id), min(reason), min(bytes) FROM dead_letters "
      "WHERE event_id LIKE '%' || $1 || '%'",
      {big});
  REQUIRE(kept.ok());
  CHECK(kept->GetInt(0, 0) == 1);
  CHECK(kept->Get(0, 1) == "acme");
  CHECK(kept->Get(0, 2) == "TOO_LARGE_FOR_KAFKA");
  CHECK(kept->GetInt(0, 3) > 1200 * 1024);

  // An operator sees it through the API (an admin of its tenant only).
  v1::ListDeadLettersResponse letters;
  REQUIRE(s.Call(&v1::WebhooksService::Stub::ListDeadLetters, v1::ListDeadLettersRequest(),
                 &letters, "acme")
              .ok());
  REQUIRE(letters.dead_letters_size() == 1);
  CHECK(absl::StrContains(letters.dead_letters(0).event_id(), big));
  CHECK(letters.dead_letters(0).kind() == "inbound_message");
  CHECK(letters.dead_letters(0).reason() == "TOO_LARGE_FOR_KAFKA");
  CHECK(letters.dead_letters(0).bytes() > 1200 * 1024);
  CHECK(letters.next_page_token().empty());
  v1::ListDeadLettersResponse theirs;
  REQUIRE(s.Call(&v1::WebhooksService::Stub::ListDeadLetters, v1::ListDeadLettersRequest(), &theirs,
                 "globex")
              .ok());
  CHECK(theirs.dead_letters().empty());
  CHECK(ReasonOf(s.Call(&v1::WebhooksService::Stub::ListDeadLetters, v1::ListDeadLettersRequest(),
                        &theirs, "acme", "agent")) == "ADMIN_ROLE_REQUIRED");
}

TEST_CASE("times dated after their arrival are clamped to it; a call without its number dropped") {
  Suite s;
  // A message dated 30 days ahead must not open the service window until then.
  const int64_t ahead = absl::ToUnixSeconds(absl::Now() + absl::Hours(24 * 30));
  std::string future = "wamid." + sb::core::NewId();
  std::string body = TextMessage(future);
  body.replace(body.find("1749197000"), 10, std::to_string(ahead));
  const absl::Time before = absl::Now();
  CHECK(s.Post(body).status == 200);
  s.Arrived(future);
  Received r = s.Find(future);
  const absl::Time at = sb::core::FromProto(r.event.inbound_message().message_time());
  CHECK(at >= before - absl::Seconds(1));
  CHECK(at <= absl::Now() + absl::Seconds(1));
  CHECK(sb::core::FromProto(r.event.meta_event_time()) == at);
  CHECK(s.Metric("switchboard_webhook_clamped_times_total", {{"kind", "inbound_message"}}) == 1);

  // A connect whose business number cannot be resolved (no phone_number_id, and a display
  // number the WABA does not have) would become a call Graph cannot be asked about: dropped.
  std::string call = "wacid." + sb::core::NewId();
  std::string orphan = Connect(call);
  orphan.replace(orphan.find(R"(,"phone_number_id":")" + kNumber + "\""),
                 std::string(R"(,"phone_number_id":")" + kNumber + "\"").size(), "");
  orphan.replace(orphan.find("16315553601"), 11, "19995550000");
  CHECK(s.Post(orphan).status == 200);
  std::string sentinel = "wamid." + sb::core::NewId();
  CHECK(s.Post(TextMessage(sentinel)).status == 200);
  s.Arrived(sentinel);
  CHECK(s.Metric("switchboard_webhook_events_total",
                 {{"kind", "call_connected"}, {"outcome", "unknown_number"}}) == 1);
  absl::MutexLock lock(&s.mu);
  for (const auto& e : s.received) CHECK(e.event.call_connected().meta_call_id() != call);
}
