// A small asynchronous HTTP/1.1 server over Boost.Beast (ADR 0013) for the webhook edge, the
// Meta simulator, their benchmarks and the browser gateway. A few I/O threads read and write
// every connection; a handler gets the complete, size-checked body and runs on a separate,
// bounded worker pool, so it may block (e.g. on a Kafka delivery report) while idle and slow
// connections hold only their socket and buffer, never a thread.
//
//   ASSIGN_OR_RETURN(auto server, http::Server::Start(
//       {.port = 8080, .max_body_bytes = 3 << 20},
//       {{"/webhooks/whatsapp", [&](const http::Request& r) { return edge.Handle(r); }}}));
//
// A request must arrive whole (headers and body) within `request_timeout` of its first byte,
// however it trickles in; bodies over `max_body_bytes` are refused with 413 before they are
// read, headers over `max_header_bytes` with 431; a body shorter than its Content-Length is
// answered 400 without calling the handler.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace switchboard::http {

class Request {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;

  Request(std::string method, std::string path, std::string query, std::string body,
          std::string remote_addr, Headers headers = {})
      : method_(std::move(method)),
        path_(std::move(path)),
        query_(std::move(query)),
        body_(std::move(body)),
        remote_addr_(std::move(remote_addr)),
        headers_(std::move(headers)) {}

  const std::string& method() const { return method_; }
  // URL-decoded path, without the query string, dot segments removed.
  const std::string& path() const { return path_; }
  // Raw (still encoded) query string.
  const std::string& query() const { return query_; }
  // The exact bytes received (signatures are computed over these).
  const std::string& body() const { return body_; }
  const std::string& remote_addr() const { return remote_addr_; }
  // Every header as received, in order.
  const Headers& headers() const { return headers_; }

  // First header with this case-insensitive name.
  std::optional<std::string> Header(absl::string_view name) const;
  // Decoded query parameter ('+' is a space), e.g. QueryParam("hub.challenge").
  std::optional<std::string> QueryParam(absl::string_view name) const;

 private:
  std::string method_;
  std::string path_;
  std::string query_;
  std::string body_;
  std::string remote_addr_;
  Headers headers_;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static Response Text(int status, std::string body) {
    return {.status = status, .body = std::move(body)};
  }
  static Response Json(int status, std::string body) {
    return {.status = status, .content_type = "application/json", .body = std::move(body)};
  }
};

using Handler = std::function<Response(const Request&)>;

struct Route {
  // Matches this path and everything under it ("/a" matches "/a" and "/a/b", not "/ab");
  // the longest matching prefix wins.
  std::string path_prefix;
  Handler handler;
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;  // 0: any free port; see Server::port()
  // Handlers running at once (the worker pool). Requests beyond wait, read and holding no thread.
  int threads = 64;
  // Threads doing all socket I/O; they never run handlers.
  int io_threads = 2;
  // A request's headers and body must have arrived this long after its first byte, however
  // slowly they trickle in; past it the connection is closed without an answer. Also bounds
  // writing each response.
  absl::Duration request_timeout = absl::Seconds(10);
  // A connection with no request under way (new, or between requests) is closed after this.
  absl::Duration keep_alive_timeout = absl::Seconds(30);
  int64_t max_body_bytes = 3 << 20;
  // The request line and headers; more is answered 431.
  int64_t max_header_bytes = 16 << 10;
  // Connections open at once; a new one beyond this is closed as soon as it is accepted.
  int max_connections = 10000;
  // Called when a request is refused before its handler runs: 413 too large, 400 truncated
  // body, 431 headers too large, 408 not whole within request_timeout (no answer is sent for
  // that one). For the owner's metrics; runs on an I/O thread, so it must not block. May be
  // empty.
  std::function<void(int status)> on_refusal;
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options,
                                                       std::vector<Route> routes);
  ~Server();  // Stop()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int port() const { return port_; }
  // Stops accepting, lets running handlers finish (and their answers go out), drops requests
  // still waiting for a worker, closes every connection. Idempotent; not from a handler.
  void Stop();

  // Counts of requests refused before a handler ran, by cause (for tests and metrics).
  struct Refusals {
    std::atomic<int64_t> too_large{0};         // 413
    std::atomic<int64_t> truncated{0};         // 400: the client closed before the whole body
    std::atomic<int64_t> header_too_large{0};  // 431
    std::atomic<int64_t> timed_out{0};         // not whole within request_timeout: closed
    std::atomic<int64_t> malformed{0};         // 400: not HTTP/1.x that the parser accepts
    std::atomic<int64_t> over_capacity{0};     // connections closed at once: max_connections
  };
  const Refusals& refusals() const { return refusals_; }
  // Connections open now.
  int64_t connections() const;

  class Impl;  // libs/http/server.cc only

 private:
  Server() = default;

  int port_ = 0;
  Refusals refusals_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::http
