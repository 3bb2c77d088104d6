// Pacer; see pacer.hpp for the goals, the CPU limiter and the retain targets.
#include "gc/pacer.hpp"

#include <time.h>

#include <algorithm>

namespace tricolor::gc {

pacer the_pacer;

double assist_ratio(const assist_plan& plan, std::uint64_t scanned, std::uint64_t heap_alloc) {
  std::uint64_t expected = plan.expected_objects;
  std::uint64_t goal = plan.goal;
  if (scanned >= expected) {
    expected = plan.worst_case_objects;
    goal = plan.hard_goal;
  }
  std::uint64_t left = expected > scanned ? expected - scanned : 0;
  constexpr std::uint64_t least_runway = 64 << 10;
  std::uint64_t runway = goal > heap_alloc + least_runway ? goal - heap_alloc : least_runway;
  return static_cast<double>(left) / static_cast<double>(runway);
}

std::uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

void pacer::initialize(int gc_percent, std::int64_t memory_limit, clock_fn clock) {
  std::lock_guard guard(lock_);
  clock_ = clock;
  percent_.store(gc_percent, std::memory_order_relaxed);
  limit_.store(memory_limit, std::memory_order_relaxed);
  last_ = cycle_outcome{};
  last_live_.store(0, std::memory_order_relaxed);
  last_end_ns_.store(0, std::memory_order_relaxed);
  last_pause_ns_.store(0, std::memory_order_relaxed);
  cons_mark_ = 0;
  recompute();
}

void pacer::end_cycle(const cycle_outcome& outcome) {
  std::lock_guard guard(lock_);
  last_ = outcome;
  last_live_.store(outcome.live_bytes, std::memory_order_relaxed);
  if (outcome.scanned_bytes > 0) {
    // Half weight to the newest cycle: follows a change of allocation rate
    // within a few cycles.
    auto x = static_cast<double>(outcome.assist_cpu_ns);
    auto g = static_cast<double>(outcome.background_cpu_ns);
    double measured = static_cast<double>(outcome.allocated_during_mark) /
                      static_cast<double>(outcome.scanned_bytes);
    if (g > 0) measured *= (g + x) / g;
    cons_mark_ = cons_mark_ == 0 ? measured : 0.5 * cons_mark_ + 0.5 * measured;
  }
  recompute();
}

void pacer::end_pause(std::uint64_t end_ns, std::uint64_t pause_ns) {
  last_end_ns_.store(end_ns, std::memory_order_relaxed);
  last_pause_ns_.store(pause_ns, std::memory_order_relaxed);
}

int pacer::set_gc_percent(int percent) {
  std::lock_guard guard(lock_);
  int previous = percent_.exchange(percent, std::memory_order_relaxed);
  recompute();
  return previous;
}

std::int64_t pacer::set_memory_limit(std::int64_t bytes) {
  std::lock_guard guard(lock_);
  std::int64_t previous = limit_.load(std::memory_order_relaxed);
  if (bytes >= 0) {
    limit_.store(bytes, std::memory_order_relaxed);
    recompute();
  }
  return previous;
}

bool pacer::cpu_limited() const {
  // Only a cycle that left little runway under the limit goal (less than
  // 10 %) announces a thrash; otherwise the next limit cycle is far off.
  std::uint64_t live = last_live_.load(std::memory_order_relaxed);
  std::uint64_t goal = limit_goal_.load(std::memory_order_relaxed);
  if (goal != unlimited && live < goal - goal / 10) return false;
  std::uint64_t end = last_end_ns_.load(std::memory_order_relaxed);
  std::uint64_t pause = last_pause_ns_.load(std::memory_order_relaxed);
  return clock_() - end < pause;
}

pacer::retain_targets pacer::retain() const {
  std::uint64_t goal = heap_goal();
  std::uint64_t soft = goal > unlimited / 2 ? unlimited : goal + goal / 10;
  std::int64_t limit = memory_limit();
  std::uint64_t hard = limit == INT64_MAX
                           ? unlimited
                           : static_cast<std::uint64_t>(limit - limit / 20);
  return {std::min(soft, hard), hard};
}

double pacer::cons_mark() const {
  std::lock_guard guard(lock_);
  return cons_mark_;
}

std::uint64_t pacer::runway() const {
  std::lock_guard guard(lock_);
  return runway_locked();
}

std::uint64_t pacer::runway_locked() const {
  // The scan work the last concurrent mark did (traced objects and roots:
  // black allocations are live but never scanned).
  return static_cast<std::uint64_t>(cons_mark_ * static_cast<double>(last_.scanned_bytes));
}

std::uint64_t pacer::trigger_for(std::uint64_t goal) const {
  std::uint64_t live = last_.live_bytes;
  if (goal >= unlimited / 2 || goal <= live) return goal;
  auto headroom = static_cast<double>(goal - live);
  double point = cons_mark_ == 0
                     ? unmeasured_trigger_fraction * headroom
                     : headroom - static_cast<double>(runway_locked());
  point = std::clamp(point, 0.0, max_trigger_fraction * headroom);
  return live + static_cast<std::uint64_t>(point);
}

void pacer::recompute() {
  compute_goals();
  gogc_trigger_.store(trigger_for(gogc_goal_.load(std::memory_order_relaxed)),
                      std::memory_order_relaxed);
  limit_trigger_.store(trigger_for(limit_goal_.load(std::memory_order_relaxed)),
                       std::memory_order_relaxed);
}

void pacer::compute_goals() {
  std::uint64_t live = last_.live_bytes;
  int percent = percent_.load(std::memory_order_relaxed);
  if (percent < 0) {
    gogc_goal_.store(unlimited, std::memory_order_relaxed);
  } else {
    long double scan_work = static_cast<long double>(live + last_.root_bytes);
    long double goal = live + scan_work * percent / 100.0L;
    std::uint64_t bounded = goal >= static_cast<long double>(unlimited / 2)
                                ? unlimited / 2
                                : static_cast<std::uint64_t>(goal);
    gogc_goal_.store(std::max(bounded, minimum_heap_goal), std::memory_order_relaxed);
  }
  std::int64_t limit = limit_.load(std::memory_order_relaxed);
  if (limit == INT64_MAX) {
    limit_goal_.store(unlimited, std::memory_order_relaxed);
    return;
  }
  std::uint64_t headroom = static_cast<std::uint64_t>(limit / 20);
  std::uint64_t allocated = std::max(live, last_.heap_alloc);
  std::uint64_t overhead = last_.heap_inuse > allocated ? last_.heap_inuse - allocated : 0;
  std::uint64_t budget = static_cast<std::uint64_t>(limit);
  std::uint64_t goal = budget > headroom + overhead ? budget - headroom - overhead : 0;
  limit_goal_.store(std::max(goal, live), std::memory_order_relaxed);
}

}  // namespace tricolor::gc
