// The pacer: when the next cycle starts.
//
// Two goals, as in Go (runtime/mgcpacer.go, mgclimit.go), the lower one wins:
//
//   GOGC goal    live + (live + roots) * gc_percent / 100, at least 4 MiB,
//                where roots are the stack and data-segment bytes the last
//                mark scanned (as Go 1.18+: scanning them is work a cycle
//                pays for, so they buy heap growth too); infinite when
//                gc_percent < 0 ("off")
//   limit goal   memory_limit - headroom - overhead, at least live, where
//                overhead = heap_inuse - heap_alloc after the sweep
//                (fragmentation and partly used spans: memory the heap holds
//                beyond its objects) and headroom = memory_limit / 20 (metadata, cache
//                reservations); infinite without a limit
//
// The stop-the-world collector (gcstoptheworld=1) starts a cycle when
// heap_alloc (heap/heap.hpp) reaches the goal. The concurrent collector
// starts earlier, at the trigger, chosen so that marking ends as the heap
// reaches the goal:
//
//     runway  = cons/mark * scan work
//     trigger = goal - runway, within [live, live + 0.95 * (goal - live)]
//
// The scan work is what the last concurrent mark scanned: the objects it
// traced and the roots (as Go's lastHeapScan; objects allocated black while
// it marked are live but were never scanned). cons/mark is the bytes the
// mutators allocate per byte the mark workers scan, measured over the last
// cycles' marking (a moving average, half weight to the newest):
//
//     cons/mark = allocated / scanned * (G + X) / G
//
// with G the CPU of the mark workers (gc/mark_workers.hpp: the 25 % budget
// and idle CPUs) and X that of the mutators' assists while it marked.
// Without assists it is the plain ratio of allocation to scanning at the CPU
// the marking really had, so it needs no model of the machine. Assists did X
// of the scanning, which the workers alone would have needed (G + X) / G
// times as long for: the correction leaves the runway the workers need, so
// a cycle that had to assist starts the next one earlier rather than settle
// into assisting every cycle. (Without it, binary-trees settled there:
// assists took 45 % of the marking CPU and the run was 65 % slower.) Go's
// cons/mark also corrects for the mutators' time lost to assists, (M + X) / M
// with M their own CPU; measured here, that correction made the runway 40 %
// longer than the allocation that followed, so it is left out.
// Until a concurrent cycle has been measured, the trigger is 70 % into the
// runway (Go's minimum trigger). If the mutators outrun the estimate,
// assists slow them to the marking's pace (gc/collector.cc: pace_allocation),
// which is what keeps the heap at the goal; a trigger too early costs CPU.
//
// The CPU limiter. A program whose live heap nears the memory limit would
// collect back to back (thrash). So when the last cycle left the live heap
// within 10 % of the limit goal, a cycle triggered by the *limit* goal
// starts only once the mutators have run, since the last cycle ended, at
// least as long as that cycle held them stopped: the collector then takes at
// most about half of the wall time, and beyond that the heap is allowed to
// grow past the limit (the program degrades instead of stalling). Cycles due
// to the GOGC goal are never throttled, nor limit cycles with runway left.
//
// After each sweep, free pages go back to the OS until the memory the heap
// keeps (in-use spans plus free unreleased pages) is within the goal + 10 %
// (idle pages only), and within the limit minus headroom (any free page): see
// retain targets below. So the limit is about resident memory, not only
// about the objects.
//
// Concurrency: goals are atomic words read by every allocation slow path;
// end_cycle and the setters are called under the collector's cycle lock or
// by one thread at a time (setters use the last outcome under a mutex).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

namespace tricolor::gc {

inline constexpr std::uint64_t minimum_heap_goal = std::uint64_t{4} << 20;
inline constexpr std::uint64_t unlimited = UINT64_MAX;

// What a finished sweep tells the pacer.
struct cycle_outcome {
  std::uint64_t live_bytes = 0;  // marked by the cycle
  std::uint64_t heap_inuse = 0;  // span bytes after its sweep
  // heap_alloc after the sweep: live plus what the mutators allocated while
  // the cycle ran (equal to live_bytes for a stop-the-world cycle).
  std::uint64_t heap_alloc = 0;
  std::uint64_t root_bytes = 0;  // stacks and data segments scanned
  // Concurrent cycles (0 for a stop-the-world one), from the mark-start
  // pause to the mark-termination pause: bytes the marking scanned (traced
  // objects and roots), bytes the mutators allocated meanwhile, and the CPU
  // of the mutators' assists and of the mark workers.
  std::uint64_t scanned_bytes = 0;
  std::uint64_t allocated_during_mark = 0;
  std::uint64_t assist_cpu_ns = 0;
  std::uint64_t background_cpu_ns = 0;
};

class pacer {
 public:
  using clock_fn = std::uint64_t (*)();

  // memory_limit: bytes, or INT64_MAX for none. `clock` gives monotonic
  // nanoseconds (tests pass a fake one).
  void initialize(int gc_percent, std::int64_t memory_limit, clock_fn clock);
  // After the sweep: sets the next goals.
  void end_cycle(const cycle_outcome& outcome);
  // When the world restarts: the whole pause, for the CPU limiter.
  void end_pause(std::uint64_t end_ns, std::uint64_t pause_ns);

