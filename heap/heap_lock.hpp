// heap_lock: the lock of the heap's short critical sections (a partial
// list's push or pop, the page heap's run lists, the span registry).
//
// Every allocating thread takes these when it refills a cursor, and the
// background sweeper when it files swept spans; each section is a few list
// operations, tens of nanoseconds. A std::mutex put a thread that found one
// held to sleep in the kernel at once, and its owner paid a futex wake
// system call on release, even when the holder would have let go a few
// hundred nanoseconds later: with two mutators on two CPUs that was some
// 20,000 futex calls per mutator in a 2-second run of mt_gcbench
// (perf trace, issue 12). It also went through the pthread_mutex_lock the
// runtime interposes (roots/blocking_calls.cc), which is pointless here.
//
// The algorithm: a futex lock with three states (Drepper, "Futexes Are
// Tricky", mutex 3) preceded by a short spin.
//
//   state 0 free, 1 held, 2 held and a thread may sleep on it.
//   lock:   CAS 0 -> 1; else spin up to spin_limit times, each time trying
//           the CAS when the lock looks free; else swap in 2 and sleep
//           (futex wait on 2) until a swap of 2 returns 0.
//   unlock: swap in 0; if the old state was 2, wake one sleeper.
//
// Invariant: a thread sleeps only while the state is 2, and a thread that
// sets 2 itself or finds it wakes one sleeper when it unlocks, so no
// sleeper is left behind (a woken thread that takes the lock leaves 2, so
// a later sleeper is woken in turn; the cost is one wake system call that
// may find nobody). The acquire of a successful swap or CAS pairs with the
// release of the unlock that freed the lock.
//
// No safepoint may be polled while a heap_lock is held, and a thread holding
// one is never stopped by the stop signal (it is inside the runtime), so a
// pause never waits on a holder that waits for the pause.
#pragma once

#include <atomic>
#include <cstdint>

#include "heap/futex.hpp"

namespace tricolor::heap {

class heap_lock {
 public:
  constexpr heap_lock() = default;
  heap_lock(const heap_lock&) = delete;
  heap_lock& operator=(const heap_lock&) = delete;

  void lock() noexcept {
    std::uint32_t expected = 0;
    if (state_.compare_exchange_strong(expected, 1, std::memory_order_acquire)) [[likely]]
      return;
    lock_contended();
  }

  void unlock() noexcept {
    if (state_.exchange(0, std::memory_order_release) == 2) [[unlikely]]
      futex_wake(&state_, 1);
  }

 private:
  // About a microsecond of `pause`: longer than any section held by a
  // running thread, short against a sleep.
  static constexpr int spin_limit = 100;

  [[gnu::noinline]] void lock_contended() noexcept {
    for (int spin = 0; spin < spin_limit; ++spin) {
      relax();
      std::uint32_t expected = 0;
      if (state_.load(std::memory_order_relaxed) == 0 &&
          state_.compare_exchange_weak(expected, 1, std::memory_order_acquire))
        return;
    }
    // futex_wait returns at once if the state is no longer 2.
    while (state_.exchange(2, std::memory_order_acquire) != 0) futex_wait(&state_, 2);
  }

  static void relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  std::atomic<std::uint32_t> state_{0};
};

}  // namespace tricolor::heap
