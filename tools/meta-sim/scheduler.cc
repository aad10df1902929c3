#include "tools/meta-sim/scheduler.h"

#include "absl/time/clock.h"

namespace switchboard::metasim {

Scheduler::Scheduler() : thread_([this] { Run(); }) {}

Scheduler::~Scheduler() { Stop(); }

uint64_t Scheduler::After(absl::Duration delay, std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  uint64_t id = next_id_++;
  absl::Time at = absl::Now() + std::max(delay, absl::ZeroDuration());
  due_.emplace(at, id);
  tasks_.emplace(id, std::make_pair(at, std::move(task)));
  return id;
}

void Scheduler::Cancel(uint64_t id) {
  absl::MutexLock lock(&mu_);
  auto it = tasks_.find(id);
  if (it == tasks_.end()) return;
  due_.erase({it->second.first, id});
  tasks_.erase(it);
}

int Scheduler::Pending() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(tasks_.size()) + (running_task_ ? 1 : 0);
}

void Scheduler::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    due_.clear();
    tasks_.clear();
  }
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Run() {
  absl::MutexLock lock(&mu_);
  while (!stop_) {
    if (due_.empty()) {
      mu_.Await(absl::Condition(
          +[](Scheduler* s) { return s->stop_ || !s->due_.empty(); }, this));
      continue;
    }
    auto [at, id] = *due_.begin();
    if (at > absl::Now()) {
      // Wakes early when an earlier task is added, or on Stop().
      struct Probe {
        Scheduler* s;
        std::pair<absl::Time, uint64_t> first;
      } probe{this, *due_.begin()};
      mu_.AwaitWithDeadline(absl::Condition(
                                +[](Probe* p) {
                                  return p->s->stop_ || p->s->due_.empty() ||
                                         *p->s->due_.begin() != p->first;
                                },
                                &probe),
                            at);
      continue;
    }
    due_.erase(due_.begin());
    auto node = tasks_.extract(id);
    std::function<void()> task = std::move(node.mapped().second);
    running_task_ = true;
    mu_.Unlock();
    task();
    mu_.Lock();
    running_task_ = false;
  }
}

}  // namespace switchboard::metasim
