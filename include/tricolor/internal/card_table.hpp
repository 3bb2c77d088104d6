// The remembered set's mutator half: the card table the write barrier dirties
// and the check make_gc makes after a constructor (TRICOLOR_DEBUG=
// generational=1; gc/generations.hpp has the collector's half and the
// soundness argument).
//
// With generations, the sweep keeps the mark bits of the objects it keeps
// (sticky mark bits): a marked object is old, an unmarked one young. A minor
// cycle marks from the roots without clearing the marks, so it never scans
// an old object unless told that the object may point at a young one. Two
// ways an old object gets such a pointer, and what tells the collector:
//   * a store into one of its gc_ptr fields (gc_ptr::operator=, so every
//     store into an existing field): store_pointer dirties the field's card,
//     the 512-byte stretch of the heap that holds it (remember_store);
//   * its constructor's initialization of its fields (a copy or move
//     construction, no barrier), when the object was marked while its
//     constructor ran (allocated black, or reached from the constructing
//     thread's stack by a cycle). make_gc compares marking_epoch before the
//     allocation with after the constructor; if a mark phase began or ended
//     meanwhile, remember_constructed dirties every card of the object when
//     it is marked.
//
// The card table: one byte per 512 bytes of the arena, reserved with
// MAP_NORESERVE (memory is used only for cards of stretches written to).
// store_pointer calls remember_store only with generations on (its
// store_work's dirty_card bit); `covered` is 0 until then.
//
// Invariants:
//   * A card is set only by mutators (remember_store, remember_constructed)
//     and cleared only by the collector's card pass in a minor cycle's
//     marking (gc/generations.cc). Card bytes are accessed with relaxed atomic
//     loads and stores.
//   * marking_epoch changes only with the world stopped (mark start, mark
//     termination), and only with generations on; the stop-the-world
//     handshake orders it with every mutator.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tricolor::barriers {

inline constexpr unsigned card_shift = 9;  // 512-byte cards
inline constexpr std::size_t card_bytes = std::size_t{1} << card_shift;

struct card_table {
  std::atomic<std::uintptr_t> base{0};     // the arena's first address
  std::atomic<std::uintptr_t> covered{0};  // bytes covered; 0: generations off
  std::atomic<std::uint8_t*> cards{nullptr};
};

extern constinit card_table the_card_table;

// Dirties the card of `slot` if it lies in the managed heap.
[[gnu::always_inline]] inline void remember_store(const void* slot) noexcept {
  std::uintptr_t offset = reinterpret_cast<std::uintptr_t>(slot) -
                          the_card_table.base.load(std::memory_order_relaxed);
  if (offset < the_card_table.covered.load(std::memory_order_relaxed)) {
    std::uint8_t* card =
        the_card_table.cards.load(std::memory_order_relaxed) + (offset >> card_shift);
    if (__atomic_load_n(card, __ATOMIC_RELAXED) == 0) __atomic_store_n(card, 1, __ATOMIC_RELAXED);
  }
}

}  // namespace tricolor::barriers

namespace tricolor::heap {

// Odd while a generational cycle marks; advanced at mark start and at mark
// termination (gc/collector.cc). Stays 0 without generations.
extern std::atomic<std::uint32_t> marking_epoch;

// make_gc's slow path when marking_epoch changed while the object in `slot`
// was constructed: dirties its cards if it is marked (gc/generations.cc).
[[gnu::noinline]] void remember_constructed(void* slot) noexcept;

}  // namespace tricolor::heap
