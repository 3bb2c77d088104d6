// Pointer loads and stores of gc_ptr.
//
// Every read and write of a gc_ptr's word goes through this file, so that the
// collector's view of the mutator's pointer writes is defined in one place.
//
// Today's collector stops the world for the whole cycle (gc/collector.cc):
// no mutator runs while the heap is marked, so no store can hide a pointer
// from the marker and no barrier is needed; store_pointer is a plain relaxed
// atomic store. The concurrent collector adds its write barrier here, in
// store_pointer, and nowhere else.
//
// Invariant kept here: every store to a gc_ptr word, and every read of one by
// the collector, is single-copy atomic (std::memory_order_relaxed), so a
// collector thread reading a field concurrently with its owner writing it
// never sees a torn pointer and the program stays free of data races in the
// C++ memory model. (Mutators read their own gc_ptrs with plain loads.)
#pragma once

namespace tricolor::barriers {

template <class T>
inline T* load_pointer(T* const* slot) noexcept {
  return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

template <class T>
inline void store_pointer(T** slot, T* value) noexcept {
  __atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

}  // namespace tricolor::barriers
