// Control and statistics: collect(), pacing knobs, read_stats().
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace tricolor {

// Runs a full, blocking collection cycle (logged as "(forced)" in gctrace).
// Returns when the cycle's sweep has finished.
void collect();

// Sets the heap growth percent that triggers the next cycle (the GOGC
// analogue) and returns the previous value. Negative disables pacing-triggered
// cycles (collect() still works).
int set_gc_percent(int percent);

// Sets the soft memory limit (the GOMEMLIMIT analogue) in bytes and returns
// the previous one; INT64_MAX means no limit, a negative argument only reads
// the current value. Cycles run more often as the heap nears the limit, free
// pages go back to the OS to stay under it, and a CPU limiter keeps the
// collector to about half the time, letting the heap exceed the limit rather
// than thrash (gc/pacer.hpp).
std::int64_t set_memory_limit(std::int64_t bytes);

// One cycle as its gctrace line shows it (gc/gctrace.hpp), in nanoseconds
// and bytes, unrounded.
struct gc_cycle_stats {
  std::uint64_t number = 0;  // 0: no cycle yet
  bool forced = false;
  std::uint64_t start_ns = 0;  // since the program started
  // Wall clock: mark-start pause, concurrent mark, mark-termination pause.
  std::uint64_t mark_start_ns = 0, mark_ns = 0, mark_termination_ns = 0;
  // CPU: mark-start pause, marking split into assist / background / idle,
  // mark-termination pause.
  std::uint64_t mark_start_cpu_ns = 0, assist_cpu_ns = 0, background_cpu_ns = 0,
                idle_cpu_ns = 0, mark_termination_cpu_ns = 0;
  std::uint64_t heap_start = 0, heap_end = 0, heap_live = 0, heap_goal = 0;
  std::uint64_t mark_workers = 0;  // threads that scanned during the mark
};

struct gc_stats {
  // Heap, in bytes.
  std::uint64_t heap_alloc = 0;   // allocated to objects (and cache reserves)
  std::uint64_t heap_inuse = 0;   // in spans that hold objects
  std::uint64_t heap_idle = 0;      // in free spans (released or not)
  std::uint64_t heap_released = 0;  // of heap_idle, returned to the OS (madvise)
  std::uint64_t heap_goal = 0;    // heap_alloc the next cycle aims to end at
  std::uint64_t heap_trigger = 0; // heap_alloc that starts the next cycle
  std::uint64_t live_bytes = 0;   // marked by the last cycle
  std::uint64_t live_objects = 0;
  // Cycles.
  std::uint64_t num_gc = 0;
  std::uint64_t num_forced_gc = 0;
  // Minor cycles (TRICOLOR_DEBUG=generational=1): marked only the objects
  // allocated since the last cycle and those old objects written to since.
  std::uint64_t num_minor_gc = 0;
  std::uint64_t total_alloc_bytes = 0;   // cumulative, objects and cache reserves
  std::uint64_t objects_freed = 0;       // cumulative
  std::uint64_t bytes_freed = 0;         // cumulative
  // Pauses per cycle (the sum of its stop-the-world pauses, as Go's
  // MemStats.PauseNs): total, and a ring of the most recent (index
  // (num_gc - 1) % 256).
  std::uint64_t pause_total_ns = 0;
  std::uint64_t last_gc_unix_ns = 0;
  static constexpr std::size_t pause_history = 256;
  std::array<std::uint64_t, pause_history> pause_ns{};
  std::array<std::uint64_t, pause_history> pause_end_unix_ns{};
  // Every stop-the-world pause on its own (a concurrent cycle has two: mark
  // start and mark termination, plus one per termination attempt that found
  // work left): a ring of the most recent, index (num_pauses - 1) % 256.
  // time_to_safepoint_ns is the part of pause_ns spent waiting for the last
  // thread to stop.
  struct pause_record {
    std::uint64_t pause_ns = 0;
    std::uint64_t time_to_safepoint_ns = 0;
    std::uint64_t end_unix_ns = 0;
  };
  std::uint64_t num_pauses = 0;
  std::uint64_t max_pause_ns = 0;  // longest since start
  std::array<pause_record, pause_history> pauses{};
  double gc_cpu_fraction = 0;  // of the CPU time available since start
  // Roots scanned by the last cycle.
  std::uint64_t stacks_bytes = 0;
  std::uint64_t globals_bytes = 0;
  std::uint64_t handle_roots = 0;
  std::uint64_t threads = 0;
  int gc_percent = 100;
  std::int64_t memory_limit = INT64_MAX;
  gc_cycle_stats last_cycle;
};

gc_stats read_stats();

}  // namespace tricolor
