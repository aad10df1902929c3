#include "libs/http/server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/error.h"
#include "libs/core/log.h"

namespace switchboard::http {

struct RouteBinding {
  Server* server;
  const Route* route;
};

namespace {

int HandleRoute(mg_connection* conn, void* cbdata) {
  auto* binding = static_cast<RouteBinding*>(cbdata);
  return binding->server->Dispatch(conn, *binding->route);
}

int LogMessage(const mg_connection*, const char* message) {
  log::Warning("http server", {{"detail", message}});
  return 1;  // handled: civetweb prints nothing itself
}

void InitLibraryOnce() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(0); });
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "";
  }
}

}  // namespace

std::optional<std::string> Request::Header(absl::string_view name) const {
  if (conn_ == nullptr) return std::nullopt;
  const char* v = mg_get_header(conn_, std::string(name).c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::optional<std::string> Request::QueryParam(absl::string_view name) const {
  std::string out(query_.size() + 1, '\0');
  int n =
      mg_get_var(query_.data(), query_.size(), std::string(name).c_str(), out.data(), out.size());
  if (n < 0) return std::nullopt;
  out.resize(n);
  return out;
}

void Send(mg_connection* conn, const Response& response) {
  // Status line and headers written by hand: civetweb's own helpers in 1.15 do not take a
  // body length for every status, and keep-alive needs Content-Length.
  std::string head = absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status),
                                  "\r\nContent-Type: ", response.content_type,
                                  "\r\nContent-Length: ", response.body.size(), "\r\n");
  for (const auto& [k, v] : response.headers) absl::StrAppend(&head, k, ": ", v, "\r\n");
  head += "\r\n";
  head += response.body;
  mg_write(conn, head.data(), head.size());
}

Server::Server(ServerOptions options, std::vector<Route> routes)
    : options_(std::move(options)), routes_(std::move(routes)) {}

Server::~Server() { Stop(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                                      std::vector<Route> routes) {
  InitLibraryOnce();
  if (options.threads < 1) return core::InvalidArgument("INVALID_OPTION", "threads must be >= 1");
  std::unique_ptr<Server> server(new Server(std::move(options), std::move(routes)));
  const ServerOptions& o = server->options_;
  std::string ports = absl::StrCat(o.host, ":", o.port);
  std::string threads = absl::StrCat(o.threads);
  std::string request_timeout = absl::StrCat(absl::ToInt64Milliseconds(o.request_timeout));
  std::string keep_alive = absl::StrCat(absl::ToInt64Milliseconds(o.keep_alive_timeout));
  const char* mg_options[] = {"listening_ports",
                              ports.c_str(),
                              "num_threads",
                              threads.c_str(),
                              "request_timeout_ms",
                              request_timeout.c_str(),
                              "keep_alive_timeout_ms",
                              keep_alive.c_str(),
                              "enable_keep_alive",
                              "yes",
                              "tcp_nodelay",
                              "1",
                              nullptr};
  mg_callbacks callbacks{};
  callbacks.log_message = LogMessage;
  server->ctx_ = mg_start(&callbacks, server.get(), mg_options);
  if (server->ctx_ == nullptr) {
    return core::Unavailable("HTTP_LISTEN_FAILED",
                             absl::StrCat("cannot listen on ", ports, " (in use?)"));
  }
  mg_server_port bound[4]{};
  int n = mg_get_server_ports(server->ctx_, 4, bound);
  if (n < 1)
    return core::Error(absl::StatusCode::kInternal, "HTTP_LISTEN_FAILED", "no listening port");
  server->port_ = bound[0].port;
  // The bindings live as long as the server; routes_ is never resized after this.
  for (const Route& route : server->routes_) {
    auto* binding = new RouteBinding{server.get(), &route};
    mg_set_request_handler(server->ctx_, route.path_prefix.c_str(), HandleRoute, binding);
    server->bindings_.emplace_back(binding);
  }
  return server;
}

void Server::Stop() {
  if (ctx_ == nullptr) return;
  // civetweb's listener notices the stop flag only when its poll wakes (up to a second or
  // more): knock on the port until mg_stop returns.
  std::atomic<bool> stopped{false};
  std::thread knock([&] {
    while (!stopped.load()) {
      int fd = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(static_cast<uint16_t>(port_));
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      (void)connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      close(fd);
      absl::SleepFor(absl::Milliseconds(20));
    }
  });
  mg_stop(ctx_);
  stopped = true;
  knock.join();
  ctx_ = nullptr;
}

int Server::Dispatch(mg_connection* conn, const Route& route) {
  const mg_request_info* info = mg_get_request_info(conn);
  std::string method = info->request_method ? info->request_method : "";
  std::string path = info->local_uri ? info->local_uri : "";
  std::string query = info->query_string ? info->query_string : "";
  std::string remote = info->remote_addr;

  auto refuse = [&](int status, std::string body) {
    // Counted before the answer leaves, so whoever reads the count after the answer sees it.
    if (options_.on_refusal) options_.on_refusal(status);
    Response r = Response::Text(status, std::move(body));
    r.headers.emplace_back("Connection", "close");
    Send(conn, r);
    return status;
  };

  std::string body;
  if (info->content_length > options_.max_body_bytes) {
    refusals_.too_large++;
    return refuse(413, "body too large\n");
  }
  if (info->content_length > 0) {
    body.resize(static_cast<size_t>(info->content_length));
    size_t got = 0;
    while (got < body.size()) {
      int n = mg_read(conn, body.data() + got, body.size() - got);
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    if (got < body.size()) {
      refusals_.truncated++;
      return refuse(400, "truncated body\n");
    }
  } else if (info->content_length < 0 && method != "GET" && method != "HEAD") {
    // Chunked or close-delimited: read up to the limit.
    char buf[16384];
    for (;;) {
      int n = mg_read(conn, buf, sizeof buf);
      if (n <= 0) break;
      body.append(buf, static_cast<size_t>(n));
      if (static_cast<int64_t>(body.size()) > options_.max_body_bytes) {
        refusals_.too_large++;
        return refuse(413, "body too large\n");
      }
    }
  }

  Request request(conn, std::move(method), std::move(path), std::move(query), std::move(body),
                  std::move(remote));
  Response response;
  try {
    response = route.handler(request);
  } catch (const std::exception& e) {
    log::Error("http handler threw", {{"path", request.path()}, {"what", e.what()}});
    response = Response::Text(500, "internal error\n");
  }
  Send(conn, response);
  return response.status;
}

}  // namespace switchboard::http
