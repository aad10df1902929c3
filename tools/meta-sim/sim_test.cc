#include "tools/meta-sim/sim.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/synchronization/mutex.h"
#include "libs/core/clock.h"
#include "libs/http/client.h"
#include "tools/meta-sim/scenario.h"
#include "tools/meta-sim/testing/receiver.h"

namespace switchboard::metasim {
namespace {

using Json = nlohmann::json;
using testing::Eventually;
using testing::Receiver;

constexpr char kNumberId[] = "106540352242922";
constexpr char kDisplay[] = "+1 631-555-3601";
constexpr char kWaba[] = "102290129340398";
constexpr char kToken[] = "EAAG-test-token-5b0f3a1c";
constexpr char kSecret[] = "app-secret-for-tests";
constexpr char kUser[] = "13175551399";

const char kOffer[] =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=setup:actpass\r\n";
const char kAnswer[] =
    "v=0\r\no=- 2 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
    "a=setup:active\r\n";

UserBehaviour Fast() {
  UserBehaviour b;
  b.name = "Jane Doe";
  b.ring_after = absl::Milliseconds(1);
  b.answer_after = absl::Milliseconds(5);
  b.hang_up_after = absl::InfiniteDuration();
  return b;
}

// One receiver for the whole binary (a server's Stop() can take civetweb's 2 s poll quantum);
// each test's sim is stopped before the next starts, so nothing strays between tests.
Receiver& SharedReceiver() {
  static auto* rx = new Receiver(kSecret);
  return *rx;
}

struct Env {
  explicit Env(SimOptions options = {}, const core::Clock* clock = nullptr) : rx(SharedReceiver()) {
    REQUIRE(rx.ok());
    rx.Reset();
    options.numbers = {{.phone_number_id = kNumberId,
                        .display_phone_number = kDisplay,
                        .waba_id = kWaba,
                        .access_token = kToken,
                        .app_secret = kSecret,
                        .callback_url = rx.url()}};
    options.default_behaviour = Fast();
    if (options.ring_timeout == absl::Seconds(45)) options.ring_timeout = absl::Seconds(30);
    options.webhooks.retry_initial = absl::Milliseconds(5);
    options.webhooks.retry_max = absl::Milliseconds(40);
    auto started = Sim::Start(options, clock ? *clock : core::Clock::Real());
    REQUIRE(started.ok());
    sim = std::move(*started);
  }