  int set_gc_percent(int percent);  // returns the previous value
  // Returns the previous limit; a negative argument only reads it (as Go's
  // debug.SetMemoryLimit).
  std::int64_t set_memory_limit(std::int64_t bytes);

  int gc_percent() const { return percent_.load(std::memory_order_relaxed); }
  // The live bytes the goals grew from (the last cycle's).
  std::uint64_t last_live() const { return last_live_.load(std::memory_order_relaxed); }
  std::int64_t memory_limit() const { return limit_.load(std::memory_order_relaxed); }
  std::uint64_t gogc_goal() const { return gogc_goal_.load(std::memory_order_relaxed); }
  std::uint64_t limit_goal() const { return limit_goal_.load(std::memory_order_relaxed); }
  std::uint64_t heap_goal() const {
    std::uint64_t g = gogc_goal(), l = limit_goal();
    return g < l ? g : l;
  }

  // Should an allocation that finds heap_alloc bytes allocated start a cycle?
  bool should_start_cycle(std::uint64_t heap_alloc) const {
    if (heap_alloc >= gogc_goal_.load(std::memory_order_relaxed)) return true;
    if (heap_alloc < limit_goal_.load(std::memory_order_relaxed)) return false;
    return !cpu_limited();
  }
  // The same question for the concurrent collector, which starts at the
  // trigger instead of the goal.
  bool should_trigger_concurrent_cycle(std::uint64_t heap_alloc) const {
    if (heap_alloc >= gogc_trigger_.load(std::memory_order_relaxed)) return true;
    if (heap_alloc < limit_trigger_.load(std::memory_order_relaxed)) return false;
    return !cpu_limited();
  }
  static constexpr double unmeasured_trigger_fraction = 0.7;
  static constexpr double max_trigger_fraction = 0.95;
  // The lower of the two triggers (the heap_alloc at which the concurrent
  // collector starts its next cycle, CPU limiter aside).
  std::uint64_t trigger() const {
    std::uint64_t g = gogc_trigger_.load(std::memory_order_relaxed);
    std::uint64_t l = limit_trigger_.load(std::memory_order_relaxed);
    return g < l ? g : l;
  }

  // Bytes allocated per byte scanned while marking (moving average; 0 until
  // a concurrent cycle measured it), and the runway it gives the next cycle.
  double cons_mark() const;
  std::uint64_t runway() const;

  // True while the CPU limiter holds back limit-triggered cycles.
  bool cpu_limited() const;

  // How much memory the heap may keep resident after a sweep: idle free pages
  // are released above `soft`, any free pages above `hard`.
  struct retain_targets {
    std::uint64_t soft;
    std::uint64_t hard;
  };
  retain_targets retain() const;

 private:
  // Under lock_:
  void recompute();  // from percent_, limit_, last_ and cons_mark_
  std::uint64_t trigger_for(std::uint64_t goal) const;
  std::uint64_t runway_locked() const;
  void compute_goals();

  mutable std::mutex lock_;
  cycle_outcome last_;
  clock_fn clock_ = nullptr;
  std::atomic<int> percent_{100};
  std::atomic<std::int64_t> limit_{INT64_MAX};
  std::atomic<std::uint64_t> gogc_goal_{minimum_heap_goal};
  std::atomic<std::uint64_t> limit_goal_{unlimited};
  std::atomic<std::uint64_t> gogc_trigger_{minimum_heap_goal};
  std::atomic<std::uint64_t> limit_trigger_{unlimited};
  std::atomic<std::uint64_t> last_end_ns_{0};
  std::atomic<std::uint64_t> last_pause_ns_{0};
  double cons_mark_ = 0;  // moving average, under lock_
  std::atomic<std::uint64_t> last_live_{0};
};

// What the assists of the cycle marking now aim at (gc/collector.cc sets it
// in the mark-start pause; pace_allocation charges each allocation
// assist_ratio objects per byte).
struct assist_plan {
  std::uint64_t expected_objects = 0;    // what the last cycle scanned
  std::uint64_t worst_case_objects = 0;  // every object of the heap at mark start
  std::uint64_t goal = 0;
  std::uint64_t hard_goal = 0;  // goal + 10 %, or the goal under the memory limit
};

// Objects left to scan per byte of runway left, given `scanned` objects
// scanned so far and the heap at `heap_alloc` (as Go's
// gcControllerState.revise, re-read at each payment). The work expected is
// what the last cycle scanned; once the marking has scanned more than that,
// the heap changed shape since (a program building a large structure), and
// the plan turns to the worst case: every object of the heap at mark start
// to scan by the hard goal. The runway counts as at least 64 KiB, so a heap
// at or past its goal charges a large but finite ratio.
double assist_ratio(const assist_plan& plan, std::uint64_t scanned, std::uint64_t heap_alloc);

extern pacer the_pacer;

// Monotonic nanoseconds (the pacer's real clock).
std::uint64_t monotonic_ns();

}  // namespace tricolor::gc
