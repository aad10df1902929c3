#include "services/gateway/events.h"

#include <openssl/rand.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libs/core/error.h"
#include "libs/core/proto_time.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"
#include "services/gateway/relay.h"
#include "services/gateway/rpc.h"
#include "services/gateway/rules/connect.h"
#include "services/gateway/rules/sse.h"
#include "switchboard/notifications/v1/notifications_service.pb.h"

namespace switchboard::gateway {
namespace {

namespace nv1 = notifications::v1;

constexpr char kSubscribe[] = "/switchboard.notifications.v1.NotificationsService/Subscribe";
constexpr char kTicketPrefix[] = "sb:gateway:ticket:";

absl::Status BadTicket() {
  return core::Error(absl::StatusCode::kUnauthenticated, "STREAM_TICKET_INVALID",
                     "the stream ticket is unknown, expired or already used; get a new one with "
                     "POST /v1/events/tickets");
}

absl::StatusOr<std::string> NewTicket() {
  unsigned char bytes[24];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return core::Unavailable("NO_RANDOMNESS", "could not draw a ticket");
  }
  std::string out;
  absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<char*>(bytes), sizeof bytes), &out);
  return out;
}

std::string Bearer(const http::Request& request) {
  std::string value = request.Header("authorization").value_or("");
  if (absl::StartsWithIgnoreCase(value, "bearer ")) return value.substr(7);
  return "";
}

}  // namespace

Events::Events(redis::Pool& redis, const auth::TokenVerifier& verifier, const core::Clock& clock,
               Options options)
    : redis_(redis), verifier_(verifier), clock_(clock), options_(options) {}

Events::~Events() { Stop(); }

void Events::Connect(std::shared_ptr<grpc::Channel> channel) {
  absl::MutexLock lock(&mu_);
  channel_ = std::move(channel);
}

void Events::Start() {
  heartbeat_ = std::thread([this] { Heartbeat(); });
}

void Events::Stop() {
  std::vector<std::shared_ptr<Relay>> open;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    open = Open();
  }
  if (heartbeat_.joinable()) heartbeat_.join();
  // The clients hear why before the calls behind their streams are cancelled.
  for (auto& relay : open) {
    relay->EndNow(core::Unavailable("SERVER_DRAINING", "the gateway is shutting down; reconnect"));
  }
}

int64_t Events::open_streams() const {
  absl::MutexLock lock(&mu_);
  int64_t n = 0;
  for (const auto& weak : streams_) n += weak.expired() ? 0 : 1;
  return n;
}

std::vector<std::shared_ptr<Relay>> Events::Open() {
  std::vector<std::shared_ptr<Relay>> open;
  std::vector<std::weak_ptr<Relay>> kept;
  for (auto& weak : streams_) {
    if (auto relay = weak.lock()) {
      open.push_back(std::move(relay));
      kept.push_back(std::move(weak));
    }
  }
  streams_ = std::move(kept);
  return open;
}

void Events::Heartbeat() {
  for (;;) {
    std::vector<std::shared_ptr<Relay>> open;
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::Seconds(1))) return;
      open = Open();
    }
    const absl::Time now = absl::Now();
    for (auto& relay : open) {
      if (now - relay->last_write() >= options_.heartbeat) relay->Write(": heartbeat\n\n");
    }
  }
}

http::Response Events::Ticket(const http::Request& request) {
  if (request.method() != "POST") return MethodNotAllowed("POST, OPTIONS");
  const std::string token = Bearer(request);
  absl::StatusOr<auth::Principal> who = verifier_.Verify(token);
  if (!who.ok()) return ErrorResponse(who.status());
  absl::StatusOr<std::unique_ptr<google::protobuf::Message>> subscribe =
      ParseJson(request, nv1::SubscribeRequest::descriptor());
  if (!subscribe.ok()) return ErrorResponse(subscribe.status());
  absl::StatusOr<std::string> ticket = NewTicket();
  if (!ticket.ok()) return ErrorResponse(ticket.status());
  // A ticket outlives neither its TTL nor the token.
  absl::Duration ttl = std::min(options_.ticket_ttl, who->expires - clock_.Now());
  if (ttl <= absl::ZeroDuration()) return ErrorResponse(BadTicket());
  absl::StatusOr<redis::Reply> stored =
      redis_.Command({"SET", absl::StrCat(kTicketPrefix, *ticket),
                      absl::StrCat(token, "\n", (*subscribe)->SerializeAsString()), "PX",
                      absl::StrCat(std::max<int64_t>(1, absl::ToInt64Milliseconds(ttl)))});
  if (!stored.ok()) return ErrorResponse(stored.status());
  return http::Response::Json(
      200, absl::StrCat("{\"ticket\":", rules::JsonString(*ticket), ",\"expiresTime\":",
                        rules::JsonString(absl::FormatTime(
                            "%Y-%m-%d%ET%H:%M:%E3SZ", clock_.Now() + ttl, absl::UTCTimeZone())),
                        "}"));
}

