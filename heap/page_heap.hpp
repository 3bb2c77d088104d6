// The page heap: hands out runs of pages from the arena and takes them back.
//
// Free runs sit on lists by residency (resident runs are taken before runs
// already released to the OS) and by length (exact lists for 1..127 pages,
// one list for longer runs searched best-fit). A freed run is coalesced at once with
// free neighbours found through the page table, so the heap never holds two
// adjacent free runs. When no free run fits, the arena frontier advances.
//
// Returning memory to the OS: after each sweep, release_idle() gives back
// (madvise MADV_DONTNEED) free runs until the memory the heap keeps resident
// (in-use spans plus unreleased free runs) is within two targets the
// collector passes (gc/pacer.hpp): above the soft one (the next heap goal
// plus 10 %, as Go's scavenger keeps) it releases runs of at least 64 KiB
// that have stayed free through one whole cycle; above the hard one (the
// memory limit minus headroom) it releases any free run. A heap that shrinks
// returns its memory within two cycles, a heap that oscillates under its goal
// does not refault its pages, and a memory limit holds for resident memory.
//
// Concurrency: every operation takes the page-heap lock. Span records are
// recycled, never freed (see span.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "heap/heap_lock.hpp"
#include "heap/span.hpp"

namespace tricolor::heap {

class page_heap {
 public:
  // A run of exactly npages pages, its page-table entries pointing at the
  // returned record, with state still span_state::free; the caller sets the
  // span up and publishes its state. Its `released` says whether its pages
  // may not be resident. nullptr if the arena is exhausted.
  span* allocate(std::uint32_t npages);

  // Returns s's pages; s must be fully set up (start, npages) and no longer
  // hold objects.
  void free(span* s);
  // The same for `count` spans, under one lock (the sweep frees in batches).
  void free(span* const* spans, std::size_t count);

  // Releases free runs to the OS while in_use_bytes plus the unreleased free
  // bytes exceed the targets (see above); returns the bytes released.
  std::size_t release_idle(std::uint64_t in_use_bytes, std::uint64_t soft_target,
                           std::uint64_t hard_target);

  std::size_t free_bytes() const;
  std::size_t released_bytes() const;

 private:
  static constexpr std::uint32_t exact_lists = 128;

  void free_locked(span* s);
  span* new_record();
  void push(span* run);
  void unlink(span* run);
  span* take_fitting(std::uint32_t npages);
  void map_pages(span* s, bool every_page);

  mutable heap_lock lock_;
  span*& list_for(const span* run);

  // [0]: resident runs, [1]: released runs; then [n]: runs of n pages, [0]:
  // longer ones.
  span* lists_[2][exact_lists + 1] = {};
  span* spare_records_ = nullptr;
  std::size_t free_bytes_ = 0;
  std::size_t released_bytes_ = 0;
};

}  // namespace tricolor::heap
