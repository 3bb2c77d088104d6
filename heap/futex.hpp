// futex: sleep on a 32-bit atomic word until another thread wakes it.
//
// The runtime's waits that must not poll (heap_lock's sleepers, the
// collector waiting for the last span claimed by a sweeping thread, a mark
// worker waiting for shared work) and must not go through the
// pthread_mutex_lock that roots/blocking_calls.cc interposes. Each caller
// states its own no-lost-wakeup argument; what the kernel guarantees is
// that futex_wait sleeps only if the word still holds `expected` when it
// looks, atomically with queueing the thread, so a waker that changes the
// word before it calls futex_wake_all cannot be missed.
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstdint>

namespace tricolor::heap {

static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
              std::atomic<std::uint32_t>::is_always_lock_free);

// Sleeps while *word == expected, until a wake, a signal or `timeout_ns`
// (0: no timeout). Returns at once if *word != expected.
inline void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                       std::uint64_t timeout_ns = 0) noexcept {
  timespec timeout{static_cast<time_t>(timeout_ns / 1'000'000'000u),
                   static_cast<long>(timeout_ns % 1'000'000'000u)};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected,
          timeout_ns != 0 ? &timeout : nullptr, nullptr, 0);
}

inline void futex_wake(std::atomic<std::uint32_t>* word, int threads) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, threads,
          nullptr, nullptr, 0);
}

inline void futex_wake_all(std::atomic<std::uint32_t>* word) noexcept {
  futex_wake(word, INT_MAX);
}

}  // namespace tricolor::heap
