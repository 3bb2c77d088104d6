// Spans: runs of 8 KiB pages that hold objects.
//
// A small-object span holds slot_count slots of one size class; a large span
// holds exactly one object (slot 0) and is as many pages as that object needs.
//
//     start                                                 start + npages * 8 KiB
//     |                                                     |
//     [ slot 0 ][ slot 1 ] ... [ slot slot_count-1 ][ tail ]
//
//     alloc_bits  bit i: slot i is allocated (to an object or to a cache)
//     mark_bits   bit i: slot i was reached by the current mark phase
//     aged_bits   bit i: slot i survived a cycle (generations only)
//
// The bitmaps are side tables (mark bits never dirty object memory) of at most
// 512 slots (the 16-byte class in one page).
//
// Concurrency contract:
//   * alloc_bits words are atomic (relaxed): a word of a span owned by a
//     thread cache is written only by that thread (a whole 64-slot word at a
//     time, see tricolor/internal/thread_cache.hpp), otherwise only by the collector with
//     the world stopped, by the one thread sweeping the span, or under the heap
//     locks; a concurrent marker that scans an object under construction reads
//     them (find_object) while their owners write them.
//   * mark_bits are set by any number of markers at once (the background
//     marker, assisting mutators, mutators flushing barrier buffers) with an
//     atomic fetch_or (try_mark), or by the only marker of a stop-the-world
//     cycle (try_mark_exclusive); they are cleared by the span's sweeper.
//   * span records are never freed, only recycled, so a stale page-table entry
//     always points at a valid record; lookups check the address against
//     [start, start + bytes) and the state before trusting it.
//   * samples (the heap profile's records of sampled objects in the span,
//     gc/heap_profile.hpp) is changed only under the profile's lock, by the
//     thread that allocated a sampled slot of the span (the span is in its
//     cache or is a new large span) or by the span's sweeper (the span is
//     unswept); the sweeper reads it first without the lock, one load, to
//     skip the spans that have none.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>

#include "tricolor/internal/size_classes.hpp"

namespace tricolor::heap {

enum class span_state : std::uint8_t {
  free,   // in the page heap
  small,  // slots of one size class
  large,  // one large object
};

// A heap profile sample of an object in a span (defined in
// gc/heap_profile.cc): Go's profile "special" record.
struct span_sample;

inline constexpr std::size_t max_slots_per_span = page_size / 16;
inline constexpr std::size_t bitmap_words = max_slots_per_span / 64;

struct span {
  char* start = nullptr;
  std::uint32_t npages = 0;
  std::uint32_t size_class = 0;  // 0 for large spans
  std::uint32_t slot_size = 0;
  std::uint32_t slot_count = 0;
  std::uint32_t div_magic = 0;
  std::atomic<span_state> state{span_state::free};
  std::atomic<bool> has_finalizers{false};
  // The heap profile's samples of objects in this span, a chain; null for
  // a span without any (nearly all), whose sweep then pays one load. Empty
  // whenever the span is free: a sampled object's sample leaves when the
  // sweep that frees its slot (or hands it to the finalizer) runs.
  std::atomic<span_sample*> samples{nullptr};
  bool in_cache = false;     // owned by a thread cache's cursor
  bool free_listed = false;  // describes a free run on a page-heap list
  // A free run: its pages went back to the OS. A run page_heap::allocate
  // just returned: its pages may not be resident (fresh from the arena, or
  // released), so the taker populates them (fault_in_while_safe).
  bool released = false;
  // A resident free run (released false) that absorbed a released one when
  // it was coalesced: some of its pages may not be resident, so its taker
  // faults them in too. A run with neither flag is resident through and
  // through (every page was in use since it was last populated) and its
  // taker touches nothing.
  bool partly_released = false;
  std::uint32_t free_age = 0;  // sweeps survived while free
  span* next = nullptr;      // central partial list or page-heap free list
  span* prev = nullptr;
  // Generations (gc/generations.hpp): the slots a refill made black while a
  // minor cycle marks are free slots, not old objects, and the card pass
  // must not scan them. The last such refill of this span: marking_epoch <<
  // 8 | its word, and the word's slots that were free. Written (release)
  // before the refill's mark bits; a span is in one cursor at a time, which
  // uses up each word before it takes the next.
  std::atomic<std::uint64_t> black_refill{0};
  std::atomic<std::uint64_t> black_free{0};
  std::atomic<std::uint64_t> alloc_bits[bitmap_words] = {};
  std::atomic<std::uint64_t> mark_bits[bitmap_words] = {};
  // Generations only: the slot's object survived a cycle (it is old, or a
  // young survivor that the next cycle that reaches it promotes). Written
  // by the span's sweeper and when the span is set up; read by markers.
  std::atomic<std::uint64_t> aged_bits[bitmap_words] = {};

