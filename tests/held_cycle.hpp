// A concurrent cycle held at a chosen point (gc/test_hooks.hpp), for tests
// that force an interleaving of the program's stores with marking.
#pragma once

#include <chrono>
#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include "gc/config.hpp"
#include "gc/test_hooks.hpp"
#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace tricolor_test {

// Waits, as a thread that never delays a pause, until `target` cycles have
// completed (swept).
// (The safepoint poll is redundant with the blocking_scope: it keeps this
// helper from depending on blocking_scope, which BlockedThreadDuringCycles
// tests.)
inline void wait_for_cycles(std::uint64_t target) {
  for (;;) {
    if (tricolor::read_stats().num_gc >= target) return;
    tricolor::safepoint();
    tricolor::blocking_scope blocking;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

// A concurrent cycle held at `point` from construction until release() or
// finish(). The destructor releases the collector and waits for the cycle to
// end, so a failed assertion never leaves the collector held (and the
// process hung) or a cycle running into the next test.
class held_cycle {
 public:
  [[gnu::noinline]] explicit held_cycle(
      tricolor::gc::test_hooks::cycle_point point =
          tricolor::gc::test_hooks::cycle_point::marking_started) {
    // The stack below this frame is about to be scanned as part of the root
    // snapshot (the frames of wait_until_held): no stale address of the
    // objects under test may be found there.
    tricolor_test::clobber_stack();
    tricolor_test::zero_below_stack_pointer();
    target_ = tricolor::read_stats().num_gc + 1;
    tricolor::gc::test_hooks::hold_collector_at(point);
    tricolor::gc::test_hooks::start_cycle_async();
    tricolor::gc::test_hooks::wait_until_held();
  }
  held_cycle(const held_cycle&) = delete;
  held_cycle& operator=(const held_cycle&) = delete;
  ~held_cycle() { finish(); }

  // Lets the collector go on.
  void release() {
    if (released_) return;
    released_ = true;
    tricolor::gc::test_hooks::release_collector();
  }
  // Lets it go on and waits until the held cycle has completed.
  void finish() {
    release();
    wait_for_cycles(target_);
  }

 private:
  std::uint64_t target_ = 0;
  bool released_ = false;
};

// Fixture of tests that hold cycles: pacing off, so that the only cycles are
// the tests' own and "the held cycle" is the one that completes next; skipped
// under gcstoptheworld=1, which has no concurrent cycle to hold.
class held_cycle_test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (tricolor::gc::environment_config().gcstoptheworld)
      GTEST_SKIP() << "gcstoptheworld=1: no concurrent cycle to hold";
    previous_ = tricolor::set_gc_percent(-1);
    set_up_ = true;
    tricolor::collect();
  }
  void TearDown() override {
    if (set_up_) tricolor::set_gc_percent(previous_);
  }

 private:
  int previous_ = 100;
  bool set_up_ = false;
};

}  // namespace tricolor_test
