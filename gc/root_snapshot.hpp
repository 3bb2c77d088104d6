// The root snapshot of a concurrent cycle, copied in the mark-start pause and
// scanned after it.
//
// Conservative roots (stacks from each thread's recorded stack pointer,
// callee-saved registers, TLS blocks, data segments) are words that never
// pass through a barrier, so their values must be taken while the world is
// stopped (tricolor/internal/write_barrier.hpp). Taking them is a copy: a few hundred
// KiB at memory bandwidth (tens of microseconds). Judging each word (page
// table, allocation bit, mark bit) costs several times more, and is done
// after the world restarts, on the copy: the copy holds exactly the values
// of the snapshot, and no object is freed while marking runs, so shading
// them later marks the same objects. A word that points to a slot allocated
// after the snapshot finds it black (allocated black, or reserved and
// pre-marked); one that points to a free slot is rejected by its allocation
// bit, as in any conservative scan.
#pragma once

#include <cstdint>
#include <vector>

#include "roots/root_set.hpp"

namespace tricolor::gc {

class root_snapshot final : public roots::root_visitor {
 public:
  // In the pause: copies every conservative range handed to it.
  void conservative_range(const roots::root_identity& root, const void* begin,
                          const void* end) override;
  // Precise roots are not expected here (gc_root handles are visited after
  // the pause, under their own barrier); they are kept as words too.
  void precise(const roots::root_identity& root, const void* target) override;

  // After the pause: hands the copied words to `visitor` as one range and
  // empties the snapshot (its buffer is kept for the next cycle).
  void scan(roots::root_visitor& visitor);

  std::size_t words() const { return words_.size(); }

 private:
  std::vector<std::uintptr_t> words_;
};

}  // namespace tricolor::gc
