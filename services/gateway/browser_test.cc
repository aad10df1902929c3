// The event stream in a real browser: Debian's Chromium (headless, driven by playwright-core
// from .tools/) opens GET /v1/events with EventSource against the gateway of a running suite,
// and receives an incoming-call alert routing publishes, with the id: line as lastEventId.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/proto_time.h"
#include "libs/http/client.h"
#include "libs/kafka/kafka.h"
#include "services/billing/module.h"
#include "services/calls/module.h"
#include "services/eligibility/module.h"
#include "services/gateway/module.h"
#include "services/notifications/module.h"
#include "services/routing/module.h"
#include "services/webhooks/module.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"
#include "tools/meta-sim/sim.h"

namespace sb = switchboard;
namespace testing = switchboard::testing;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A script of testdata/ run by node against the suite's gateway: it prints a line at each step
// (READY, CARD, ...) and DONE <json> at the end.
class Script {
 public:
  Script(testing::Suite& suite, const std::string& name, std::vector<std::string> args)
      : log_(absl::StrCat(suite.dir(), "/", name, ".log")) {
    const std::string tools = absl::StrCat(SB_SOURCE_DIR, "/.tools");
    INFO("install with tools/install-deps.sh");
    REQUIRE(testing::Run(absl::StrCat("test -d ", tools, "/node_modules/playwright-core")) == 0);
    std::vector<std::string> argv = {"node"};
    argv.push_back(absl::StrCat(SB_SOURCE_DIR, "/services/gateway/testdata/", name, ".mjs"));
    argv.push_back(suite.gateway_url());
    argv.push_back(tools);
    for (std::string& a : args) argv.push_back(std::move(a));
    // The scripts save their screenshots in the build's screenshots/ (the notes show them).
    const std::string shots = absl::StrCat(SB_BINARY_DIR, "/screenshots");
    REQUIRE(testing::Run(absl::StrCat("mkdir -p ", shots)) == 0);
    setenv("SB_SCREENSHOTS", shots.c_str(), 1);
    process_.Start(argv, log_);
  }
  // Waits until the script printed `step`; what follows it on its line.
  std::string Said(const std::string& step, absl::Duration within = absl::Seconds(90)) {
    bool ok = testing::Eventually([&] { return absl::StrContains(Log(), step); }, within);
    INFO(Log());
    REQUIRE(ok);
    const std::string log = Log();
    const size_t at = log.find(step) + step.size();
    return log.substr(at, log.find('\n', at) - at);
  }
  // The script's exit status and its DONE line.
  std::string Done() {
    const int status = process_.Wait(absl::Seconds(60));
    INFO(Log());
    REQUIRE(status == 0);
    return Said("DONE ", absl::ZeroDuration());
  }
  std::string Log() const { return ReadFile(log_); }

 private:
  std::string log_;
  testing::Process process_;
};

// Publishes an offer of `call_id` to ana and bruno (ringing a minute), or bruno's claim of it.
void Offer(testing::Suite& suite, const std::string& call_id, bool claimed) {
  sb::routing::v1::CallOffer offer;
  offer.mutable_header()->set_tenant_id("acme");
  offer.mutable_header()->set_entity_id(call_id);
  offer.set_call_id(call_id);
  offer.set_kind(claimed ? sb::routing::v1::CALL_OFFER_KIND_CLAIMED
                         : sb::routing::v1::CALL_OFFER_KIND_OFFERED);
  if (claimed) offer.set_claimed_by_agent_id("bruno");
  offer.add_offered_agent_ids("ana");
  offer.add_offered_agent_ids("bruno");
  *offer.mutable_ring_deadline_time() = sb::core::ToProto(absl::Now() + absl::Minutes(1));
  offer.mutable_contact()->set_display_name("Carla Souza");
  offer.mutable_contact()->set_wa_id("5511966812345");
  auto producer = sb::kafka::Producer::Create({.brokers = suite.kafka_bootstrap()});
  REQUIRE(producer.ok());
  REQUIRE((*producer)
              ->PublishAndWait(sb::kafka::kRoutingOffers,
                               sb::kafka::MakeEvent(offer, call_id, "test"), absl::Seconds(10))
              .ok());
}

// The whole suite with meta-sim and the console's dev sign-in.
testing::SuiteOptions WholeSuite() {
  return {.services = {sb::eligibility::Register, sb::calls::Register, sb::routing::Register,
                       sb::notifications::Register, sb::webhooks::Register, sb::billing::Register,
                       sb::gateway::Register},
          .meta_sim = true,
          .flags = {{"gateway-dev-sign-in", "on"}}};
}