  http::ClientResponse Send(const std::string& method, const std::string& edge, const Json& body,
                            const std::string& token = kToken) {
    auto r = http.Send(
        {.method = method,
         .url = sim->base_url() + "/v23.0/" + kNumberId + "/" + edge,
         .headers = {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
         .body = method == "GET" ? "" : body.dump()});
    REQUIRE(r.ok());
    return *r;
  }
  http::ClientResponse Post(const std::string& edge, const Json& body) {
    return Send("POST", edge, body);
  }

  // The call's webhook events in arrival order: "connect"/"terminate" or the status.
  std::vector<std::string> Events(const std::string& call_id) {
    std::vector<std::string> out;
    for (const Json& c : rx.Changes()) {
      if (c["field"] != "calls") continue;
      const Json& v = c["value"];
      if (v.contains("calls") && v["calls"][0]["id"] == call_id)
        out.push_back(v["calls"][0]["event"]);
      if (v.contains("statuses") && v["statuses"][0]["id"] == call_id) {
        out.push_back(v["statuses"][0]["status"]);
      }
    }
    return out;
  }
  std::optional<Json> CallEvent(const std::string& call_id, const std::string& event) {
    for (const Json& c : rx.Changes()) {
      const Json& v = c["value"];
      if (c["field"] == "calls" && v.contains("calls") && v["calls"][0]["id"] == call_id &&
          v["calls"][0]["event"] == event) {
        return c;
      }
    }
    return std::nullopt;
  }
  std::vector<Json> Messages() {
    std::vector<Json> out;
    for (const Json& c : rx.Changes()) {
      if (c["field"] == "messages") out.push_back(c["value"]["messages"][0]);
    }
    return out;
  }

  std::string Connect(const std::string& to = kUser) {
    auto r = Post("calls", {{"messaging_product", "whatsapp"},
                            {"to", to},
                            {"action", "connect"},
                            {"session", {{"sdp_type", "offer"}, {"sdp", kOffer}}},
                            {"biz_opaque_callback_data", "ticket-42"}});
    REQUIRE(r.status == 200);
    return Json::parse(r.body)["calls"][0]["id"];
  }
  int ConnectError(const std::string& to = kUser) {
    auto r = Post("calls", {{"messaging_product", "whatsapp"},
                            {"to", to},
                            {"action", "connect"},
                            {"session", {{"sdp_type", "offer"}, {"sdp", kOffer}}}});
    if (r.status == 200) return 0;
    return Json::parse(r.body)["error"]["code"];
  }
  http::ClientResponse PermissionRequest(const std::string& to = kUser) {
    return Post("messages", {{"messaging_product", "whatsapp"},
                             {"recipient_type", "individual"},
                             {"to", to},
                             {"type", "interactive"},
                             {"interactive",
                              {{"type", "call_permission_request"},
                               {"action", {{"name", "call_permission_request"}}},
                               {"body", {{"text", "May we call you?"}}}}}});
  }

  Receiver& rx;
  std::unique_ptr<Sim> sim;
  // Destroyed before the sim: the server's Stop() waits for open keep-alive connections.
  http::Client http;
};

int MetaCode(const http::ClientResponse& r) {
  Json j = Json::parse(r.body, nullptr, false);
  return j.is_object() && j.contains("error") ? j["error"].value("code", -1) : -1;
}

TEST_CASE("a user-initiated call: signed connect, pre_accept/accept, terminate with times") {
  core::FakeClock clock;
  Env env({}, &clock);
  absl::Time t0 = clock.Now();
  auto id = env.sim->PlaceUserCall(kNumberId, kUser);
  REQUIRE(id.ok());
  REQUIRE(Eventually([&] { return env.CallEvent(*id, "connect").has_value(); }));

  std::vector<Receiver::Post> posts = env.rx.Posts();
  REQUIRE(posts.size() == 1);
  CHECK(posts[0].signature_ok);
  CHECK(posts[0].content_type == "application/json");
  const Json& envelope = posts[0].json;
  CHECK(envelope["object"] == "whatsapp_business_account");
  CHECK(envelope["entry"][0]["id"] == kWaba);
  const Json& change = envelope["entry"][0]["changes"][0];
  CHECK(change["field"] == "calls");
  const Json& value = change["value"];
  CHECK(value["messaging_product"] == "whatsapp");
  CHECK(value["metadata"] ==
        Json{{"display_phone_number", "16315553601"}, {"phone_number_id", kNumberId}});
  CHECK(value["contacts"] ==
        Json::array({{{"profile", {{"name", "Jane Doe"}}}, {"wa_id", kUser}}}));
  const Json& call = value["calls"][0];
  CHECK(call["id"] == *id);
  CHECK(call["id"].get<std::string>().rfind("wacid.", 0) == 0);
  CHECK(call["from"] == kUser);
  CHECK(call["to"] == "16315553601");
  CHECK(call["event"] == "connect");
  CHECK(call["direction"] == "USER_INITIATED");
  CHECK(call["timestamp"] == std::to_string(absl::ToUnixSeconds(t0)));
  CHECK(call["session"]["sdp_type"] == "offer");
  CHECK(call["session"]["sdp"].get<std::string>().rfind("v=0\r\n", 0) == 0);

  auto action = [&](const std::string& name) {
    return env.Post("calls", {{"messaging_product", "whatsapp"},
                              {"call_id", *id},
                              {"action", name},
                              {"session", {{"sdp_type", "answer"}, {"sdp", kAnswer}}}});
  };
  auto pre = action("pre_accept");
  CHECK(pre.status == 200);
  CHECK(Json::parse(pre.body) == Json{{"messaging_product", "whatsapp"}, {"success", true}});
  CHECK(action("accept").status == 200);
  CHECK(env.sim->Call(*id)->stage == CallStage::kConnected);

  clock.Advance(absl::Seconds(42));
  REQUIRE(env.sim->HangUp(*id).ok());
  REQUIRE(Eventually([&] { return env.CallEvent(*id, "terminate").has_value(); }));
  Json end = env.CallEvent(*id, "terminate")->at("value").at("calls").at(0);
  CHECK(end["status"] == "COMPLETED");
  CHECK(end["direction"] == "USER_INITIATED");
  CHECK(end["start_time"] == std::to_string(absl::ToUnixSeconds(t0)));
  CHECK(end["end_time"] == std::to_string(absl::ToUnixSeconds(t0) + 42));
  CHECK(end["duration"] == 42);
  for (const auto& p : env.rx.Posts()) CHECK(p.signature_ok);
}

TEST_CASE("an unanswered user call ends FAILED after the ring timeout, without times") {
  Env env({.ring_timeout = absl::Milliseconds(50)});
  auto id = env.sim->PlaceUserCall(kNumberId, kUser);
  REQUIRE(id.ok());
  REQUIRE(Eventually([&] { return env.CallEvent(*id, "terminate").has_value(); }));
  Json end = env.CallEvent(*id, "terminate")->at("value").at("calls").at(0);
  CHECK(end["status"] == "FAILED");
  CHECK_FALSE(end.contains("start_time"));
  CHECK_FALSE(end.contains("duration"));
  CHECK(env.Events(*id) == std::vector<std::string>{"connect", "terminate"});
  // Accepting now is refused with Meta's invalid-parameter error.
  auto late = env.Post("calls", {{"messaging_product", "whatsapp"},
                                 {"call_id", *id},
                                 {"action", "accept"},
                                 {"session", {{"sdp_type", "answer"}, {"sdp", kAnswer}}}});
  CHECK(late.status == 400);
  CHECK(MetaCode(late) == 100);
}

TEST_CASE("a business-initiated call needs permission, then rings, connects and completes") {
  Env env;
  auto refused = env.Post("calls", {{"messaging_product", "whatsapp"},
                                    {"to", kUser},
                                    {"action", "connect"},
                                    {"session", {{"sdp_type", "offer"}, {"sdp", kOffer}}}});
  CHECK(refused.status == 400);
  Json error = Json::parse(refused.body)["error"];
  CHECK(error["code"] == 138006);
  CHECK(error["fbtrace_id"].get<std::string>().size() == 11);
  CHECK(error["error_data"]["details"].get<std::string>().find("permission") != std::string::npos);

  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true}).ok());
  REQUIRE(Eventually([&] { return env.Messages().size() == 1; }));
  Json reply = env.Messages()[0];
  CHECK(reply["type"] == "interactive");
  CHECK(reply["interactive"]["type"] == "call_permission_reply");
  const Json& cpr = reply["interactive"]["call_permission_reply"];
  CHECK(cpr["response"] == "accept");
  CHECK(cpr["is_permanent"] == false);
  CHECK(cpr["response_source"] == "user_action");
  CHECK(cpr.contains("expiration_timestamp"));

