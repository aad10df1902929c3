#include "services/gateway/relay.h"

#include "libs/runtime/grpc.h"

namespace switchboard::gateway {

std::shared_ptr<Relay> Relay::Start(std::shared_ptr<grpc::Channel> channel,
                                    const std::string& method, const std::string& request,
                                    const std::function<void(grpc::ClientContext*)>& setup,
                                    Options options) {
  std::shared_ptr<Relay> relay(new Relay(std::move(options)));
  std::shared_ptr<StreamingCall> call = StreamingCall::Start(
      std::move(channel), method, request, setup,
      {.on_message = [relay](const grpc::ByteBuffer& m) { return relay->OnMessage(m); },
       .on_done = [relay](const grpc::Status& s) { relay->OnDone(s); }});
  absl::MutexLock lock(&relay->mu_);
  if (!relay->done_.has_value()) relay->call_ = std::move(call);
  return relay;
}

std::optional<absl::Status> Relay::WaitFirst(absl::Duration timeout) {
  if (!first_seen_.WaitForNotificationWithTimeout(timeout)) {
    Cancel();
    first_seen_.WaitForNotification();  // the cancelled call ends at once
  }
  absl::MutexLock lock(&mu_);
  if (done_.has_value() && early_.empty()) {
    return done_->ok() ? absl::OkStatus() : runtime::FromGrpcStatus(*done_);
  }
  return std::nullopt;
}

bool Relay::OnMessage(const grpc::ByteBuffer& message) {
  if (!first_seen_.HasBeenNotified()) {
    first_ = message;
    first_seen_.Notify();
  }
  std::string piece = options_.piece(message);
  bool paused = false;
  {
    absl::MutexLock lock(&mu_);
    if (out_ == nullptr) {
      early_bytes_ += static_cast<int64_t>(piece.size());
      early_.push_back(std::move(piece));
      if (static_cast<int>(early_.size()) > options_.max_early) {
        if (call_ != nullptr) call_->Cancel();
        return true;
      }
      paused = options_.pause_above > 0 && early_bytes_ >= options_.pause_above;
    } else {
      WriteLocked(std::move(piece));
      paused = options_.pause_above > 0 && out_->queued_bytes() >= options_.pause_above;
    }
    paused_ = paused;
  }
  if (paused && options_.paused) options_.paused(weak_from_this());
  return !paused;
}

void Relay::OnDone(const grpc::Status& status) {
  {
    absl::MutexLock lock(&mu_);
    done_ = status;
    EndOut();
    call_.reset();
  }
  // Only now: WaitFirst, woken by this, must find the end it was woken for (a refusal answered
  // as 200 and an at-once `end` event otherwise).
  if (!first_seen_.HasBeenNotified()) first_seen_.Notify();
}

void Relay::Attach(std::shared_ptr<http::ResponseStream> out) {
  {
    absl::MutexLock lock(&mu_);
    out_ = out;
    for (std::string& piece : early_) WriteLocked(std::move(piece));
    early_.clear();
    early_bytes_ = 0;
    EndOut();
  }
  std::weak_ptr<Relay> weak = weak_from_this();
  out->OnClose([weak] {
    if (auto relay = weak.lock()) relay->Cancel();
  });
}

bool Relay::Write(std::string bytes) {
  absl::MutexLock lock(&mu_);
  if (out_ == nullptr || ended_ || out_->closed()) return false;
  WriteLocked(std::move(bytes));
  return true;
}

void Relay::EndNow(const absl::Status& status) {
  absl::MutexLock lock(&mu_);
  if (out_ != nullptr && !done_.has_value()) {
    done_ = runtime::ToGrpcStatus(status);
    EndOut();
  }
  if (call_ != nullptr) call_->Cancel();
}

void Relay::Cancel() {
  absl::MutexLock lock(&mu_);
  if (call_ != nullptr) call_->Cancel();
}

bool Relay::MaybeResume() {
  std::shared_ptr<StreamingCall> call;
  {
    absl::MutexLock lock(&mu_);
    if (call_ == nullptr || ended_ || !paused_ || (out_ != nullptr && out_->closed())) {
      return false;
    }
    if (out_ == nullptr || out_->queued_bytes() >= options_.pause_above / 2) return true;
    paused_ = false;
    call = call_;
  }
  call->Resume();
  return false;
}

absl::Time Relay::last_write() const {
  absl::MutexLock lock(&mu_);
  return last_write_;
}

void Relay::EndOut() {
  if (out_ == nullptr || !done_.has_value() || ended_) return;
  ended_ = true;
  options_.end(*done_, *out_);
}

void Relay::WriteLocked(std::string bytes) {
  last_write_ = absl::Now();
  if (bytes.empty()) return;
  // A client that cannot take more is cut by the HTTP server; the call goes with it.
  if (!out_->Write(std::move(bytes)) && call_ != nullptr) call_->Cancel();
}

}  // namespace switchboard::gateway
