// The arena: one contiguous reservation of address space for the whole
// managed heap, and the page table that maps every page to its span.
//
//     arena.base                                   arena.base + reserved
//     | page 0 (never used) | page 1 | page 2 | ...          |
//                             \________/
//                              span A      page_table[i] -> span of page i
//
// Why our own reservation rather than mimalloc for object memory: the
// collector must answer "which object does this word point into?" for every
// word of every stack and data segment, in O(1) and without false answers.
// One reserved range gives a range check plus one table load; mimalloc's
// segments cannot be asked that question. mimalloc serves the collector's own
// metadata instead (span records, mark stacks, thread states, root nodes),
// where its per-thread free lists are exactly what we need.
//
// The range is reserved with MAP_NORESERVE: pages cost memory only once
// touched, and free spans give it back with madvise(MADV_DONTNEED). The page
// table is reserved the same way (8 bytes per 8 KiB page, touched only for
// pages in use). Page 0 is never handed out, so the arena's base address (held
// in our own globals) never looks like a pointer to an object.
//
// Invariant: page_table[i] is written under the page-heap lock; for every page
// of an in-use span it points at that span. Entries of free or never-used
// pages may be stale or null, so readers check the span's state and range.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "tricolor/internal/size_classes.hpp"
#include "heap/span.hpp"

namespace tricolor::heap {

struct arena {
  char* base = nullptr;
  std::size_t reserved = 0;            // bytes of address space
  std::atomic<std::size_t> frontier{0};  // bytes handed to the page heap so far
  std::atomic<span*>* page_table = nullptr;
};

extern constinit arena the_arena;

// Reserves the arena (once). Aborts with a message if no address space can be
// reserved at all.
void reserve_arena();

inline std::size_t page_index(const void* p) {
  return (reinterpret_cast<std::uintptr_t>(p) -
          reinterpret_cast<std::uintptr_t>(the_arena.base)) >> page_shift;
}

// The in-use span containing address p, or nullptr if p is not inside an
// in-use span. Any value may be passed (this is the conservative-scan filter).
inline span* find_span(const void* p) {
  std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(p) -
                          reinterpret_cast<std::uintptr_t>(the_arena.base);
  if (offset >= the_arena.frontier.load(std::memory_order_acquire))
    return nullptr;
  span* s = the_arena.page_table[offset >> page_shift].load(
      std::memory_order_acquire);
  if (s == nullptr || s->state.load(std::memory_order_acquire) == span_state::free ||
      !s->contains(p))
    return nullptr;
  return s;
}

}  // namespace tricolor::heap
