// The managed heap: spans by size class, large objects, heap counters.
//
//     thread_cache cursors  --refill-->  central partial lists (per class)
//                                            |  empty
//                                            v
//                                        page_heap  --frontier-->  arena
//
// A cursor that exhausts its span drops it (the span is full and on no list;
// sweeping finds it through the registry and relists it if it gets free
// slots). A cursor that needs a span takes one from its class's partial list;
// if that is empty and the last cycle's sweep is not finished, it sweeps a few
// spans first (heap/sweeper: lazy sweeping), and only then takes fresh pages
// from the page heap.
//
// Allocating black: while the collector marks (allocate_black set, in a
// stop-the-world pause), a cursor that takes a 64-slot word sets those slots'
// mark bits as well, and a large object is marked when allocated. Objects
// allocated during marking are therefore black: the marker never scans them,
// and the sweep of this cycle keeps them.
//
// Counters (bytes): heap_alloc counts slots allocated to objects plus slots
// reserved by cursors (a cursor's whole word is counted when it is taken and
// the unused part is given back when the cursor is flushed), as Go's heapLive
// counts cached spans; sweeping subtracts the dead slots of each span it
// sweeps. heap_inuse counts the pages of in-use spans.
//
// Locking: each partial list has its own lock; the page heap has its own; the
// registry of in-use spans has its own. All are heap_locks (heap_lock.hpp:
// a short spin, then a futex), held for a few list operations.
//
// Conservative lookup (find_object, below): an address maps to the slot that
// holds the byte before it, so one past the end of an object that fills its
// slot (an array's end()) keeps that object alive, and a slot's start (its
// header, never a user pointer) belongs to the slot before.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "heap/arena.hpp"
#include "heap/heap_lock.hpp"
#include "tricolor/internal/object_header.hpp"
#include "heap/page_heap.hpp"
#include "heap/span.hpp"
#include "tricolor/internal/thread_cache.hpp"

namespace tricolor::heap {

struct heap_counters {
  std::atomic<std::int64_t> heap_alloc{0};
  std::atomic<std::int64_t> heap_inuse{0};
  std::atomic<std::uint64_t> total_alloc{0};
};

class managed_heap {
 public:
  // Reserves the arena; idempotent.
  void initialize();

  // Refills cursor `cls` of `cache` and allocates one slot from it; nullptr
  // when the arena is exhausted.
  void* refill_and_allocate(thread_cache& cache, std::size_t cls);

  // A slot for one large object of `bytes` bytes (header included); nullptr
  // when the arena is exhausted.
  void* allocate_large(std::size_t bytes);

  // Gives a cache's unused reservations back: afterwards the allocation bits
  // of every span the cache held are exact, and the reserved slots' mark bits
  // (set when allocating black) are clear again. With `relist`, spans with
  // free slots go back on their partial lists; the mark-termination pause
  // passes false because the sweep queue takes every span anyway.
  void flush_cache(thread_cache& cache, bool relist);

  // While set, newly reserved slots and large objects are marked (black).
  // Changed only with the world stopped.
  void set_allocate_black(bool on) { allocate_black_.store(on, std::memory_order_relaxed); }
  bool allocating_black() const { return allocate_black_.load(std::memory_order_relaxed); }

  // TRICOLOR_DEBUG=verify=1 sets this before the first allocation
  // (gc/config.cc): slots are then zeroed when a cache reserves them (and
  // large objects when allocated), so the verifier's scan of the words
  // trace() does not visit (gc/verifier.hpp) reads only what the program
  // wrote, never a previous occupant's stale pointers in padding,
  // uninitialized members or a slot's tail. Checked on refills only, not on
  // the allocation fast path.
  void set_clear_reserved_slots(bool on) { clear_reserved_slots_.store(on, std::memory_order_relaxed); }

  // The registry of spans holding objects (small or large).
  void register_span(span* s);
  void register_spans(span* const* spans, std::size_t count);  // one lock
  // Moves every registered span into `out` and empties the registry
  // (begin_sweep, world stopped).
  void take_all_spans(std::vector<span*>& out);

  // Clears every mark bit (generations: before a major cycle, with no
  // marking and no sweep running; gc/generations.hpp).
  void clear_mark_bits();

  // Sweep support (heap/sweeper.cc).
  void clear_partial_lists();
  void push_partial(span* s);
  // Pushes the chain head -> ... -> tail (linked by `next`) of class `cls`
  // spans, under one lock.
  void push_partial_chain(std::size_t cls, span* head, span* tail);
  void free_spans(span* const* spans, std::size_t count);  // one page-heap lock
  page_heap& pages() { return pages_; }

  heap_counters& counters() { return counters_; }

