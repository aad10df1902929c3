#include "libs/whatsapp/graph_client.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "absl/synchronization/mutex.h"
#include "libs/core/clock.h"
#include "libs/core/error.h"
#include "libs/http/server.h"
#include "tools/meta-sim/sim.h"

namespace switchboard::whatsapp {
namespace {

using Json = nlohmann::json;

constexpr char kNumberId[] = "106540352242922";
constexpr char kToken[] = "EAAG-secret-token-9f8e7d";
constexpr char kUser[] = "13175551399";
constexpr char kSdp[] =
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n";

// No webhooks are needed here (no callback URL): the sim's Graph API and state are.
struct Env {
  explicit Env(metasim::SimOptions options = {}, GraphClientOptions client_options = {}) {
    options.numbers = {{.phone_number_id = kNumberId,
                        .display_phone_number = "+1 631-555-3601",
                        .waba_id = "102290129340398",
                        .access_token = kToken,
                        .app_secret = "s"}};
    options.default_behaviour.ring_after = absl::Milliseconds(1);
    options.default_behaviour.answer_after = absl::Milliseconds(1);
    options.default_behaviour.hang_up_after = absl::InfiniteDuration();
    auto started = metasim::Sim::Start(options, clock);
    REQUIRE(started.ok());
    sim = std::move(*started);
    client_options.base_url = sim->base_url();
    client_options.timeout = absl::Seconds(2);
    client_options.max_attempts = 3;
    graph = std::make_unique<GraphClient>(
        client_options,
        [](absl::string_view id) -> std::optional<std::string> {
          if (id == kNumberId) return kToken;
          return std::nullopt;
        },
        nullptr,
        [this](absl::Duration d) {
          absl::MutexLock lock(&mu);
          sleeps.push_back(d);
        });
  }

  int64_t Requests(const std::string& action) {
    auto stats = sim->Stats();
    auto it = stats.graph_requests.find(action);
    return it == stats.graph_requests.end() ? 0 : it->second;
  }
  std::vector<absl::Duration> Sleeps() {
    absl::MutexLock lock(&mu);
    return sleeps;
  }

  core::FakeClock clock;
  std::unique_ptr<metasim::Sim> sim;
  std::unique_ptr<GraphClient> graph;
  absl::Mutex mu;
  std::vector<absl::Duration> sleeps;
};

void CheckNoToken(const absl::Status& s) {
  CHECK(s.ToString().find(kToken) == std::string::npos);
  for (const auto& [k, v] : core::MetadataOf(s)) CHECK(v.find(kToken) == std::string::npos);
}

TEST_CASE("connect: Meta errors become META_<code> statuses with Meta's metadata") {
  Env env;
  auto refused = env.graph->Connect(kNumberId, {.to = kUser, .sdp = kSdp});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(core::ReasonOf(refused.status()) == "META_138006");
  core::ErrorMetadata m = core::MetadataOf(refused.status());
  CHECK(m["meta_code"] == "138006");
  CHECK(m["http_status"] == "400");
  CHECK(m["fbtrace_id"].size() == 11);
  CHECK_FALSE(m["details"].empty());
  CHECK(m.count("meta_subcode") == 0);
  CheckNoToken(refused.status());

  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true}).ok());
  auto wacid =
      env.graph->Connect(kNumberId, {.to = kUser, .sdp = kSdp, .biz_opaque_callback_data = "t-1"});
  REQUIRE(wacid.ok());
  CHECK(wacid->rfind("wacid.", 0) == 0);
  auto call = env.sim->Call(*wacid);
  REQUIRE(call);
  CHECK(call->business_initiated);
  CHECK(call->user == kUser);
  CHECK(call->biz_opaque_callback_data == "t-1");

  auto duplicate = env.graph->Connect(kNumberId, {.to = kUser, .sdp = kSdp});
  CHECK(duplicate.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(core::ReasonOf(duplicate.status()) == "META_138003");
  REQUIRE(env.graph->Terminate(kNumberId, *wacid).ok());
  CHECK(env.sim->Call(*wacid)->stage == metasim::CallStage::kEnded);
}

