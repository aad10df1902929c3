#include "services/gateway/streaming_call.h"

namespace switchboard::gateway {

std::shared_ptr<StreamingCall> StreamingCall::Start(
    std::shared_ptr<grpc::Channel> channel, const std::string& method, const std::string& request,
    const std::function<void(grpc::ClientContext*)>& setup, Handlers handlers) {
  std::shared_ptr<StreamingCall> call(new StreamingCall(std::move(handlers)));
  call->self_ = call;
  setup(&call->ctx_);
  call->stub_ = std::make_unique<grpc::GenericStub>(std::move(channel));
  grpc::Slice slice(request);
  call->request_ = grpc::ByteBuffer(&slice, 1);
  call->stub_->PrepareBidiStreamingCall(&call->ctx_, method, grpc::StubOptions(), call.get());
  call->StartWriteLast(&call->request_, grpc::WriteOptions());
  call->StartRead(&call->response_);
  call->StartCall();
  return call;
}

void StreamingCall::OnReadDone(bool ok) {
  if (!ok) return;  // the stream ended: OnDone follows
  {
    // Held across the handler, so that a Resume() racing with a refusal is not lost.
    absl::MutexLock lock(&mu_);
    if (!handlers_.on_message(response_)) {
      paused_ = true;
      return;
    }
  }
  StartRead(&response_);
}

void StreamingCall::Resume() {
  {
    absl::MutexLock lock(&mu_);
    if (!paused_) return;
    paused_ = false;
  }
  StartRead(&response_);
}

void StreamingCall::OnDone(const grpc::Status& status) {
  handlers_.on_done(status);
  // The last reference may be this one: nothing of `this` is touched after it goes.
  std::shared_ptr<StreamingCall> keep = std::move(self_);
}

}  // namespace switchboard::gateway
