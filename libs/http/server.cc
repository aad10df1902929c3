#include "libs/http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <future>
#include <limits>
#include <sstream>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/core/error.h"
#include "libs/core/log.h"
#include "libs/core/status_macros.h"

namespace switchboard::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using ErrorCode = beast::error_code;
using SteadyClock = std::chrono::steady_clock;

// After a response that ends the connection, what the client still sends is read and dropped
// for up to this long (or request_timeout if shorter), so that closing with unread bytes (a TCP
// reset) does not destroy the answer before the client reads it (e.g. a 413 while the body is still
// coming).
constexpr std::chrono::seconds kLinger{2};
// The first read of an idle connection: small, since most connections wait here.
constexpr size_t kFirstRead = 512;
constexpr size_t kDiscardRead = 4096;
// A buffer grown by a large request is given back before the connection idles.
constexpr size_t kIdleCapacity = 4096;
// How long Stop waits for answers already being written.
constexpr absl::Duration kStopGrace = absl::Seconds(1);
// Accept failed (e.g. out of file descriptors): try again after this instead of spinning.
constexpr std::chrono::milliseconds kAcceptRetry{50};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr absl::string_view kCrlf = "\r\n";
constexpr absl::string_view kLastChunk = "0\r\n\r\n";
// A stream's queued pieces go out in writes of about this much, so that request_timeout, which
// bounds each write, cuts a client that does not read rather than one that reads slowly.
constexpr int64_t kStreamBatch = 64 << 10;

SteadyClock::duration ToChrono(absl::Duration d) {
  return std::chrono::duration_cast<SteadyClock::duration>(absl::ToChronoNanoseconds(d));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; a '%' not followed by two hex digits is kept as it is.
std::string UrlDecode(absl::string_view in, bool plus_is_space) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// RFC 3986 section 5.2.4 on a decoded absolute path, so that "/a/../b" cannot reach the route
// of "/a" (nor "%2e%2e" another route's).
std::string RemoveDotSegments(absl::string_view path) {
  std::vector<absl::string_view> kept;
  std::vector<absl::string_view> segments = absl::StrSplit(path.substr(1), '/');
  bool trailing_slash = false;
  for (size_t i = 0; i < segments.size(); ++i) {
    absl::string_view s = segments[i];
    bool last = i + 1 == segments.size();
    if (s == "." || s == "..") {
      if (s == ".." && !kept.empty()) kept.pop_back();
      trailing_slash = last;
      continue;
    }
    kept.push_back(s);
  }
  std::string out = absl::StrCat("/", absl::StrJoin(kept, "/"));
  if (trailing_slash && out.back() != '/') out += '/';
  return out;
}

// Splits a request target into the decoded path and the raw query. Origin form ("/a?b") and
// absolute form ("http://host/a?b"); false for anything else ("*", authority form).
bool SplitTarget(absl::string_view target, std::string* path, std::string* query) {
  for (absl::string_view scheme : {"http://", "https://"}) {
    if (absl::StartsWithIgnoreCase(target, scheme)) {
      target.remove_prefix(scheme.size());
      size_t end = target.find_first_of("/?");
      target = end == absl::string_view::npos ? "/" : target.substr(end);
      if (target.front() == '?') return SplitTarget(absl::StrCat("/", target), path, query);
      break;
    }
  }
  if (target.empty() || target.front() != '/') return false;
  size_t q = target.find('?');
  absl::string_view raw_path = target.substr(0, q);
  *query = q == absl::string_view::npos ? "" : std::string(target.substr(q + 1));
  if (size_t hash = query->find('#'); hash != std::string::npos) query->resize(hash);
  if (size_t hash = raw_path.find('#'); hash != absl::string_view::npos) {
    raw_path = raw_path.substr(0, hash);
  }
  *path = RemoveDotSegments(UrlDecode(raw_path, /*plus_is_space=*/false));
  return true;
}

absl::string_view View(beast::string_view s) { return {s.data(), s.size()}; }
std::string Str(beast::string_view s) { return std::string(s.data(), s.size()); }

std::string RemoteAddress(const tcp::socket& socket) {
  ErrorCode ec;
  tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return "";
  asio::ip::address address = peer.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  }
  return address.to_string();
}

bool IsHttpError(const ErrorCode& ec) {
  static const boost::system::error_category& category =
      bhttp::make_error_code(bhttp::error::bad_method).category();
  return ec.category() == category;
}

// The handler asked to close ("Connection: close" among its headers).
bool WantsClose(const Response& response) {
  for (const auto& [name, value] : response.headers) {
    if (absl::EqualsIgnoreCase(name, "connection") &&
        absl::StrContains(absl::AsciiStrToLower(value), "close")) {
      return true;
    }
  }
  return false;
}

Response RunHandler(const Route& route, const Request& request) {
  try {
    return route.handler(request);
  } catch (const std::exception& e) {
    log::Error("http handler threw", {{"path", request.path()}, {"what", e.what()}});
  } catch (...) {
    log::Error("http handler threw", {{"path", request.path()}, {"what", "not a std::exception"}});
  }
  return Response::Text(500, "internal error\n");
}

