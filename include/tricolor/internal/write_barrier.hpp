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
// The cost. When no cycle is marking, store_pointer is one relaxed load of
// `marking`, a branch predicted not taken, and the store. While marking, the
// deleted pointer is appended to the thread's barrier buffer (256 entries,
// barriers/barrier_buffer.hpp); a full buffer is shaded in one batch, and
// the mark-termination pause shades what is left in every buffer.
//
// Memory model. Every store to a gc_ptr word, and every read of one by the
// collector, is single-copy atomic (std::memory_order_relaxed), so a marker
// reading a field concurrently with its owner writing it never sees a torn
// pointer and the program stays free of data races in the C++ memory model.
// `marking` changes only while the world is stopped, so the stop-the-world
// handshake (roots/thread_registry.hpp) orders it with every mutator.
#pragma once

#include <atomic>

namespace tricolor::barriers {

// On between the mark-start pause and the mark-termination pause.
extern std::atomic<bool> marking;

// Slow path: records a deleted (or weakly loaded) pointer for shading.
[[gnu::noinline]] void record_for_shading(const void* pointer) noexcept;

template <class T>
inline T* load_pointer(T* const* slot) noexcept {
  return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

template <class T>
[[gnu::always_inline]] inline void store_pointer(T** slot, T* value) noexcept {
  if (marking.load(std::memory_order_relaxed)) [[unlikely]] {
    if (T* old = __atomic_load_n(slot, __ATOMIC_RELAXED))
      record_for_shading(old);
  }
  __atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

}  // namespace tricolor::barriers
