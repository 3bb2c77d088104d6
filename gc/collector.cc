// The garbage collector's cycle.
//
// tricolor is a mark-sweep collector over a non-moving, size-segregated heap
// (heap/), with roots found conservatively on stacks, in registers, data
// segments and TLS, and precisely in gc_root handles (roots/). This version
// runs every phase with the world stopped; it is the reference that the
// concurrent collector is checked against, and its phases are the ones the
// concurrent collector keeps, with mark and sweep moving out of the pause.
//
// The cycle
// ---------
// A cycle starts when an allocation finds heap_alloc >= heap_goal (gc/pacer),
// when collect() is called, or when the arena cannot satisfy an allocation.
// The thread that starts it runs it, in four phases:
//
//  1. Sweep termination. Stop the world (roots/thread_registry: every other
//     registered thread is parked at a safepoint or inside a blocking_scope,
//     its registers and stack pointer recorded). Flush every thread cache, so
//     that allocation bits are exact: a slot is allocated iff its bit is set.
//     (In the concurrent collector this phase also finishes the previous
//     cycle's sweep.)
//
//  2. Mark. Every object starts white (mark bits were cleared by the previous
//     sweep). Shade the roots: words of data segments, of each thread's stack
//     from its recorded stack pointer up, its callee-saved registers and TLS
//     blocks, that point into allocated objects; and every gc_root target.
//     Then drain the grey set (gc/marker): pop a grey object, shade what it
//     points to, until no grey object is left.
//
//  3. Mark termination. No grey object remains, so white objects are
//     unreachable. Clear weak references to white objects (gc/weak_refs).
//
//  4. Sweep. Run the destructors of white objects, make the mark bits the new
//     allocation bits, return empty spans to the page heap (heap/sweeper).
//     The live bytes it counts set the next heap goal (gc/pacer); free pages
//     beyond that goal + 10 % go back to the OS. Restart the world.
//
// Invariants
// ----------
//  * No reachable object is freed: marking starts from every root of every
//    registered thread while no mutator runs, and tracing follows every gc_ptr
//    a type's trace() visits; an object under construction is scanned
//    conservatively (heap/object_header.hpp).
//  * Every object unreachable at the start of a cycle is freed by its sweep,
//    except what conservative scanning retains (a stale word on a stack or in
//    a data segment that happens to point into it).
//  * Only one cycle runs at a time (cycle_lock). A thread that finds a cycle
//    in progress waits for it as a SAFE thread, so it never delays the pause.
//  * A destructor run by the sweeper must not allocate: the collecting thread
//    is marked `collecting`, and an allocation from it aborts with the type
//    whose destructor did it.
#include "gc/collector.hpp"

#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "gc/config.hpp"
#include "gc/gctrace.hpp"
#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "gc/stats.hpp"
#include "gc/weak_refs.hpp"
#include "heap/heap.hpp"
#include "heap/sweeper.hpp"
#include "roots/root_set.hpp"