// The bounded pool that runs handlers, so that a blocking handler never holds an I/O thread.
// A task is called with run=false instead when the pool stops before running it.
class WorkerPool {
 public:
  using Task = std::function<void(bool run)>;

  explicit WorkerPool(int threads) {
    threads_.reserve(threads);
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
  }
  ~WorkerPool() { Stop(); }

  void Submit(Task task) {
    {
      absl::MutexLock lock(&mu_);
      if (!stopping_) {
        queue_.push_back(std::move(task));
        return;
      }
    }
    task(false);
  }

  // Drops the tasks not started and waits for the running ones.
  void Stop() {
    std::deque<Task> dropped;
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
      dropped.swap(queue_);
    }
    for (Task& task : dropped) task(false);
    for (std::thread& t : threads_) t.join();
    threads_.clear();
  }

 private:
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || !queue_.empty(); }

  void Loop() {
    for (;;) {
      Task task;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &WorkerPool::HasWork));
        if (queue_.empty()) return;  // stopping
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task(true);
    }
  }

  absl::Mutex mu_;
  std::deque<Task> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

// One piece of a streamed body as it goes on the wire: the chunk's size line (or the response's
// head, or the last chunk), the data moved from Write uncopied, and the chunk's closing CRLF.
struct Piece {
  std::string prefix;
  std::string data;
  bool crlf = false;

  int64_t size() const {
    return static_cast<int64_t>(prefix.size() + data.size() + (crlf ? kCrlf.size() : 0));
  }
};

// The server's ResponseStream. Producers queue pieces under the mutex and wake the connection's
// strand, which takes them (Take), writes them and reports back (Written), and ends the stream
// (End) however the connection ends. Once ended it is detached: producers post nothing more, so
// a stream may outlive its connection and the server.
class StreamImpl final : public ResponseStream {
 public:
  // Posts the connection's next look at the stream (Take) to its strand.
  using Wake = std::function<void()>;

  // For answers that carry no body: the producer learns at once (OnClose runs on its thread).
  static std::shared_ptr<StreamImpl> Ended() {
    auto stream = std::make_shared<StreamImpl>(0, false, "", nullptr);
    stream->End();
    return stream;
  }

  // `head`: the status line and headers, the first bytes to write.
  StreamImpl(int64_t max_bytes, bool chunked, std::string head, Wake wake)
      : max_bytes_(max_bytes), chunked_(chunked) {
    absl::MutexLock lock(&mu_);
    wake_ = std::move(wake);
    if (!head.empty()) Queue({.prefix = std::move(head)});
  }

  bool Write(std::string data) override;
  void Finish() override;
  void Abort() override;
  void OnClose(std::function<void()> fn) override;
  bool closed() const override {
    absl::MutexLock lock(&mu_);
    return !accepting_;
  }
  int64_t queued_bytes() const override {
    absl::MutexLock lock(&mu_);
    return queued_;
  }

  enum class Step { kWait, kWrite, kDone, kAbort, kOverflow };
  // On the strand: what the connection does next. With `batch` (no write under way), the next
  // pieces to write are moved into it (kWrite), or kDone once the last one is written.
  Step Take(std::vector<Piece>* batch);
  // On the strand: a write of `bytes` taken earlier has completed.
  void Written(int64_t bytes);
  // The stream is over: what is queued is dropped, producers are detached and OnClose runs
  // (here, outside the lock, since it may call back into the stream). Idempotent.
  void End();

 private:
  void Queue(Piece piece) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    queued_ += piece.size();
    pending_.push_back(std::move(piece));
  }
  void DropPending() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // One wake-up in flight at a time: the strand takes everything queued when it looks.
  void WakeLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (wake_ && !wake_posted_) {
      wake_posted_ = true;
      wake_();
    }
  }

  const int64_t max_bytes_;
  const bool chunked_;
  mutable absl::Mutex mu_;
  Wake wake_ ABSL_GUARDED_BY(mu_);  // empty once ended
  bool wake_posted_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<Piece> pending_ ABSL_GUARDED_BY(mu_);
  int64_t queued_ ABSL_GUARDED_BY(mu_) = 0;  // pending_ and the write under way
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool aborted_ ABSL_GUARDED_BY(mu_) = false;
  bool overflowed_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  std::function<void()> on_close_ ABSL_GUARDED_BY(mu_);
};

bool StreamImpl::Write(std::string data) {
  absl::MutexLock lock(&mu_);
  if (!accepting_) return false;
  if (data.empty()) return true;
  Piece piece;
  if (chunked_) {
    piece.prefix = absl::StrCat(absl::Hex(data.size()), kCrlf);
    piece.crlf = true;
  }
  piece.data = std::move(data);
  if (queued_ + piece.size() > max_bytes_) {
    accepting_ = false;
    overflowed_ = true;
    DropPending();  // freed now, not when the strand gets to close
    WakeLocked();
    return false;
  }
  Queue(std::move(piece));
  WakeLocked();
  return true;
}

