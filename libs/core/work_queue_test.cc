#include "libs/core/work_queue.h"

#include <atomic>
#include <catch2/catch.hpp>

#include "absl/synchronization/notification.h"

namespace switchboard::core {
namespace {

TEST_CASE("a work queue runs everything submitted, on its own threads, even at destruction") {
  std::atomic<int> ran{0};
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> on_caller{false};
  {
    WorkQueue queue("test-work", 4);
    for (int i = 0; i < 1000; ++i) {
      queue.Submit([&] {
        if (std::this_thread::get_id() == caller) on_caller = true;
        ++ran;
      });
    }
  }  // the destructor drains what is queued
  CHECK(ran == 1000);
  CHECK_FALSE(on_caller);
}

TEST_CASE("work blocked on one thread does not hold up the others") {
  WorkQueue queue("test-work", 2);
  absl::Notification release;
  absl::Notification second_ran;
  queue.Submit([&] { release.WaitForNotification(); });
  queue.Submit([&] { second_ran.Notify(); });
  CHECK(second_ran.WaitForNotificationWithTimeout(absl::Seconds(10)));
  release.Notify();
}

}  // namespace
}  // namespace switchboard::core