  std::size_t bytes() const { return std::size_t{npages} << page_shift; }
  bool contains(const void* p) const {
    auto a = reinterpret_cast<std::uintptr_t>(p);
    auto s = reinterpret_cast<std::uintptr_t>(start);
    return a - s < bytes();
  }

  // Index of the slot containing address p (p must be in the span).
  std::uint32_t slot_index(const void* p) const {
    std::uint64_t offset = reinterpret_cast<std::uintptr_t>(p) -
                           reinterpret_cast<std::uintptr_t>(start);
    return static_cast<std::uint32_t>((offset * div_magic) >> 32);
  }
  char* slot_address(std::uint32_t index) const {
    return start + std::size_t{index} * slot_size;
  }

  bool is_allocated(std::uint32_t index) const {
    return (alloc_bits[index / 64].load(std::memory_order_relaxed) >>
            (index % 64)) & 1;
  }
  std::uint64_t alloc_word(std::uint32_t w) const {
    return alloc_bits[w].load(std::memory_order_relaxed);
  }
  void set_alloc_word(std::uint32_t w, std::uint64_t bits) {
    alloc_bits[w].store(bits, std::memory_order_relaxed);
  }
  bool is_aged(std::uint32_t index) const {
    return (aged_bits[index / 64].load(std::memory_order_relaxed) >> (index % 64)) & 1;
  }
  bool is_marked(std::uint32_t index) const {
    return (mark_bits[index / 64].load(std::memory_order_relaxed) >>
            (index % 64)) & 1;
  }
  // Sets the mark bit; true if this call changed it from 0 to 1 (white to
  // grey). Safe with any number of concurrent markers: the bit is read first
  // (most shades find it set already) and set with a locked fetch_or, so two
  // markers never both win, nor lose each other's bits in the same word.
  bool try_mark(std::uint32_t index) {
    std::uint64_t bit = std::uint64_t{1} << (index % 64);
    std::atomic<std::uint64_t>& word = mark_bits[index / 64];
    if (word.load(std::memory_order_relaxed) & bit) return false;
    return (word.fetch_or(bit, std::memory_order_relaxed) & bit) == 0;
  }
  // The same for the only marker of a stop-the-world cycle: a plain
  // read-modify-write, no locked instruction.
  bool try_mark_exclusive(std::uint32_t index) {
    std::uint64_t bit = std::uint64_t{1} << (index % 64);
    std::atomic<std::uint64_t>& word = mark_bits[index / 64];
    std::uint64_t old = word.load(std::memory_order_relaxed);
    if (old & bit) return false;
    word.store(old | bit, std::memory_order_relaxed);
    return true;
  }

  // Makes a recycled record (one that described a run merged into its
  // neighbour) describe nothing again. Only the plain fields are reset: the
  // atomic ones already hold a free span's values (state free, no
  // finalizers, no samples; the bitmaps are set by whoever takes the span),
  // and a find_span that followed a stale page-table entry here may be
  // loading `state` right now. Destroying and rebuilding the record wrote
  // state non-atomically under that load (ThreadSanitizer, in
  // concurrent_torture_no_scopes).
  void reset_for_reuse() {
    start = nullptr;
    npages = size_class = slot_size = slot_count = div_magic = 0;
    in_cache = free_listed = released = partly_released = false;
    free_age = 0;
    next = prev = nullptr;
  }

  // Asks for the record's cache lines ahead of a write: a cycle's sweep
  // reads each in-use span's record once, cold, and a prefetch issued a few
  // spans ahead hides that miss (it was half of sweep_some's time on
  // binary-trees, perf annotate).
  void prefetch_record() const {
    const char* first = reinterpret_cast<const char*>(this);
    for (std::size_t offset = 0; offset < sizeof(span); offset += 64)
      __builtin_prefetch(first + offset, /*write=*/1);
    __builtin_prefetch(first + sizeof(span) - 1, /*write=*/1);
  }

  std::uint32_t bitmap_word_count() const { return (slot_count + 63) / 64; }
  // Bits of word w that name real slots (the last word may be partial).
  std::uint64_t valid_mask(std::uint32_t w) const {
    std::uint32_t remaining = slot_count - w * 64;
    return remaining >= 64 ? ~std::uint64_t{0}
                           : (std::uint64_t{1} << remaining) - 1;
  }
};

}  // namespace tricolor::heap