 private:
  span* take_span(std::size_t cls);
  span* pop_partial(std::size_t cls);

  struct partial_list {
    heap_lock lock;
    span* head = nullptr;
  };

  page_heap pages_;
  partial_list partial_[num_size_classes];
  heap_lock all_spans_lock_;
  std::vector<span*> all_spans_;
  heap_counters counters_;
  std::atomic<bool> allocate_black_{false};
  std::atomic<bool> clear_reserved_slots_{false};
};

extern managed_heap the_heap;

// Faults in every page of [start, start + bytes) with the calling thread marked
// safe for the collector (defined in roots/thread_registry.cc). A first
// touch faults the page in, and zeroing a 2 MiB transparent huge page takes
// from a hundred microseconds to milliseconds in a VM (measured: pauses
// whose time to safepoint reached 4.6 ms with huge pages, under 0.3 ms
// without): a thread inside such a fault cannot reach a safepoint, so the
// heap takes the faults of a span it carves from the page heap here, before
// the span is published (registered, given a state), where a pause can go on
// without the thread. `may_be_unmapped`: the pages come fresh from the arena
// or were released (span::released), so they are populated in one call;
// otherwise every page is touched (span::partly_released). A run resident
// through and through is not touched at all: reading a page to write it back
// costs a cache miss per 4 KiB that stalls the thread (1-4 % of binary-trees'
// cycles, perf annotate), where the allocation's own first write would not.
void fault_in_while_safe(char* start, std::size_t bytes, bool may_be_unmapped);

// Address -> object, the query behind conservative scanning (stacks,
// registers, data segments, objects under construction) and behind the
// shading of barrier-recorded pointers: the allocated slot that a pointer p
// may point into, or false. Exact only while allocation bits are exact
// (caches flushed).
//
// Which slot: the one holding the byte just before p, i.e. p maps to the
// slot S with S.start < p <= S.end. A pointer into an object points into its
// payload, [S.start + header_size, S.end); C++ also makes one past the end
// of an array (end(), a reverse iterator's base()) a valid pointer, and for
// an object that fills its slot exactly that is S.end, the start of the next
// slot. So find_object takes an address on a slot boundary as one past the
// end of the slot before it:
//
//     [hdr| payload of A ][hdr| payload of B ][hdr| ...
//     ^                   ^
//     maps to the slot    find_object: A (one past A's end);
//     before A            find_object_starting_at: B
//
// But an address on a slot boundary may also be B's header: no gc_ptr
// points there, yet a compiler may keep only the slot's start in a register
// or a stack slot and reach the payload at a constant offset from it (GCC
// does, once make_gc is inlined: the slot is what the allocator returned).
// So a conservative scan takes such a word as pointing into both slots
// (for_each_object_a_word_may_point_into).
//
// The byte before the first slot of a span lies in whatever precedes the
// span: the last slot of a small span whose slots end exactly at its end
// (the 16-byte class, say), a large object (its slot is its whole span), or
// nothing (a free span, unmapped pages, a small span's unused tail). The
// byte before a slot's start may also be in the unused tail of a small span
// (index >= slot_count): nothing.
//
// Precise tracing does not go through here (marker::visit takes the slot of
// a gc_ptr's target directly), and a gc_ptr's target, a payload, is
// header_size bytes past its slot's start, so it maps to its own slot either
// way. The cost is one subtraction.
struct object_ref {
  span* owner;
  std::uint32_t index;
};
inline bool find_object(const void* p, object_ref& out) {
  // Integer arithmetic: p may be any word (null, a small integer).
  const void* last_byte =
      reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(p) - 1);
  span* s = find_span(last_byte);
  if (s == nullptr) return false;
  std::uint32_t index = s->slot_index(last_byte);
  if (index >= s->slot_count || !s->is_allocated(index)) return false;
  out = {s, index};
  return true;
}

// The allocated slot that starts exactly at p (p is its header), or false.
inline bool find_object_starting_at(const void* p, object_ref& out) {
  span* s = find_span(p);
  if (s == nullptr) return false;
  std::uint32_t index = s->slot_index(p);
  if (index >= s->slot_count || s->slot_address(index) != p || !s->is_allocated(index))
    return false;
  out = {s, index};
  return true;
}

// Conservative scanning: calls f(object_ref) for each allocated slot the
// word p may point into (one, or two when p is on a slot boundary).
template <class F>
inline void for_each_object_a_word_may_point_into(const void* p, F&& f) {
  object_ref ref;
  if (find_object(p, ref)) f(ref);
  if ((reinterpret_cast<std::uintptr_t>(p) & 7) == 0 && find_object_starting_at(p, ref)) f(ref);
}

}  // namespace tricolor::heap
