#include "libs/http/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <semaphore>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/notification.h"
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

// A blocking loopback connection, or -1. `receive_buffer` (bytes) if set shrinks the socket's
// receive buffer, so that a client that does not read fills up sooner.
int Connect(int port, int receive_buffer = 0) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (receive_buffer > 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& bytes) {
  return send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

// The server has neither closed nor answered `fd`.
bool IsOpen(int fd) {
  char c;
  return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// The server closed `fd` (end of stream or reset).
bool IsClosed(int fd) {
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

// Reads until `needle` has arrived, the server closes, or 10 s pass.
std::string ReadUntil(int fd, const std::string& needle) {
  timeval guard{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &guard, sizeof guard);
  std::string out;
  char buf[1024];
  while (!absl::StrContains(out, needle)) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

using Produce = std::function<void(std::shared_ptr<ResponseStream>)>;

// "/stream" answers `status` with `body` and then `produce`'s stream; "/echo" echoes.
std::unique_ptr<Server> Streaming(Produce produce, ServerOptions options = {}, int status = 200,
                                  std::string body = "") {
  options.host = "127.0.0.1";
  options.threads = 2;
  auto server =
      Server::Start(std::move(options), {{"/stream",
                                          [=](const Request&) {
                                            return Response{.status = status,
                                                            .content_type = "text/event-stream",
                                                            .body = body,
                                                            .stream = produce};
                                          }},
                                         {"/echo", [](const Request& r) {
                                            return Response::Text(200, r.method() + " " + r.body());
                                          }}});
  REQUIRE(server.ok());
  return std::move(*server);
}

// Threads that producers start, joined at the end of a test. Declared before the server, so
// that the server stops (and ends their streams) first.
class Producers {
 public:
  ~Producers() {
    std::vector<std::thread> threads;
    {
      std::lock_guard<std::mutex> lock(mu_);
      threads.swap(threads_);
    }
    for (std::thread& t : threads) t.join();
  }
  void Run(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back(std::move(fn));
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

// A producer's stream as the test sees it: kept, and its end noticed.
struct Watched {
  std::shared_ptr<ResponseStream> stream;
  absl::Notification started;  // `stream` is set
  absl::Notification closed;   // its OnClose ran

  // Keeps `out`, after writing `first` to it.
  void Keep(std::shared_ptr<ResponseStream> out, const std::string& first) {
    out->OnClose([this] { closed.Notify(); });
    if (!first.empty()) out->Write(first);
    stream = std::move(out);
    started.Notify();
  }
};

// The status line and headers, and what follows them.
struct Reply {
  std::string head;
  std::string body;
};

Reply SplitReply(const std::string& raw) {
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return {raw, ""};
  return {raw.substr(0, end + 4), raw.substr(end + 4)};
}

// A chunked body's pieces; `complete` when the last (empty) chunk ended it, `rest` what follows.
struct Chunks {
  std::vector<std::string> pieces;
  bool complete = false;
  std::string rest;
};

Chunks DecodeChunks(absl::string_view body) {
  Chunks out;
  for (;;) {
    size_t eol = body.find("\r\n");
    size_t size = 0;
    if (eol == absl::string_view::npos || !absl::SimpleHexAtoi(body.substr(0, eol), &size)) break;
    body.remove_prefix(eol + 2);
    if (size == 0) {
      out.complete = absl::StartsWith(body, "\r\n");
      if (out.complete) body.remove_prefix(2);
      break;
    }
    if (body.size() < size + 2 || body.substr(size, 2) != "\r\n") break;
    out.pieces.emplace_back(body.substr(0, size));
    body.remove_prefix(size + 2);
  }
  out.rest = std::string(body);
  return out;
}

bool HasHeader(const std::string& head, const std::string& lower_name) {
  return absl::StrContains(absl::AsciiStrToLower(head), "\r\n" + lower_name + ":");
}

// Raises the soft limit on open files to the hard limit; returns the soft limit now in force.
int64_t RaiseFileLimit() {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? 1 << 20 : limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return static_cast<int64_t>(limit.rlim_cur);
}

// Connections that hold a server's attention without ever finishing a request: `idle` ones
// connect and send nothing; `trickling` ones send a request's headers and then one body byte
// a second (the slow-client attack that held civetweb's threads).
class SlowClients {
 public:
  SlowClients(int port, int idle, int trickling) {
    for (int i = 0; i < idle; ++i) idle_.push_back(Connect(port));
    for (int i = 0; i < trickling; ++i) {
      int fd = Connect(port);
      if (fd >= 0 &&
          !SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nx")) {
        close(fd);
        fd = -1;
      }
      trickling_.push_back(fd);
    }
    last_started_ = absl::Now();
    trickler_ = std::thread([this] { Trickle(); });
  }
  ~SlowClients() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    trickler_.join();
    for (int fd : idle_) close(fd);
    for (int fd : trickling_) close(fd);
  }

  bool connected() const {
    for (const auto* fds : {&idle_, &trickling_}) {
      for (int fd : *fds) {
        if (fd < 0) return false;
      }
    }
    return true;
  }
  // When the last trickling request began.
  absl::Time last_started() const { return last_started_; }
  // Rounds of one byte to every trickling connection so far.
  int rounds() const { return rounds_.load(); }
  int OpenIdle() const { return Count(idle_, IsOpen); }
  int OpenTrickling() const { return Count(trickling_, IsOpen); }
  int ClosedTrickling() const { return Count(trickling_, IsClosed); }

 private:
  static int Count(const std::vector<int>& fds, bool (*test)(int)) {
    int n = 0;
    for (int fd : fds) n += test(fd) ? 1 : 0;
    return n;
  }

  void Trickle() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      for (int fd : trickling_) send(fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      rounds_++;
    }
  }

  std::vector<int> idle_;
  std::vector<int> trickling_;
  absl::Time last_started_;
  std::atomic<int> rounds_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread trickler_;
};

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

TEST_CASE("a Request built by hand answers Header and QueryParam") {
  Request r("GET", "/p", "a=1&b=x%20y+z&flag&a=2&c%2Ed=e", "", "10.0.0.1", {{"X-Thing", "t"}});
  CHECK(r.Header("x-thing") == "t");
  CHECK_FALSE(r.Header("x-other"));
  CHECK(r.QueryParam("a") == "1");
  CHECK(r.QueryParam("b") == "x y z");
  CHECK(r.QueryParam("c.d") == "e");
  CHECK_FALSE(r.QueryParam("flag"));
  CHECK_FALSE(r.QueryParam("z"));
  CHECK(r.remote_addr() == "10.0.0.1");
}

TEST_CASE("paths are decoded and normalised before routing; routes match whole segments") {
  auto server = Echo();
  std::string reply = testing::SendRaw(
      server->port(), "GET /nothing/../echo/%2e%2e/echo/a%2Fb+c HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(absl::StrContains(reply, "GET /echo/a/b+c "));
  std::string other = testing::SendRaw(server->port(), "GET /echoes HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(other.rfind("HTTP/1.1 404", 0) == 0);
}

TEST_CASE("pipelined requests are answered in order") {
  auto server = Echo();
  std::string reply =
      testing::SendRaw(server->port(),
                       "POST /echo/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na"
                       "POST /echo/2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nb");
  size_t first = reply.find("POST /echo/1 a");
  size_t second = reply.find("POST /echo/2 b");
  CHECK(first != std::string::npos);
  CHECK(second != std::string::npos);
  CHECK(first < second);
}

TEST_CASE("Expect: 100-continue is answered before the body is sent") {
  auto server = Echo();
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd,
                  "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  "Content-Length: 4\r\n\r\n"));
  CHECK(ReadUntil(fd, "\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n");
  REQUIRE(SendAll(fd, "body"));
  std::string reply = ReadUntil(fd, "POST /echo body");
  close(fd);
  CHECK(reply.rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("headers over the limit (16 KiB by default) are answered 431") {
  std::atomic<int> statuses{0};
  auto server = Echo({.on_refusal = [&](int status) { statuses += status; }});
  Client client;
  auto fits = client.Send({.method = "POST",
                           .url = Url(*server, "/echo"),
                           .headers = {{"X-Thing", std::string(12000, 'a')}},
                           .body = "b"});
  REQUIRE(fits.ok());
  CHECK(fits->status == 200);
  std::string reply = testing::SendRaw(
      server->port(),
      "GET /echo HTTP/1.1\r\nHost: x\r\nX-Thing: " + std::string(20000, 'a') + "\r\n\r\n");
  CHECK(reply.rfind("HTTP/1.1 431", 0) == 0);
  CHECK(server->refusals().header_too_large == 1);
  CHECK(statuses == 431);
}

TEST_CASE("an idle connection is closed after the keep-alive timeout, without a refusal") {
  auto server = Echo({.keep_alive_timeout = absl::Milliseconds(200)});
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  absl::Time began = absl::Now();
  CHECK(ReadUntil(fd, "never").empty());
  close(fd);
  CHECK(absl::Now() - began >= absl::Milliseconds(150));
  CHECK(absl::Now() - began < absl::Seconds(9));
  CHECK(server->refusals().timed_out == 0);
}

TEST_CASE("connections beyond max_connections are closed at once") {
  auto server = Echo({.max_connections = 2});
  int a = Connect(server->port());
  int b = Connect(server->port());
  REQUIRE(testing::Eventually([&] { return server->connections() == 2; }));
  int c = Connect(server->port());
  REQUIRE(c >= 0);
  absl::Time began = absl::Now();
  CHECK(ReadUntil(c, "never").empty());
  CHECK(absl::Now() - began < absl::Seconds(9));
  CHECK(server->refusals().over_capacity == 1);
  close(a);
  REQUIRE(testing::Eventually([&] { return server->connections() == 1; }));
  Client client;
  auto r = client.Send({.method = "POST", .url = Url(*server, "/echo"), .body = "b"});
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  close(b);
  close(c);
}

TEST_CASE("handlers that block hold workers, not the reading of other connections") {
  std::counting_semaphore<8> permits(0);
  std::atomic<int> blocked{0};
  auto started =
      Server::Start({.host = "127.0.0.1", .threads = 4, .max_body_bytes = 1024},
                    {{"/block",
                      [&](const Request&) {
                        blocked++;
                        bool released = permits.try_acquire_for(std::chrono::seconds(10));
                        return Response::Text(200, released ? "released" : "not released");
                      }},
                     {"/echo", [](const Request& r) { return Response::Text(200, r.body()); }}});
  REQUIRE(started.ok());
  Server& server = **started;
  std::atomic<int> answered{0};
  std::vector<std::thread> blockers;
  for (int i = 0; i < 4; ++i) {
    blockers.emplace_back([&] {
      Client client;
      auto r = client.Send({.method = "POST", .url = Url(server, "/block"), .body = "b"});
      if (r.ok() && r->status == 200 && r->body == "released") answered++;
    });
  }
  REQUIRE(testing::Eventually([&] { return blocked == 4; }));

  // Every worker is taken, yet new connections are still read: refusals and unrouted paths
  // need no worker.
  CHECK(testing::SendRaw(server.port(), "GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
            .rfind("HTTP/1.1 404", 0) == 0);
  CHECK(testing::SendRaw(server.port(),
                         "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n")
            .rfind("HTTP/1.1 413", 0) == 0);
  // A fifth request is read now and waits for a worker, holding none.
  auto fifth = std::async(std::launch::async, [&] {
    Client client;
    return client.Send({.method = "POST", .url = Url(server, "/echo"), .body = "fifth"});
  });
  CHECK(fifth.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready);
  permits.release(1);
  REQUIRE(fifth.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto r = fifth.get();
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == "fifth");
  permits.release(3);
  for (std::thread& t : blockers) t.join();
  CHECK(answered == 4);
}

TEST_CASE("Stop lets a running handler answer, closes idle connections and is idempotent") {
  absl::Notification release;
  std::atomic<bool> entered{false};
  auto started = Server::Start({.host = "127.0.0.1", .threads = 2},
                               {{"/slow", [&](const Request&) {
                                   entered = true;
                                   release.WaitForNotificationWithTimeout(absl::Seconds(10));
                                   return Response::Text(200, "done");
                                 }}});
  REQUIRE(started.ok());
  Server& server = **started;
  int port = server.port();
  int idle = Connect(port);
  REQUIRE(idle >= 0);
  REQUIRE(testing::Eventually([&] { return server.connections() == 1; }));
  auto answer = std::async(std::launch::async, [&] {
    Client client;
    return client.Send({.method = "POST", .url = Url(server, "/slow"), .body = "b"});
  });
  REQUIRE(testing::Eventually([&] { return entered.load(); }));

  auto stopped = std::async(std::launch::async, [&] { server.Stop(); });
  // It stops accepting at once, but waits for the handler.
  CHECK(testing::Eventually([&] {
    int fd = Connect(port);
    if (fd < 0) return true;
    close(fd);
    return false;
  }));
  CHECK(stopped.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready);
  release.Notify();
  REQUIRE(stopped.wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  auto r = answer.get();
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->body == "done");
  CHECK(r->Header("connection") == "close");
  CHECK(IsClosed(idle));
  close(idle);
  absl::Time again = absl::Now();
  server.Stop();
  CHECK(absl::Now() - again < absl::Milliseconds(100));
  CHECK(server.connections() == 0);
}

TEST_CASE("a thousand slow connections do not keep ordinary requests waiting") {
  int64_t files = RaiseFileLimit();
  // Each connection costs two descriptors here (client and server end).
  int per_kind = static_cast<int>(std::min<int64_t>(500, (files - 200) / 4));
  if (per_kind < 500) WARN("RLIMIT_NOFILE " << files << ": " << per_kind << " of each kind");
  REQUIRE(per_kind > 0);
  auto started = Server::Start({.host = "127.0.0.1"}, {{"/echo", [](const Request& r) {
                                                          return Response::Text(
                                                              200, std::to_string(r.body().size()));
                                                        }}});
  REQUIRE(started.ok());
  Server& server = **started;
  REQUIRE(server.refusals().timed_out == 0);

  SlowClients slow(server.port(), per_kind, per_kind);
  REQUIRE(slow.connected());
  REQUIRE(testing::Eventually([&] { return server.connections() == 2 * per_kind; }));
  // The trickling requests are under way: at least one byte of body each after the first.
  REQUIRE(testing::Eventually([&] { return slow.rounds() >= 1; }));

  Client client;
  for (int i = 0; i < 50; ++i) {
    auto r = client.Send({.method = "POST",
                          .url = Url(server, "/echo"),
                          .body = std::string(1024, 'b'),
                          .timeout = absl::Seconds(2)});
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    CHECK(r->body == "1024");
  }
  // All of them were open throughout: nothing is cut before request_timeout (10 s).
  REQUIRE(absl::Now() - slow.last_started() < absl::Seconds(9));
  CHECK(server.connections() >= 2 * per_kind);
  CHECK(slow.OpenIdle() == per_kind);
  CHECK(slow.OpenTrickling() == per_kind);
  CHECK(server.refusals().timed_out == 0);
}

TEST_CASE("trickling requests are cut after request_timeout; idle connections stay") {
  int64_t files = RaiseFileLimit();
  int per_kind = static_cast<int>(std::min<int64_t>(500, (files - 200) / 4));
  REQUIRE(per_kind > 0);
  std::atomic<int> timeouts{0};
  auto started = Server::Start({.host = "127.0.0.1",
                                .request_timeout = absl::Seconds(2),
                                .on_refusal =
                                    [&](int status) {
                                      if (status == 408) timeouts++;
                                    }},
                               {{"/echo", [](const Request&) { return Response::Text(200, ""); }}});
  REQUIRE(started.ok());
  Server& server = **started;

  SlowClients slow(server.port(), per_kind, per_kind);
  REQUIRE(slow.connected());
  REQUIRE(testing::Eventually([&] { return slow.ClosedTrickling() == per_kind; }));
  // Not before the deadline: the last one began at most this long ago.
  CHECK(absl::Now() - slow.last_started() >= absl::Milliseconds(1900));
  CHECK(absl::Now() - slow.last_started() < absl::Seconds(8));
  CHECK(server.refusals().timed_out == per_kind);
  CHECK(timeouts == per_kind);
  // Connections with no request under way wait for keep_alive_timeout (30 s).
  CHECK(slow.OpenIdle() == per_kind);
  CHECK(server.connections() == per_kind);
}

TEST_CASE("a streamed response arrives in chunks written from another thread, then keep-alive") {
  Producers producers;
  std::atomic<int> calls{0};
  absl::Notification finished;
  auto server = Streaming(
      [&](std::shared_ptr<ResponseStream> out) {
        calls++;
        out->OnClose([&] { finished.Notify(); });
        producers.Run([out] {
          for (const char* piece : {"data: one\n\n", "data: two\n\n", "data: three\n\n"}) {
            out->Write(piece);
          }
          out->Finish();
          out->Finish();
        });
      },
      {}, 200, "retry: 1000\n\n");
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  Reply reply = SplitReply(ReadUntil(fd, "\r\n0\r\n\r\n"));
  CHECK(reply.head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(absl::StrContains(reply.head, "\r\nTransfer-Encoding: chunked\r\n"));
  CHECK(absl::StrContains(reply.head, "\r\nContent-Type: text/event-stream\r\n"));
  CHECK_FALSE(HasHeader(reply.head, "content-length"));
  CHECK_FALSE(HasHeader(reply.head, "connection"));
  Chunks chunks = DecodeChunks(reply.body);
  CHECK(chunks.complete);
  CHECK(chunks.pieces == std::vector<std::string>{"retry: 1000\n\n", "data: one\n\n",
                                                  "data: two\n\n", "data: three\n\n"});
  CHECK(chunks.rest.empty());
  CHECK(finished.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(calls == 1);
  CHECK(server->streams() == 0);

  // The same connection takes the next request.
  REQUIRE(SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext"));
  std::string next = ReadUntil(fd, "POST next");
  CHECK(next.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(absl::StrContains(next, "POST next"));
  close(fd);
  CHECK(server->slow_streams() == 0);
}

TEST_CASE("a request sent while a response streams is answered after it") {
  Producers producers;
  absl::Notification go;
  auto server = Streaming([&](std::shared_ptr<ResponseStream> out) {
    out->Write("one");
    producers.Run([&, out] {
      go.WaitForNotificationWithTimeout(absl::Seconds(10));
      out->Write("two");
      out->Finish();
    });
  });
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(absl::StrContains(ReadUntil(fd, "one\r\n"), "one\r\n"));
  CHECK(server->streams() == 1);
  REQUIRE(SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext"));
  go.Notify();
  Chunks chunks = DecodeChunks(ReadUntil(fd, "POST next"));
  close(fd);
  CHECK(chunks.pieces == std::vector<std::string>{"two"});
  CHECK(chunks.complete);
  CHECK(chunks.rest.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(absl::StrContains(chunks.rest, "POST next"));
}

TEST_CASE("a client that leaves mid-stream ends the stream, though nothing is being written") {
  Watched watched;
  auto server = Streaming([&](std::shared_ptr<ResponseStream> out) { watched.Keep(out, "hi"); });
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(absl::StrContains(ReadUntil(fd, "hi\r\n"), "hi\r\n"));
  REQUIRE(watched.started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(server->streams() == 1);
  CHECK_FALSE(watched.stream->closed());
  CHECK(watched.stream->Write(""));
  close(fd);
  REQUIRE(watched.closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(watched.stream->closed());
  CHECK_FALSE(watched.stream->Write("more"));
  CHECK_FALSE(watched.stream->Write(""));
  CHECK(server->streams() == 0);
  CHECK(server->slow_streams() == 0);
  // OnClose on a stream that has ended runs at once.
  bool late = false;
  watched.stream->OnClose([&] { late = true; });
  CHECK(late);
}

TEST_CASE("a client that does not read is cut once max_stream_buffer is exceeded") {
  constexpr int64_t kBound = 256 << 10;
  // Bounded, so that a server that ignores the bound fails the test instead of eating memory.
  constexpr int64_t kCap = 64 << 20;
  Producers producers;
  absl::Notification closed;
  std::atomic<int64_t> written{0};
  std::atomic<int64_t> most_queued{0};
  std::atomic<bool> refused{false};
  auto server = Streaming(
      [&](std::shared_ptr<ResponseStream> out) {
        out->OnClose([&] { closed.Notify(); });
        producers.Run([&, out] {
          const std::string piece(64 << 10, 'x');
          while (written < kCap) {
            if (!out->Write(piece)) {
              refused = true;
              return;
            }
            written += static_cast<int64_t>(piece.size());
            most_queued = std::max(most_queued.load(), out->queued_bytes());
          }
        });
      },
      {.max_stream_buffer = kBound});
  int fd = Connect(server->port(), /*receive_buffer=*/4096);
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(server->slow_streams() == 1);
  CHECK(server->streams() == 0);
  CHECK(testing::Eventually([&] { return refused.load(); }));
  CHECK(written < kCap);
  CHECK(most_queued > 0);
  CHECK(most_queued <= kBound);
  CHECK(testing::Eventually([&] { return server->connections() == 0; }));
  close(fd);
}

TEST_CASE("a stream write that does not complete within request_timeout cuts the client") {
  Watched watched;
  auto server =
      Streaming([&](std::shared_ptr<ResponseStream> out) { watched.Keep(out, "hi"); },
                {.request_timeout = absl::Milliseconds(300), .max_stream_buffer = 64 << 20});
  int fd = Connect(server->port(), /*receive_buffer=*/4096);
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(absl::StrContains(ReadUntil(fd, "hi\r\n"), "hi\r\n"));
  REQUIRE(watched.started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // Idle is not stalled: with nothing to write, the stream outlives request_timeout.
  CHECK_FALSE(watched.closed.WaitForNotificationWithTimeout(absl::Milliseconds(900)));
  // 16 MiB, well under the bound, that a client not reading cannot take.
  absl::Time flooded = absl::Now();
  const std::string piece(64 << 10, 'x');
  for (int i = 0; i < 256 && watched.stream->Write(piece); ++i) {
  }
  REQUIRE(watched.closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(absl::Now() - flooded >= absl::Milliseconds(250));
  CHECK(server->slow_streams() == 1);
  CHECK_FALSE(watched.stream->Write("more"));
  close(fd);
}

TEST_CASE("Stop closes an idle stream promptly and runs its OnClose") {
  Watched watched;
  auto server = Streaming([&](std::shared_ptr<ResponseStream> out) { watched.Keep(out, "hi"); });
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got = ReadUntil(fd, "hi\r\n");
  REQUIRE(watched.started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::Time began = absl::Now();
  server->Stop();
  // Well under Stop's 1 s grace for answers being written: the stream is closed, not waited for.
  CHECK(absl::Now() - began < absl::Milliseconds(800));
  CHECK(watched.closed.HasBeenNotified());
  CHECK_FALSE(watched.stream->Write("late"));
  CHECK(server->streams() == 0);
  // The client sees the connection end without the last chunk.
  got += ReadUntil(fd, "never");
  close(fd);
  Chunks chunks = DecodeChunks(SplitReply(got).body);
  CHECK(chunks.pieces == std::vector<std::string>{"hi"});
  CHECK_FALSE(chunks.complete);
}

TEST_CASE("HEAD on a streamed route gets the headers only; the producer gets an ended stream") {
  std::atomic<int> calls{0};
  std::atomic<bool> saw_closed{false};
  absl::Notification closed;
  auto server = Streaming([&](std::shared_ptr<ResponseStream> out) {
    calls++;
    saw_closed = out->closed();
    out->OnClose([&] { closed.Notify(); });
    out->Write("never sent");
    out->Finish();
  });
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "HEAD /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string head = ReadUntil(fd, "\r\n\r\n");
  CHECK(head.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(absl::StrContains(head, "\r\nTransfer-Encoding: chunked\r\n"));
  CHECK_FALSE(HasHeader(head, "content-length"));
  CHECK(absl::EndsWith(head, "\r\n\r\n"));
  CHECK(closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(saw_closed);
  CHECK(calls == 1);
  // Nothing followed the headers: the next answer starts right after them.
  REQUIRE(SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext"));
  std::string next = ReadUntil(fd, "POST next");
  close(fd);
  CHECK(next.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(server->streams() == 0);
}

TEST_CASE("a 204 on a streamed route is an ordinary empty answer") {
  std::atomic<bool> saw_closed{false};
  auto server = Streaming(
      [&](std::shared_ptr<ResponseStream> out) {
        saw_closed = out->closed();
        out->Write("never sent");
      },
      {}, 204);
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string head = ReadUntil(fd, "\r\n\r\n");
  CHECK(head.rfind("HTTP/1.1 204", 0) == 0);
  CHECK_FALSE(HasHeader(head, "transfer-encoding"));
  REQUIRE(SendAll(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nnext"));
  std::string next = ReadUntil(fd, "POST next");
  close(fd);
  CHECK(next.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(saw_closed);
}

TEST_CASE("Abort closes the connection without the last chunk") {
  Watched watched;
  auto server =
      Streaming([&](std::shared_ptr<ResponseStream> out) { watched.Keep(out, "partial"); });
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::string got = ReadUntil(fd, "partial\r\n");
  REQUIRE(watched.started.WaitForNotificationWithTimeout(absl::Seconds(10)));
  watched.stream->Abort();
  CHECK(watched.stream->closed());
  absl::Time began = absl::Now();
  got += ReadUntil(fd, "never");  // returns when the server closes
  CHECK(absl::Now() - began < absl::Seconds(9));
  close(fd);
  Chunks chunks = DecodeChunks(SplitReply(got).body);
  CHECK(chunks.pieces == std::vector<std::string>{"partial"});
  CHECK_FALSE(chunks.complete);
  CHECK(chunks.rest.empty());
  CHECK(watched.closed.WaitForNotificationWithTimeout(absl::Seconds(10)));
  CHECK(server->slow_streams() == 0);
}

TEST_CASE("an HTTP/1.0 client gets the raw bytes and the end of the connection") {
  Producers producers;
  auto server = Streaming([&](std::shared_ptr<ResponseStream> out) {
    producers.Run([out] {
      out->Write("one");
      out->Write("two");
      out->Finish();
    });
  });
  int fd = Connect(server->port());
  REQUIRE(fd >= 0);
  REQUIRE(SendAll(fd, "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
  absl::Time began = absl::Now();
  Reply reply = SplitReply(ReadUntil(fd, "never"));
  CHECK(absl::Now() - began < absl::Seconds(9));
  close(fd);
  CHECK(reply.head.rfind("HTTP/1.0 200", 0) == 0);
  CHECK_FALSE(HasHeader(reply.head, "transfer-encoding"));
  CHECK_FALSE(HasHeader(reply.head, "content-length"));
  CHECK(reply.body == "onetwo");
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