void StreamImpl::Finish() {
  absl::MutexLock lock(&mu_);
  if (!accepting_) return;
  accepting_ = false;
  finishing_ = true;
  if (chunked_) Queue({.prefix = std::string(kLastChunk)});
  WakeLocked();
}

void StreamImpl::Abort() {
  absl::MutexLock lock(&mu_);
  if (ended_ || aborted_) return;
  accepting_ = false;
  aborted_ = true;
  DropPending();
  WakeLocked();
}

void StreamImpl::OnClose(std::function<void()> fn) {
  {
    absl::MutexLock lock(&mu_);
    if (!ended_) {
      on_close_ = std::move(fn);
      return;
    }
  }
  if (fn) fn();
}

StreamImpl::Step StreamImpl::Take(std::vector<Piece>* batch) {
  absl::MutexLock lock(&mu_);
  wake_posted_ = false;
  if (aborted_) return Step::kAbort;
  if (overflowed_) return Step::kOverflow;
  if (batch == nullptr) return Step::kWait;
  int64_t bytes = 0;
  while (!pending_.empty() && bytes < kStreamBatch) {
    bytes += pending_.front().size();
    batch->push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  if (!batch->empty()) return Step::kWrite;
  return finishing_ ? Step::kDone : Step::kWait;
}

void StreamImpl::Written(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (!ended_) queued_ -= bytes;
}

void StreamImpl::DropPending() {
  for (const Piece& piece : pending_) queued_ -= piece.size();
  pending_.clear();
}

void StreamImpl::End() {
  std::function<void()> on_close;
  Wake wake;  // destroyed outside the lock
  {
    absl::MutexLock lock(&mu_);
    if (ended_) return;
    ended_ = true;
    accepting_ = false;
    pending_.clear();
    queued_ = 0;
    wake = std::move(wake_);
    wake_ = nullptr;
    on_close = std::move(on_close_);
    on_close_ = nullptr;
  }
  if (!on_close) return;
  try {
    on_close();
  } catch (const std::exception& e) {
    log::Error("http stream OnClose threw", {{"what", e.what()}});
  } catch (...) {
    log::Error("http stream OnClose threw", {{"what", "not a std::exception"}});
  }
}

// The head of a streamed response. Chunked framing is the server's, so the handler's own
// Content-Length or Transfer-Encoding cannot contradict it.
std::string StreamHead(const Response& response, unsigned version, bool chunked, bool keep_alive) {
  bhttp::response<bhttp::empty_body> head;
  head.version(version);
  head.result(static_cast<unsigned>(response.status));
  if (!response.content_type.empty()) {
    head.set(bhttp::field::content_type, response.content_type);
  }
  for (const auto& [name, value] : response.headers) head.insert(name, value);
  head.erase(bhttp::field::content_length);
  head.erase(bhttp::field::transfer_encoding);
  if (chunked) head.chunked(true);
  head.keep_alive(keep_alive);
  std::ostringstream out;
  out << head.base();
  return std::move(out).str();
}

class Session;

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions options, std::vector<Route> routes, Server::Refusals& refusals)
      : options_(std::move(options)),
        routes_(std::move(routes)),
        refusals_(refusals),
        pool_(options_.threads),
        io_(std::make_unique<asio::io_context>(options_.io_threads)) {}

  // Binds and listens; returns the port.
  absl::StatusOr<int> Listen();
  // Starts accepting, on the I/O threads.
  void Run();
  void Stop();

  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  WorkerPool& pool() { return pool_; }
  int64_t connections() const { return open_.load(std::memory_order_relaxed); }
  int64_t streams() const { return streams_.load(std::memory_order_relaxed); }
  int64_t slow_streams() const { return slow_streams_.load(std::memory_order_relaxed); }
  void StreamOpened() { streams_.fetch_add(1, std::memory_order_relaxed); }
  void StreamEnded() { streams_.fetch_sub(1, std::memory_order_relaxed); }
  void SlowStream() { slow_streams_.fetch_add(1, std::memory_order_relaxed); }
  const Route* Match(absl::string_view path) const;
  // Counts a refusal; `report`: and tells the owner (on_refusal).
  void Refused(std::atomic<int64_t> Server::Refusals::*counter, int status, bool report);
  // Called by a session as it is destroyed.
  void Forget(const Session* session);

 private:
  void Accept();
  void OnAccept(ErrorCode ec, tcp::socket socket);
  std::vector<std::shared_ptr<Session>> LiveSessions();
  void RunIo();
  bool NoSessions() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return sessions_.empty(); }

  const ServerOptions options_;
  const std::vector<Route> routes_;
  Server::Refusals& refusals_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> open_{0};
  std::atomic<int64_t> streams_{0};
  std::atomic<int64_t> slow_streams_{0};
  WorkerPool pool_;

  absl::Mutex mu_;
  std::unordered_map<const Session*, std::weak_ptr<Session>> sessions_ ABSL_GUARDED_BY(mu_);

  // Destroyed explicitly in Stop, in this order, while everything above still lives: the last
  // sessions go with the io_context's pending handlers.
  std::unique_ptr<asio::io_context> io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::unique_ptr<asio::steady_timer> accept_retry_;       // on the acceptor's strand
  absl::Time last_accept_warning_ = absl::InfinitePast();  // likewise
  std::vector<std::thread> io_threads_;

  absl::Mutex stop_mu_;
  bool stopped_ ABSL_GUARDED_BY(stop_mu_) = false;
};

