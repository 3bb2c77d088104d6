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
//
// With leak tracking on, or expect_dead objects waiting to be judged
// (gc/leak_tracker.hpp), the copy remembers, for each
// range, the root's id and the range's address, so that scanning credits
// each word to its root (a data segment's word to the variable that holds
// it), and it keeps the words until the next cycle's pause: the path search
// of a leak report starts from them. Every object they point to was marked
// by this cycle, so none is freed before the next cycle's sweep.
#pragma once

#include <cstdint>
#include <vector>

#include "roots/root_set.hpp"

namespace tricolor::gc {

class marker;

class root_snapshot final : public roots::root_visitor {
 public:
  // In the pause, before the first range: empties the previous cycle's
  // copy, and decides whether this one is kept (leaks::keep_root_snapshot).
  void clear();
  // Whether the last copy was kept, with its ranges' identities.
  bool kept() const { return keep_; }
  // In the pause: copies every conservative range handed to it.
  void conservative_range(const roots::root_identity& root, const void* begin,
                          const void* end) override;
  // Precise roots are not expected here (gc_root handles are visited after
  // the pause, under their own barrier); they are kept as words too.
  void precise(const roots::root_identity& root, const void* target) override;

  // After the pause: hands the words copied since the last scan to `m`.
  // Without leak tracking they are dropped then (the buffer is kept for the
  // next cycle). With it, the stacks of the threads that were blocked in
  // the pause are copied here too after it (scan_deferred_stacks), and a
  // second scan() takes them.
  void scan(marker& m);
  // With the snapshot kept: only the data segments' ranges (the leak
  // tracker's marking order, gc/collector.cc); scan() takes the rest later.
  void scan_globals(marker& m);

  // One copied range, for the path search.
  struct range {
    std::uint32_t root;       // leak tracker id (0 without tracking)
    bool global;              // a data segment or TLS block: words belong to variables
    bool registers;           // a thread's callee-saved registers
    std::uintptr_t address;   // where the first word was
    const std::uintptr_t* words;
    std::size_t count;
  };
  // Calls f(range) for every range copied by the last pause (leak tracking
  // on; the collector thread, between that cycle's scan and the next pause).
  template <class F>
  void for_each_range(F&& f) const {
    for (std::size_t i = 0; i < segments_.size(); ++i) {
      std::size_t end = i + 1 < segments_.size() ? segments_[i + 1].first_word : words_.size();
      f(range{segments_[i].root, segments_[i].global, segments_[i].registers, segments_[i].address,
              words_.data() + segments_[i].first_word, end - segments_[i].first_word});
    }
  }

  std::size_t words() const { return words_.size(); }

  // Before the first pause (the collector thread, at its start): makes room
  // for the data segments' words and `extra_words` more, on pages already
  // written, so that the first mark-start pause does not grow the buffer on
  // fresh memory (1.7 ms of page faults and copies in binary-trees' first
  // pause, perf). Later pauses reuse the capacity the largest one left.
  void prepare(std::size_t extra_words);

 private:
  struct segment {
    std::uint32_t root;
    bool global;
    bool registers;
    std::uintptr_t address;
    std::size_t first_word;
    bool scanned = false;
  };
  void scan_where(marker& m, bool globals_only);
  void start_segment(const roots::root_identity& root, std::uintptr_t address);

  std::vector<std::uintptr_t> words_;
  std::vector<segment> segments_;  // kept snapshots only
  bool keep_ = false;
};

// The concurrent collector's snapshot (only the collector thread uses it).
root_snapshot& the_root_snapshot();

}  // namespace tricolor::gc
