// The pacer: when the next cycle starts.
//
// This first pacer is Go's GOGC rule without the concurrent refinements:
//
//     heap_goal = max(live_after_last_mark * (1 + gc_percent / 100), 4 MiB)
//
// and a cycle starts when heap_alloc (heap/heap.hpp) reaches heap_goal. A
// negative gc_percent turns pacing-triggered cycles off (the goal becomes
// infinite). With the stop-the-world collector the trigger is the goal; the
// concurrent collector will start earlier and use assists to land on it.
//
// Concurrency: the goal is one atomic word read by every allocation slow path
// and written by the collector (and set_gc_percent).
#pragma once

#include <atomic>
#include <cstdint>

namespace tricolor::gc {

inline constexpr std::uint64_t minimum_heap_goal = std::uint64_t{4} << 20;

class pacer {
 public:
  void initialize(int gc_percent);
  // After a cycle: the live heap it found.
  void end_cycle(std::uint64_t live_bytes);
  int set_gc_percent(int percent);  // returns the previous value
  int gc_percent() const { return percent_.load(std::memory_order_relaxed); }
  std::uint64_t heap_goal() const { return goal_.load(std::memory_order_relaxed); }
  bool should_start_cycle(std::uint64_t heap_alloc) const {
    return heap_alloc >= goal_.load(std::memory_order_relaxed);
  }

 private:
  void recompute();

  std::atomic<int> percent_{100};
  std::atomic<std::uint64_t> live_{0};
  std::atomic<std::uint64_t> goal_{minimum_heap_goal};
};

extern pacer the_pacer;

}  // namespace tricolor::gc
