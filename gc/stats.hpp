// Collector statistics: what each cycle measured, kept for read_stats() and
// printed by gctrace.
//
// The collector fills one cycle_record per cycle and hands it to
// record_cycle(), which folds it into the totals under a mutex. Every figure
// is measured with clocks (CLOCK_MONOTONIC for wall time, the collecting
// thread's CLOCK_THREAD_CPUTIME_ID for CPU time) or counted, never estimated.
#pragma once

#include <cstdint>

#include "tricolor/control.hpp"

namespace tricolor::gc {

struct cycle_record {
  std::uint64_t number = 0;   // 1-based
  bool forced = false;        // started by collect()
  bool minor = false;         // a minor cycle (gc/generations.hpp)
  std::uint64_t start_ns = 0; // since process start
  // Wall clock and CPU of the three phases of the gctrace line.
  std::uint64_t sweep_termination_ns = 0, mark_ns = 0, mark_termination_ns = 0;
  std::uint64_t sweep_termination_cpu_ns = 0, mark_assist_cpu_ns = 0,
                mark_background_cpu_ns = 0, mark_idle_cpu_ns = 0,
                mark_termination_cpu_ns = 0;
  std::uint64_t time_to_safepoint_ns = 0;
  std::uint64_t pause_ns = 0;
  std::uint64_t end_unix_ns = 0;
  // Heap, in bytes.
  std::uint64_t heap_start = 0, heap_end = 0, heap_live = 0, heap_goal = 0;
  std::uint64_t heap_inuse_after = 0;  // span bytes after the sweep
  std::uint64_t live_objects = 0;
  std::uint64_t stacks_bytes = 0, globals_bytes = 0, handle_roots = 0;
  std::uint64_t threads = 0;
  // Sweep.
  std::uint64_t spans_swept = 0, spans_freed = 0, objects_freed = 0,
                bytes_freed = 0, bytes_released = 0;
  std::uint64_t weak_cleared = 0;
  // Concurrent cycles: termination pauses that found barrier work left, CPU
  // of the concurrent sweep on the collector thread, objects checked by
  // verify=1.
  std::uint64_t termination_retries = 0;
  std::uint64_t sweep_cpu_ns = 0;
  std::uint64_t objects_verified = 0;
  // Minor cycles: the dirty cards their card pass found.
  std::uint64_t dirty_cards = 0;
  // Mark worker threads that scanned objects during the concurrent mark.
  std::uint64_t mark_workers = 0;
};

void record_cycle(const cycle_record& record);

// Records one stop-the-world pause (called as the world restarts).
void record_pause(std::uint64_t pause_ns, std::uint64_t time_to_safepoint_ns);

// CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), nanoseconds.
std::uint64_t thread_cpu_ns();

// Nanoseconds since the library was loaded (the "@s" of gctrace).
std::uint64_t nanos_since_start();
// Fraction of the CPU time available since start (all online CPUs) that the
// collector used.
double gc_cpu_fraction();

}  // namespace tricolor::gc
