#include "libs/runtime/call_limits.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"

namespace switchboard::runtime {

CallLimits& CallLimits::Get() {
  static auto* instance = new CallLimits(core::Clock::Real());
  return *instance;
}

CallLimits::CallLimits(const core::Clock& clock) : clock_(clock) {
  watcher_ = std::thread([this] { Watch(); });
  watcher_.detach();  // lives as long as the process, as the instance does
}

void CallLimits::Watch() {
  while (true) {
    absl::SleepFor(absl::Milliseconds(250));
    CutOverdue(clock_.Now());
  }
}

void CallLimits::Begin(const grpc::ServerContextBase* ctx, absl::Duration max, std::string method) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  calls_.insert_or_assign(
      ctx, Entry{.deadline = now + max, .last_progress = now, .method = std::move(method)});
}

std::optional<std::string> CallLimits::End(const grpc::ServerContextBase* ctx) {
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(ctx);
  if (it == calls_.end()) return std::nullopt;
  std::optional<std::string> cut;
  if (it->second.cut != nullptr) cut = it->second.cut;
  calls_.erase(it);
  return cut;
}

void CallLimits::ExpectProgress(const grpc::ServerContextBase* ctx, absl::Duration idle) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(ctx);
  if (it == calls_.end()) return;
  it->second.idle = idle;
  it->second.last_progress = now;
}

void CallLimits::Progress(const grpc::ServerContextBase* ctx) {
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  auto it = calls_.find(ctx);
  if (it != calls_.end()) it->second.last_progress = now;
}

void CallLimits::CutOverdue(absl::Time now) {
  absl::MutexLock lock(&mu_);
  for (auto& [ctx, e] : calls_) {
    if (e.cut != nullptr) continue;
    if (now >= e.deadline) {
      e.cut = kServerDeadlineExceeded;
    } else if (now - e.last_progress >= e.idle) {
      e.cut = kStreamStalled;
    } else {
      continue;
    }
    log::Warning("call cut", {{"method", e.method}, {"reason", e.cut}});
    // Under the lock: End (before the context goes away) waits for this to return.
    const_cast<grpc::ServerContextBase*>(ctx)->TryCancel();
  }
}

void ExpectProgress(const grpc::ServerContextBase* ctx, absl::Duration idle) {
  CallLimits::Get().ExpectProgress(ctx, idle);
}

void Progress(const grpc::ServerContextBase* ctx) { CallLimits::Get().Progress(ctx); }

}  // namespace switchboard::runtime