// acme's plan gets a monthly limit of `minutes` (the usage card's "/ N min").
void SetMonthlyMinutes(testing::Suite& suite, int64_t minutes) {
  sb::billing::v1::UpdateRatePlanRequest req;
  req.mutable_rate_plan()->set_monthly_minutes_limit(minutes);
  req.mutable_update_mask()->add_paths("monthly_minutes_limit");
  sb::billing::v1::UpdateRatePlanResponse resp;
  auto billing = suite.Stub<sb::billing::v1::BillingService>();
  REQUIRE(testing::Suite::Call(billing.get(),
                               &sb::billing::v1::BillingService::Stub::UpdateRatePlan, req, &resp,
                               {.subject = "admin-1", .roles = {"admin"}})
              .ok());
}

}  // namespace

TEST_CASE("a real EventSource in headless Chromium receives an incoming call with its id") {
  REQUIRE(testing::Run("test -x /usr/bin/chromium") == 0);
  testing::Suite suite({.services = {sb::notifications::Register, sb::gateway::Register},
                        .targets = {"notifications", "gateway"},
                        .flags = {{"webhooks-address", "127.0.0.1:9"}}});
  sb::http::Client client;
  auto ticket = client.Send(
      {.method = "POST",
       .url = suite.gateway_url() + "/v1/events/tickets",
       .headers = {{"Authorization",
                    "Bearer " + testing::Suite::Token({.subject = "ana", .roles = {"agent"}})},
                   {"Content-Type", "application/json"}},
       .body = "{}"});
  REQUIRE(ticket.ok());
  REQUIRE(ticket->status == 200);
  const std::string& json = ticket->body;
  size_t at = json.find("\"ticket\":\"") + 10;
  const std::string t = json.substr(at, json.find('"', at) - at);

  Script browser(suite, "eventsource", {t});
  browser.Said("READY");
  Offer(suite, "call-b1", false);
  const std::string events = browser.Done();
  CHECK(absl::StrContains(events, "\"type\":\"started\""));
  CHECK(absl::StrContains(events, "\"type\":\"reset\""));
  CHECK(absl::StrContains(events, "\"type\":\"incoming_call\""));
  CHECK(absl::StrContains(events, "\"callId\":\"call-b1\""));
  CHECK(absl::StrContains(events, "\"displayName\":\"Carla Souza\""));
  // The browser kept the id: line as lastEventId (what it sends back as Last-Event-ID).
  const std::string marker = "\"type\":\"incoming_call\",\"id\":\"";
  size_t incoming = events.find(marker);
  REQUIRE(incoming != std::string::npos);
  const size_t from = incoming + marker.size();
  std::string id = events.substr(from, events.find('"', from) - from);
  CHECK(id.find('.') != std::string::npos);
  CHECK_FALSE(absl::StrContains(events, "\"type\":\"error\""));
}

TEST_CASE(
    "the console in headless Chromium: sign in, a ringing card that survives a reload and "
    "goes when answered elsewhere, availability") {
  testing::Suite suite({.services = {sb::notifications::Register, sb::routing::Register,
                                     sb::calls::Register, sb::gateway::Register},
                        .targets = {"notifications", "routing", "calls", "gateway"},
                        .flags = {{"webhooks-address", "127.0.0.1:9"},
                                  {"eligibility-address", "127.0.0.1:9"},
                                  {"gateway-dev-sign-in", "on"}}});
  {  // The dev sign-in refuses what it cannot sign, and signs what it can.
    sb::http::Client client;
    auto sign = [&](const std::string& body) {
      auto r = client.Send({.method = "POST",
                            .url = suite.gateway_url() + "/v1/dev/token",
                            .headers = {{"Content-Type", "application/json"}},
                            .body = body});
      REQUIRE(r.ok());
      return *r;
    };
    auto bad_tenant = sign(R"({"tenant":"a b","subject":"ana"})");
    CHECK(bad_tenant.status == 400);
    CHECK(absl::StrContains(bad_tenant.body, "INVALID_TENANT"));
    auto bad_role = sign(R"({"tenant":"acme","subject":"ana","roles":["gateway"]})");
    CHECK(bad_role.status == 400);
    CHECK(absl::StrContains(bad_role.body, "INVALID_ROLE"));
    CHECK(absl::StrContains(sign(R"({"tenant":"acme"})").body, "MISSING_SUBJECT"));
    CHECK(absl::StrContains(sign("not json").body, "INVALID_JSON"));
    auto get = client.Send({.method = "GET", .url = suite.gateway_url() + "/v1/dev/token"});
    REQUIRE(get.ok());
    CHECK(get->status == 405);
    auto signed_in = sign(R"({"tenant":"acme","subject":"ana","roles":["supervisor"]})");
    REQUIRE(signed_in.status == 200);
    const size_t at = signed_in.body.find("\"token\":\"") + 9;
    const std::string token = signed_in.body.substr(at, signed_in.body.find('"', at) - at);
    // The token is the suite's: the gateway takes it for a supervisor's RPC.
    auto settings = client.Send(
        {.method = "POST",
         .url = suite.gateway_url() + "/switchboard.routing.v1.RoutingService/GetRoutingSettings",
         .headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}},
         .body = "{}"});
    REQUIRE(settings.ok());
    CHECK(settings->status == 200);
  }
  Script browser(suite, "console", {});
  browser.Said("READY");
  Offer(suite, "call-c1", false);
  browser.Said("CARD");
  browser.Said("RELOADED");
  Offer(suite, "call-c1", true);
  browser.Said("GONE");
  const std::string done = browser.Done();
  CHECK(absl::StrContains(done, "\"url\":\"" + suite.gateway_url() + "/console/\""));
  CHECK(absl::StrContains(done, "\"availability\":\"DND\""));
  CHECK(absl::StrContains(done, "No calls match."));
  CHECK(absl::StrContains(done, "\"errors\":[]"));
}

