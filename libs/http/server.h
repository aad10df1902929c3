// A small HTTP/1.1 server over civetweb (Debian's libcivetweb; ADR 0010) for the webhook edge,
// the Meta simulator and their benchmarks. Handlers receive the complete, size-checked body
// and return a response; civetweb runs them on its worker threads (one connection per thread),
// so a handler may block (e.g. on a Kafka delivery report).
//
//   ASSIGN_OR_RETURN(auto server, http::Server::Start(
//       {.port = 8080, .max_body_bytes = 3 << 20},
//       {{"/webhooks/whatsapp", [&](const http::Request& r) { return edge.Handle(r); }}}));
//
// Slow clients are cut off by `request_timeout` (per socket read/write); bodies over
// `max_body_bytes` are refused with 413 before they are read; a body shorter than its
// Content-Length is answered 400 without calling the handler.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct mg_connection;
struct mg_context;

namespace switchboard::http {

struct RouteBinding;

class Request {
 public:
  Request(mg_connection* conn, std::string method, std::string path, std::string query,
          std::string body, std::string remote_addr)
      : conn_(conn),
        method_(std::move(method)),
        path_(std::move(path)),
        query_(std::move(query)),
        body_(std::move(body)),
        remote_addr_(std::move(remote_addr)) {}

  const std::string& method() const { return method_; }
  // URL-decoded path, without the query string.
  const std::string& path() const { return path_; }
  // Raw (still encoded) query string.
  const std::string& query() const { return query_; }
  // The exact bytes received (signatures are computed over these).
  const std::string& body() const { return body_; }
  const std::string& remote_addr() const { return remote_addr_; }

  // Header value by case-insensitive name.
  std::optional<std::string> Header(absl::string_view name) const;
  // Decoded query parameter, e.g. QueryParam("hub.challenge").
  std::optional<std::string> QueryParam(absl::string_view name) const;

 private:
  mg_connection* conn_;  // null for requests built in tests
  std::string method_;
  std::string path_;
  std::string query_;
  std::string body_;
  std::string remote_addr_;
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
  // Matches this path and everything under it ("/a" matches "/a" and "/a/b").
  std::string path_prefix;
  Handler handler;
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;  // 0: any free port; see Server::port()
  // Worker threads = connections served at once (civetweb is thread-per-connection).
  int threads = 64;
  // Per socket read or write: a client slower than this is disconnected.
  absl::Duration request_timeout = absl::Seconds(5);
  absl::Duration keep_alive_timeout = absl::Seconds(30);
  int64_t max_body_bytes = 3 << 20;
  // Called when a request is refused before its handler runs (413 too large, 400 truncated
  // body), for the owner's metrics; may be empty.
  std::function<void(int status)> on_refusal;
};

class Server {
 public:
  static absl::StatusOr<std::unique_ptr<Server>> Start(ServerOptions options,
                                                       std::vector<Route> routes);
  ~Server();  // Stop()

  int port() const { return port_; }
  // Stops accepting, waits for running handlers, closes connections. Idempotent.
  void Stop();

  // Called by civetweb; not for users.
  int Dispatch(mg_connection* conn, const Route& route);
  // Counts of requests refused before a handler ran, by cause (for tests and metrics).
  struct Refusals {
    std::atomic<int64_t> too_large{0};
    std::atomic<int64_t> truncated{0};
  };
  const Refusals& refusals() const { return refusals_; }

 private:
  Server(ServerOptions options, std::vector<Route> routes);

  ServerOptions options_;
  std::vector<Route> routes_;
  std::vector<std::unique_ptr<RouteBinding>> bindings_;
  mg_context* ctx_ = nullptr;
  int port_ = 0;
  Refusals refusals_;
};

// Writes `response` on a civetweb connection (shared with code that drives civetweb itself).
void Send(mg_connection* conn, const Response& response);

}  // namespace switchboard::http
