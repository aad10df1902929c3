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
#include "services/gateway/module.h"
#include "services/notifications/module.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"

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
