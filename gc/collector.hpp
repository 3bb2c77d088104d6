// The collection cycle; the design essay is at the top of collector.cc.
#pragma once

#include <atomic>
#include <cstdint>

#include "roots/thread_registry.hpp"

namespace tricolor::gc {

enum class gc_phase : std::uint8_t {
  off,                // no cycle in progress: mutators allocate freely
  sweep_termination,  // stopping the world, flushing thread caches
  mark,               // scanning roots and draining grey objects
  mark_termination,   // clearing weak references, computing the live heap
  sweep,              // freeing white objects, running destructors
};

gc_phase current_phase();

enum class cycle_trigger : std::uint8_t {
  heap_goal,      // heap_alloc reached the pacer's goal
  forced,         // collect()
  out_of_memory,  // the arena could not satisfy an allocation
};

// Runs one full cycle on the calling thread (registered as `self`). If
// another thread is already collecting, waits for it (as a safe thread);
// then a heap_goal trigger returns without collecting again, while the other
// triggers run a cycle of their own.
void run_cycle(roots::thread_state* self, cycle_trigger trigger);

// Starts a cycle if the pacer says the heap has reached its goal.
void maybe_start_cycle(roots::thread_state* self);

}  // namespace tricolor::gc