  std::string id = env.Connect();
  CHECK(env.ConnectError() == 138003);  // one ongoing call per user
  REQUIRE(Eventually([&] { return env.Events(id).size() == 3; }));
  CHECK(env.Events(id) == std::vector<std::string>{"RINGING", "connect", "ACCEPTED"});
  Json connect = env.CallEvent(id, "connect")->at("value").at("calls").at(0);
  CHECK(connect["direction"] == "BUSINESS_INITIATED");
  CHECK(connect["from"] == "16315553601");
  CHECK(connect["to"] == kUser);
  CHECK(connect["session"]["sdp_type"] == "answer");
  CHECK(connect["biz_opaque_callback_data"] == "ticket-42");

  auto bye = env.Post(
      "calls", {{"messaging_product", "whatsapp"}, {"call_id", id}, {"action", "terminate"}});
  CHECK(bye.status == 200);
  REQUIRE(Eventually([&] { return env.Events(id).size() == 4; }));
  Json end = env.CallEvent(id, "terminate")->at("value").at("calls").at(0);
  CHECK(end["status"] == "COMPLETED");
  CHECK(end.contains("start_time"));
  CHECK(end["biz_opaque_callback_data"] == "ticket-42");
  for (const auto& p : env.rx.Posts()) CHECK(p.signature_ok);
}