namespace {

// One connection. Everything runs on the connection's strand except the handler, which runs on
// the worker pool with its own copy of the request, and the producer of a streamed response,
// which only queues into the StreamImpl. Between requests the connection holds only its socket
// and a small buffer.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server::Impl& server, tcp::socket socket)
      : server_(server),
        options_(server.options()),
        executor_(socket.get_executor()),
        remote_(RemoteAddress(socket)),
        stream_(std::move(socket)),
        buffer_(static_cast<size_t>(options_.max_header_bytes) + 65536) {}
  ~Session() {
    EndStream();
    server_.Forget(this);
  }

  void Start() {
    asio::dispatch(executor_, [self = shared_from_this()] { self->WaitForRequest(); });
  }
  // From Stop: closes the connection, and its stream, unless an answer is being prepared or
  // written (which closes it once written).
  void Shutdown() {
    asio::post(executor_, [self = shared_from_this()] {
      if (self->state_ != State::kInHandler && self->state_ != State::kWriting) self->Close();
    });
  }
  // From Stop, once no I/O thread runs: ends a stream that Shutdown did not get to, so that its
  // producer is told and posts nothing to the io_context about to go.
  void Abandon() { EndStream(); }

 private:
  // kStreaming: a streamed response is open; kAfterStream: its last chunk is written and the
  // read kept pending meanwhile is being cancelled, before the next request.
  enum class State {
    kIdle,
    kReading,
    kInHandler,
    kWriting,
    kStreaming,
    kAfterStream,
    kClosing,
    kClosed
  };

  void WaitForRequest();
  void BeginRequest();
  void OnHeader();
  void ReadBody();
  void OnReadError(ErrorCode ec);
  void Dispatch();
  void Answer(Response response);
  void Refuse(int status, std::string body, std::atomic<int64_t> Server::Refusals::*counter,
              bool report);
  void Write(Response response, bool keep_alive);
  void WriteHead(std::string head, bool keep_alive);
  void AfterAnswer(ErrorCode ec, bool keep_alive);
  void AnswerWithoutStream(Response response, bool keep_alive);
  void StartStream(Response response, bool keep_alive);
  void Produce(const std::function<void(std::shared_ptr<ResponseStream>)>& produce,
               std::shared_ptr<StreamImpl> stream);
  void ReadWhileStreaming();
  void OnStreamRead(ErrorCode ec, size_t n);
  void Pump();
  void WriteBatch();
  void OnBatchWritten(ErrorCode ec, int64_t bytes);
  void FinishStream();
  void EndStream();
  void Linger();
  void Discard();
  void Close();

  Server::Impl& server_;
  const ServerOptions& options_;
  const tcp::socket::executor_type executor_;  // the connection's strand
  const std::string remote_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  State state_ = State::kIdle;
  // The request being read, and the whole-request deadline from its first byte.
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  SteadyClock::time_point deadline_;
  // What the answer needs from the request.
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  bhttp::response<bhttp::string_body> response_;
  std::string raw_;  // a head written as is (a HEAD answer to a streamed route)

  // The open stream, and its write under way. tcp_stream has one deadline for reads and writes,
  // and a read stays pending all along (to see the client leave), so writes have their own
  // timer; write_generation_ tells a timer that fired late from one for the write under way.
  std::shared_ptr<StreamImpl> out_;
  bool out_keep_alive_ = false;
  bool out_writing_ = false;
  uint64_t write_generation_ = 0;
  std::vector<Piece> batch_;
  std::vector<asio::const_buffer> buffers_;
  std::optional<asio::steady_timer> write_timer_;
  // Bytes the client sent while streaming did not fit the buffer and were dropped: whatever
  // request they began cannot be read, so the connection closes after the stream.
  bool dropped_input_ = false;
};

void Session::WaitForRequest() {
  if (server_.stopping()) return Close();
  state_ = State::kIdle;
  if (buffer_.size() > 0) return BeginRequest();  // pipelined
  if (buffer_.capacity() > kIdleCapacity) buffer_.shrink_to_fit();
  stream_.expires_after(ToChrono(options_.keep_alive_timeout));
  stream_.async_read_some(buffer_.prepare(kFirstRead),
                          [self = shared_from_this()](ErrorCode ec, size_t n) {
                            // Idle too long, closed by the client, or Stop: nothing to answer.
                            if (ec) return self->Close();
                            self->buffer_.commit(n);
                            self->BeginRequest();
                          });
}

void Session::BeginRequest() {
  state_ = State::kReading;
  deadline_ = SteadyClock::now() + ToChrono(options_.request_timeout);
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(options_.max_header_bytes));
  parser_->body_limit(static_cast<uint64_t>(options_.max_body_bytes));
  stream_.expires_at(deadline_);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](ErrorCode ec, size_t) {
                             if (ec) return self->OnReadError(ec);
                             self->OnHeader();
                           });
}

