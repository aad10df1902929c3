// The gateway end to end: the whole suite in one runtime (real Redis, PostgreSQL, embedded
// Kafka), called over HTTP/1.1 as a browser or curl would: JSON RPCs beside the same calls over
// gRPC, downloads, the Server-Sent Events stream with its tickets, CORS, limits, and a crowd of
// slow and idle clients.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "libs/core/error.h"
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
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_events.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "tests/support/servers.h"
#include "tests/support/suite.h"
#include "tools/meta-sim/sim.h"

namespace sb = switchboard;
namespace testing = switchboard::testing;
using testing::Who;

namespace {

const Who kAna{.subject = "ana", .roles = {"agent"}};
const Who kSupervisor{.subject = "sup-1", .roles = {"supervisor"}};

std::vector<std::function<void(sb::runtime::Registry&)>> AllServices() {
  return {sb::eligibility::Register, sb::calls::Register,         sb::routing::Register,
          sb::billing::Register,     sb::notifications::Register, sb::webhooks::Register,
          sb::gateway::Register};
}

struct Fixture {
  explicit Fixture(std::map<std::string, std::string> flags = {}, bool meta_sim = false)
      : suite({.services = AllServices(), .meta_sim = meta_sim, .flags = std::move(flags)}) {
    REQUIRE_FALSE(suite.gateway_url().empty());
  }

  sb::http::ClientResponse Post(const std::string& path, const std::string& body,
                                const std::optional<Who>& who = kAna,
                                std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", "application/json");
    if (who.has_value()) {
      headers.emplace_back("Authorization", "Bearer " + testing::Suite::Token(*who));
    }
    auto r = client.Send({.method = "POST",
                          .url = suite.gateway_url() + path,
                          .headers = std::move(headers),
                          .body = body});
    REQUIRE(r.ok());
    return *r;
  }
  int port() const {
    int p = 0;
    std::string url = suite.gateway_url();
    REQUIRE(absl::SimpleAtoi(url.substr(url.rfind(':') + 1), &p));
    return p;
  }