TEST_CASE("the console's files: hardened, no way out of the folder; the dev sign-in only when on") {
  testing::Suite suite({.services = {sb::notifications::Register, sb::gateway::Register},
                        .targets = {"notifications", "gateway"},
                        .flags = {{"webhooks-address", "127.0.0.1:9"}}});
  sb::http::Client client;
  auto get = [&](const std::string& path) {
    auto r = client.Send({.method = "GET", .url = suite.gateway_url() + path});
    REQUIRE(r.ok());
    return *r;
  };
  auto header = [](const sb::http::ClientResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (absl::EqualsIgnoreCase(k, name)) return v;
    }
    return std::string();
  };
  auto root = get("/");
  CHECK(root.status == 302);
  CHECK(header(root, "Location") == "/console/");
  auto index = get("/console/calls");  // a screen: the app's page
  CHECK(index.status == 200);
  CHECK(absl::StartsWith(header(index, "Content-Type"), "text/html"));
  CHECK(absl::StrContains(header(index, "Content-Security-Policy"), "default-src 'self'"));
  CHECK(header(index, "X-Content-Type-Options") == "nosniff");
  CHECK(header(index, "Cache-Control") == "no-cache");
  // The page names the bundle by its content hash; the bundle is kept a year.
  const size_t at = index.body.find("src=\"/console/assets/app-");
  REQUIRE(at != std::string::npos);
  const std::string bundle = index.body.substr(at + 5, index.body.find('"', at + 5) - at - 5);
  CHECK(absl::EndsWith(bundle, ".js"));
  auto script = get(bundle);
  CHECK(script.status == 200);
  CHECK(absl::StartsWith(header(script, "Content-Type"), "text/javascript"));
  CHECK(header(script, "Cache-Control") == "public, max-age=31536000, immutable");
  CHECK(script.body.size() > 10000);
  // Revalidation: the ETag comes back 304 without a body; another tag gets the file.
  const std::string etag = header(index, "ETag");
  REQUIRE(etag.size() == 34);
  auto again = client.Send({.method = "GET",
                            .url = suite.gateway_url() + "/console/calls",
                            .headers = {{"If-None-Match", etag}}});
  REQUIRE(again.ok());
  CHECK(again->status == 304);
  CHECK(again->body.empty());
  auto changed = client.Send({.method = "GET",
                              .url = suite.gateway_url() + "/console/calls",
                              .headers = {{"If-None-Match", "\"0123\""}}});
  REQUIRE(changed.ok());
  CHECK(changed->status == 200);
  CHECK(changed->body == index.body);
  CHECK(get("/console/nothing.js").status == 404);
  CHECK(get("/console/%2e%2e/x").status == 404);
  auto post = client.Send({.method = "POST", .url = suite.gateway_url() + bundle});
  REQUIRE(post.ok());
  CHECK(post->status == 405);
  // Off by default: there is no such endpoint.
  auto token = client.Send({.method = "POST",
                            .url = suite.gateway_url() + "/v1/dev/token",
                            .headers = {{"Content-Type", "application/json"}},
                            .body = R"({"tenant":"acme","subject":"mallory","roles":["admin"]})"});
  REQUIRE(token.ok());
  CHECK(token->status == 404);
}

