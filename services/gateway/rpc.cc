#include "services/gateway/rpc.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/generic/generic_stub.h"
#include "libs/core/error.h"
#include "libs/runtime/grpc.h"
#include "services/gateway/relay.h"
#include "services/gateway/rules/connect.h"
#include "switchboard/billing/v1/billing_service.grpc.pb.h"
#include "switchboard/calls/v1/calls_service.grpc.pb.h"
#include "switchboard/eligibility/v1/eligibility_service.grpc.pb.h"
#include "switchboard/notifications/v1/notifications_service.grpc.pb.h"
#include "switchboard/routing/v1/routing_service.grpc.pb.h"
#include "switchboard/webhooks/v1/webhooks_service.grpc.pb.h"

namespace switchboard::gateway {
namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

std::unique_ptr<Message> New(const google::protobuf::Descriptor* type) {
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool FromBuffer(const grpc::ByteBuffer& buffer, Message* message) {
  grpc::Slice slice;
  if (!buffer.TrySingleSlice(&slice).ok() && !buffer.DumpToSingleSlice(&slice).ok()) return false;
  return message->ParseFromArray(slice.begin(), static_cast<int>(slice.size()));
}

// The bytes, media type and name a download's message carries (DownloadInvoiceResponse's
// chunk, ExportCallsResponse's data; content_type and file_name on the first).
struct Piece {
  std::string bytes;
  std::string content_type;
  std::string file_name;
};
Piece PieceOf(const Message& m) {
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  Piece p;
  for (const char* name : {"chunk", "data"}) {
    if (const auto* f = d->FindFieldByName(name); f != nullptr) p.bytes = r->GetString(m, f);
  }
  if (const auto* f = d->FindFieldByName("content_type"); f != nullptr) {
    p.content_type = r->GetString(m, f);
  }
  if (const auto* f = d->FindFieldByName("file_name"); f != nullptr) {
    p.file_name = r->GetString(m, f);
  }
  return p;
}

}  // namespace

Rpc::Rpc(Options options) : options_(options) {}

Rpc::~Rpc() { Stop(); }

void Rpc::Start() {
  pump_ = std::thread([this] { Pump(); });
}

void Rpc::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (pump_.joinable()) pump_.join();
}

void Rpc::Pump() {
  for (;;) {
    std::vector<std::shared_ptr<Relay>> waiting;
    {
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stopping), absl::Milliseconds(10))) return;
      for (auto& weak : paused_) {
        if (auto relay = weak.lock()) waiting.push_back(std::move(relay));
      }
      paused_.clear();
    }
    std::vector<std::weak_ptr<Relay>> still;
    for (auto& relay : waiting) {
      if (relay->MaybeResume()) still.push_back(relay);
    }
    absl::MutexLock lock(&mu_);
    paused_.insert(paused_.end(), still.begin(), still.end());
  }
}

absl::StatusOr<std::unique_ptr<Message>> ParseJson(const http::Request& request,
                                                   const google::protobuf::Descriptor* type) {
  std::unique_ptr<Message> message = New(type);
  absl::string_view body = absl::StripAsciiWhitespace(request.body());
  if (body.empty()) return message;  // an empty body is the empty message
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto parsed =
      google::protobuf::util::JsonStringToMessage(std::string(body), message.get(), options);
  if (!parsed.ok()) {
    return core::InvalidArgument("INVALID_JSON",
                                 absl::StrCat("the body is not a ", type->full_name(),
                                              " in JSON: ", std::string(parsed.message())));
  }
  return message;
}

http::Response ErrorResponse(const absl::Status& status) {
  return http::Response::Json(rules::HttpStatus(status.code()), rules::ErrorBody(status));
}