TEST_CASE("a rejecting user: RINGING, REJECTED, terminate FAILED") {
  Env env;
  UserBehaviour b = Fast();
  b.on_call = CallAnswer::kReject;
  env.sim->SetBehaviour(kUser, b);
  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true, .permanent = true}).ok());
  std::string id = env.Connect();
  REQUIRE(Eventually([&] { return env.Events(id).size() == 3; }));
  CHECK(env.Events(id) == std::vector<std::string>{"RINGING", "REJECTED", "terminate"});
  CHECK(env.CallEvent(id, "terminate")->at("value").at("calls").at(0).at("status") == "FAILED");
}

TEST_CASE("4 unanswered business calls revoke the permission with an automatic reject") {
  Env env({.ring_timeout = absl::Milliseconds(20)});
  UserBehaviour b = Fast();
  b.on_call = CallAnswer::kNoAnswer;
  env.sim->SetBehaviour(kUser, b);
  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true, .permanent = true}).ok());
  for (int i = 0; i < 4; ++i) {
    std::string id = env.Connect();
    REQUIRE(Eventually([&] { return env.Events(id).size() == 2; }));
    CHECK(env.Events(id) == std::vector<std::string>{"RINGING", "terminate"});
    CHECK(env.CallEvent(id, "terminate")->at("value").at("calls").at(0).at("status") == "FAILED");
  }
  REQUIRE(Eventually([&] { return env.Messages().size() == 2; }));
  Json cpr = env.Messages()[1]["interactive"]["call_permission_reply"];
  CHECK(cpr["response"] == "reject");
  CHECK(cpr["response_source"] == "automatic");
  CHECK(env.ConnectError() == 138006);
}

TEST_CASE("permission requests: window, 1 per 24 h, 2 per 7 days, reset by a connected call") {
  core::FakeClock clock;
  Env env({}, &clock);
  auto outside = env.PermissionRequest();
  CHECK(outside.status == 400);
  CHECK(MetaCode(outside) == 131047);  // no message from the user yet

  REQUIRE(env.sim->SendUserMessage(kNumberId, kUser, "hi").ok());
  auto first = env.PermissionRequest();
  REQUIRE(first.status == 200);
  Json answer = Json::parse(first.body);
  CHECK(answer["messaging_product"] == "whatsapp");
  CHECK(answer["contacts"][0]["wa_id"] == kUser);
  CHECK(answer["messages"][0]["id"].get<std::string>().rfind("wamid.", 0) == 0);

  clock.Advance(absl::Hours(24) - absl::Seconds(1));
  auto second = env.PermissionRequest();
  CHECK(second.status == 400);
  CHECK(MetaCode(second) == 138009);

  clock.Advance(absl::Seconds(1));
  REQUIRE(env.sim->SendUserMessage(kNumberId, kUser, "still there").ok());
  CHECK(env.PermissionRequest().status == 200);

  clock.Advance(absl::Hours(48));
  REQUIRE(env.sim->SendUserMessage(kNumberId, kUser, "hello again").ok());
  CHECK(MetaCode(env.PermissionRequest()) == 138009);  // 2 in 7 days

  auto view = env.Send("GET", "call_permissions?user_wa_id=" + std::string(kUser), {});
  REQUIRE(view.status == 200);
  Json v = Json::parse(view.body);
  CHECK(v["permission"] == Json{{"status", "no_permission"}});
  CHECK(v["actions"][0]["action_name"] == "send_call_permission_request");
  CHECK(v["actions"][0]["can_perform_action"] == false);
  CHECK(v["actions"][0]["limits"][1] ==
        Json{{"time_period", "P7D"},
             {"max_allowed", 2},
             {"current_usage", 2},
             {"limit_expiration_time", absl::ToUnixSeconds(clock.Now()) + 3600 * (24 * 7 - 72)}});

  // The user grants, a call connects: both limits reset.
  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true}).ok());
  std::string id = env.Connect();
  REQUIRE(Eventually([&] { return env.Events(id).size() == 3; }));
  CHECK(env.PermissionRequest().status == 200);

  // The temporary permission ends 7 days after the grant.
  auto granted =
      Json::parse(env.Send("GET", "call_permissions?user_wa_id=" + std::string(kUser), {}).body);
  CHECK(granted["permission"]["status"] == "temporary");
  CHECK(granted["permission"]["expiration_time"] ==
        absl::ToUnixSeconds(clock.Now() + absl::Hours(24 * 7)));
  REQUIRE(env.sim->HangUp(id).ok());
  clock.Advance(absl::Hours(24 * 7));
  CHECK(env.ConnectError() == 138006);
}

