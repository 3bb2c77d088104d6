// Weak references: the registry of weak cells behind weak_gc_ptr.
//
// Cells are created by weak_gc_ptr (one per weak_gc_ptr constructed from a
// gc_ptr, shared by its copies through a reference count) and kept on one
// list. After marking and before sweeping, with the world stopped, the
// collector walks the list once: a cell whose target is white is cleared (its
// target is about to be freed), and a cell whose count fell to zero is
// unlinked and freed. Weak cells never keep their targets alive: the marker
// does not visit them.
#pragma once

#include <cstdint>

namespace tricolor::gc {

struct weak_sweep_result {
  std::uint64_t cleared = 0;
  std::uint64_t cells_freed = 0;
  std::uint64_t cells_live = 0;
};

// Clears weak cells whose target is unmarked; frees unreferenced cells.
weak_sweep_result clear_dead_weak_refs();

}  // namespace tricolor::gc
