// heap_lock (heap/heap_lock.hpp): mutual exclusion under contention, with
// more threads than CPUs so that holders are preempted and waiters reach the
// futex sleep, not only the spin.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "heap/heap_lock.hpp"

namespace tricolor::heap {
namespace {

TEST(HeapLock, ExcludesUnderContention) {
  heap_lock lock;
  // Plain integers: only the lock orders their accesses (ThreadSanitizer
  // reports a race if it does not).
  long counter = 0;
  int inside = 0;
  std::atomic<bool> overlapped{false};
  constexpr int threads = 8, rounds = 50000;
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard guard(lock);
        if (++inside != 1) overlapped = true;
        ++counter;
        if (i % 1024 == 0) std::this_thread::yield();  // a preempted holder
        --inside;
      }
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_FALSE(overlapped.load());
  EXPECT_EQ(counter, long{threads} * rounds);
}

TEST(HeapLock, ALongHoldPutsWaitersToSleepAndWakesThem) {
  heap_lock lock;
  std::atomic<int> acquired{0};
  lock.lock();
  std::vector<std::thread> waiters;
  for (int t = 0; t < 4; ++t)
    waiters.emplace_back([&] {
      std::lock_guard guard(lock);
      acquired.fetch_add(1);
    });
  // Far longer than the spin: the waiters are asleep on the futex now.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(acquired.load(), 0);
  lock.unlock();
  for (std::thread& w : waiters) w.join();
  EXPECT_EQ(acquired.load(), 4);
}

}  // namespace
}  // namespace tricolor::heap