void Session::OnHeader() {
  if (parser_->is_done()) return Dispatch();
  if (parser_->get().version() >= 11 &&
      beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
    stream_.expires_at(deadline_);
    asio::async_write(stream_, asio::const_buffer(kContinue.data(), kContinue.size()),
                      [self = shared_from_this()](ErrorCode ec, size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->ReadBody();
                      });
    return;
  }
  ReadBody();
}

void Session::ReadBody() {
  stream_.expires_at(deadline_);
  bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](ErrorCode ec, size_t) {
    if (ec) return self->OnReadError(ec);
    self->Dispatch();
  });
}

void Session::OnReadError(ErrorCode ec) {
  using R = Server::Refusals;
  if (ec == bhttp::error::body_limit) {
    return Refuse(413, "body too large\n", &R::too_large, /*report=*/true);
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return Refuse(431, "request headers too large\n", &R::header_too_large, /*report=*/true);
  }
  if (ec == beast::error::timeout) {
    // The stream closed itself. No answer: the client is too slow to read it anyway.
    server_.Refused(&R::timed_out, 408, /*report=*/true);
    return Close();
  }
  if (ec == bhttp::error::partial_message && parser_->is_header_done()) {
    return Refuse(400, "truncated body\n", &R::truncated, /*report=*/true);
  }
  if (ec != bhttp::error::partial_message && IsHttpError(ec)) {
    return Refuse(400, "bad request\n", &R::malformed, /*report=*/false);
  }
  Close();  // closed by the client (mid-headers too), reset, or Stop
}

void Session::Dispatch() {
  state_ = State::kInHandler;
  bhttp::request<bhttp::string_body> message = parser_->release();
  parser_.reset();
  version_ = message.version();
  keep_alive_ = message.keep_alive();
  head_ = message.method() == bhttp::verb::head;
  std::string path, query;
  if (!SplitTarget(View(message.target()), &path, &query)) {
    return Refuse(400, "bad request target\n", &Server::Refusals::malformed, /*report=*/false);
  }
  const Route* route = server_.Match(path);
  if (route == nullptr) return Answer(Response::Text(404, "not found\n"));
  Request::Headers headers;
  for (const auto& field : message) {
    headers.emplace_back(Str(field.name_string()), Str(field.value()));
  }
  Request request(Str(message.method_string()), std::move(path), std::move(query),
                  std::move(message.body()), remote_, std::move(headers));
  server_.pool().Submit(
      [self = shared_from_this(), route, request = std::move(request)](bool run) mutable {
        auto executor = self->executor_;
        if (!run) {
          asio::post(executor, [s = std::move(self)] { s->Close(); });
          return;
        }
        Response response = RunHandler(*route, request);
        asio::post(executor, [s = std::move(self), r = std::move(response)]() mutable {
          s->Answer(std::move(r));
        });
      });
}

void Session::Answer(Response response) {
  bool keep_alive = keep_alive_ && !server_.stopping() && !WantsClose(response);
  if (response.stream) return StartStream(std::move(response), keep_alive);
  Write(std::move(response), keep_alive);
}

void Session::Refuse(int status, std::string body, std::atomic<int64_t> Server::Refusals::*counter,
                     bool report) {
  // Counted before the answer leaves, so whoever reads the count after the answer sees it.
  server_.Refused(counter, status, report);
  parser_.reset();
  version_ = 11;
  head_ = false;
  Write(Response::Text(status, std::move(body)), /*keep_alive=*/false);
}

void Session::Write(Response response, bool keep_alive) {
  state_ = State::kWriting;
  if (response.status < 200 || response.status > 999) {
    log::Error("http handler returned an invalid status", {{"status", response.status}});
    response = Response::Text(500, "internal error\n");
  }
  response_ = {};
  response_.version(version_);
  response_.result(static_cast<unsigned>(response.status));
  if (!response.content_type.empty()) {
    response_.set(bhttp::field::content_type, response.content_type);
  }
  for (const auto& [name, value] : response.headers) response_.insert(name, value);
  // 204 and 304 have no body; a HEAD answer tells the length of the body it leaves out.
  if (response.status != 204 && response.status != 304) {
    response_.content_length(response.body.size());
    if (!head_) response_.body() = std::move(response.body);
  }
  response_.keep_alive(keep_alive);
  stream_.expires_after(ToChrono(options_.request_timeout));
  bhttp::async_write(stream_, response_,
                     [self = shared_from_this(), keep_alive](ErrorCode ec, size_t) {
                       self->response_ = {};
                       self->AfterAnswer(ec, keep_alive);
                     });
}

void Session::WriteHead(std::string head, bool keep_alive) {
  state_ = State::kWriting;
  raw_ = std::move(head);
  stream_.expires_after(ToChrono(options_.request_timeout));
  asio::async_write(stream_, asio::buffer(raw_),
                    [self = shared_from_this(), keep_alive](ErrorCode ec, size_t) {
                      self->raw_ = {};
                      self->AfterAnswer(ec, keep_alive);
                    });
}

