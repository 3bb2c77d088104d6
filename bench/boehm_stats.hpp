// Boehm GC (bdwgc) set-up and pause measurement for the *_boehm benchmarks.
//
// boehm_init() initializes the collector the way a plain client does
// (GC_INIT; no incremental mode unless the environment asks for it with
// GC_ENABLE_INCREMENTAL) and installs a collection-event callback that times
// every stop-the-world pause, from GC_EVENT_PRE_STOP_WORLD to
// GC_EVENT_POST_START_WORLD. In the default, non-incremental mode a whole
// collection (mark and the start of the sweep) happens inside that pause.
//
// Parallel marking: bdwgc starts its marker threads only in multi-threaded
// clients, so these single-threaded benchmarks mark on one thread by default.
// With GC_MARKERS=N in the environment (N > 1), boehm_init() calls
// GC_start_mark_threads() and marking uses N threads.
//
// print_boehm_stats() writes the one stderr line that bench/run_macro.py reads:
//   bench-stats: gcs=N max_pause_ms=X total_pause_ms=Y markers=M incremental=0|1
// gcs is GC_get_gc_no() (it counts the collector's own start-up collections).
#pragma once

// GC_THREADS declares the thread-related calls (GC_get_parallel,
// GC_start_mark_threads) of the thread-enabled library Debian ships.
#define GC_THREADS 1
#include <gc.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace bench {

struct boehm_pauses {
  std::chrono::steady_clock::time_point stop_started;
  std::int64_t max_ns = 0;
  std::int64_t total_ns = 0;
};

inline boehm_pauses boehm_pause_record;

// Runs with the GC lock held (or the world stopped): records, never allocates.
inline void GC_CALLBACK on_boehm_event(GC_EventType event) {
  boehm_pauses& r = boehm_pause_record;
  if (event == GC_EVENT_PRE_STOP_WORLD) {
    r.stop_started = std::chrono::steady_clock::now();
  } else if (event == GC_EVENT_POST_START_WORLD) {
    std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - r.stop_started)
                          .count();
    r.max_ns = std::max(r.max_ns, ns);
    r.total_ns += ns;
  }
}

// GC_INIT must expand in the main program's translation unit: this inline
// function is only ever called from main().
inline void boehm_init() {
  GC_INIT();
  GC_set_on_collection_event(on_boehm_event);
  if (const char* markers = std::getenv("GC_MARKERS");
      markers && std::atoi(markers) > 1)
    GC_start_mark_threads();
}

inline void print_boehm_stats() {
  const boehm_pauses& r = boehm_pause_record;
  std::fprintf(stderr,
               "bench-stats: gcs=%lu max_pause_ms=%.3f total_pause_ms=%.1f "
               "markers=%d incremental=%d\n",
               static_cast<unsigned long>(GC_get_gc_no()), r.max_ns / 1e6,
               r.total_ns / 1e6, GC_get_parallel() + 1,
               GC_is_incremental_mode());
}

}  // namespace bench