TEST_CASE("connect is not retried after a 5xx; terminate is, with backoff") {
  Env env;
  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true, .permanent = true}).ok());
  env.sim->AddGraphFault({.action = "connect", .http_status = 500, .count = 1});
  auto failed = env.graph->Connect(kNumberId, {.to = kUser, .sdp = kSdp});
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().code() == absl::StatusCode::kUnavailable);
  CHECK(core::ReasonOf(failed.status()) == "META_UNAVAILABLE");
  CHECK(env.Requests("connect") == 1);
  CHECK(env.Sleeps().empty());

  auto wacid = env.graph->Connect(kNumberId, {.to = kUser, .sdp = kSdp});
  REQUIRE(wacid.ok());
  CHECK(env.Requests("connect") == 2);

  env.sim->AddGraphFault({.action = "terminate", .http_status = 503, .count = 1});
  REQUIRE(env.graph->Terminate(kNumberId, *wacid).ok());
  CHECK(env.Requests("terminate") == 2);
  CHECK(env.Sleeps() == std::vector<absl::Duration>{absl::Milliseconds(200)});

  // Persisting failures stop after max_attempts, with doubling waits.
  env.sim->AddGraphFault({.action = "terminate", .http_status = 502, .count = 10});
  absl::Status s = env.graph->Terminate(kNumberId, *wacid);
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK(env.Requests("terminate") == 5);
  CHECK(env.Sleeps() == std::vector<absl::Duration>{absl::Milliseconds(200),
                                                    absl::Milliseconds(200),
                                                    absl::Milliseconds(400)});
}

TEST_CASE("a Meta error that is a business rule is not retried even where retries are safe") {
  Env env;
  env.sim->AddGraphFault({.action = "terminate", .http_status = 400, .meta_code = 100});
  absl::Status s = env.graph->Terminate(kNumberId, "wacid.nope");
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(core::ReasonOf(s) == "META_100");
  CHECK(env.Requests("terminate") == 1);
}

TEST_CASE("a slow Meta: terminate retries after its timeout, connect does not") {
  Env env({}, {.timeout = absl::Milliseconds(100)});
  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true, .permanent = true}).ok());
  env.sim->AddGraphFault(
      {.action = "connect", .http_status = 200, .count = 1, .delay = absl::Milliseconds(400)});
  GraphClient slow(
      {.base_url = env.sim->base_url(), .timeout = absl::Milliseconds(100)},
      [](absl::string_view) { return std::optional<std::string>(kToken); }, nullptr,
      [](absl::Duration) {});
  auto timed_out = slow.Connect(kNumberId, {.to = kUser, .sdp = kSdp});
  CHECK(timed_out.status().code() == absl::StatusCode::kDeadlineExceeded);
  CHECK(env.Requests("connect") == 1);

  auto wacid = env.graph->Connect(kNumberId, {.to = kUser, .sdp = kSdp});
  REQUIRE(wacid.ok());
  env.sim->AddGraphFault(
      {.action = "terminate", .http_status = 200, .count = 1, .delay = absl::Milliseconds(400)});
  REQUIRE(slow.Terminate(kNumberId, *wacid).ok());
  CHECK(env.Requests("terminate") == 2);
}

TEST_CASE("a refused connection is retried even for connect (nothing was sent)") {
  int closed_port;
  {
    auto s = http::Server::Start({.host = "127.0.0.1"}, {});
    REQUIRE(s.ok());
    closed_port = (*s)->port();
  }
  int sleeps = 0;
  GraphClient graph(
      {.base_url = "http://127.0.0.1:" + std::to_string(closed_port), .max_attempts = 3},
      [](absl::string_view) { return std::optional<std::string>(kToken); }, nullptr,
      [&](absl::Duration) { ++sleeps; });
  auto r = graph.Connect(kNumberId, {.to = kUser, .sdp = kSdp});
  CHECK(r.status().code() == absl::StatusCode::kUnavailable);
  CHECK(core::ReasonOf(r.status()) == "HTTP_CONNECT_FAILED");
  CHECK(sleeps == 2);
  CheckNoToken(r.status());
}