namespace tricolor::gc {

namespace {
std::atomic<gc_phase> phase{gc_phase::off};
std::mutex cycle_lock;
std::uint64_t cycles_completed = 0;  // guarded by cycle_lock

std::uint64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

std::uint64_t unix_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Wall and CPU time at the boundaries of the phases.
struct phase_clock {
  std::uint64_t wall = nanos_since_start();
  std::uint64_t cpu = thread_cpu_ns();
};

// Takes cycle_lock; returns false if a heap_goal trigger found that another
// thread has just collected.
bool acquire_cycle(roots::thread_state* self, cycle_trigger trigger) {
  if (cycle_lock.try_lock()) return true;
  roots::register_snapshot registers;
  roots::capture_registers(registers);
  roots::become_safe(self, registers);
  cycle_lock.lock();
  roots::become_running(self);
  if (trigger == cycle_trigger::heap_goal &&
      !the_pacer.should_start_cycle(static_cast<std::uint64_t>(
          heap::the_heap.counters().heap_alloc.load(std::memory_order_relaxed)))) {
    cycle_lock.unlock();
    return false;
  }
  return true;
}
}  // namespace

gc_phase current_phase() { return phase.load(std::memory_order_relaxed); }

void run_cycle(roots::thread_state* self, cycle_trigger trigger) {
  if (!acquire_cycle(self, trigger)) return;
  self->collecting = true;
  cycle_record record;
  record.number = ++cycles_completed;
  record.forced = trigger == cycle_trigger::forced;
  heap::heap_counters& counters = heap::the_heap.counters();

  // 1. Sweep termination.
  phase_clock start;
  record.start_ns = start.wall;
  phase.store(gc_phase::sweep_termination, std::memory_order_relaxed);
  record.time_to_safepoint_ns = roots::stop_the_world(self);
  roots::for_each_thread([](roots::thread_state& t) {
    heap::the_heap.flush_cache(t.cache, /*relist=*/false);
  });
  record.heap_start = static_cast<std::uint64_t>(counters.heap_alloc.load());
  record.heap_goal = the_pacer.heap_goal();  // the goal this cycle ran against

  // 2. Mark.
  phase_clock mark_start;
  phase.store(gc_phase::mark, std::memory_order_relaxed);
  marker m;
  roots::root_scan_totals roots_scanned = roots::enumerate_roots(self, m);
  m.drain();

  // 3. Mark termination.
  phase_clock mark_end;
  phase.store(gc_phase::mark_termination, std::memory_order_relaxed);
  record.heap_end = static_cast<std::uint64_t>(counters.heap_alloc.load());
  record.weak_cleared = clear_dead_weak_refs().cleared;

  // 4. Sweep. It counts the live heap (the marked slots) on its way, which
  // sets the next goals; then free pages beyond the pacer's retain targets
  // go back to the OS.
  phase.store(gc_phase::sweep, std::memory_order_relaxed);
  heap::sweep_result swept = heap::sweep_heap();
  std::uint64_t inuse =
      static_cast<std::uint64_t>(counters.heap_inuse.load(std::memory_order_relaxed));
  the_pacer.end_cycle({swept.live_bytes, inuse});
  pacer::retain_targets retain = the_pacer.retain();
  swept.bytes_released =
      heap::the_heap.pages().release_idle(inuse, retain.soft, retain.hard);
  phase_clock end;
  the_pacer.end_pause(monotonic_ns(), end.wall - start.wall);
  roots::start_the_world();
  phase.store(gc_phase::off, std::memory_order_relaxed);
  self->collecting = false;

  record.sweep_termination_ns = mark_start.wall - start.wall;
  record.mark_ns = mark_end.wall - mark_start.wall;
  record.mark_termination_ns = end.wall - mark_end.wall;
  record.sweep_termination_cpu_ns = mark_start.cpu - start.cpu;
  record.mark_background_cpu_ns = mark_end.cpu - mark_start.cpu;
  record.mark_termination_cpu_ns = end.cpu - mark_end.cpu;
  record.pause_ns = end.wall - start.wall;
  record.end_unix_ns = unix_ns();
  record.heap_live = swept.live_bytes;
  record.live_objects = swept.live_objects;
  record.stacks_bytes = roots_scanned.stacks_bytes;
  record.globals_bytes = roots_scanned.globals_bytes;
  record.handle_roots = roots_scanned.handles;
  record.threads = roots_scanned.threads;
  record.spans_swept = swept.spans_swept;
  record.spans_freed = swept.spans_freed;
  record.objects_freed = swept.objects_freed;
  record.bytes_freed = swept.bytes_freed;
  record.bytes_released = swept.bytes_released;
  record.heap_inuse_after = inuse;
  record_cycle(record);
  cycle_lock.unlock();

  const config& settings = environment_config();
  if (settings.gctrace > 0) print_gctrace(record, gc_cpu_fraction(), settings.gctrace);
  if (settings.gcpacertrace) print_pacer_trace(record, the_pacer);
}

void maybe_start_cycle(roots::thread_state* self) {
  std::uint64_t alloc = static_cast<std::uint64_t>(
      heap::the_heap.counters().heap_alloc.load(std::memory_order_relaxed));
  if (the_pacer.should_start_cycle(alloc)) run_cycle(self, cycle_trigger::heap_goal);
}

}  // namespace tricolor::gc
