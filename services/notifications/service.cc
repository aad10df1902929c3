#include "services/notifications/service.h"

#include <deque>

#include "libs/api/validate.h"
#include "libs/core/error.h"
#include "libs/core/status_macros.h"
#include "libs/runtime/grpc.h"

namespace switchboard::notifications {
namespace {

using Reactor = grpc::ServerWriteReactor<v1::SubscribeResponse>;

// A stream that only says why it cannot start.
class Refused final : public Reactor {
 public:
  explicit Refused(const absl::Status& status) { Finish(runtime::ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

// One subscriber's stream. The hub pushes into `queue_` from its threads; one write is in
// flight at a time, the next started from OnWriteDone. gRPC calls are made outside the mutex.
class Stream final : public Reactor {
 public:
  // The hub's handle on the stream: it outlives the reactor (the hub may still hold it after
  // OnDone), so it reaches the reactor only while it is alive.
  class Handle final : public Sink {
   public:
    explicit Handle(Stream* stream) : stream_(stream) {}
    bool Push(v1::SubscribeResponse message) override {
      absl::MutexLock lock(&mu_);
      return stream_ != nullptr && stream_->Enqueue(std::move(message));
    }
    void End(absl::Status status) override {
      absl::MutexLock lock(&mu_);
      if (stream_ != nullptr) stream_->EndWith(std::move(status));
    }
    void Detach() {
      absl::MutexLock lock(&mu_);
      stream_ = nullptr;
    }

   private:
    absl::Mutex mu_;
    Stream* stream_ ABSL_GUARDED_BY(mu_);
  };

  Stream(grpc::CallbackServerContext* ctx, Hub& hub) : ctx_(ctx), hub_(hub) {
    handle_ = std::make_shared<Handle>(this);
  }

  void Begin(Hub::Spec spec) {
    absl::StatusOr<uint64_t> id = hub_.Subscribe(std::move(spec), handle_);
    absl::MutexLock lock(&mu_);
    if (!id.ok()) {
      if (!end_.has_value()) end_ = std::move(id).status();
      while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
      MaybeFinish();
      return;
    }
    subscription_ = *id;
  }

  void OnWriteDone(bool ok) override {
    const v1::SubscribeResponse* next = nullptr;
    {
      absl::MutexLock lock(&mu_);
      queue_.pop_front();
      writing_ = false;
      if (!ok) {
        // The client is gone; OnCancel or the finish below ends the call.
        queue_.clear();
        if (!end_.has_value()) end_ = absl::CancelledError("the client went away");
      }
      if (!queue_.empty() && !end_forced_) {
        writing_ = true;
        next = &queue_.front();
      } else {
        MaybeFinish();
      }
    }
    if (next != nullptr) StartWrite(next);
  }

  void OnCancel() override {
    absl::MutexLock lock(&mu_);
    if (!end_.has_value()) end_ = absl::CancelledError("cancelled");
    MaybeFinish();
  }

  void OnDone() override {
    handle_->Detach();
    hub_.Unsubscribe(subscription_);
    delete this;
  }

 private:
  // From the hub (under Handle's mutex): false when the client's queue is full.
  bool Enqueue(v1::SubscribeResponse message) {
    const v1::SubscribeResponse* first = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (end_.has_value()) return false;
      if (queue_.size() >= kStreamQueue) return false;
      queue_.push_back(std::move(message));
      if (writing_) return true;
      writing_ = true;
      first = &queue_.front();
    }
    StartWrite(first);
    return true;
  }

  void EndWith(absl::Status status) {
    bool cancel = false;
    {
      absl::MutexLock lock(&mu_);
      if (end_.has_value()) return;
      end_ = std::move(status);
      // A client that is not reading would keep the write in flight for ever: cut it.
      cancel = writing_ && absl::IsResourceExhausted(*end_);
      if (writing_) {
        while (queue_.size() > 1) queue_.pop_back();
        end_forced_ = true;
      }
      MaybeFinish();
    }
    if (cancel) ctx_->TryCancel();
  }

  void MaybeFinish() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || !end_.has_value()) return;
    finished_ = true;
    Finish(runtime::ToGrpcStatus(*end_));
  }

  grpc::CallbackServerContext* const ctx_;
  Hub& hub_;
  std::shared_ptr<Handle> handle_;
  uint64_t subscription_ = 0;  // 0: none (the hub numbers from 1)

  absl::Mutex mu_;
  std::deque<v1::SubscribeResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<absl::Status> end_ ABSL_GUARDED_BY(mu_);
  bool end_forced_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
};

absl::StatusOr<Hub::Spec> SpecFor(const auth::Principal& caller,
                                  const v1::SubscribeRequest& request) {
  Hub::Spec spec;
  spec.stream.tenant_id = caller.tenant_id;
  if (request.tenant_wide()) {
    if (!caller.HasRole("supervisor") && !caller.HasRole("admin")) {
      return api::RequireRole(caller, "supervisor", "a tenant-wide stream");
    }
  } else {
    ASSIGN_OR_RETURN(spec.stream.agent_id, api::ActingAgent(caller, request.agent_id(), "agent_id",
                                                            {"supervisor", "admin", "gateway"}));
  }
  for (int kind : request.kinds()) {
    RETURN_IF_ERROR(api::RequireEnum(kind, v1::NotificationKind_descriptor(), "kinds"));
    spec.kinds.insert(static_cast<v1::NotificationKind>(kind));
  }
  RETURN_IF_ERROR(api::Text(request.resume_after_id(), "resume_after_id", {.max_chars = 128}));
  spec.resume_after_id = request.resume_after_id();
  spec.expires = caller.expires;
  return spec;
}

}  // namespace

grpc::ServerWriteReactor<v1::SubscribeResponse>* Service::Subscribe(
    grpc::CallbackServerContext* ctx, const v1::SubscribeRequest* request) {
  absl::StatusOr<auth::Principal> caller = runtime::Caller(ctx);
  if (!caller.ok()) return new Refused(caller.status());
  absl::StatusOr<Hub::Spec> spec = SpecFor(*caller, *request);
  if (!spec.ok()) return new Refused(spec.status());
  auto* stream = new Stream(ctx, hub_);
  stream->Begin(*std::move(spec));
  return stream;
}

grpc::Status Service::GetNoticeSettings(grpc::ServerContext* ctx,
                                        const v1::GetNoticeSettingsRequest* /*request*/,
                                        v1::GetNoticeSettingsResponse* response) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*response->mutable_settings(), notices_.Get(caller));
    return absl::OkStatus();
  });
}

grpc::Status Service::UpdateNoticeSettings(grpc::ServerContext* ctx,
                                           const v1::UpdateNoticeSettingsRequest* request,
                                           v1::UpdateNoticeSettingsResponse* response) {
  return runtime::Handle(ctx, [&](const auth::Principal& caller) -> absl::Status {
    ASSIGN_OR_RETURN(*response->mutable_settings(), notices_.Update(ctx, caller, *request));
    return absl::OkStatus();
  });
}

}  // namespace switchboard::notifications