void Session::AfterAnswer(ErrorCode ec, bool keep_alive) {
  if (ec || server_.stopping()) return Close();
  if (!keep_alive) return Linger();
  WaitForRequest();
}

void Session::StartStream(Response response, bool keep_alive) {
  bool bodiless = head_ || response.status == 204 || response.status == 304;
  bool valid = response.status >= 200 && response.status <= 999;
  if (bodiless || !valid || server_.stopping()) {
    return AnswerWithoutStream(std::move(response), keep_alive);
  }
  state_ = State::kStreaming;
  bool chunked = version_ >= 11;
  // Without chunks, only the end of the connection can tell the end of the body.
  out_keep_alive_ = keep_alive && chunked;
  dropped_input_ = false;
  auto produce = std::move(response.stream);
  std::weak_ptr<Session> weak = weak_from_this();
  out_ = std::make_shared<StreamImpl>(options_.max_stream_buffer, chunked,
                                      StreamHead(response, version_, chunked, out_keep_alive_),
                                      [weak, executor = executor_] {
                                        asio::post(executor, [weak] {
                                          if (auto self = weak.lock()) self->Pump();
                                        });
                                      });
  server_.StreamOpened();
  std::shared_ptr<StreamImpl> out = out_;  // Pump may end it (a body over the bound)
  out->Write(std::move(response.body));
  // An idle stream (no event for a while) is not a stalled client: only writes are timed.
  stream_.expires_never();
  write_timer_.emplace(executor_);
  ReadWhileStreaming();
  Pump();
  Produce(produce, std::move(out));
}

// A HEAD request, a 204 or 304, an invalid status or a server stopping: an ordinary answer, and
// the producer gets a stream that has already ended, so that it cleans up at once.
void Session::AnswerWithoutStream(Response response, bool keep_alive) {
  auto produce = std::move(response.stream);
  response.stream = nullptr;
  bool valid = response.status >= 200 && response.status <= 999;
  if (head_ && valid && response.status != 204 && response.status != 304) {
    // The headers a GET would get (chunked, no length), minus the body.
    WriteHead(StreamHead(response, version_, version_ >= 11, keep_alive), keep_alive);
  } else {
    Write(std::move(response), keep_alive);
  }
  Produce(produce, StreamImpl::Ended());
}

void Session::Produce(const std::function<void(std::shared_ptr<ResponseStream>)>& produce,
                      std::shared_ptr<StreamImpl> stream) {
  try {
    produce(stream);
  } catch (const std::exception& e) {
    log::Error("http stream producer threw", {{"what", e.what()}});
    stream->Abort();
  } catch (...) {
    log::Error("http stream producer threw", {{"what", "not a std::exception"}});
    stream->Abort();
  }
}

// A read stays pending while streaming so that a client that leaves is noticed even when
// nothing is being written. What it sends meanwhile (a pipelined request) is kept for after the
// stream while it fits the buffer, and dropped beyond.
void Session::ReadWhileStreaming() {
  if (buffer_.max_size() - buffer_.size() < kDiscardRead) {
    buffer_.clear();
    dropped_input_ = true;
  }
  stream_.async_read_some(
      buffer_.prepare(kDiscardRead),
      [self = shared_from_this()](ErrorCode ec, size_t n) { self->OnStreamRead(ec, n); });
}

void Session::OnStreamRead(ErrorCode ec, size_t n) {
  if (state_ == State::kClosed) return;
  if (!ec) buffer_.commit(n);
  if (state_ == State::kStreaming) {
    if (ec) return Close();  // the client went away (or closed its end), or a reset
    return ReadWhileStreaming();
  }
  // kAfterStream: FinishStream cancelled this read so that the connection can move on.
  if (ec && ec != asio::error::operation_aborted) return Close();
  if (!out_keep_alive_ || dropped_input_) return Linger();
  WaitForRequest();
}

// Looks at the stream: on a wake-up from a producer, and after each write.
void Session::Pump() {
  if (state_ != State::kStreaming || !out_) return;
  switch (out_->Take(out_writing_ ? nullptr : &batch_)) {
    case StreamImpl::Step::kWait:
      return;
    case StreamImpl::Step::kWrite:
      return WriteBatch();
    case StreamImpl::Step::kDone:
      return FinishStream();
    case StreamImpl::Step::kAbort:
      return Close();
    case StreamImpl::Step::kOverflow:
      server_.SlowStream();  // counted before OnClose runs, so that its reader sees it
      return Close();
  }
}

void Session::WriteBatch() {
  int64_t bytes = 0;
  buffers_.clear();
  for (const Piece& piece : batch_) {
    if (!piece.prefix.empty()) buffers_.push_back(asio::buffer(piece.prefix));
    if (!piece.data.empty()) buffers_.push_back(asio::buffer(piece.data));
    if (piece.crlf) buffers_.push_back(asio::const_buffer(kCrlf.data(), kCrlf.size()));
    bytes += piece.size();
  }
  out_writing_ = true;
  uint64_t generation = ++write_generation_;
  write_timer_->expires_after(ToChrono(options_.request_timeout));
  write_timer_->async_wait([self = shared_from_this(), generation](ErrorCode ec) {
    if (ec || generation != self->write_generation_ || !self->out_writing_) return;
    self->server_.SlowStream();  // the client stopped reading
    self->Close();
  });
  asio::async_write(stream_, buffers_, [self = shared_from_this(), bytes](ErrorCode ec, size_t) {
    self->OnBatchWritten(ec, bytes);
  });
}

