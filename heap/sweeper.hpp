// Sweeping: turning the mark bits of a finished mark phase into free slots,
// concurrently with the mutators, span by span.
//
// Sweeping one span:
//   0. if the span holds heap profile samples, those of unmarked objects
//      leave the profile's in-use figures (gc/heap_profile.hpp);
//   1. dead = allocated & ~marked, one 64-slot word at a time;
//   2. if the span ever held an object with a destructor, hand each dead,
//      fully constructed object with a destructor to the finalizer thread
//      and keep it allocated until the destructor has run
//      (gc/finalizer.hpp); the sweep itself never runs a destructor;
//   3. allocated := (allocated & marked) | finalizing, marked := 0 (the
//      span's live objects become the allocated ones; nothing is written
//      into freed slots). With sticky_marks (generations), marked :=
//      marked & aged and aged := marked instead: a survivor stays marked
//      (old) from its second surviving cycle on;
//   4. heap_alloc drops by the dead bytes; a span left empty goes back to the
//      page heap; a span with free slots goes on its class's partial list; a
//      span that still holds objects goes back into the heap's registry.
//      Spans are filed in batches of up to 64 (one sweep_some call), one
//      lock per list and batch: shared locks taken span by span convoyed
//      allocating threads and the background sweeper (issue 12).
//
// The sweep of a cycle:
//   * begin_sweep(), in the mark-termination pause (world stopped, every
//     cache flushed, marking finished): every span in use becomes UNSWEPT. It
//     leaves the heap's registry and partial lists and goes into the sweep
//     queue, so no allocator can reach it until it has been swept.
//   * Then, with the world running, spans are claimed one at a time from the
//     queue (an atomic index: each span is swept by exactly one thread) by the
//     background collector thread (finish_sweep) and by allocating threads
//     that find their class's partial list empty (sweep_some, called by
//     take_span before it asks the page heap for fresh pages).
//   * The next cycle does not stop the world before finish_sweep() has
//     returned: every span was swept, and each thread that claimed one has
//     finished it.
//
// Invariants:
//   * A span is in exactly one of: the sweep queue (unswept), a thread
//     cache's cursor, a partial list or the registry (swept). Mark bits are
//     only read and written by the span's one sweeper while it is unswept.
//   * No marking runs while any span is unswept (finish_sweep precedes the
//     mark-start pause), so the mark bits being cleared are final.
//   * No destructor runs on a sweeping thread: an allocating thread that
//     sweeps a span inside make_gc only queues the span's dead objects with
//     destructors (gc/finalizer.hpp), so make_gc never runs program code
//     other than the constructor it was asked to run.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "tricolor/internal/object_header.hpp"

namespace tricolor::heap {

struct sweep_result {
  std::uint64_t spans_swept = 0;
  std::uint64_t spans_freed = 0;
  std::uint64_t objects_freed = 0;
  std::uint64_t bytes_freed = 0;
  std::uint64_t live_objects = 0;
  std::uint64_t live_bytes = 0;
  std::uint64_t bytes_released = 0;  // returned to the OS after this sweep
};

// Generations (gc/generations.hpp): when set, step 3 keeps the marks of the
// objects that survived before (marked := marked & aged) instead of clearing
// them. Set once, before the first cycle.
extern std::atomic<bool> sticky_marks;

// Queues every span in use for sweeping. World stopped, previous sweep done.
void begin_sweep();

// Sweeps up to `spans` (at most 64) unswept spans; returns false if none
// was left.
bool sweep_some(std::size_t spans);

// Sweeps whatever is left, waits for spans other threads are sweeping,
// publishes the heap profile of the mark just swept (gc/heap_profile.hpp),
// and returns the totals of this sweep. Collector thread only.
sweep_result finish_sweep();

// True once every span queued by the last begin_sweep has been swept.
bool sweep_finished();

// begin_sweep + finish_sweep, for a cycle that sweeps with the world stopped.
sweep_result sweep_heap();

}  // namespace tricolor::heap
