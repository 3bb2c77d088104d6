// Thread-local allocation cache: the small-object fast path.
//
// Each registered thread owns one thread_cache with one allocation cursor per
// size class. A cursor owns one span and one 64-slot word of that span's
// allocation bitmap at a time:
//
//     span slots:   [ 0 .. 63 ][ 64 .. 127 ][ 128 .. 191 ] ...
//                                 ^ word_base (address of slot 64)
//     free_bits:    bit i set  <=> slot 64 + i is free and reserved for this
//                                  cursor
//
// Fast path (no lock, no atomic): pick the lowest set bit, clear it, return
// word_base + bit * slot_size. When free_bits is empty, the slow path
// (heap/heap.cc) moves to the next word with free slots, then to another span.
//
// Invariants:
//   * When a cursor takes a word, it sets those slots' allocation bits at
//     once, so no other cursor can take them; free_bits are "allocated to the
//     cache but not yet to an object".
//   * In the mark-start pause every cache is flushed (managed_heap::
//     flush_cache): the unused free_bits are cleared from the allocation
//     bitmap again, so the root snapshot sees exact allocation bits: a slot
//     is allocated iff its bit is set. Conservative root scanning relies on
//     this to reject pointers to free slots.
//   * While the collector marks, a cursor that takes a word also sets its
//     slots' mark bits (allocate-black), so a slot reserved but not yet
//     allocated is already marked and a marker never scans it; the
//     mark-termination pause flushes the caches again (clearing both bits of
//     the unused slots) before the sweep reads the bitmaps.
//   * Only the owning thread touches its cache, except the collector while the
//     world is stopped.
//
// Heap profile sampling (gc/heap_profile.hpp) costs the fast path one
// subtraction and one branch: bytes_until_sample counts down by each slot's
// size, and when it goes below zero the out-of-line sample_allocation records
// the allocation and draws the next distance. With sampling off the distance
// is INT64_MAX bytes, so the branch is never taken.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "tricolor/internal/size_classes.hpp"

namespace tricolor::heap {

struct span;

struct alloc_cursor {
  std::uint64_t free_bits = 0;
  char* word_base = nullptr;
  span* owner = nullptr;        // nullptr: the cursor holds no span
  std::uint32_t word_index = 0;  // which bitmap word free_bits came from
};

struct thread_cache {
  alloc_cursor cursors[num_size_classes];
  // Bytes the thread may still allocate before the allocation that is
  // sampled for the heap profile: an exponentially distributed distance,
  // drawn by sample_allocation from sample_random_state (0 until the
  // thread's first allocation draws the first distance).
  std::int64_t bytes_until_sample = 0;
  std::uint64_t sample_random_state = 0;

  // Counts an allocation of `slot_bytes` toward the next sample; true when
  // this allocation is the one to sample.
  [[gnu::always_inline]] bool reaches_sample(std::size_t slot_bytes) {
    bytes_until_sample -= static_cast<std::int64_t>(slot_bytes);
    return bytes_until_sample < 0;
  }

  [[gnu::always_inline]] void* try_allocate(std::size_t cls) {
    alloc_cursor& cursor = cursors[cls];
    std::uint64_t bits = cursor.free_bits;
    if (bits == 0) [[unlikely]]
      return nullptr;
    cursor.free_bits = bits & (bits - 1);
    return cursor.word_base +
           static_cast<std::size_t>(std::countr_zero(bits)) *
               size_class_bytes[cls];
  }
};

// The calling thread's cache; nullptr until the thread is registered.
[[gnu::tls_model("initial-exec")]] extern thread_local constinit thread_cache*
    tls_thread_cache;

// Slow path: registers the thread if needed, refills the cursor or allocates a
// large span, may poll a safepoint and start a collection. Returns a slot of
// at least `bytes` bytes (header included), counted toward the heap
// profile's next sample as on the fast path. Throws std::bad_alloc when the
// heap cannot grow even after a full collection.
void* allocate_slow(std::size_t bytes);

// Out of line (gc/heap_profile.cc): `slot`, of `slot_bytes`, is the
// allocation that reached the sampling distance of `cache` (reaches_sample):
// records it with its call stack when sampling is on, draws the next
// distance, and returns `slot`.
[[gnu::noinline]] void* sample_allocation(thread_cache& cache, void* slot,
                                          std::size_t slot_bytes);

// Records that the object in `slot` has a destructor, so that sweeping looks
// at its span's dead objects one by one.
void note_finalizable(void* slot);

[[gnu::always_inline]] inline void* allocate_slot(std::size_t bytes) {
  if (bytes <= max_small_size) {
    if (thread_cache* cache = tls_thread_cache) [[likely]] {
      std::size_t cls = size_class_of(bytes);
      if (void* slot = cache->try_allocate(cls)) [[likely]] {
        if (cache->reaches_sample(size_class_bytes[cls])) [[unlikely]]
          return sample_allocation(*cache, slot, size_class_bytes[cls]);
        return slot;
      }
    }
  }
  return allocate_slow(bytes);
}

}  // namespace tricolor::heap