TEST_CASE("the daily cap of connected business calls answers 138012") {
  Env env({.permissions = {.connected_calls_per_day = 1}});
  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true, .permanent = true}).ok());
  std::string id = env.Connect();
  REQUIRE(Eventually([&] { return env.Events(id).size() == 3; }));
  REQUIRE(env.sim->HangUp(id).ok());
  auto r = env.Post("calls", {{"messaging_product", "whatsapp"},
                              {"to", kUser},
                              {"action", "connect"},
                              {"session", {{"sdp_type", "offer"}, {"sdp", kOffer}}}});
  CHECK(r.status == 400);
  CHECK(MetaCode(r) == 138012);
  CHECK(Json::parse(r.body)["error"]["error_data"]["details"].get<std::string>().find(
            "next call allowed at") != std::string::npos);
}

TEST_CASE("Graph API validation: product, action, session, token, object, rate limit") {
  Env env({.call_permissions_per_minute = 2});
  auto no_product = env.Post("calls", {{"to", kUser}, {"action", "connect"}});
  CHECK(no_product.status == 400);
  CHECK(MetaCode(no_product) == 100);
  CHECK(MetaCode(env.Post(
            "calls", {{"messaging_product", "whatsapp"}, {"to", kUser}, {"action", "dial"}})) ==
        100);
  CHECK(MetaCode(env.Post("calls", {{"messaging_product", "whatsapp"},
                                    {"to", kUser},
                                    {"action", "connect"},
                                    {"session", {{"sdp_type", "answer"}, {"sdp", kOffer}}}})) ==
        100);
  CHECK(MetaCode(env.Post("messages", {{"messaging_product", "whatsapp"},
                                       {"to", kUser},
                                       {"type", "text"},
                                       {"text", {{"body", ""}}}})) == 100);
  CHECK(MetaCode(env.Post("messages", {{"messaging_product", "whatsapp"},
                                       {"to", kUser},
                                       {"type", "template"},
                                       {"template", {{"name", "hello"}}}})) == 100);
  // Templates need no open window.
  auto tmpl =
      env.Post("messages", {{"messaging_product", "whatsapp"},
                            {"to", kUser},
                            {"type", "template"},
                            {"template", {{"name", "hello"}, {"language", {{"code", "en_US"}}}}}});
  CHECK(tmpl.status == 200);
  CHECK(Json::parse(tmpl.body)["messages"][0]["message_status"] == "accepted");

  auto bad_token = env.Send("POST", "calls", {{"messaging_product", "whatsapp"}}, "wrong");
  CHECK(bad_token.status == 401);
  CHECK(MetaCode(bad_token) == 190);
  CHECK(bad_token.body.find("wrong") == std::string::npos);

  auto other = env.http.Send({.method = "POST",
                              .url = env.sim->base_url() + "/v23.0/999/calls",
                              .headers = {{"Authorization", std::string("Bearer ") + kToken}},
                              .body = "{}"});
  REQUIRE(other.ok());
  CHECK(other->status == 400);
  CHECK(Json::parse(other->body)["error"]["error_subcode"] == 33);

  std::string q = "call_permissions?user_wa_id=" + std::string(kUser);
  CHECK(env.Send("GET", q, {}).status == 200);
  CHECK(env.Send("GET", q, {}).status == 200);
  auto limited = env.Send("GET", q, {});
  CHECK(limited.status == 429);
  CHECK(MetaCode(limited) == 613);
  CHECK(MetaCode(env.Send("GET", "call_permissions", {})) == 100);
}