void Session::OnBatchWritten(ErrorCode ec, int64_t bytes) {
  out_writing_ = false;
  ++write_generation_;
  write_timer_->cancel();
  batch_.clear();
  buffers_.clear();
  if (state_ != State::kStreaming) return;  // closed meanwhile
  if (ec) return Close();
  out_->Written(bytes);
  Pump();
}

void Session::FinishStream() {
  state_ = State::kAfterStream;
  EndStream();
  write_timer_.reset();
  batch_.shrink_to_fit();
  buffers_.shrink_to_fit();
  // OnStreamRead moves on once the pending read is done.
  stream_.cancel();
}

void Session::EndStream() {
  if (!out_) return;
  std::shared_ptr<StreamImpl> out = std::move(out_);
  out_.reset();
  server_.StreamEnded();  // before OnClose runs, so that its reader sees it
  out->End();
}

void Session::Linger() {
  state_ = State::kClosing;
  ErrorCode ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return Close();
  buffer_.clear();
  stream_.expires_after(
      std::min<SteadyClock::duration>(kLinger, ToChrono(options_.request_timeout)));
  Discard();
}

void Session::Discard() {
  // The deadline set in Linger stays: tcp_stream keeps an expiry until it is changed.
  stream_.async_read_some(buffer_.prepare(kDiscardRead),
                          [self = shared_from_this()](ErrorCode ec, size_t) {
                            if (ec) return self->Close();  // the client's end, or kLinger
                            self->Discard();
                          });
}

void Session::Close() {
  state_ = State::kClosed;
  // A pending timer would keep the session (and Stop) waiting for up to request_timeout.
  if (write_timer_) write_timer_->cancel();
  EndStream();
  stream_.close();
}

}  // namespace

std::optional<std::string> Request::Header(absl::string_view name) const {
  for (const auto& [key, value] : headers_) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<std::string> Request::QueryParam(absl::string_view name) const {
  for (absl::string_view part : absl::StrSplit(query_, '&')) {
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) continue;
    if (UrlDecode(part.substr(0, eq), /*plus_is_space=*/true) == name) {
      return UrlDecode(part.substr(eq + 1), /*plus_is_space=*/true);
    }
  }
  return std::nullopt;
}

absl::StatusOr<int> Server::Impl::Listen() {
  ErrorCode ec;
  tcp::endpoint endpoint;
  asio::ip::address address = asio::ip::make_address(options_.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, static_cast<uint16_t>(options_.port));
  } else {
    tcp::resolver resolver(*io_);
    auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      return core::Unavailable("HTTP_LISTEN_FAILED",
                               absl::StrCat("cannot resolve ", options_.host, ": ", ec.message()));
    }
    endpoint = results.begin()->endpoint();
  }
  acceptor_ = std::make_unique<tcp::acceptor>(asio::make_strand(*io_));
  accept_retry_ = std::make_unique<asio::steady_timer>(acceptor_->get_executor());
  acceptor_->open(endpoint.protocol(), ec);
  if (!ec) acceptor_->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(endpoint, ec);
  if (!ec) acceptor_->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return core::Unavailable("HTTP_LISTEN_FAILED",
                             absl::StrCat("cannot listen on ", options_.host, ":", options_.port,
                                          " (", ec.message(), ")"));
  }
  return acceptor_->local_endpoint().port();
}

void Server::Impl::Run() {
  work_.emplace(io_->get_executor());
  Accept();
  for (int i = 0; i < options_.io_threads; ++i) io_threads_.emplace_back([this] { RunIo(); });
}

void Server::Impl::RunIo() {
  for (;;) {
    try {
      io_->run();
      return;
    } catch (const std::exception& e) {
      // One connection's bug must not take the I/O thread (and every connection) with it.
      log::Error("http server I/O thread caught an exception", {{"what", e.what()}});
    }
  }
}