TEST_CASE(
    "the console's Call button: blocked with every reason, callable once the contact asks, "
    "Ctrl+K calls with a real WebRTC offer, Ctrl+E ends") {
  constexpr char kNumber[] = "106540352242922";
  constexpr char kCarla[] = "5511966812345";
  testing::Suite suite(WholeSuite());
  SetMonthlyMinutes(suite, 1000);  // for the usage card
  Script browser(suite, "contact", {kNumber, kCarla});
  {
    const std::string blocked = browser.Said("BLOCKED ");
    INFO(blocked);
    CHECK(absl::StrContains(blocked, "\"disabled\":true"));
    // Carla never wrote: no history, no request, no permission; each in the list and the title.
    CHECK(absl::StrContains(blocked, "NO_CONVERSATION_HISTORY"));
    CHECK(absl::StrContains(blocked, "NO_CALL_PERMISSION"));
  }
  // Carla writes "call me" and grants Meta's permission: the page notices by itself.
  REQUIRE(suite.sim()->SendUserMessage(kNumber, kCarla, "Hi! Please call me when you can").ok());
  REQUIRE(suite.sim()->SendPermissionReply(kNumber, kCarla, {.accept = true}).ok());
  browser.Said("ELIGIBLE");
  browser.Said("CALLING");
  const std::string done = browser.Done();
  CHECK(absl::StrContains(done, "\"errors\":[]"));
  CHECK(absl::StrContains(done, "\"ended\":\"Call "));
  CHECK(absl::StrContains(done, "\"row\":\"↑ OutCarla Souza"));  // the call, on the Calls page
  CHECK(absl::StrContains(done, "\"total\":\"1\""));
  CHECK(absl::StrContains(done, "ana: Asked about her invoice"));
  CHECK(absl::StrContains(done, "\"directions\":\"Inbound vs outbound↓ In0↑ Out1\""));
  CHECK(absl::StrContains(done, "\"costDays\":30"));
  CHECK(absl::StrContains(done, "\"usage\":\"Monthly Usage: 0 / 1000 min\""));
  CHECK(absl::StrContains(done, "\"after\":\"Monthly Usage: 0 / 1250 min\""));
  // The longest call: 25 h refused with the reason the API gives, 90 min saved.
  CHECK(absl::StrContains(done, "SETTING_OUT_OF_RANGE"));
  CHECK(absl::StrContains(done, "\"longest\":\"90\""));
  {
    auto stub = suite.Stub<sb::calls::v1::CallsService>();
    sb::calls::v1::GetCallsSettingsResponse got;
    REQUIRE(testing::Suite::Call(stub.get(), &sb::calls::v1::CallsService::Stub::GetCallsSettings,
                                 sb::calls::v1::GetCallsSettingsRequest(), &got,
                                 {.subject = "ana", .roles = {"admin"}, .tenant = "acme"})
                .ok());
    CHECK(got.settings().max_call_duration().seconds() == 5400);
  }
  CHECK(absl::StrContains(done, "\"error\":\"\""));
  // Meta saw the call the browser placed, with the browser's own SDP.
  std::vector<sb::metasim::CallView> calls = suite.sim()->Calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].user == kCarla);
  CHECK(calls[0].business_initiated);
  CHECK(testing::Eventually(
      [&] { return suite.sim()->Call(calls[0].id)->stage == sb::metasim::CallStage::kEnded; }));
}

