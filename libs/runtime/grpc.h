// The gRPC edge shared by every service: absl::Status → grpc::Status with a machine-readable
// reason (google.rpc.ErrorInfo in grpc-status-details-bin, ADR 0005), and the caller's verified
// principal. Handlers are written as:
//
//   grpc::Status Get(grpc::ServerContext* ctx, const GetRequest* req, GetResponse* resp) override {
//     return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
//       ... caller.tenant_id is the only tenant there is ...
//     });
//   }
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"
#include "libs/auth/token.h"

namespace prometheus {
class Registry;
}

namespace switchboard::runtime {

inline constexpr char kErrorDomain[] = "switchboard.dev";

grpc::Status ToGrpcStatus(const absl::Status& status);
// The reverse, for clients of our servers: the reason lands back in core::ReasonOf.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The principal the interceptor verified for this call, or UNAUTHENTICATED.
absl::StatusOr<auth::Principal> Caller(const grpc::ServerContextBase* ctx);

// Runs `fn` with the verified caller and converts its status.
grpc::Status Handle(const grpc::ServerContextBase* ctx,
                    const std::function<absl::Status(const auth::Principal&)>& fn);

// A client context for a call made on behalf of `incoming` (to a Peer): the caller's bearer
// token, correlation id and trace context are passed on; the deadline is the caller's, capped
// at `max` (a caller without a deadline gets `max`); and when the caller goes away (cancels,
// disconnects, runs out of time) the call is cancelled with it. A null `incoming` (a consumer,
// a timer) gets `max` alone.
std::unique_ptr<grpc::ClientContext> Forward(const grpc::ServerContextBase* incoming,
                                             absl::Duration max = absl::Seconds(5));

// Verifies bearer tokens, admits only the roles each method's proto names (refusing the others
// with PERMISSION_DENIED <ROLE>_ROLE_REQUIRED before the request is read) and records RED
// metrics for every call. Health checks and server reflection need no token; every other
// method does. `served_methods` ("/pkg.Service/Method")
// get their own metric labels; any other path a client sends is counted as "unknown", so
// callers cannot create metric series at will.
// Every call is also bounded (call_limits.h): unary ones by `max_call`, streams by `max_stream`.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeInterceptorFactory(
    const auth::TokenVerifier& verifier, prometheus::Registry& metrics,
    std::set<std::string> served_methods, absl::Duration max_call = absl::Seconds(30),
    absl::Duration max_stream = absl::Minutes(30));

// The roles "/pkg.Service/Method" admits: its (switchboard.api.v1.roles) options, empty for a
// method that names none (which then admits nobody) or a path that is no method.
std::vector<std::string> MethodRoles(absl::string_view path);

// "/pkg.Service/Method" for every method of the named services (from the generated
// descriptors linked into the binary).
std::set<std::string> MethodPaths(const std::vector<std::string>& service_names);

}  // namespace switchboard::runtime
