// Server-side limits on every call in flight: no call runs longer than its method's maximum
// (whatever deadline the client set, or none), and a stream that makes no progress for its
// idle limit is cut. A handler blocked on a client that stopped reading (a sync Write waiting
// for flow control) is released: the call is cancelled, its Write returns false, and what it
// held (a database connection, a transaction) goes back. The gRPC edge (grpc.cc) registers
// every call with its maximum (--max-call-time, --max-stream-time); streaming handlers opt into
// the idle limit:
//
//   runtime::ExpectProgress(ctx, absl::Seconds(30));
//   while (...) { if (!writer->Write(chunk)) break; runtime::Progress(ctx); }
#pragma once

#include <optional>
#include <string>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "libs/core/clock.h"

namespace switchboard::runtime {

// Why a call was cut: the reason its status carries (DEADLINE_EXCEEDED).
inline constexpr char kServerDeadlineExceeded[] = "SERVER_DEADLINE_EXCEEDED";
inline constexpr char kStreamStalled[] = "STREAM_STALLED";

class CallLimits {
 public:
  // The process's (every server shares one watcher thread, started on first use).
  static CallLimits& Get();

  void Begin(const grpc::ServerContextBase* ctx, absl::Duration max, std::string method);
  // Forgets the call; returns the reason it was cut, if it was.
  std::optional<std::string> End(const grpc::ServerContextBase* ctx);
  void ExpectProgress(const grpc::ServerContextBase* ctx, absl::Duration idle);
  void Progress(const grpc::ServerContextBase* ctx);

 private:
  explicit CallLimits(const core::Clock& clock);
  void Watch();
  void CutOverdue(absl::Time now);

  struct Entry {
    absl::Time deadline;
    absl::Duration idle = absl::InfiniteDuration();
    absl::Time last_progress;
    std::string method;
    const char* cut = nullptr;
  };
  const core::Clock& clock_;
  absl::Mutex mu_;
  absl::flat_hash_map<const grpc::ServerContextBase*, Entry> calls_ ABSL_GUARDED_BY(mu_);
  std::thread watcher_;
};

// For a streaming handler: cut the call when Progress has not been called for `idle`.
void ExpectProgress(const grpc::ServerContextBase* ctx, absl::Duration idle);
void Progress(const grpc::ServerContextBase* ctx);

}  // namespace switchboard::runtime