TEST_CASE("settings are validated, and calling disabled refuses connect with 138000") {
  Env env;
  auto hours = [](Json weekly) {
    return Json{{"calling",
                 {{"call_hours",
                   {{"status", "ENABLED"},
                    {"timezone_id", "Europe/Berlin"},
                    {"weekly_operating_hours", std::move(weekly)}}}}}};
  };
  Json range = {{"day_of_week", "MONDAY"}, {"open_time", "0900"}, {"close_time", "1200"}};
  Json range2 = {{"day_of_week", "MONDAY"}, {"open_time", "1300"}, {"close_time", "1500"}};
  Json range3 = {{"day_of_week", "MONDAY"}, {"open_time", "1600"}, {"close_time", "1700"}};
  Json overlap = {{"day_of_week", "MONDAY"}, {"open_time", "1100"}, {"close_time", "1400"}};
  CHECK(env.Post("settings", hours({range, range2})).status == 200);
  CHECK(MetaCode(env.Post("settings", hours({range, range2, range3}))) == 100);
  CHECK(MetaCode(env.Post("settings", hours({range, overlap}))) == 100);
  CHECK(MetaCode(env.Post(
            "settings",
            hours({{{"day_of_week", "MONDAY"}, {"open_time", "2500"}, {"close_time", "2600"}}}))) ==
        100);
  CHECK(MetaCode(env.Post("settings", {{"calling", {{"status", "MAYBE"}}}})) == 100);

  REQUIRE(env.Post("settings", {{"calling", {{"status", "DISABLED"}}}}).status == 200);
  auto stored = Json::parse(env.Send("GET", "settings", {}).body);
  CHECK(stored["calling"]["status"] == "DISABLED");
  CHECK(stored["calling"]["call_hours"]["timezone_id"] == "Europe/Berlin");
  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true, .permanent = true}).ok());
  CHECK(env.ConnectError() == 138000);
  CHECK_FALSE(env.sim->PlaceUserCall(kNumberId, kUser).ok());
}

TEST_CASE("webhooks are retried with the same signed bytes after a non-200") {
  Env env;
  env.rx.FailNext(2, 503);
  auto wamid = env.sim->SendUserMessage(kNumberId, kUser, "hello");
  REQUIRE(wamid.ok());
  REQUIRE(env.sim->WaitForOutboxDrained(absl::Seconds(10)));
  std::vector<Receiver::Post> posts = env.rx.Posts();
  REQUIRE(posts.size() == 3);
  CHECK(posts[0].body == posts[2].body);
  CHECK(posts[2].signature_ok);
  REQUIRE(env.Messages().size() == 1);
  CHECK(env.Messages()[0]["id"] == *wamid);
  CHECK(env.Messages()[0]["text"]["body"] == "hello");
  SimStats stats = env.sim->Stats();
  CHECK(stats.webhooks.changes == 1);
  CHECK(stats.webhooks.posts == 3);
  CHECK(stats.webhooks.failed == 2);
  CHECK(stats.webhooks.retries == 2);
  CHECK(stats.webhooks.delivered == 1);
}

TEST_CASE("on_post tells as each webhook POST leaves: its calls' events and the attempt") {
  absl::Mutex mu;
  std::vector<std::string> posted;  // "<call id> <event> <attempt>", in the order they left
  SimOptions options;
  options.webhooks.on_post = [&](const std::vector<ChangeTag>& changes, int attempt) {
    absl::MutexLock lock(&mu);
    for (const ChangeTag& c : changes) {
      posted.push_back(c.call_id + " " + c.event + " " + std::to_string(attempt));
    }
  };
  Env env(options);
  env.rx.FailNext(1, 503);
  auto id = env.sim->PlaceUserCall(kNumberId, kUser);
  REQUIRE(id.ok());
  REQUIRE(env.sim->WaitForOutboxDrained(absl::Seconds(10)));
  REQUIRE(env.sim->HangUp(*id).ok());
  REQUIRE(env.sim->SendUserMessage(kNumberId, kUser, "thanks").ok());
  REQUIRE(env.sim->WaitForOutboxDrained(absl::Seconds(10)));
  absl::MutexLock lock(&mu);
  CHECK(posted == std::vector<std::string>{*id + " connect 1", *id + " connect 2",
                                           *id + " terminate 1", "  1"});
}

