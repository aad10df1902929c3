// A server-streaming gRPC call relayed to a streamed HTTP response (downloads, Server-Sent
// Events). The first message (or the call's end) is waited for, so that a refusal can still be
// an ordinary error response and the headers can come from the first message; what arrives
// before the response is attached waits; then each message is written as it comes. Reading
// pauses while more than `pause_above` bytes wait for the client (the owner resumes it); the
// client leaving cancels the call; the call ending ends the response through `end`.
//
//   auto relay = Relay::Start(channel, "/pkg.Service/Method", bytes, setup, {...});
//   if (auto refused = relay->WaitFirst(absl::Seconds(10))) return ErrorResponse(*refused);
//   response.stream = [relay](auto out) { relay->Attach(std::move(out)); };
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "libs/http/server.h"
#include "services/gateway/streaming_call.h"

namespace switchboard::gateway {

class Relay : public std::enable_shared_from_this<Relay> {
 public:
  struct Options {
    // The bytes one message becomes ("" writes nothing). On gRPC threads.
    std::function<std::string(const grpc::ByteBuffer&)> piece;
    // Ends the response once the call ended: a last piece, Finish or Abort.
    std::function<void(const grpc::Status&, http::ResponseStream&)> end;
    // Pieces held before the response is attached; past this the call is cancelled.
    int max_early = 1024;
    // Reading pauses while more than this many bytes wait for the client (0: never; the HTTP
    // server cuts a client over its stream bound instead).
    int64_t pause_above = 0;
    // Told when reading paused, so that the owner calls Resume() once the client has room.
    std::function<void(std::weak_ptr<Relay>)> paused;
  };

  static std::shared_ptr<Relay> Start(std::shared_ptr<grpc::Channel> channel,
                                      const std::string& method, const std::string& request,
                                      const std::function<void(grpc::ClientContext*)>& setup,
                                      Options options);

  // Waits for the first message or the end (cancelling the call after `timeout`). The call's
  // status when it ended without a message, else nullopt.
  std::optional<absl::Status> WaitFirst(absl::Duration timeout);
  // The first message (after WaitFirst said nullopt).
  const grpc::ByteBuffer& first() const { return first_; }

  // Hands over the response (on its I/O thread; never blocks).
  void Attach(std::shared_ptr<http::ResponseStream> out);
  // Writes bytes of the owner's own (a heartbeat); false when not attached or closed.
  bool Write(std::string bytes);
  // Ends the response now with `status` (the gateway is draining), then cancels the call.
  void EndNow(const absl::Status& status);
  void Cancel();
  // Reads on if paused and the client has room (less than half of pause_above waiting). True
  // while it stays paused, waiting for the client; false once resumed, ended or abandoned.
  bool MaybeResume();
  absl::Time last_write() const;

 private:
  explicit Relay(Options options) : options_(std::move(options)) {}
  bool OnMessage(const grpc::ByteBuffer& message);
  void OnDone(const grpc::Status& status);
  void EndOut() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteLocked(std::string bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  absl::Notification first_seen_;  // the first message, or the end
  grpc::ByteBuffer first_;         // written once, before first_seen_
  mutable absl::Mutex mu_;
  std::vector<std::string> early_ ABSL_GUARDED_BY(mu_);
  int64_t early_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<grpc::Status> done_ ABSL_GUARDED_BY(mu_);
  bool ended_ ABSL_GUARDED_BY(mu_) = false;  // the response's end was written
  bool paused_ ABSL_GUARDED_BY(mu_) = false;
  std::shared_ptr<http::ResponseStream> out_ ABSL_GUARDED_BY(mu_);
  // Until the call ends (its handlers hold this relay: the cycle ends with the call).
  std::shared_ptr<StreamingCall> call_ ABSL_GUARDED_BY(mu_);
  absl::Time last_write_ ABSL_GUARDED_BY(mu_) = absl::Now();
};

}  // namespace switchboard::gateway