http::Response Events::Stream(const http::Request& request) {
  if (request.method() != "GET") return MethodNotAllowed("GET, OPTIONS");
  std::shared_ptr<grpc::Channel> channel;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return ErrorResponse(core::Unavailable("SERVER_DRAINING", "the gateway is shutting down"));
    }
    channel = channel_;
  }
  if (channel == nullptr) {
    return ErrorResponse(
        core::Unavailable("NOTIFICATIONS_UNAVAILABLE", "notifications is not reachable"));
  }
  const std::string ticket = request.QueryParam("ticket").value_or("");
  if (ticket.empty() || ticket.size() > 64) return ErrorResponse(BadTicket());
  // Redeemed once: GETDEL hands it to exactly one request.
  absl::StatusOr<redis::Reply> held =
      redis_.Command({"GETDEL", absl::StrCat(kTicketPrefix, ticket)});
  if (!held.ok()) return ErrorResponse(held.status());
  if (held->is_nil()) return ErrorResponse(BadTicket());
  size_t newline = held->str.find('\n');
  if (newline == std::string::npos) return ErrorResponse(BadTicket());
  const std::string token = held->str.substr(0, newline);
  nv1::SubscribeRequest subscribe;
  if (!subscribe.ParseFromString(held->str.substr(newline + 1))) return ErrorResponse(BadTicket());
  if (auto last = request.Header("last-event-id"); last.has_value() && !last->empty()) {
    subscribe.set_resume_after_id(*last);
  } else if (auto param = request.QueryParam("lastEventId"); param.has_value()) {
    subscribe.set_resume_after_id(*param);
  }

  Relay::Options relay{
      .piece =
          [](const grpc::ByteBuffer& buffer) {
            nv1::SubscribeResponse response;
            grpc::Slice slice;
            if (!buffer.DumpToSingleSlice(&slice).ok() ||
                !response.ParseFromArray(slice.begin(), static_cast<int>(slice.size()))) {
              return std::string();
            }
            return rules::SseEvent(response.notification());
          },
      // Why the subscription ended, in the error shape, then the end of the response.
      .end =
          [](const grpc::Status& status, http::ResponseStream& out) {
            absl::Status why = runtime::FromGrpcStatus(status);
            out.Write(absl::StrCat(
                "event: end\ndata: ",
                why.ok() ? std::string("{\"code\":\"ok\"}") : rules::ErrorBody(why), "\n\n"));
            out.Finish();
          },
      .max_early = options_.max_early,
  };
  std::shared_ptr<Relay> stream = Relay::Start(
      std::move(channel), kSubscribe, subscribe.SerializeAsString(),
      [&](grpc::ClientContext* ctx) {
        ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token));
        for (const char* key : {"x-correlation-id", "traceparent", "tracestate"}) {
          if (auto v = request.Header(key); v.has_value() && v->size() <= 256) {
            ctx->AddMetadata(key, *v);
          }
        }
      },
      std::move(relay));
  // The stream's first message comes at once; a refusal is an ordinary error response.
  if (std::optional<absl::Status> ended = stream->WaitFirst(absl::Seconds(10)); ended.has_value()) {
    return ErrorResponse(ended->ok() ? core::Unavailable("STREAM_ENDED", "the stream ended at once")
                                     : *ended);
  }
  {
    absl::MutexLock lock(&mu_);
    streams_.push_back(stream);
  }
  http::Response response;
  response.content_type = "text/event-stream; charset=utf-8";
  response.headers = {{"Cache-Control", "no-cache, no-store"}, {"X-Accel-Buffering", "no"}};
  response.body = "retry: 3000\n\n";
  response.stream = [stream](std::shared_ptr<http::ResponseStream> out) {
    stream->Attach(std::move(out));
  };
  return response;
}

}  // namespace switchboard::gateway