http::Response MethodNotAllowed(absl::string_view allow) {
  http::Response r =
      ErrorResponse(core::Error(absl::StatusCode::kInvalidArgument, "METHOD_NOT_ALLOWED",
                                absl::StrCat("use ", allow.substr(0, allow.find(',')))));
  r.status = 405;
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

void ForwardHeaders(const http::Request& request, grpc::ClientContext* ctx) {
  if (auto auth = request.Header("authorization")) ctx->AddMetadata("authorization", *auth);
  for (const char* key : {"x-correlation-id", "traceparent", "tracestate"}) {
    if (auto value = request.Header(key); value.has_value() && value->size() <= 256) {
      ctx->AddMetadata(key, *value);
    }
  }
}

const std::vector<std::pair<const google::protobuf::ServiceDescriptor*, std::string>>&
Rpc::PublicServices() {
  // Naming one message of each file links its descriptors into the generated pool.
  auto find = [](const google::protobuf::Descriptor* anchor, const char* name) {
    return anchor->file()->pool()->FindServiceByName(name);
  };
  // Looked up once: every request reads it.
  static const auto* services =
      new std::vector<std::pair<const google::protobuf::ServiceDescriptor*, std::string>>{
          {find(eligibility::v1::CheckEligibilityRequest::descriptor(),
                eligibility::v1::EligibilityService::service_full_name()),
           "eligibility"},
          {find(calls::v1::StartCallRequest::descriptor(),
                calls::v1::CallsService::service_full_name()),
           "calls"},
          {find(routing::v1::SetAgentAvailabilityRequest::descriptor(),
                routing::v1::RoutingService::service_full_name()),
           "routing"},
          {find(billing::v1::GetUsageRequest::descriptor(),
                billing::v1::BillingService::service_full_name()),
           "billing"},
          {find(notifications::v1::SubscribeRequest::descriptor(),
                notifications::v1::NotificationsService::service_full_name()),
           "notifications"},
          {find(webhooks::v1::RegisterPhoneNumberRequest::descriptor(),
                webhooks::v1::WebhooksService::service_full_name()),
           "webhooks"},
      };
  return *services;
}

void Rpc::Connect(const std::string& service, std::shared_ptr<grpc::Channel> channel) {
  absl::MutexLock lock(&mu_);
  channels_[service] = std::move(channel);
}

std::shared_ptr<grpc::Channel> Rpc::ChannelFor(const std::string& service) {
  absl::MutexLock lock(&mu_);
  auto it = channels_.find(service);
  return it == channels_.end() ? nullptr : it->second;
}

http::Response Rpc::Handle(const http::Request& request) {
  // "/switchboard.calls.v1.CallsService/GetCall"
  std::vector<std::string> parts = absl::StrSplit(request.path().substr(1), '/');
  const MethodDescriptor* method = nullptr;
  const google::protobuf::ServiceDescriptor* service = nullptr;
  std::string target;
  for (const auto& [s, t] : PublicServices()) {
    if (parts.size() == 2 && s->full_name() == parts[0]) {
      service = s;
      target = t;
      method = s->FindMethodByName(parts[1]);
    }
  }
  if (method == nullptr || method->client_streaming() ||
      (method->server_streaming() && method->output_type()->FindFieldByName("chunk") == nullptr &&
       method->output_type()->FindFieldByName("data") == nullptr)) {
    return ErrorResponse(core::Error(absl::StatusCode::kNotFound, "UNKNOWN_METHOD",
                                     absl::StrCat("no method ", request.path(),
                                                  " (POST /<package>.<Service>/<Method>; the "
                                                  "notification stream is GET /v1/events)")));
  }
  if (request.method() != "POST") return MethodNotAllowed("POST, OPTIONS");
  if (!rules::IsJson(request.Header("content-type").value_or("application/json"))) {
    http::Response r = ErrorResponse(core::InvalidArgument(
        "UNSUPPORTED_MEDIA_TYPE", "the body must be JSON (Content-Type: application/json)"));
    r.status = 415;
    return r;
  }
  absl::StatusOr<std::optional<absl::Duration>> timeout =
      rules::Timeout(request.Header("connect-timeout-ms"), options_.max_timeout);
  if (!timeout.ok()) return ErrorResponse(timeout.status());
  std::shared_ptr<grpc::Channel> channel = ChannelFor(service->full_name());
  if (channel == nullptr) {
    return ErrorResponse(core::Unavailable(
        absl::StrCat(absl::AsciiStrToUpper(target), "_UNAVAILABLE"),
        absl::StrCat(target, " is not reachable from this gateway (run it here, or set --", target,
                     "-address)")));
  }
  // A download may take long; a unary call gets the default unless the client says.
  const absl::Duration deadline = timeout->value_or(
      method->server_streaming() ? options_.max_timeout : options_.default_timeout);
  return method->server_streaming() ? Download(*method, request, std::move(channel), deadline)
                                    : Unary(*method, request, std::move(channel), deadline);
}

http::Response Rpc::Unary(const MethodDescriptor& method, const http::Request& request,
                          std::shared_ptr<grpc::Channel> channel, absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<Message>> in = ParseJson(request, method.input_type());
  if (!in.ok()) return ErrorResponse(in.status());
  grpc::ClientContext ctx;
  ForwardHeaders(request, &ctx);
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::GenericStub stub(channel);
  grpc::ByteBuffer req = ToBuffer((*in)->SerializeAsString());
  grpc::ByteBuffer resp;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, absl::StrCat("/", method.service()->full_name(), "/", method.name()),
                 grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return ErrorResponse(runtime::FromGrpcStatus(status));
  std::unique_ptr<Message> out = New(method.output_type());
  if (!FromBuffer(resp, out.get())) {
    return ErrorResponse(core::Error(absl::StatusCode::kInternal, "UNREADABLE_RESPONSE",
                                     "the service's answer did not parse"));
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  if (!google::protobuf::util::MessageToJsonString(*out, &json, options).ok()) {
    return ErrorResponse(core::Error(absl::StatusCode::kInternal, "UNPRINTABLE_RESPONSE",
                                     "the service's answer has no JSON form"));
  }
  return http::Response::Json(200, std::move(json));
}

http::Response Rpc::Download(const MethodDescriptor& method, const http::Request& request,
                             std::shared_ptr<grpc::Channel> channel, absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<Message>> in = ParseJson(request, method.input_type());
  if (!in.ok()) return ErrorResponse(in.status());
  const google::protobuf::Descriptor* output = method.output_type();
  Relay::Options relay{
      .piece =
          [output](const grpc::ByteBuffer& buffer) {
            std::unique_ptr<Message> m = New(output);
            return FromBuffer(buffer, m.get()) ? PieceOf(*m).bytes : std::string();
          },
      // Whole, or cut: a truncated body tells the client the file is not complete.
      .end =
          [](const grpc::Status& status, http::ResponseStream& out) {
            if (status.ok()) {
              out.Finish();
            } else {
              out.Abort();
            }
          },
      .max_early = 1 << 20,
      .pause_above = options_.download_buffer,
      .paused =
          [this](std::weak_ptr<Relay> waiting) {
            absl::MutexLock lock(&mu_);
            paused_.push_back(std::move(waiting));
          },
  };
  std::shared_ptr<Relay> call = Relay::Start(
      std::move(channel), absl::StrCat("/", method.service()->full_name(), "/", method.name()),
      (*in)->SerializeAsString(),
      [&](grpc::ClientContext* ctx) {
        ForwardHeaders(request, ctx);
        ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
      },
      std::move(relay));
  // The call's deadline bounds the wait.
  if (std::optional<absl::Status> ended = call->WaitFirst(timeout); ended.has_value()) {
    if (!ended->ok()) return ErrorResponse(*ended);
  }
  Piece head;
  if (std::unique_ptr<Message> first = New(output); FromBuffer(call->first(), first.get())) {
    head = PieceOf(*first);
  }
  http::Response response;
  response.content_type =
      head.content_type.empty() ? "application/octet-stream" : head.content_type;
  response.headers.emplace_back(
      "Content-Disposition", absl::StrCat("attachment; filename=\"",
                                          rules::SafeFileName(head.file_name, "download"), "\""));
  response.headers.emplace_back("Cache-Control", "no-store");
  response.stream = [call](std::shared_ptr<http::ResponseStream> out) {
    call->Attach(std::move(out));
  };
  return response;
}

}  // namespace switchboard::gateway
