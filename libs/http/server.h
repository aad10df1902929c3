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
//
// A response may instead be streamed (Server-Sent Events, downloads): the handler returns at
// once with `stream` set, and a producer writes the body later, from any thread:
//
//   return http::Response{.content_type = "text/event-stream",
//                         .stream = [&hub](auto out) { hub.Subscribe(std::move(out)); }};
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

// The body of a streamed response, written by its producer from any thread while the
// connection's I/O thread sends it, one HTTP/1.1 chunk per Write. Nothing here blocks: what the
// client has not read yet is queued, up to ServerOptions::max_stream_buffer, beyond which the
// connection is closed (a client that stops reading must not grow the server's memory). An
// interface so that a producer can be tested against a fake.
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;

  // Queues `data` as one chunk. False once closed(): the client went away, Stop, Finish or
  // Abort called, or `data` would take the bytes queued and not yet written (a few bytes of
  // chunk framing included) past max_stream_buffer, in which case the connection is closed at
  // once. Empty data sends nothing and returns !closed().
  virtual bool Write(std::string data) = 0;
  // Ends the body with the last chunk; once it is written, the connection reads the next
  // request if keep-alive allows, else closes. Idempotent.
  virtual void Finish() = 0;
  // Closes the connection at once, dropping what is queued and not yet written, without the
  // last chunk, so that the client sees a truncated body (a download cut midway). An HTTP/1.0
  // client, which gets no chunks, cannot tell.
  virtual void Abort() = 0;
  // `fn` runs exactly once, when the stream has ended for any reason (finished and written,
  // aborted, client gone, write timeout, overflow, Stop): on an I/O thread (or Stop's, for a
  // connection it had to abandon), so it must not block, or on the caller's thread at once if
  // the stream has already ended. A second call replaces a callback not yet run.
  virtual void OnClose(std::function<void()> fn) = 0;
  // True once Write would return false (after Finish too, while the last chunk is still
  // being written).
  virtual bool closed() const = 0;
  // Bytes queued and not yet written (for tests and metrics).
  virtual int64_t queued_bytes() const = 0;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the response is streamed: the status line and headers go out with
  // `Transfer-Encoding: chunked` (any Content-Length or Transfer-Encoding among `headers` is
  // dropped), `body` if not empty as the first chunk, and `stream` is called once with the
  // stream to write the rest to, on the connection's I/O thread right after the headers are
  // queued: it must not block (hand the stream to a publisher or a thread). An HTTP/1.0 client
  // gets the raw bytes and the connection closed at the end. A HEAD request, a 204 or a 304 is
  // answered without a body, and `stream` gets a stream that has already ended; so does a
  // response while the server stops. A stream holds no worker while it is open.
  std::function<void(std::shared_ptr<ResponseStream>)> stream;

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
  // writing each response, and each write of a stream (up to 64 KiB, or one larger piece): a
  // client that does not read is cut.
  absl::Duration request_timeout = absl::Seconds(10);
  // A connection with no request under way (new, or between requests) is closed after this.
  absl::Duration keep_alive_timeout = absl::Seconds(30);
  int64_t max_body_bytes = 3 << 20;
  // The request line and headers; more is answered 431.
  int64_t max_header_bytes = 16 << 10;
  // Connections open at once; a new one beyond this is closed as soon as it is accepted.
  int max_connections = 10000;
  // Bytes a streamed response may have queued and not yet written; a Write beyond closes the
  // connection (the client reads too slowly or not at all).
  int64_t max_stream_buffer = 1 << 20;
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
  // still waiting for a worker, closes every connection and every stream (their OnClose runs).
  // Idempotent; not from a handler.
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
  // Streamed responses open now.
  int64_t streams() const;
  // Streams closed because the client did not read: over max_stream_buffer, or a write not
  // done within request_timeout.
  int64_t slow_streams() const;

  class Impl;  // libs/http/server.cc only

 private:
  Server() = default;

  int port_ = 0;
  Refusals refusals_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace switchboard::http
