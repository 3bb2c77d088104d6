// Hooks for tests and benchmarks into the collector's cycle: hold the
// collector at a chosen point of a concurrent cycle, so that a test can force
// an interleaving (a store while the barrier is on, a thread exiting while
// marking) deterministically instead of hoping for it. Not a stable API.
//
//     test_hooks::hold_collector_at(test_hooks::cycle_point::marking_started);
//     test_hooks::start_cycle_async();
//     test_hooks::wait_until_held();   // the world runs, the barrier is on,
//     ... mutate ...                   // the marker has not drained anything
//     test_hooks::release_collector(); // marking goes on
//
// While the collector is held, the holding test's threads run freely (no stop
// the world is pending). Only one hold may be armed at a time.
#pragma once

#include <cstdint>

namespace tricolor::gc::test_hooks {

enum class cycle_point : std::uint8_t {
  // Just after the mark-start pause: roots are shaded, the barrier is on,
  // objects are allocated black, the marker has scanned nothing yet.
  marking_started,
  // The marker found no grey object left and is about to stop the world for
  // mark termination (barrier buffers not yet flushed).
  before_mark_termination,
  // Mark termination is done and the world restarted: the barrier is off,
  // spans are unswept, sweeping has not started.
  sweep_started,
};

// Arms the hold: the next time the collector reaches `point` it waits there
// until release_collector().
void hold_collector_at(cycle_point point);
// Blocks (as a thread that never delays a pause) until the collector is held.
void wait_until_held();
// Lets the collector go on and disarms the hold.
void release_collector();
// Starts a concurrent cycle without waiting for it; returns at once if one is
// in progress.
void start_cycle_async();
// True while the write barrier is on (between the mark-start pause and mark
// termination).
bool marking_active();

}  // namespace tricolor::gc::test_hooks
