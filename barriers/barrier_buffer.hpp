// Per-thread buffer of pointers recorded by the write barrier.
//
// While marking, store_pointer appends the pointer it overwrites here instead
// of shading it at once (a page-table lookup and a locked bit-set per store):
// 256 entries later, the owning thread shades them in one batch
// (shade_recorded), putting the newly grey objects into the global work pool
// (gc/work_pool.hpp) where the marker finds them.
//
// Invariants:
//   * Only the owning thread appends and flushes, except in a stop-the-world
//     pause, when the collector flushes every buffer (mark termination) or
//     empties them (mark start: entries from a previous cycle are stale).
//   * Mark termination happens only in a pause that finds every buffer and
//     the work pool empty, so no recorded pointer is lost.
#pragma once

#include <cstddef>

namespace tricolor::barriers {

struct barrier_buffer {
  static constexpr std::size_t capacity = 256;
  std::size_t count = 0;
  const void* entries[capacity];
};

// Shades every entry (grey objects go to the work pool) and empties the
// buffer.
void shade_recorded(barrier_buffer& buffer);

}  // namespace tricolor::barriers