TEST_CASE(
    "the console answers: two agents' pages ring (notification, ringtone), one answers with a "
    "real WebRTC answer, the other's card goes; the Calls page exports what ListCalls lists") {
  constexpr char kNumber[] = "106540352242922";
  constexpr char kJoao[] = "5511966880004";
  testing::Suite suite(WholeSuite());
  const testing::Who admin{.subject = "admin-1", .roles = {"admin"}};
  SetMonthlyMinutes(suite, 1);  // the call uses the month up and the usage page warns
  sb::metasim::UserBehaviour joao;
  joao.name = "João Lima";
  joao.hang_up_after = absl::InfiniteDuration();  // the agent ends the call
  suite.sim()->SetBehaviour(kJoao, joao);

  Script browser(suite, "answer", {kNumber});
  browser.Said("READY");
  absl::StatusOr<std::string> meta_id = suite.sim()->PlaceUserCall(kNumber, kJoao);
  REQUIRE(meta_id.ok());
  {
    const std::string ringing = browser.Said("RINGING ");
    INFO(ringing);
    // Both agents: the card with the caller's name, a browser notification, the ringtone.
    CHECK(absl::StrContains(ringing, R"("ana":{"card":"↓ Incoming callJoão Lima)"));
    CHECK(absl::StrContains(ringing, R"("bruno":{"card":"↓ Incoming callJoão Lima)"));
    CHECK(absl::StrContains(
        ringing, R"("notifications":["Incoming call|João Lima"],"ringtone":"on"},"bruno")"));
    CHECK(absl::StrContains(ringing,
                            R"("notifications":["Incoming call|João Lima"],"ringtone":"on"}})"));
  }
  {
    const std::string answered = browser.Said("ANSWERED ");
    INFO(answered);
    CHECK(absl::StrContains(answered, R"("calling":"On call João Lima)"));
    CHECK(absl::StrContains(answered, R"("anaCards":0)"));
    CHECK(absl::StrContains(answered, R"("ringtone":"off")"));
  }
  // Meta was given the answer ana's browser made to the caller's offer.
  std::optional<sb::metasim::CallView> call = suite.sim()->Call(*meta_id);
  REQUIRE(call.has_value());
  CHECK(absl::StartsWith(call->sdp_answer, "v=0"));
  CHECK(absl::StrContains(call->sdp_answer, "m=audio"));
  CHECK(call->sdp_answer != call->sdp_offer);

  // Maria calls while only bruno is Available; he rejects it with Esc.
  browser.Said("ESC-READY");
  absl::StatusOr<std::string> maria = suite.sim()->PlaceUserCall(kNumber, "5511966880005");
  REQUIRE(maria.ok());
  const std::string done = browser.Done();
  INFO(done);
  CHECK(absl::StrContains(done, R"("errors":[])"));
  CHECK(absl::StrContains(done, R"("error":"")"));
  CHECK(absl::StrContains(done, R"("brunoError":"")"));
  CHECK(testing::Eventually(
      [&] { return suite.sim()->Call(*maria)->stage == sb::metasim::CallStage::kEnded; }));
  CHECK(absl::StrContains(done, R"("found":["↓ InJoão Lima)"));
  CHECK(absl::StrContains(done, R"("warning":"This month's minutes are used up)"));
  // The CSV holds exactly the calls ListCalls lists for the same filter and search.
  const size_t at = done.find(R"("listed":[")");
  REQUIRE(at != std::string::npos);
  const std::string listed = done.substr(at + 11, done.find('"', at + 11) - at - 11);
  CHECK(absl::StrContains(done, R"("listed":[")" + listed + R"("])"));
  CHECK(absl::StrContains(done, R"("csv":"call_id,direction,state)"));
  CHECK(absl::StrContains(done, R"("wallboard":{"missed":"0")"));
  CHECK(absl::StrContains(done, listed + ",INBOUND,ENDED"));
  // Settings saved through the API: the number's hours at Meta, and the new team.
  auto webhooks = suite.Stub<sb::webhooks::v1::WebhooksService>();
  sb::webhooks::v1::GetPhoneNumberRequest number_req;
  number_req.set_phone_number_id(kNumber);
  sb::webhooks::v1::GetPhoneNumberResponse number;
  REQUIRE(testing::Suite::Call(webhooks.get(),
                               &sb::webhooks::v1::WebhooksService::Stub::GetPhoneNumber, number_req,
                               &number, admin)
              .ok());
  const auto& hours = number.phone_number().calling_settings().call_hours();
  CHECK(hours.enabled());
  CHECK(hours.timezone_id() == "America/Sao_Paulo");
  REQUIRE(hours.weekly_operating_hours_size() == 1);
  CHECK(hours.weekly_operating_hours(0).open_time() == "0900");
  CHECK(hours.weekly_operating_hours(0).close_time() == "1730");
  auto routing = suite.Stub<sb::routing::v1::RoutingService>();
  sb::routing::v1::GetTeamRequest team_req;
  team_req.set_team_id("support");
  sb::routing::v1::GetTeamResponse team;
  REQUIRE(testing::Suite::Call(routing.get(), &sb::routing::v1::RoutingService::Stub::GetTeam,
                               team_req, &team, admin)
              .ok());
  CHECK(team.team().routing_mode() == sb::routing::v1::ROUTING_MODE_ROUND_ROBIN);
  REQUIRE(team.team().members_size() == 2);
  CHECK(team.team().members(1).agent_id() == "bruno");
}
