// A fixed set of threads running submitted work in order of submission: for handlers that must
// block (a Redis round trip) but are invoked on threads that must not (gRPC's callback
// threads, which also read the next requests).
//
//   core::WorkQueue queue("redis-work", 16);
//   queue.Submit([reactor, ...] { reactor->Finish(DoBlockingThing()); });
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace switchboard::core {

class WorkQueue {
 public:
  WorkQueue(std::string name, int threads);
  // Runs what was submitted before, then joins the threads.
  ~WorkQueue();
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  void Submit(std::function<void()> work);

 private:
  void Run();

  const std::string name_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace switchboard::core
