// A client of another target's gRPC API, the same whether the target runs in this process or in
// another Deployment. In this process the calls go through an in-process channel to the
// server's own interceptor (auth, metrics: exactly what a remote caller gets); elsewhere to
// --<target>-address. The channel exists from the module's Start to its Stop; outside that a
// call is UNAVAILABLE <TARGET>_UNAVAILABLE.
//
//   ASSIGN_OR_RETURN(eligibility_, PeerOf<eligibility::v1::EligibilityService>(ctx,
//   "eligibility"));
//   ...
//   ASSIGN_OR_RETURN(ReserveCallResponse resp,
//                    runtime::CallPeer(*eligibility_, incoming, &Stub::ReserveCall, req));
//   // the caller's token, deadline (at most 2 s), cancellation and trace context are passed on
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"

namespace switchboard::runtime {

// Where a peer is: this process's own server, or a host:port.
struct PeerAddress {
  bool local = false;
  std::string address;
};

class PeerBase {
 public:
  explicit PeerBase(std::string target) : target_(std::move(target)) {}
  virtual ~PeerBase() = default;
  // Called by ServiceModule: a channel at Start, nullptr at Stop.
  virtual void Connect(std::shared_ptr<grpc::Channel> channel) = 0;
  const std::string& target() const { return target_; }

 protected:
  absl::Status Unavailable() const {
    return core::Unavailable(absl::StrCat(absl::AsciiStrToUpper(target_), "_UNAVAILABLE"),
                             absl::StrCat(target_, " is not connected"));
  }

 private:
  std::string target_;
};

template <typename Service>
class Peer final : public PeerBase {
 public:
  using Stub = typename Service::Stub;
  explicit Peer(std::string target) : PeerBase(std::move(target)) {}

  void Connect(std::shared_ptr<grpc::Channel> channel) override {
    std::shared_ptr<Stub> stub =
        channel ? std::shared_ptr<Stub>(Service::NewStub(channel)) : nullptr;
    absl::MutexLock lock(&mu_);
    stub_ = std::move(stub);
  }

  // The stub while connected (kept alive by the caller for the duration of its call).
  absl::StatusOr<std::shared_ptr<Stub>> GetStub() const {
    absl::MutexLock lock(&mu_);
    if (!stub_) return Unavailable();
    return stub_;
  }

 private:
  mutable absl::Mutex mu_;
  std::shared_ptr<Stub> stub_ ABSL_GUARDED_BY(mu_);
};

// One unary RPC to `peer` on behalf of `incoming` (its token, deadline capped at `max`,
// cancellation, correlation id: Forward), its failure as the suite's status. A null `incoming`
// sends no token and gets `max` as its deadline.
template <typename Service, typename Request, typename Response>
absl::StatusOr<Response> CallPeer(const Peer<Service>& peer,
                                  const grpc::ServerContextBase* incoming,
                                  grpc::Status (Service::Stub::*method)(grpc::ClientContext*,
                                                                        const Request&, Response*),
                                  const Request& req, absl::Duration max = absl::Seconds(2)) {
  ASSIGN_OR_RETURN(auto stub, peer.GetStub());
  std::unique_ptr<grpc::ClientContext> client = Forward(incoming, max);
  Response resp;
  RETURN_IF_ERROR(FromGrpcStatus(((*stub).*method)(client.get(), req, &resp)));
  return resp;
}

}  // namespace switchboard::runtime
