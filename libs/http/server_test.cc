#include "libs/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>

#include "libs/http/client.h"
#include "tests/support/servers.h"

namespace switchboard::http {
namespace {

std::unique_ptr<Server> Echo(ServerOptions options = {}) {
  options.host = "127.0.0.1";
  options.threads = 4;
  auto server =
      Server::Start(std::move(options), {{"/echo", [](const Request& r) {
                                            Response out = Response::Text(
                                                200, r.method() + " " + r.path() + " " + r.body());
                                            if (auto c = r.QueryParam("c")) out.body += " c=" + *c;
                                            if (auto h = r.Header("x-thing"))
                                              out.body += " h=" + *h;
                                            return out;
                                          }}});
  REQUIRE(server.ok());
  return std::move(*server);
}

std::string Url(const Server& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

TEST_CASE("handlers get method, decoded path, query, headers and the exact body") {
  auto server = Echo();
  Client client;
  auto r = client.Send({.method = "POST",
                        .url = Url(*server, "/echo/x%20y?c=a%2Bb"),
                        .headers = {{"X-Thing", "t1"}},
                        .body = std::string("raw\0body", 8)});
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == "POST /echo/x y " + std::string("raw\0body", 8) + " c=a+b h=t1");
  CHECK(r->Header("content-type") == "text/plain; charset=utf-8");
}

TEST_CASE("unrouted paths are 404 and connections are reused") {
  auto server = Echo();
  Client client;
  auto r = client.Send({.url = Url(*server, "/nothing")});
  REQUIRE(r.ok());
  CHECK(r->status == 404);
  for (int i = 0; i < 20; ++i) {
    auto ok = client.Send({.method = "POST", .url = Url(*server, "/echo"), .body = "b"});
    REQUIRE(ok.ok());
    CHECK(ok->status == 200);
  }
}

TEST_CASE("a body over the limit is refused with 413 before the handler runs") {
  std::atomic<int> statuses{0};
  auto server =
      Echo({.max_body_bytes = 1024, .on_refusal = [&](int status) { statuses += status; }});
  Client client;
  auto r =
      client.Send({.method = "POST", .url = Url(*server, "/echo"), .body = std::string(1025, 'x')});
  REQUIRE(r.ok());
  CHECK(r->status == 413);
  CHECK(server->refusals().too_large == 1);
  CHECK(statuses == 413);
  auto fits =
      client.Send({.method = "POST", .url = Url(*server, "/echo"), .body = std::string(1024, 'x')});
  REQUIRE(fits.ok());
  CHECK(fits->status == 200);
}

TEST_CASE("a chunked body over the limit is refused too") {
  auto server = Echo({.max_body_bytes = 10});
  std::string reply =
      testing::SendRaw(server->port(),
                       "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n");
  CHECK(reply.rfind("HTTP/1.1 413", 0) == 0);
}

TEST_CASE("a body shorter than its Content-Length is refused with 400") {
  auto server = Echo();
  std::string reply = testing::SendRaw(
      server->port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nshort");
  CHECK(reply.rfind("HTTP/1.1 400", 0) == 0);
  CHECK(server->refusals().truncated == 1);
}

TEST_CASE("a client that stalls is disconnected after the request timeout") {
  auto server = Echo({.request_timeout = absl::Milliseconds(200)});
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(server->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::string partial = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc";
  REQUIRE(write(fd, partial.data(), partial.size()) > 0);
  // The server gives up on the body and answers (400) or closes; either way read() returns
  // without us sending the rest. A 10 s guard keeps a broken timeout from hanging the test.
  timeval guard{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  std::string out;
  char buf[512];
  ssize_t n;
  absl::Time began = absl::Now();
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  close(fd);
  CHECK(absl::Now() - began < absl::Seconds(9));
  CHECK((out.empty() || out.rfind("HTTP/1.1 400", 0) == 0));
}

TEST_CASE("a port in use is a clear error") {
  auto first = Echo();
  auto second = Server::Start({.host = "127.0.0.1", .port = first->port()}, {});
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("the client reports transport failures as UNAVAILABLE") {
  int port;
  {
    auto s = Echo();
    port = s->port();
  }
  Client client;
  auto r = client.Send({.url = "http://127.0.0.1:" + std::to_string(port) + "/echo"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace switchboard::http
