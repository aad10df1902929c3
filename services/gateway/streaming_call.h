// One server-streaming gRPC call made through the generic stub and read without a thread of
// its own: each message goes to `on_message` as it arrives, the end to `on_done`. A consumer
// that cannot take more returns false from `on_message` and calls Resume() when it can (the
// call's HTTP/2 flow control then holds the server back).
//
//   auto call = StreamingCall::Start(channel, "/pkg.Service/Method", request_bytes, setup,
//                                    {.on_message = ..., .on_done = ...});
//   call->Cancel();   // the client went away
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace switchboard::gateway {

class StreamingCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  struct Handlers {
    // On a gRPC thread; must not block. False: stop reading until Resume().
    std::function<bool(const grpc::ByteBuffer&)> on_message;
    // Once, on a gRPC thread, after the last message.
    std::function<void(const grpc::Status&)> on_done;
  };

  // `setup` adds metadata and a deadline to the call's context before it starts.
  static std::shared_ptr<StreamingCall> Start(
      std::shared_ptr<grpc::Channel> channel, const std::string& method, const std::string& request,
      const std::function<void(grpc::ClientContext*)>& setup, Handlers handlers);

  void Resume();
  void Cancel() { ctx_.TryCancel(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  explicit StreamingCall(Handlers handlers) : handlers_(std::move(handlers)) {}

  Handlers handlers_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  absl::Mutex mu_;
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  // Held from Start to OnDone: gRPC owns the call that long.
  std::shared_ptr<StreamingCall> self_;
};

}  // namespace switchboard::gateway