void Server::Impl::Accept() {
  acceptor_->async_accept(asio::make_strand(*io_), [this](ErrorCode ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void Server::Impl::OnAccept(ErrorCode ec, tcp::socket socket) {
  if (stopping() || ec == asio::error::operation_aborted) return;
  if (ec) {
    // Out of file descriptors, typically: the connection waits in the backlog meanwhile.
    if (absl::Now() - last_accept_warning_ > absl::Seconds(10)) {
      last_accept_warning_ = absl::Now();
      log::Warning("http accept failed", {{"error", ec.message()}});
    }
    accept_retry_->expires_after(kAcceptRetry);
    accept_retry_->async_wait([this](ErrorCode e) {
      if (!e && !stopping()) Accept();
    });
    return;
  }
  if (open_.load(std::memory_order_relaxed) >= options_.max_connections) {
    refusals_.over_capacity++;
    ErrorCode ignored;
    socket.close(ignored);
  } else {
    ErrorCode ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto session = std::make_shared<Session>(*this, std::move(socket));
    {
      absl::MutexLock lock(&mu_);
      sessions_.emplace(session.get(), session);
    }
    open_.fetch_add(1, std::memory_order_relaxed);
    session->Start();
  }
  Accept();
}

const Route* Server::Impl::Match(absl::string_view path) const {
  const Route* best = nullptr;
  for (const Route& route : routes_) {
    absl::string_view prefix = route.path_prefix;
    bool hit =
        path == prefix || (absl::StartsWith(path, prefix) &&
                           (prefix.empty() || prefix.back() == '/' || path[prefix.size()] == '/'));
    if (hit && (best == nullptr || prefix.size() > best->path_prefix.size())) best = &route;
  }
  return best;
}

void Server::Impl::Refused(std::atomic<int64_t> Server::Refusals::*counter, int status,
                           bool report) {
  (refusals_.*counter)++;
  if (report && options_.on_refusal) options_.on_refusal(status);
}

std::vector<std::shared_ptr<Session>> Server::Impl::LiveSessions() {
  std::vector<std::shared_ptr<Session>> live;
  absl::MutexLock lock(&mu_);
  for (const auto& [ptr, weak] : sessions_) {
    if (auto session = weak.lock()) live.push_back(std::move(session));
  }
  return live;
}

void Server::Impl::Forget(const Session* session) {
  absl::MutexLock lock(&mu_);
  sessions_.erase(session);
  open_.fetch_sub(1, std::memory_order_relaxed);
}

void Server::Impl::Stop() {
  absl::MutexLock stop_lock(&stop_mu_);
  if (stopped_) return;
  stopped_ = true;
  stopping_.store(true, std::memory_order_release);
  if (io_threads_.empty()) {  // never ran (Listen failed)
    pool_.Stop();
    accept_retry_.reset();
    acceptor_.reset();
    io_.reset();
    return;
  }
  // 1. No new connections (on the acceptor's strand, so no accept is half done).
  std::promise<void> closed;
  asio::post(acceptor_->get_executor(), [&] {
    ErrorCode ignored;
    acceptor_->close(ignored);
    accept_retry_->cancel();
    closed.set_value();
  });
  closed.get_future().wait();
  // 2. Running handlers finish and post their answers; requests still queued are dropped
  //    (their connections closed: the client may retry elsewhere).
  pool_.Stop();
  // 3. Close every connection that is not writing an answer, and every stream; those writing
  //    an answer close once it is written.
  for (const auto& session : LiveSessions()) session->Shutdown();
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &Impl::NoSessions), kStopGrace);
  }
  // 4. Whatever is still open (an answer to a client that does not read) goes with the
  //    io_context's pending handlers; a stream still open is ended first, while the io_context
  //    its producer posts to still exists.
  work_.reset();
  io_->stop();
  for (std::thread& t : io_threads_) t.join();
  for (const auto& session : LiveSessions()) session->Abandon();
  accept_retry_.reset();
  acceptor_.reset();
  io_.reset();
}

Server::~Server() { Stop(); }

absl::StatusOr<std::unique_ptr<Server>> Server::Start(ServerOptions options,
                                                      std::vector<Route> routes) {
  if (options.threads < 1) return core::InvalidArgument("INVALID_OPTION", "threads must be >= 1");
  if (options.io_threads < 1) {
    return core::InvalidArgument("INVALID_OPTION", "io_threads must be >= 1");
  }
  if (options.max_connections < 1) {
    return core::InvalidArgument("INVALID_OPTION", "max_connections must be >= 1");
  }
  if (options.max_header_bytes < 256 ||
      options.max_header_bytes > std::numeric_limits<uint32_t>::max() / 2) {
    return core::InvalidArgument("INVALID_OPTION", "max_header_bytes out of range");
  }
  if (options.max_body_bytes < 0) {
    return core::InvalidArgument("INVALID_OPTION", "max_body_bytes must be >= 0");
  }
  if (options.max_stream_buffer < 1) {
    return core::InvalidArgument("INVALID_OPTION", "max_stream_buffer must be >= 1");
  }
  if (options.request_timeout <= absl::ZeroDuration() ||
      options.keep_alive_timeout <= absl::ZeroDuration()) {
    return core::InvalidArgument("INVALID_OPTION", "timeouts must be positive");
  }
  std::unique_ptr<Server> server(new Server());
  server->impl_ = std::make_unique<Impl>(std::move(options), std::move(routes), server->refusals_);
  ASSIGN_OR_RETURN(server->port_, server->impl_->Listen());
  server->impl_->Run();
  return server;
}

void Server::Stop() {
  if (impl_) impl_->Stop();
}

int64_t Server::connections() const { return impl_ ? impl_->connections() : 0; }
int64_t Server::streams() const { return impl_ ? impl_->streams() : 0; }
int64_t Server::slow_streams() const { return impl_ ? impl_->slow_streams() : 0; }

}  // namespace switchboard::http
