// The collection cycle; the design essay is at the top of collector.cc.
#pragma once

#include <atomic>
#include <cstdint>

#include "roots/thread_registry.hpp"

namespace tricolor::gc {

enum class gc_phase : std::uint8_t {
  off,                // no cycle in progress: mutators allocate freely
  sweep_termination,  // mark-start pause: stopping the world, flushing caches
  mark,               // roots shaded; concurrent marking (barrier on)
  mark_termination,   // pause: barrier buffers drained, weak refs cleared
  sweep,              // concurrent sweeping (background and lazy)
};

gc_phase current_phase();

enum class cycle_trigger : std::uint8_t {
  heap_goal,      // heap_alloc reached the pacer's trigger
  forced,         // collect()
  out_of_memory,  // the arena could not satisfy an allocation
};

// Asks the collector thread for a cycle and returns at once (a heap_goal
// request is dropped if a cycle is already requested or running).
void request_cycle(cycle_trigger trigger);

// Runs a full cycle that starts after this call, including its sweep, and
// returns when it has finished. The caller (registered as `self`) waits as a
// safe thread, so it never delays the cycle's pauses.
void collect_and_wait(roots::thread_state* self, cycle_trigger trigger);

// Allocation slow path, before the thread allocates about `bytes`: starts a
// cycle when the heap reaches the trigger, makes the thread assist while the
// cycle marks and help sweep while it sweeps (see collector.cc).
void pace_allocation(roots::thread_state* self, std::size_t bytes);

}  // namespace tricolor::gc
