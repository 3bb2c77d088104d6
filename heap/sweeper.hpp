// Sweeping: turning the mark bits of a finished mark phase into free slots.
//
// For every span that holds objects:
//   1. dead = allocated & ~marked, one 64-slot word at a time;
//   2. if the span ever held an object with a destructor, run the destructor
//      of each dead, fully constructed object (header not null);
//   3. allocated := marked, marked := 0 (the span's live objects become the
//      allocated ones; nothing is written into freed slots);
//   4. a span left empty goes back to the page heap; a span with free slots
//      goes on its class's partial list.
//
// Invariant: runs with the world stopped and every thread cache flushed, so
// allocation bits are exact and no mutator allocates from a span being swept.
// Destructors run on the collecting thread inside that pause: they must not
// touch other managed objects (which may already be swept) or allocate.
#pragma once

#include <cstdint>

#include "heap/object_header.hpp"

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

sweep_result sweep_heap();

// The type whose destructor the sweeper is running (nullptr otherwise), for
// the diagnostic of a destructor that allocates.
const type_descriptor* finalizing_type();

}  // namespace tricolor::heap