  testing::Suite suite;
  sb::http::Client client;
};

// The reason in a Connect error body ("" when none).
std::string ReasonIn(const std::string& body) {
  const std::string key = "\"reason\":\"";
  size_t at = body.find(key);
  if (at == std::string::npos) return "";
  size_t from = at + key.size();
  return body.substr(from, body.find('"', from) - from);
}
std::string CodeIn(const std::string& body) {
  const std::string key = "{\"code\":\"";
  if (!absl::StartsWith(body, key)) return "";
  return body.substr(key.size(), body.find('"', key.size()) - key.size());
}

// A raw HTTP/1.1 connection reading one streamed (chunked) response as it arrives.
class StreamReader {
 public:
  StreamReader(int port, const std::string& request) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(send(fd_, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    thread_ = std::thread([this] {
      char buf[8192];
      for (;;) {
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        absl::MutexLock lock(&mu_);
        if (n <= 0) {
          closed_ = true;
          return;
        }
        raw_.append(buf, static_cast<size_t>(n));
      }
    });
  }
  ~StreamReader() {
    shutdown(fd_, SHUT_RDWR);
    thread_.join();
    close(fd_);
  }
  void Close() { shutdown(fd_, SHUT_RDWR); }

  // The status line and headers.
  std::string Head() {
    absl::MutexLock lock(&mu_);
    return raw_.substr(0, raw_.find("\r\n\r\n"));
  }
  // The body so far, chunk framing removed.
  std::string Body() {
    absl::MutexLock lock(&mu_);
    size_t at = raw_.find("\r\n\r\n");
    if (at == std::string::npos) return "";
    std::string out;
    size_t pos = at + 4;
    for (;;) {
      size_t line = raw_.find("\r\n", pos);
      if (line == std::string::npos) break;
      size_t size = std::stoul(raw_.substr(pos, line - pos), nullptr, 16);
      if (size == 0 || line + 2 + size > raw_.size()) break;
      out += raw_.substr(line + 2, size);
      pos = line + 2 + size + 2;
    }
    return out;
  }
  bool WaitFor(const std::string& text, absl::Duration timeout = absl::Seconds(10)) {
    return testing::Eventually([&] { return absl::StrContains(Body(), text); }, timeout);
  }
  bool closed() {
    absl::MutexLock lock(&mu_);
    return closed_;
  }

 private:
  int fd_ = -1;
  std::thread thread_;
  absl::Mutex mu_;
  std::string raw_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

std::string EventsRequest(const std::string& ticket, const std::string& last_id = "") {
  std::string r = absl::StrCat("GET /v1/events?ticket=", ticket,
                               " HTTP/1.1\r\nHost: gateway\r\nAccept: text/event-stream\r\n");
  if (!last_id.empty()) absl::StrAppend(&r, "Last-Event-ID: ", last_id, "\r\n");
  return r + "\r\n";
}

std::string TicketFrom(const std::string& json) {
  const std::string key = "\"ticket\":\"";
  size_t at = json.find(key);
  REQUIRE(at != std::string::npos);
  size_t from = at + key.size();
  return json.substr(from, json.find('"', from) - from);
}

// The id of the last event in an SSE body.
std::string LastId(const std::string& body) {
  size_t at = body.rfind("\nid: ");
  if (at == std::string::npos) at = body.rfind("id: ") == 0 ? 0 : std::string::npos;
  if (at == std::string::npos) return "";
  size_t from = body.find("id: ", at) + 4;
  return body.substr(from, body.find('\n', from) - from);
}

void PublishOffer(testing::Suite& suite, const std::string& call, const std::string& agent) {
  sb::routing::v1::CallOffer o;
  o.mutable_header()->set_tenant_id("acme");
  o.mutable_header()->set_entity_id(call);
  o.set_call_id(call);
  o.set_kind(sb::routing::v1::CALL_OFFER_KIND_OFFERED);
  o.add_offered_agent_ids(agent);
  *o.mutable_ring_deadline_time() = sb::core::ToProto(absl::Now() + absl::Minutes(5));
  o.mutable_contact()->set_wa_id("15551230001");
  auto producer = sb::kafka::Producer::Create({.brokers = suite.kafka_bootstrap()});
  REQUIRE(producer.ok());
  REQUIRE((*producer)
              ->PublishAndWait(sb::kafka::kRoutingOffers, sb::kafka::MakeEvent(o, call, "test"),
                               absl::Seconds(10))
              .ok());
}

}  // namespace

TEST_CASE("every unary RPC answers JSON over HTTP as it answers over gRPC, errors included") {
  Fixture f;
  // The same call both ways.
  auto set = f.Post("/switchboard.routing.v1.RoutingService/SetAgentAvailability",
                    R"({"availability": "AVAILABILITY_AVAILABLE"})");
  INFO(set.body);
  REQUIRE(set.status == 200);
  CHECK(absl::StartsWith(set.Header("content-type"), "application/json"));
  sb::routing::v1::SetAgentAvailabilityResponse over_http;
  REQUIRE(google::protobuf::util::JsonStringToMessage(set.body, &over_http).ok());
  CHECK(over_http.agent().agent_id() == "ana");
  auto routing = f.suite.Stub<sb::routing::v1::RoutingService>();
  sb::routing::v1::GetAgentAvailabilityResponse over_grpc;
  REQUIRE(testing::Suite::Call(routing.get(),
                               &sb::routing::v1::RoutingService::Stub::GetAgentAvailability,
                               sb::routing::v1::GetAgentAvailabilityRequest(), &over_grpc, kAna)
              .ok());
  CHECK(over_grpc.agent().availability() == over_http.agent().availability());

  // A refusal carries the code and reason gRPC gives.
  auto calls = f.suite.Stub<sb::calls::v1::CallsService>();
  sb::calls::v1::GetCallResponse ignored;
  absl::Status grpc_refusal =
      testing::Suite::Call(calls.get(), &sb::calls::v1::CallsService::Stub::GetCall,
                           sb::calls::v1::GetCallRequest(), &ignored, kAna);
  auto http_refusal = f.Post("/switchboard.calls.v1.CallsService/GetCall", "{}");
  CHECK(http_refusal.status == 400);
  CHECK(CodeIn(http_refusal.body) == "invalid_argument");
  CHECK(ReasonIn(http_refusal.body) == sb::core::ReasonOf(grpc_refusal));
  CHECK_FALSE(ReasonIn(http_refusal.body).empty());
  auto missing = f.Post("/switchboard.calls.v1.CallsService/GetCall",
                        R"({"callId": "01a24bfb-0000-7000-8000-000000000000"})");
  CHECK(missing.status == 404);
  CHECK(ReasonIn(missing.body) == "CALL_NOT_FOUND");

  struct Bad {
    std::string path, body, reason;
    int status;
    std::optional<Who> who = kAna;
    std::vector<std::pair<std::string, std::string>> headers = {};
  };
  const std::string set_path = "/switchboard.routing.v1.RoutingService/SetAgentAvailability";
  for (const Bad& bad : std::vector<Bad>{
           {set_path, "{}", "TOKEN_MISSING", 401, std::nullopt},
           {set_path, "{", "INVALID_JSON", 400},
           {set_path, R"({"nope": 1})", "INVALID_JSON", 400},
           {set_path, R"({"availability": 5.5})", "INVALID_JSON", 400},
           {set_path,
            R"({"availability": "AVAILABILITY_AVAILABLE"})",
            "INVALID_TIMEOUT",
            400,
            kAna,
            {{"Connect-Timeout-Ms", "soon"}}},
           {"/switchboard.calls.v1.CallsService/Nope", "{}", "UNKNOWN_METHOD", 404},
           {"/switchboard.notifications.v1.NotificationsService/Subscribe", "{}", "UNKNOWN_METHOD",
            404},
           {"/nothing/here", "{}", "UNKNOWN_METHOD", 404},
       }) {
    auto r = f.Post(bad.path, bad.body, bad.who, bad.headers);
    INFO(bad.path << " " << bad.body << " -> " << r.status << " " << r.body);
    CHECK(r.status == bad.status);
    CHECK(ReasonIn(r.body) == bad.reason);
  }
  auto get = f.client.Send({.url = f.suite.gateway_url() + set_path});
  REQUIRE(get.ok());
  CHECK(get->status == 405);
  auto text = f.client.Send({.method = "POST",
                             .url = f.suite.gateway_url() + set_path,
                             .headers = {{"Content-Type", "text/plain"}},
                             .body = "hi"});
  REQUIRE(text.ok());
  CHECK(text->status == 415);
  CHECK(ReasonIn(text->body) == "UNSUPPORTED_MEDIA_TYPE");
}

TEST_CASE("downloads are streamed files with their type and name; a refused one is JSON") {
  Fixture f;
  auto r = f.Post("/switchboard.calls.v1.CallsService/ExportCalls", "{}", kSupervisor);
  INFO(r.body);
  REQUIRE(r.status == 200);
  CHECK(r.Header("content-type") == "text/csv; charset=utf-8");
  CHECK(absl::StartsWith(r.Header("content-disposition"), "attachment; filename=\"calls-"));
  CHECK(r.Header("transfer-encoding") == "chunked");
  CHECK(absl::StrContains(r.body, "call_id"));  // the header row

  auto refused = f.Post("/switchboard.billing.v1.BillingService/DownloadInvoice",
                        R"({"invoiceId": "not an id"})", kSupervisor);
  CHECK(refused.status == 400);
  CHECK(CodeIn(refused.body) == "invalid_argument");
}

TEST_CASE(
    "the event stream: a single-use ticket, live alerts with ids, resume with "
    "Last-Event-ID, refusals as JSON") {
  Fixture f(std::map<std::string, std::string>{{"gateway-sse-heartbeat", "1s"}});
  auto ticket = f.Post("/v1/events/tickets", "{}");
  INFO(ticket.body);
  REQUIRE(ticket.status == 200);
  std::string t = TicketFrom(ticket.body);

  std::string last;
  {
    StreamReader stream(f.port(), EventsRequest(t));
    REQUIRE(stream.WaitFor("event: reset"));
    CHECK(absl::StrContains(stream.Head(), "HTTP/1.1 200"));
    CHECK(absl::StrContains(stream.Head(), "text/event-stream"));
    CHECK(absl::StrContains(stream.Body(), "event: started\ndata: {"));
    PublishOffer(f.suite, "call-1", "ana");
    REQUIRE(stream.WaitFor("event: incoming_call"));
    CHECK(absl::StrContains(stream.Body(), "\"callId\":\"call-1\""));
    REQUIRE(stream.WaitFor(": heartbeat"));
    last = LastId(stream.Body());
    REQUIRE_FALSE(last.empty());

    // The ticket was spent.
    auto again = f.client.Send({.url = f.suite.gateway_url() + "/v1/events?ticket=" + t});
    REQUIRE(again.ok());
    CHECK(again->status == 401);
    CHECK(ReasonIn(again->body) == "STREAM_TICKET_INVALID");
  }
  // Missed while away, then resumed from the last id with a new ticket.
  PublishOffer(f.suite, "call-2", "ana");
  std::string t2 = TicketFrom(f.Post("/v1/events/tickets", "{}").body);
  StreamReader back(f.port(), EventsRequest(t2, last));
  REQUIRE(back.WaitFor("\"callId\":\"call-2\""));
  CHECK(absl::StrContains(back.Body(), "\"resumed\":true"));
  CHECK_FALSE(absl::StrContains(back.Body(), "call-1"));
  CHECK_FALSE(absl::StrContains(back.Body(), "event: reset"));

  // Refusals: no token for a ticket; an agent asking for the tenant-wide stream.
  CHECK(ReasonIn(f.Post("/v1/events/tickets", "{}", std::nullopt).body) == "TOKEN_MISSING");
  std::string wide = TicketFrom(f.Post("/v1/events/tickets", R"({"tenantWide": true})").body);
  auto refused = f.client.Send({.url = f.suite.gateway_url() + "/v1/events?ticket=" + wide});
  REQUIRE(refused.ok());
  CHECK(refused->status == 403);
  CHECK(ReasonIn(refused->body) == "SUPERVISOR_ROLE_REQUIRED");
  auto unknown = f.client.Send({.url = f.suite.gateway_url() + "/v1/events?ticket=forged"});
  REQUIRE(unknown.ok());
  CHECK(unknown->status == 401);

  // A drain tells an open stream why it ends, then ends the response.
  f.suite.Stop();
  REQUIRE(back.WaitFor("event: end"));
  CHECK(absl::StrContains(back.Body(), "SERVER_DRAINING"));
  CHECK(testing::Eventually([&] { return back.closed(); }));
}

TEST_CASE("CORS for configured origins only; a client over its rate gets 429") {
  Fixture f(std::map<std::string, std::string>{{"gateway-cors-origins", "https://console.example"},
                                               {"gateway-rate-limit", "5"}});
  const std::string path = "/switchboard.routing.v1.RoutingService/GetAgentAvailability";
  auto preflight = f.client.Send({.method = "OPTIONS",
                                  .url = f.suite.gateway_url() + path,
                                  .headers = {{"Origin", "https://console.example"},
                                              {"Access-Control-Request-Method", "POST"}}});
  REQUIRE(preflight.ok());
  CHECK(preflight->status == 204);
  CHECK(preflight->Header("access-control-allow-origin") == "https://console.example");
  CHECK(absl::StrContains(preflight->Header("access-control-allow-headers"), "authorization"));
  auto other = f.Post(path, "{}", kAna, {{"Origin", "https://evil.example"}});
  CHECK(other.Header("access-control-allow-origin").empty());

  int limited = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = f.Post(path, "{}", kAna, {{"Origin", "https://console.example"}});
    if (r.status == 429) {
      ++limited;
      CHECK(ReasonIn(r.body) == "RATE_LIMITED");
      CHECK_FALSE(r.Header("retry-after").empty());
    } else {
      CHECK(r.Header("access-control-allow-origin") == "https://console.example");
    }
  }
  CHECK(limited >= 15);  // a burst of 10, then 5 a second
}

TEST_CASE("a thousand idle or trickling clients do not keep ordinary requests waiting") {
  Fixture f;
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  const int per_kind = static_cast<int>(std::min<rlim_t>(500, (limit.rlim_cur - 300) / 4));
  REQUIRE(per_kind > 100);
  std::vector<int> fds;
  for (int i = 0; i < 2 * per_kind; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(f.port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    if (i % 2 == 1) {
      // Headers begun and never finished.
      std::string part = "POST /switchboard.calls.v1.CallsService/GetCall HTTP/1.1\r\nHost: a\r\n";
      REQUIRE(send(fd, part.data(), part.size(), MSG_NOSIGNAL) > 0);
    }
    fds.push_back(fd);
  }
  for (int i = 0; i < 50; ++i) {
    auto r = f.Post("/switchboard.routing.v1.RoutingService/GetAgentAvailability", "{}");
    REQUIRE(r.status == 200);
  }
  for (int fd : fds) close(fd);
}

TEST_CASE(
    "through the edge and meta-sim: two agents rung in their browsers, one answers, the "
    "other's card goes within a second") {
  Fixture f({}, /*meta_sim=*/true);
  const Who ben{.subject = "ben", .roles = {"agent"}};
  std::vector<std::unique_ptr<StreamReader>> streams;
  for (const Who& who : {kAna, ben}) {
    auto available = f.Post("/switchboard.routing.v1.RoutingService/SetAgentAvailability",
                            R"({"availability": "AVAILABILITY_AVAILABLE"})", who);
    REQUIRE(available.status == 200);
    std::string t = TicketFrom(f.Post("/v1/events/tickets", "{}", who).body);
    streams.push_back(std::make_unique<StreamReader>(f.port(), EventsRequest(t)));
    REQUIRE(streams.back()->WaitFor("event: reset"));
  }
  StreamReader& ana = *streams[0];
  StreamReader& ben_stream = *streams[1];

  sb::metasim::UserBehaviour caller;
  caller.name = "Carla Souza";
  f.suite.sim()->SetBehaviour("5511966880004", caller);
  REQUIRE(f.suite.sim()->PlaceUserCall("106540352242922", "5511966880004").ok());
  REQUIRE(ana.WaitFor("event: incoming_call"));
  REQUIRE(ben_stream.WaitFor("event: incoming_call"));
  CHECK(absl::StrContains(ben_stream.Body(), "\"displayName\":\"Carla Souza\""));
  std::string body = ana.Body();
  const std::string key = "\"callId\":\"";
  size_t at = body.find(key, body.find("event: incoming_call")) + key.size();
  const std::string call_id = body.substr(at, body.find('"', at) - at);

  auto answered =
      f.Post("/switchboard.calls.v1.CallsService/AnswerCall",
             absl::StrCat(R"({"callId": ")", call_id,
                          R"(", "sdpAnswer": "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\n)"
                          R"(m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"})"));
  INFO(answered.body);
  REQUIRE(answered.status == 200);
  const absl::Time at_answer = absl::Now();
  REQUIRE(ben_stream.WaitFor("WITHDRAWN_REASON_ANSWERED_ELSEWHERE", absl::Seconds(5)));
  CHECK(absl::Now() - at_answer < absl::Seconds(1));
  REQUIRE(ana.WaitFor("WITHDRAWN_REASON_ANSWERED_HERE"));
  REQUIRE(ana.WaitFor("CALL_STATE_ANSWERED"));
  // ben was never on the call: no call state of it reaches his stream.
  CHECK_FALSE(absl::StrContains(ben_stream.Body(), "CALL_STATE_ANSWERED"));
}
