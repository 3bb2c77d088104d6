// Collector figures of the *_tricolor benchmarks, from tricolor::read_stats().
//
// The longest pause is that of a single stop-the-world pause when the
// collector records each one (gc_stats::max_pause_ns, num_pauses > 0: a
// concurrent cycle has two or more), comparable to Go's gctrace figures (see
// bench/go/gctrace.go). A collector that records only the per-cycle sum
// (the pause_ns ring) is measured from that ring instead: read_stats() keeps
// the pauses of the most recent 256 cycles (cycle k at index (k - 1) % 256),
// a benchmark calls sample() at the end of each of its phases, and sample()
// folds the pauses of the cycles completed since the previous sample into a
// running maximum, so the maximum covers every cycle as long as no phase runs
// more than 256 cycles. Pauses that left the ring before they were sampled
// are counted and reported as unseen_pauses (0 in a trustworthy run).
//
// print() writes the one stderr line that bench/run_macro.py reads:
//   bench-stats: gcs=N forced=F max_pause_ms=X total_pause_ms=Y
//                gc_cpu=Z unseen_pauses=U pauses=P
// (pauses: the number of single pauses, 0 when only cycles are recorded).
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "tricolor/tricolor.hpp"

namespace bench {

class tricolor_pause_sampler {
 public:
  tricolor::gc_stats sample() {
    tricolor::gc_stats s = tricolor::read_stats();
    constexpr std::uint64_t ring = tricolor::gc_stats::pause_history;
    std::uint64_t first = s.num_gc > seen_ + ring ? s.num_gc - ring : seen_;
    unseen_ += first - seen_;
    for (std::uint64_t i = first; i < s.num_gc; ++i)
      max_ns_ = std::max(max_ns_, s.pause_ns[i % ring]);
    seen_ = s.num_gc;
    return s;
  }

  void print() {
    tricolor::gc_stats s = sample();
    bool per_pause = s.num_pauses > 0;
    std::fprintf(stderr,
                 "bench-stats: gcs=%llu forced=%llu max_pause_ms=%.3f "
                 "total_pause_ms=%.1f gc_cpu=%.3f unseen_pauses=%llu pauses=%llu\n",
                 static_cast<unsigned long long>(s.num_gc),
                 static_cast<unsigned long long>(s.num_forced_gc),
                 (per_pause ? s.max_pause_ns : max_ns_) / 1e6, s.pause_total_ns / 1e6,
                 s.gc_cpu_fraction,
                 static_cast<unsigned long long>(per_pause ? 0 : unseen_),
                 static_cast<unsigned long long>(s.num_pauses));
  }

 private:
  std::uint64_t seen_ = 0;    // cycles folded into max_ns_ so far
  std::uint64_t max_ns_ = 0;
  std::uint64_t unseen_ = 0;  // cycles whose pause left the ring unsampled
};

inline tricolor_pause_sampler tricolor_pauses;

}  // namespace bench
