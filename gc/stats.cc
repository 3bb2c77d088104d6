// Statistics; see stats.hpp.
#include "gc/stats.hpp"

#include <time.h>
#include <unistd.h>

#include <chrono>
#include <mutex>

#include "gc/config.hpp"
#include "gc/pacer.hpp"
#include "heap/heap.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::gc {

namespace {
const auto process_start = std::chrono::steady_clock::now();

struct totals {
  std::mutex lock;
  gc_stats stats;
  std::uint64_t gc_cpu_ns = 0;
};

totals& the_totals() {
  static auto* t = new totals();
  return *t;
}

double fraction_locked(const totals& t) {
  // Read once: sysconf reads /sys on each call, which made read_stats()
  // take 6.3 us instead of 0.14 (micro_bench stats/read_stats).
  static const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  double available = static_cast<double>(nanos_since_start()) * static_cast<double>(cpus);
  return available > 0 ? static_cast<double>(t.gc_cpu_ns) / available : 0.0;
}
}  // namespace

std::uint64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t nanos_since_start() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - process_start)
          .count());
}

void record_cycle(const cycle_record& r) {
  totals& t = the_totals();
  std::lock_guard guard(t.lock);
  gc_stats& s = t.stats;
  s.num_gc = r.number;
  if (r.forced) ++s.num_forced_gc;
  if (r.minor) ++s.num_minor_gc;
  s.pause_total_ns += r.pause_ns;
  std::size_t slot = (r.number - 1) % gc_stats::pause_history;
  s.pause_ns[slot] = r.pause_ns;
  s.pause_end_unix_ns[slot] = r.end_unix_ns;
  s.last_gc_unix_ns = r.end_unix_ns;
  s.live_bytes = r.heap_live;
  s.live_objects = r.live_objects;
  s.objects_freed += r.objects_freed;
  s.bytes_freed += r.bytes_freed;
  s.stacks_bytes = r.stacks_bytes;
  s.globals_bytes = r.globals_bytes;
  s.handle_roots = r.handle_roots;
  s.threads = r.threads;
  s.last_cycle = {r.number, r.forced, r.start_ns,
                  r.sweep_termination_ns, r.mark_ns, r.mark_termination_ns,
                  r.sweep_termination_cpu_ns, r.mark_assist_cpu_ns, r.mark_background_cpu_ns,
                  r.mark_idle_cpu_ns, r.mark_termination_cpu_ns,
                  r.heap_start, r.heap_end, r.heap_live, r.heap_goal, r.mark_workers};
  t.gc_cpu_ns += r.sweep_termination_cpu_ns + r.mark_assist_cpu_ns +
                 r.mark_background_cpu_ns + r.mark_idle_cpu_ns +
                 r.mark_termination_cpu_ns;
}

void record_pause(std::uint64_t pause_ns, std::uint64_t time_to_safepoint_ns) {
  std::uint64_t end = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  totals& t = the_totals();
  std::lock_guard guard(t.lock);
  gc_stats& s = t.stats;
  s.pauses[s.num_pauses++ % gc_stats::pause_history] = {pause_ns, time_to_safepoint_ns, end};
  if (pause_ns > s.max_pause_ns) s.max_pause_ns = pause_ns;
}

double gc_cpu_fraction() {
  totals& t = the_totals();
  std::lock_guard guard(t.lock);
  return fraction_locked(t);
}

}  // namespace tricolor::gc

namespace tricolor {

gc_stats read_stats() {
  roots::runtime_section runtime;  // the collector takes the totals' lock
  gc::totals& t = gc::the_totals();
  gc_stats s;
  {
    std::lock_guard guard(t.lock);
    s = t.stats;
    s.gc_cpu_fraction = gc::fraction_locked(t);
  }
  heap::heap_counters& c = heap::the_heap.counters();
  s.heap_alloc = static_cast<std::uint64_t>(c.heap_alloc.load(std::memory_order_relaxed));
  s.heap_inuse = static_cast<std::uint64_t>(c.heap_inuse.load(std::memory_order_relaxed));
  s.total_alloc_bytes = c.total_alloc.load(std::memory_order_relaxed);
  s.heap_idle = heap::the_heap.pages().free_bytes();
  s.heap_released = heap::the_heap.pages().released_bytes();
  s.heap_goal = gc::the_pacer.heap_goal();
  s.heap_trigger = gc::environment_config().gcstoptheworld ? s.heap_goal : gc::the_pacer.trigger();
  s.gc_percent = gc::the_pacer.gc_percent();
  s.memory_limit = gc::the_pacer.memory_limit();
  return s;
}

}  // namespace tricolor