TEST_CASE("answering a user call: pre_accept, accept, reject; bad call ids are META_100") {
  Env env;
  auto call = env.sim->PlaceUserCall(kNumberId, kUser);
  REQUIRE(call.ok());
  REQUIRE(env.graph->PreAccept(kNumberId, *call, kSdp).ok());
  REQUIRE(env.graph->Accept(kNumberId, *call, kSdp).ok());
  CHECK(env.sim->Call(*call)->stage == metasim::CallStage::kConnected);
  CHECK(env.Requests("pre_accept") == 1);
  CHECK(env.Requests("accept") == 1);

  auto other = env.sim->PlaceUserCall(kNumberId, "4915550000001");
  REQUIRE(other.ok());
  REQUIRE(env.graph->Reject(kNumberId, *other).ok());
  CHECK(env.sim->Call(*other)->end_status == "FAILED");

  absl::Status bad = env.graph->Accept(kNumberId, "wacid.unknown", kSdp);
  CHECK(bad.code() == absl::StatusCode::kInvalidArgument);
  CHECK(core::ReasonOf(bad) == "META_100");
  CHECK(core::ReasonOf(env.graph->Accept(kNumberId, *call, "")) == "MISSING_SDP");
}

TEST_CASE("messages: text, template, permission request; limits; never retried") {
  Env env;
  auto outside = env.graph->SendText(kNumberId, kUser, "hello");
  CHECK(outside.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(core::ReasonOf(outside.status()) == "META_131047");

  auto tmpl = env.graph->SendTemplate(
      kNumberId, kUser,
      {.name = "callback_offer",
       .language_code = "en_US",
       .components_json = R"([{"type":"body","parameters":[{"type":"text","text":"Ana"}]}])"});
  REQUIRE(tmpl.ok());
  CHECK(tmpl->rfind("wamid.", 0) == 0);
  CHECK(core::ReasonOf(
            env.graph
                ->SendTemplate(kNumberId, kUser,
                               {.name = "x", .language_code = "en", .components_json = "{}"})
                .status()) == "INVALID_TEMPLATE_COMPONENTS");

  REQUIRE(env.sim->SendUserMessage(kNumberId, kUser, "hi").ok());
  auto text = env.graph->SendText(kNumberId, kUser, "hello");
  REQUIRE(text.ok());
  CHECK(*text != *tmpl);

  REQUIRE(env.graph->SendCallPermissionRequest(kNumberId, kUser, "May we call you?").ok());
  auto again = env.graph->SendCallPermissionRequest(kNumberId, kUser, "May we call you?");
  CHECK(again.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(core::ReasonOf(again.status()) == "META_138009");

  int64_t before = env.Requests("messages");
  env.sim->AddGraphFault({.action = "messages", .http_status = 500});
  auto failed = env.graph->SendText(kNumberId, kUser, "once");
  CHECK(core::ReasonOf(failed.status()) == "META_UNAVAILABLE");
  CHECK(env.Requests("messages") == before + 1);
  CHECK(env.Sleeps().empty());
}

TEST_CASE("call permissions: status, expiry, actions and limits; 613 is retried then returned") {
  Env env({.call_permissions_per_minute = 2});
  REQUIRE(env.sim->SendPermissionReply(kNumberId, kUser, {.accept = true}).ok());
  auto p = env.graph->GetCallPermissions(kNumberId, kUser);
  REQUIRE(p.ok());
  CHECK(p->status == PermissionStatus::kTemporary);
  CHECK(p->expiration_time == env.clock.Now() + absl::Hours(24 * 7));
  const PermissionAction* start = p->Action("start_call");
  REQUIRE(start != nullptr);
  CHECK(start->can_perform_action);
  REQUIRE(start->limits.size() == 1);
  CHECK(start->limits[0].time_period == "PT24H");
  CHECK(start->limits[0].max_allowed == 5);
  const PermissionAction* request = p->Action("send_call_permission_request");
  REQUIRE(request != nullptr);
  CHECK(request->limits.size() == 2);

  auto none = env.graph->GetCallPermissions(kNumberId, "4915550000009");
  REQUIRE(none.ok());
  CHECK(none->status == PermissionStatus::kNoPermission);
  CHECK_FALSE(none->expiration_time);

  auto limited = env.graph->GetCallPermissions(kNumberId, kUser);
  CHECK(limited.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK(core::ReasonOf(limited.status()) == "META_613");
  CHECK(core::MetadataOf(limited.status())["http_status"] == "429");
  CHECK(env.Requests("call_permissions") == 5);  // 2 answered + 3 attempts refused
  CHECK(env.Sleeps().size() == 2);
}

TEST_CASE("settings: a plain struct becomes Meta's calling object") {
  Env env;
  CallingSettings settings{
      .enabled = true,
      .call_icon_visible = false,
      .callback_permission_enabled = true,
      .call_hours = CallHours{.timezone_id = "Europe/Berlin",
                              .weekly_operating_hours = {{DayOfWeek::kMonday, "0900", "1230"},
                                                         {DayOfWeek::kMonday, "1330", "1730"},
                                                         {DayOfWeek::kFriday, "0900", "1500"}},
                              .holiday_schedule = {{"2026-12-25", "0000", "2359"}}}};
  REQUIRE(env.graph->UpdateSettings(kNumberId, settings).ok());
  http::Client http;
  auto stored = http.Send({.url = env.sim->base_url() + "/v23.0/" + kNumberId + "/settings",
                           .headers = {{"Authorization", std::string("Bearer ") + kToken}}});
  REQUIRE(stored.ok());
  Json calling = Json::parse(stored->body)["calling"];
  CHECK(calling["status"] == "ENABLED");
  CHECK(calling["call_icon_visibility"] == "DISABLE_ALL");
  CHECK(calling["callback_permission_status"] == "ENABLED");
  CHECK(calling["call_hours"]["status"] == "ENABLED");
  CHECK(calling["call_hours"]["weekly_operating_hours"][1] ==
        Json{{"day_of_week", "MONDAY"}, {"open_time", "1330"}, {"close_time", "1730"}});
  CHECK(calling["call_hours"]["holiday_schedule"][0]["date"] == "2026-12-25");

  settings.call_hours->weekly_operating_hours.push_back({DayOfWeek::kMonday, "1800", "1900"});
  absl::Status three = env.graph->UpdateSettings(kNumberId, settings);
  CHECK(three.code() == absl::StatusCode::kInvalidArgument);
  CHECK(core::ReasonOf(three) == "META_100");

  // With callback permission on, a user who calls grants a temporary permission.
  REQUIRE(env.sim->PlaceUserCall(kNumberId, kUser).ok());
  auto p = env.graph->GetCallPermissions(kNumberId, kUser);
  REQUIRE(p.ok());
  CHECK(p->status == PermissionStatus::kTemporary);
}

TEST_CASE("tokens: none for the number, a wrong one, and one Meta echoes back") {
  Env env;
  auto unknown = env.graph->SendText("999999", kUser, "x");
  CHECK(unknown.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(core::ReasonOf(unknown.status()) == "NO_ACCESS_TOKEN");
  CHECK(env.Requests("messages") == 0);

  GraphClient wrong({.base_url = env.sim->base_url()},
                    [](absl::string_view) { return std::optional<std::string>("not-the-token"); });
  auto denied = wrong.GetCallPermissions(kNumberId, kUser);
  CHECK(denied.status().code() == absl::StatusCode::kUnauthenticated);
  CHECK(core::ReasonOf(denied.status()) == "META_190");

  // A server that puts the Authorization header into its error message and trace id.
  auto echo = http::Server::Start({.host = "127.0.0.1", .threads = 2},
                                  {{"/", [](const http::Request& r) {
                                      std::string auth = r.Header("authorization").value_or("");
                                      return http::Response::Json(
                                          400, Json{{"error",
                                                     {{"message", "cannot use " + auth},
                                                      {"type", "OAuthException"},
                                                      {"code", 190},
                                                      {"error_data", {{"details", auth}}},
                                                      {"fbtrace_id", auth}}}}
                                                   .dump());
                                    }}});
  REQUIRE(echo.ok());
  GraphClient leaky({.base_url = "http://127.0.0.1:" + std::to_string((*echo)->port())},
                    [](absl::string_view) { return std::optional<std::string>(kToken); });
  auto r = leaky.SendText(kNumberId, kUser, "x");
  REQUIRE_FALSE(r.ok());
  CHECK(core::ReasonOf(r.status()) == "META_190");
  CHECK(r.status().message().find("[redacted]") != std::string::npos);
  CheckNoToken(r.status());
}

}  // namespace
}  // namespace switchboard::whatsapp
