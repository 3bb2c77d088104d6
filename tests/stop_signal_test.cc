// The stop signal's handler (roots/stop_signal.hpp): a thread it parked
// leaves SAFE by the same rules as become_running, so it stays parked while
// the world is stopped *and* while a deferred scan of its stack is pending.
//
// The case: a thread blocked in a system call is parked in the handler by one stop
// and has not left the handler when the next mark-start pause begins. That
// pause finds it SAFE, defers its stack scan, and restarts the world. Before
// the fix the handler looked only at stop_requested, so the thread ran on
// while the collector scanned its stack (ThreadSanitizer saw the thread's
// next become_safe overwrite the registers the collector had read, in
// concurrent_torture_no_scopes). The test builds that state directly: a stop
// parks the thread, the deferral is set as the mark-start pause sets it, and
// the world restarts with data waiting on the pipe.
#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include "roots/thread_registry.hpp"

namespace tricolor::roots {
namespace {

TEST(StopSignal, ParkedThreadWaitsForItsDeferredStackScan) {
  int pipe_ends[2];
  ASSERT_EQ(pipe(pipe_ends), 0);
  std::atomic<thread_state*> reader_state{nullptr};
  std::atomic<bool> read_returned{false};
  std::thread reader([&] {
    reader_state.store(current_thread());
    // The raw system call: read() itself is interposed to become SAFE
    // without the signal (roots/blocking_calls.cc).
    char byte;
    long n;
    do n = syscall(SYS_read, pipe_ends[0], &byte, 1);
    while (n < 0 && errno == EINTR);
    read_returned.store(n == 1);
  });
  while (reader_state.load() == nullptr) std::this_thread::yield();
  thread_state* reader_thread = reader_state.load();
  thread_state* self = current_thread();

  // The reader reaches the read and blocks; the stop signals it until the
  // handler parks it there.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  bool parked_by_signal;
  {
    // As the collector stops the world: a blocking call in here (a contended
    // lock) must not make this thread SAFE and wait for its own pause.
    runtime_section section(self);
    stop_the_world(self);
    parked_by_signal = reader_thread->stopped_by_signal.load();
    // What a mark-start pause does for a thread that was SAFE when it began.
    reader_thread->stack_scan_pending.store(true);
    if (write(pipe_ends[1], "x", 1) != 1) parked_by_signal = false;
    start_the_world();
  }
  ASSERT_TRUE(parked_by_signal) << "the stop did not park the reader in the handler, or write failed";

  // The world runs, the reader has data, but its stack scan is pending: it
  // must stay SAFE in the handler.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(read_returned.load()) << "the reader left the handler while its stack scan was pending";
  EXPECT_EQ(reader_thread->status.load(), thread_status::safe);

  finish_stack_scan(*reader_thread);
  reader.join();
  EXPECT_TRUE(read_returned.load());
  close(pipe_ends[0]);
  close(pipe_ends[1]);
}

}  // namespace
}  // namespace tricolor::roots
