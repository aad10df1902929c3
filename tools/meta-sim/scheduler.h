// Runs callbacks after real-time delays on one thread: the simulated users' "answer after
// 2 s", "hang up after 30 s", the ring timeout. Delays really wait (the simulator stands in
// for an external system); every delay is configurable so tests use milliseconds.
//
//   Scheduler scheduler;
//   uint64_t id = scheduler.After(absl::Milliseconds(50), [] { ... });
//   scheduler.Cancel(id);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace switchboard::metasim {

class Scheduler {
 public:
  Scheduler();
  ~Scheduler();  // Stop()
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `task` after `delay` on the scheduler's thread. Returns an id for Cancel().
  uint64_t After(absl::Duration delay, std::function<void()> task);
  // Drops a task that has not started; no effect otherwise.
  void Cancel(uint64_t id);
  // Tasks waiting or running.
  int Pending() const;
  // Drops what is waiting, waits for a running task, joins the thread. Idempotent.
  void Stop();

 private:
  void Run();

  mutable absl::Mutex mu_;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::set<std::pair<absl::Time, uint64_t>> due_ ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, std::pair<absl::Time, std::function<void()>>> tasks_ ABSL_GUARDED_BY(mu_);
  bool running_task_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace switchboard::metasim
