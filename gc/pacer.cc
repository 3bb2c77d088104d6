// Pacer; see pacer.hpp.
#include "gc/pacer.hpp"

#include <algorithm>
#include <limits>

namespace tricolor::gc {

pacer the_pacer;

void pacer::initialize(int gc_percent) {
  percent_.store(gc_percent, std::memory_order_relaxed);
  recompute();
}

void pacer::end_cycle(std::uint64_t live_bytes) {
  live_.store(live_bytes, std::memory_order_relaxed);
  recompute();
}

int pacer::set_gc_percent(int percent) {
  int previous = percent_.exchange(percent, std::memory_order_relaxed);
  recompute();
  return previous;
}

void pacer::recompute() {
  int percent = percent_.load(std::memory_order_relaxed);
  if (percent < 0) {
    goal_.store(std::numeric_limits<std::uint64_t>::max(), std::memory_order_relaxed);
    return;
  }
  long double growth = 1.0L + percent / 100.0L;
  long double goal = live_.load(std::memory_order_relaxed) * growth;
  std::uint64_t bounded =
      goal >= static_cast<long double>(std::numeric_limits<std::uint64_t>::max() / 2)
          ? std::numeric_limits<std::uint64_t>::max() / 2
          : static_cast<std::uint64_t>(goal);
  goal_.store(std::max(bounded, minimum_heap_goal), std::memory_order_relaxed);
}

}  // namespace tricolor::gc
