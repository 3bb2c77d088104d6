// The write barrier: how mutators keep concurrent marking sound.
//
// The collector marks while mutators run (gc/collector.cc). A mutator that
// moves pointers around behind the marker's back could otherwise hide a
// reachable object from it: load pointer X from a field the marker has not
// scanned yet, store X into an object the marker has already scanned
// (black), overwrite the original field. X is reachable but never shaded, and
// the sweep would free it.
//
// The barrier: snapshot-at-the-beginning (Yuasa's deletion barrier)
// ------------------------------------------------------------------
// While marking is on, every store into a gc_ptr first shades the pointer it
// overwrites:
//
//     store_pointer(slot, value):
//         if marking:  shade(*slot)     // the deleted pointer, if non-null
//         *slot = value
//
// combined with:
//   (a) one snapshot of every root at the start of marking: in the
//       mark-start pause, all thread stacks, registers and TLS blocks and
//       the data segments of all loaded modules (conservatively); right
//       after it, concurrently, every gc_root handle (precisely), whose
//       target writes and destruction shade the old target while marking,
//       so the handles' values at the snapshot are the ones shaded;
//   (b) allocation black: objects allocated while marking are marked at
//       birth and never scanned (heap/heap.hpp);
//   (c) weak_gc_ptr::lock() shades what it returns while marking
//       (tricolor/weak_gc_ptr.hpp).
//
// Why it is sound. Let S be the objects reachable from the roots at the
// snapshot. Claim: when marking ends, every object of S is marked. Take X in
// S and a path root -> A1 -> ... -> X at the snapshot. The root was shaded in
// the pause. Each heap edge Ai -> Ai+1 of the path either still exists when
// the marker scans Ai (then the marker shades Ai+1), or was overwritten
// before: the overwrite went through store_pointer, which shaded Ai+1 first.
// By induction along the path X is shaded. Now any object a mutator can
// reach during marking is either in S or allocated during marking (a
// mutator gets pointers only from roots, from fields of objects it can
// reach, and from allocation; an unreachable object cannot become reachable
// again, except through a weak reference, which (c) covers). So every object
// reachable at the end of marking is marked: the ones in S by the claim, the
// new ones by (b). Nothing reachable is white; the sweep frees only garbage.
// Objects of S that died during marking stay marked until the next cycle
// (floating garbage): the price of SATB.
//
// Why this barrier with conservative stacks. Go's hybrid barrier (Yuasa +
// Dijkstra, shade the new value too while the current stack is grey) exists
// so that stacks can be scanned one at a time without stopping the world.
// Here stacks, registers and data segments hold raw words that never pass
// through a barrier (a `node* raw = p.get()` kept in a static, say); only a
// snapshot taken with every thread stopped captures them consistently. With
// that snapshot, the deletion barrier alone suffices, and stores into stack
// and static gc_ptrs need no extra work (they go through the same barrier,
// which only shades more). The pause costs a scan of stacks and data
// segments: proportional to the roots, not to the heap.
//
// Racing stores. Two threads storing into the same field without
// synchronization (a program's data race on the field, but harmless here)
// each load an old value, then store. The first store in the field's
// modification order was preceded by its own load, which can only have read
// the snapshot value: the snapshot value is shaded.
//
// The cost. When no cycle is marking (and without generations),
// store_pointer is one relaxed load of `store_work`, a branch predicted not
// taken, and the store. While marking, the
// deleted pointer is appended to the thread's barrier buffer (256 entries,
// barriers/barrier_buffer.hpp); a full buffer is shaded in one batch, and
// the mark-termination pause shades what is left in every buffer.
//
// Generations. With TRICOLOR_DEBUG=generational=1 the store also dirties
// the field's card (remember_store, tricolor/internal/card_table.hpp): an
// old object may now point at a young one, which a minor cycle must find.
// The dirtying and the store are one sequence without a safepoint or a
// system call, so no pause falls between them; which comes first matters
// only to a card pass running beside them, during marking, when the store's
// value is marked by this cycle anyway (gc/generations.hpp). Without
// generations store_work's dirty_card bit is clear and no card is touched.
//
// Memory model. Every store to a gc_ptr word, and every read of one by the
// collector, is single-copy atomic (std::memory_order_relaxed), so a marker
// reading a field concurrently with its owner writing it never sees a torn
// pointer and the program stays free of data races in the C++ memory model.
// `marking` and store_work's shade bit change only while the world is
// stopped, so the stop-the-world handshake (roots/thread_registry.hpp)
// orders them with every mutator; the card bit is set once, before the
// first managed object exists.
#pragma once

#include <atomic>
#include <cstdint>

#include "tricolor/internal/card_table.hpp"

namespace tricolor::barriers {

// On between the mark-start pause and the mark-termination pause.
extern std::atomic<bool> marking;

// What store_pointer has to do besides the store, one load for both so that
// the common case (no marking, no generations) costs what it did without
// generations: shade_old_value while marking, dirty_card with generations.
enum store_work_bits : std::uint8_t { shade_old_value = 1, dirty_card = 2 };
extern std::atomic<std::uint8_t> store_work;

// Turns marking (and its store_work bit) on or off; world stopped.
void set_marking(bool on) noexcept;

// Slow path: records a deleted (or weakly loaded) pointer for shading.
[[gnu::noinline]] void record_for_shading(const void* pointer) noexcept;

template <class T>
inline T* load_pointer(T* const* slot) noexcept {
  return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

template <class T>
[[gnu::always_inline]] inline void store_pointer(T** slot, T* value) noexcept {
  if (const std::uint8_t work = store_work.load(std::memory_order_relaxed)) [[unlikely]] {
    if (work & shade_old_value) {
      if (T* old = __atomic_load_n(slot, __ATOMIC_RELAXED))
        record_for_shading(old);
    }
    if (work & dirty_card) remember_store(slot);
  }
  __atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

}  // namespace tricolor::barriers