TEST_CASE("faults: duplicates, connect held until after terminate, batching") {
  Env env;
  SECTION("every webhook twice more") {
    env.sim->SetWebhookFaults({.duplicates = 2});
    auto wamid = env.sim->SendUserMessage(kNumberId, kUser, "dup");
    REQUIRE(wamid.ok());
    REQUIRE(env.sim->WaitForOutboxDrained(absl::Seconds(10)));
    std::vector<Json> messages = env.Messages();
    REQUIRE(messages.size() == 3);
    for (const Json& m : messages) CHECK(m["id"] == *wamid);
    CHECK(env.sim->Stats().webhooks.duplicates == 2);
  }
  SECTION("a call's connect arrives after its terminate") {
    env.sim->SetWebhookFaults({.hold_connect_until_terminate = true});
    auto id = env.sim->PlaceUserCall(kNumberId, kUser);
    REQUIRE(id.ok());
    REQUIRE(env.sim->WaitForOutboxDrained(absl::Milliseconds(1)) == false);  // held
    CHECK(env.rx.Posts().empty());
    REQUIRE(env.sim->HangUp(*id).ok());
    REQUIRE(env.sim->WaitForOutboxDrained(absl::Seconds(10)));
    CHECK(env.Events(*id) == std::vector<std::string>{"terminate", "connect"});
  }
  SECTION("several changes in one POST") {
    env.sim->SetWebhookFaults({.batch_size = 3});
    env.rx.Hold();
    REQUIRE(env.sim->SendUserMessage(kNumberId, kUser, "m0").ok());
    REQUIRE(Eventually([&] { return env.rx.Waiting() == 1; }));
    for (int i = 1; i <= 3; ++i) {
      REQUIRE(env.sim->SendUserMessage(kNumberId, kUser, "m" + std::to_string(i)).ok());
    }
    env.rx.Release();
    REQUIRE(env.sim->WaitForOutboxDrained(absl::Seconds(10)));
    std::vector<Receiver::Post> posts = env.rx.Posts();
    REQUIRE(posts.size() == 2);
    CHECK(posts[1].signature_ok);
    REQUIRE(posts[1].json["entry"].size() == 1);
    CHECK(posts[1].json["entry"][0]["changes"].size() == 3);
    std::vector<std::string> texts;
    for (const Json& m : env.Messages()) texts.push_back(m["text"]["body"]);
    CHECK(texts == std::vector<std::string>{"m0", "m1", "m2", "m3"});
    CHECK(env.sim->Stats().webhooks.batched == 1);
  }
}

TEST_CASE("the HTTP control surface and a scenario drive the users") {
  Env env;
  http::Client client;
  auto post = [&](const std::string& command, const Json& body) {
    auto r = client.Send(
        {.method = "POST", .url = env.sim->base_url() + "/sim/" + command, .body = body.dump()});
    REQUIRE(r.ok());
    return *r;
  };
  auto msg =
      post("message", {{"phone_number_id", kNumberId}, {"from", kUser}, {"text", "via http"}});
  REQUIRE(msg.status == 200);
  CHECK(Json::parse(msg.body)["message_id"].get<std::string>().rfind("wamid.", 0) == 0);
  CHECK(post("message", {{"phone_number_id", "nope"}, {"from", kUser}}).status == 404);
  CHECK(post("teleport", {}).status == 404);

  auto behaviour = post("behaviour", {{"wa_id", "4915550000001"}, {"on_call", "reject"}});
  REQUIRE(behaviour.status == 200);
  CHECK(Json::parse(behaviour.body)["on_call"] == "reject");

  REQUIRE(RunScenario(*env.sim, R"({"steps": [
      {"message": {"phone_number_id": "106540352242922", "from": "4915550000002", "text": "s1"}},
      {"call": {"phone_number_id": "106540352242922", "from": "4915550000002", "as": "c1"}},
      {"wait_ms": 5},
      {"hangup": {"call": "c1"}},
      {"drain": {"timeout_ms": 5000}}
  ]})")
              .ok());
  CHECK_FALSE(RunScenario(*env.sim, R"({"steps": [{"hangup": {"call": "unknown"}}]})").ok());

  auto stats = client.Send({.url = env.sim->base_url() + "/sim/stats"});
  REQUIRE(stats.ok());
  Json s = Json::parse(stats->body);
  CHECK(s["webhooks"]["delivered"] == 4);  // message, message, connect, terminate
  CHECK(s["calls"]["started"] == 1);
  CHECK(s["calls"]["ended"] == 1);
}

}  // namespace
}  // namespace switchboard::metasim
