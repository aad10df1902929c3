// Every unary RPC of the suite's public services over HTTP/1.1 (ADR 0018): POST
// /<package>.<Service>/<Method> with a JSON body, in the Connect protocol's unary shape,
// transcoded from the descriptors linked into the binary (protobuf's JSON mapping, unknown
// fields refused) and sent as the same gRPC call any client makes: through the server's
// interceptor (auth, roles, limits, metrics), in process when the service runs here.
// Server-streaming downloads (ExportCalls, DownloadInvoice) are answered as streamed files.
//
//   Rpc rpc({});
//   rpc.Connect("switchboard.calls.v1.CallsService", channel);   // at Start; nullptr at Stop
//   http::Response r = rpc.Handle(request);
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/grpcpp.h"
#include "libs/http/server.h"

namespace switchboard::gateway {

class Relay;

class Rpc {
 public:
  struct Options {
    // A unary call without a Connect-Timeout-Ms header gets this, a download max_timeout; a
    // header may ask up to max_timeout.
    absl::Duration default_timeout = absl::Seconds(30);
    absl::Duration max_timeout = absl::Minutes(5);
    // Download bytes queued for a client before the gateway waits for it to read.
    int64_t download_buffer = 256 << 10;
  };

  explicit Rpc(Options options);
  ~Rpc();  // Stop()

  // The thread that resumes downloads paused for a slow client.
  void Start();
  void Stop();

  // The services the gateway forwards to (every public service of the suite), by full name,
  // with the target that serves each ("switchboard.calls.v1.CallsService" -> "calls").
  static const std::vector<std::pair<const google::protobuf::ServiceDescriptor*, std::string>>&
  PublicServices();

  // Where `service` is reached; nullptr: nowhere (503 <TARGET>_UNAVAILABLE).
  void Connect(const std::string& service, std::shared_ptr<grpc::Channel> channel);

  // POST /<service>/<method>.
  http::Response Handle(const http::Request& request);

 private:
  http::Response Unary(const google::protobuf::MethodDescriptor& method,
                       const http::Request& request, std::shared_ptr<grpc::Channel> channel,
                       absl::Duration timeout);
  http::Response Download(const google::protobuf::MethodDescriptor& method,
                          const http::Request& request, std::shared_ptr<grpc::Channel> channel,
                          absl::Duration timeout);
  std::shared_ptr<grpc::Channel> ChannelFor(const std::string& service);

  void Pump();

  const Options options_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_ ABSL_GUARDED_BY(mu_);
  // Downloads waiting for their client to read what is queued.
  std::vector<std::weak_ptr<Relay>> paused_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread pump_;
};

// Shared by the RPCs and the event stream.
http::Response ErrorResponse(const absl::Status& status);
// 405 METHOD_NOT_ALLOWED with the methods the route takes in `Allow` ("POST, OPTIONS").
http::Response MethodNotAllowed(absl::string_view allow);
// The request's body as a `type` in protobuf's JSON mapping (unknown fields refused); an empty
// body is the empty message. INVALID_ARGUMENT INVALID_JSON otherwise.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> ParseJson(
    const http::Request& request, const google::protobuf::Descriptor* type);
// The gRPC metadata a gateway call carries from the HTTP request: the bearer token, the
// correlation id and trace context.
void ForwardHeaders(const http::Request& request, grpc::ClientContext* ctx);

}  // namespace switchboard::gateway
