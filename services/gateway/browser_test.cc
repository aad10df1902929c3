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

}  // namespace

TEST_CASE("a real EventSource in headless Chromium receives an incoming call with its id") {
  const std::string tools = std::string(SB_SOURCE_DIR) + "/.tools";
  INFO("install with tools/install-deps.sh");
  REQUIRE(testing::Run("test -x /usr/bin/chromium") == 0);
  REQUIRE(testing::Run(absl::StrCat("test -d ", tools, "/node_modules/playwright-core")) == 0);

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

  const std::string log = suite.dir() + "/browser.log";
  testing::Process browser;
  browser.Start({"node", std::string(SB_SOURCE_DIR) + "/services/gateway/testdata/eventsource.mjs",
                 suite.gateway_url(), t, tools},
                log);
  REQUIRE(testing::Eventually([&] { return absl::StrContains(ReadFile(log), "READY"); },
                              absl::Seconds(60)));

  sb::routing::v1::CallOffer offer;
  offer.mutable_header()->set_tenant_id("acme");
  offer.mutable_header()->set_entity_id("call-b1");
  offer.set_call_id("call-b1");
  offer.set_kind(sb::routing::v1::CALL_OFFER_KIND_OFFERED);
  offer.add_offered_agent_ids("ana");
  *offer.mutable_ring_deadline_time() = sb::core::ToProto(absl::Now() + absl::Minutes(1));
  offer.mutable_contact()->set_display_name("Carla Souza");
  auto producer = sb::kafka::Producer::Create({.brokers = suite.kafka_bootstrap()});
  REQUIRE(producer.ok());
  REQUIRE((*producer)
              ->PublishAndWait(sb::kafka::kRoutingOffers,
                               sb::kafka::MakeEvent(offer, "call-b1", "test"), absl::Seconds(10))
              .ok());

  int status = browser.Wait(absl::Seconds(60));
  std::string out = ReadFile(log);
  INFO(out);
  REQUIRE(status == 0);
  REQUIRE(absl::StrContains(out, "EVENTS "));
  const std::string events = out.substr(out.find("EVENTS "));
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

namespace {

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

}  // namespace

TEST_CASE(
    "the console in headless Chromium: sign in, a ringing card that survives a reload and "
    "goes when answered elsewhere, availability") {
  const std::string tools = absl::StrCat(SB_SOURCE_DIR, "/.tools");
  REQUIRE(testing::Run(absl::StrCat("test -d ", tools, "/node_modules/playwright-core")) == 0);
  testing::Suite suite({.services = {sb::notifications::Register, sb::routing::Register,
                                     sb::calls::Register, sb::gateway::Register},
                        .targets = {"notifications", "routing", "calls", "gateway"},
                        .flags = {{"webhooks-address", "127.0.0.1:9"},
                                  {"eligibility-address", "127.0.0.1:9"},
                                  {"gateway-dev-sign-in", "on"}}});
  const std::string log = suite.dir() + "/console.log";
  testing::Process browser;
  std::vector<std::string> argv = {"node"};
  argv.push_back(absl::StrCat(SB_SOURCE_DIR, "/services/gateway/testdata/console.mjs"));
  argv.push_back(suite.gateway_url());
  argv.push_back(tools);
  browser.Start(argv, log);
  auto said = [&](const char* step) {
    bool ok = testing::Eventually([&] { return absl::StrContains(ReadFile(log), step); },
                                  absl::Seconds(60));
    INFO(ReadFile(log));
    REQUIRE(ok);
  };
  said("READY");
  Offer(suite, "call-c1", false);
  said("CARD");
  said("RELOADED");
  Offer(suite, "call-c1", true);
  said("GONE");
  int status = browser.Wait(absl::Seconds(60));
  const std::string out = ReadFile(log);
  INFO(out);
  REQUIRE(status == 0);
  const std::string done = out.substr(out.find("DONE "));
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
  CHECK(absl::StrContains(index.body, "/console/app.js"));
  CHECK(absl::StrContains(header(index, "Content-Security-Policy"), "default-src 'self'"));
  CHECK(header(index, "X-Content-Type-Options") == "nosniff");
  auto script = get("/console/app.js");
  CHECK(script.status == 200);
  CHECK(absl::StartsWith(header(script, "Content-Type"), "text/javascript"));
  CHECK(get("/console/nothing.js").status == 404);
  CHECK(get("/console/%2e%2e/x").status == 404);
  auto post = client.Send({.method = "POST", .url = suite.gateway_url() + "/console/app.js"});
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
  const std::string tools = absl::StrCat(SB_SOURCE_DIR, "/.tools");
  REQUIRE(testing::Run(absl::StrCat("test -d ", tools, "/node_modules/playwright-core")) == 0);
  constexpr char kNumber[] = "106540352242922";
  constexpr char kCarla[] = "5511966812345";
  testing::Suite suite(
      {.services = {sb::eligibility::Register, sb::calls::Register, sb::routing::Register,
                    sb::notifications::Register, sb::webhooks::Register, sb::billing::Register,
                    sb::gateway::Register},
       .meta_sim = true,
       .flags = {{"gateway-dev-sign-in", "on"}}});
  {  // a monthly limit, for the usage card
    sb::billing::v1::UpdateRatePlanRequest req;
    req.mutable_rate_plan()->set_monthly_minutes_limit(1000);
    req.mutable_update_mask()->add_paths("monthly_minutes_limit");
    sb::billing::v1::UpdateRatePlanResponse resp;
    auto billing = suite.Stub<sb::billing::v1::BillingService>();
    REQUIRE(testing::Suite::Call(billing.get(),
                                 &sb::billing::v1::BillingService::Stub::UpdateRatePlan, req, &resp,
                                 {.subject = "admin-1", .roles = {"admin"}})
                .ok());
  }
  const std::string log = suite.dir() + "/contact.log";
  testing::Process browser;
  std::vector<std::string> argv = {"node"};
  argv.push_back(absl::StrCat(SB_SOURCE_DIR, "/services/gateway/testdata/contact.mjs"));
  argv.push_back(suite.gateway_url());
  argv.push_back(tools);
  argv.push_back(kNumber);
  argv.push_back(kCarla);
  browser.Start(argv, log);
  auto said = [&](const char* step) {
    bool ok = testing::Eventually([&] { return absl::StrContains(ReadFile(log), step); },
                                  absl::Seconds(90));
    INFO(ReadFile(log));
    REQUIRE(ok);
  };
  said("BLOCKED ");
  {
    const std::string out = ReadFile(log);
    const std::string blocked = out.substr(out.find("BLOCKED "));
    INFO(blocked);
    CHECK(absl::StrContains(blocked, "\"disabled\":true"));
    // Carla never wrote: no history, no request, no permission; each in the list and the title.
    CHECK(absl::StrContains(blocked, "NO_CONVERSATION_HISTORY"));
    CHECK(absl::StrContains(blocked, "NO_CALL_PERMISSION"));
  }
  // Carla writes "call me" and grants Meta's permission: the page notices by itself.
  REQUIRE(suite.sim()->SendUserMessage(kNumber, kCarla, "Hi! Please call me when you can").ok());
  REQUIRE(suite.sim()->SendPermissionReply(kNumber, kCarla, {.accept = true}).ok());
  said("ELIGIBLE");
  said("CALLING");
  int status = browser.Wait(absl::Seconds(60));
  const std::string out = ReadFile(log);
  INFO(out);
  REQUIRE(status == 0);
  const std::string done = out.substr(out.find("DONE "));
  CHECK(absl::StrContains(done, "\"errors\":[]"));
  CHECK(absl::StrContains(done, "\"ended\":\"Call "));
  CHECK(absl::StrContains(done, "\"row\":\"↑ OutCarla Souza"));  // the call, on the Calls page
  CHECK(absl::StrContains(done, "\"total\":\"1\""));
  CHECK(absl::StrContains(done, "ana: Asked about her invoice"));
  CHECK(absl::StrContains(done, "\"directions\":\"↓ In0↑ Out1\""));
  CHECK(absl::StrContains(done, "\"costDays\":30"));
  CHECK(absl::StrContains(done, "\"usage\":\"Monthly Usage: 0 / 1000 min\""));
  CHECK(absl::StrContains(done, "\"after\":\"Monthly Usage: 0 / 1250 min\""));
  CHECK(absl::StrContains(done, "\"error\":\"\""));
  // Meta saw the call the browser placed, with the browser's own SDP.
  std::vector<sb::metasim::CallView> calls = suite.sim()->Calls();
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].user == kCarla);
  CHECK(calls[0].business_initiated);
  CHECK(testing::Eventually(
      [&] { return suite.sim()->Call(calls[0].id)->stage == sb::metasim::CallStage::kEnded; }));
}
