// Mark workers: the threads that scan grey objects while the program runs,
// and how much CPU they take.
//
// The budget, as Go's (gcBackgroundUtilization, runtime/mgcpacer.go):
// background marking aims at 25 % of the CPUs, dealt out as
//
//   dedicated workers   mark for the whole mark phase: round(0.25 x CPUs),
//                       one fewer when that rounding is more than 30 % off;
//   a fractional worker  marks for part of the time, so that its CPU time
//                       since marking started stays at the fraction left
//                       (0.25 x CPUs - dedicated) of the elapsed time; above
//                       it, it sleeps;
//   idle workers        mark while CPUs are idle, that is while fewer
//                       registered threads run than there are CPUs (Go's
//                       idle mark workers, which run on idle Ps). A
//                       fractional worker past its share goes on marking
//                       as an idle worker when a CPU is idle.
//
// So 2 CPUs give no dedicated worker and one at half a CPU; 4 give one
// dedicated; 6 one and a half; 8 two. TRICOLOR_MARK_WORKERS bounds the
// threads of all three kinds (default: one per CPU), dedicated ones first.
// Assists (gc/collector.cc) make up for whatever this budget leaves short of
// what the allocation rate needs. gctrace's background CPU is the dedicated
// and fractional workers' (plus the collector thread's root scan), its idle
// CPU the idle workers'.
//
// The idle estimate counts registered threads that are not SAFE (at a
// safepoint, in a blocking call or a blocking_scope); it does not see other
// processes (Go's idle Ps do not either). Each worker re-decides
// its role every few thousand objects.
//
// Termination protocol. The collector decides that marking is complete only
// with the workers held (hold_mark_workers) and the world stopped, by finding
// the pool and every barrier buffer empty. Invariant: a worker holds grey
// objects privately only while it is counted in `busy`; it counts itself
// before it takes work and only then checks that workers are released
// (sequentially consistent, both), and it gives every object back to the
// pool before it uncounts itself. hold_mark_workers clears the release flag
// and then waits for busy == 0: a worker that saw the flag set had counted
// itself before the flag was cleared, so the wait sees it (the Dekker
// pattern). When the hold returns, every grey object of the workers is in
// the pool and none takes more until release_mark_workers.
#pragma once

#include <cstdint>

namespace tricolor::gc {

inline constexpr double background_utilization = 0.25;

struct worker_plan {
  unsigned dedicated = 0;   // threads that mark all the time
  double fractional = 0;    // share of one CPU for one more thread (0 to 1)
  unsigned threads = 1;     // threads started: dedicated, fractional, idle
};

// The plan for `cpus` CPUs and at most `bound` threads (bound >= 1).
worker_plan plan_mark_workers(unsigned cpus, unsigned bound);

// Starts the threads, the first time (before a pause: it takes a few
// hundred microseconds).
void start_mark_workers();
// In the child of fork(), which has none of the threads: as before the first
// start (gc/collector.cc waited for the cycle, so no worker was marking).
void reset_mark_workers_after_fork();
// At the start of a cycle's marking: resets the CPU counters and the
// fractional worker's clock.
void begin_mark_phase();
// Lets the workers take work from the pool (marking rounds), and holds them
// again: when hold_mark_workers returns, no worker holds a grey object.
void release_mark_workers();
void hold_mark_workers();
// True if a worker holds grey objects privately right now.
bool mark_workers_busy();
// Blocks until the busy workers ran out of work, or for 0.2 ms when none is
// busy (an assist or the pool may still hold grey objects).
void wait_for_mark_workers();

struct mark_worker_cpu {
  std::uint64_t background_ns = 0;  // dedicated and fractional
  std::uint64_t idle_ns = 0;
  unsigned workers_marked = 0;      // distinct threads that marked
};
// This mark phase's so far.
mark_worker_cpu mark_workers_cpu();

}  // namespace tricolor::gc
