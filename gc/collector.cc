// The garbage collector's cycle.
//
// tricolor is a concurrent mark-sweep collector over a non-moving,
// size-segregated heap (heap/), with roots found conservatively on stacks, in
// registers, data segments and TLS, and precisely in gc_root handles
// (roots/). Cycles run on a collector thread of their own ("tricolor-gc",
// not a registered mutator: it holds no managed pointer outside its mark
// stack), started by the first request. Mutators request cycles and keep
// running; collect() waits for one.
//
// The cycle
// ---------
// A cycle is requested when an allocation finds heap_alloc at the pacer's
// trigger (gc/pacer.hpp), by collect(), or when the arena cannot satisfy an
// allocation. Its phases, with what each pause does and why that is bounded
// by the roots and the threads, never by the heap:
//
//  0. Sweep completion. The previous cycle's sweep has finished (every span
//     swept) before anything else; see 4.
//
//  1. Mark start (PAUSE). Stop the world (roots/thread_registry: every
//     registered thread is parked at a safepoint, in a blocking call or a
//     blocking_scope, or stopped by the stop signal while blocked in the
//     kernel, its registers and stack pointer recorded). Flush every thread cache
//     (allocation bits become exact: conservative scanning relies on it).
//     Empty the barrier buffers (stale). Turn on the write barrier and
//     allocate-black. Copy the root snapshot: every word of the data
//     segments, of each thread's stack from its recorded stack pointer up,
//     its callee-saved registers and TLS blocks (gc/root_snapshot.hpp).
//     Restart the world, then shade the copied words that point into
//     allocated objects. The gc_root handles are visited
//     right after, concurrently (roots/handles.cc: their writes are
//     barriered, so their snapshot survives). Cost: threads x size classes
//     for the flush, plus a copy of stacks and data segments.
//
//  2. Concurrent mark. Mark worker threads drain grey objects (gc/marker)
//     while mutators run, within a budget of 25 % of the CPUs plus idle CPUs
//     (gc/mark_workers.hpp); the collector thread waits for them to run out
//     of work. Mutators' stores shade the pointers they overwrite
//     (tricolor/internal/write_barrier.hpp, where the soundness argument is);
//     allocating threads that pass the heap goal assist the marker; grey
//     work moves between them through the work pool (gc/work_pool.hpp).
//
//  3. Mark termination (PAUSE). When no worker, assist or pool holds a grey
//     object, hold the workers, stop the world and shade what is left in every
//     thread's barrier buffer. If that found grey objects, restart the world
//     and go back to 2 (each round shades objects that were white, so the
//     rounds end: at worst every object of the snapshot is marked). If not,
//     marking is complete: turn off the barrier and allocate-black, flush
//     the caches, clear weak references to white objects (gc/weak_refs), and
//     queue every span for sweeping (heap/sweeper: begin_sweep). Restart.
//     Cost: threads x buffer size, caches, weak cells; spans are queued by
//     swapping one vector.
//
//  4. Concurrent sweep. The collector thread sweeps span after span;
//     allocating threads sweep too before they take fresh pages (lazy
//     sweeping). When all are swept, the live bytes they counted set the next
//     goals (gc/pacer) and free pages beyond the retain targets go back to
//     the OS. The cycle is complete: collect() returns, gctrace prints.
//
// With TRICOLOR_DEBUG=gcstoptheworld=1 the whole cycle (mark and sweep) runs
// in one pause with a single exclusive marker: the reference collector that
// the concurrent one is measured and checked against. With verify=1, each
// concurrent cycle is checked by stop-the-world traversals (gc/verifier).
//
// Invariants
// ----------
//  * No reachable object is freed: tricolor/internal/write_barrier.hpp proves every
//    object reachable when marking ends is marked; sweeping frees only white
//    objects, and the phase it runs in has no marking.
//  * Every object unreachable at the start of a cycle is freed by its sweep,
//    except what conservative scanning retains; objects that die during
//    marking are freed by the next cycle (floating garbage).
//  * One cycle at a time: only the collector thread runs cycles.
//  * The barrier flag and allocate-black change only with the world stopped,
//    so the stop-the-world handshake publishes them to every mutator.
//  * Destructors run while sweeping, on the thread that sweeps the span (the
//    collector thread or an allocating thread); they must not allocate.
#include "gc/collector.hpp"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <new>
#include <optional>
#include <thread>

#include "barriers/barrier_buffer.hpp"
#include "tricolor/internal/write_barrier.hpp"
#include "gc/config.hpp"
#include "gc/finalizer.hpp"
#include "gc/gctrace.hpp"
#include "gc/generations.hpp"
#include "gc/heap_profile.hpp"
#include "gc/mark_workers.hpp"
#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "gc/channel_leaks.hpp"
#include "gc/leak_tracker.hpp"
#include "gc/root_snapshot.hpp"
#include "gc/stats.hpp"
#include "gc/test_hooks.hpp"
#include "gc/verifier.hpp"
#include "gc/weak_refs.hpp"
#include "gc/work_pool.hpp"
#include "heap/heap.hpp"
#include "heap/sweeper.hpp"
#include "roots/root_ranges.hpp"
#include "roots/root_set.hpp"
#include "tricolor/internal/safepoint.hpp"
#include "roots/thread_creation.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::gc {

namespace {
std::atomic<gc_phase> phase{gc_phase::off};
// Set by the first allocation that reaches the trigger, cleared when the
// cycle completes: one request per cycle, not one per allocation.
std::atomic<bool> goal_cycle_requested{false};
// CPU time of assists in the current cycle.
std::atomic<std::uint64_t> assist_cpu_ns{0};
// Objects the last cycle scanned (live and not allocated black), and their
// average size, for the next assist plan.
std::atomic<std::uint64_t> last_scanned_objects{0};
std::atomic<double> last_object_bytes{32};

// The assist plan of the cycle marking now (gc/pacer.hpp), set in its
// mark-start pause, read by every allocation that pays for itself.
struct shared_assist_plan {
  std::atomic<std::uint64_t> expected_objects{0};
  std::atomic<std::uint64_t> worst_case_objects{0};
  std::atomic<std::uint64_t> goal{0};
  std::atomic<std::uint64_t> hard_goal{0};
};
shared_assist_plan current_assist_plan;

// Requests and completions, between mutators and the collector thread.
struct collector_control {
  std::mutex lock;
  std::condition_variable requests;  // the collector thread waits here
  std::condition_variable finished;  // collect_and_wait waits here
  bool thread_started = false;
  bool shutting_down = false;
  bool cycle_running = false;
  bool pending = false;
  bool fork_pending = false;  // no cycle starts while a fork() is prepared
  cycle_trigger pending_trigger = cycle_trigger::heap_goal;
  std::uint64_t cycles_started = 0;
  std::uint64_t cycles_finished = 0;
};

collector_control& control() {
  static auto* c = new collector_control();  // leaked: used at exit
  return *c;
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

// Where allocating threads that are far past the goal wait for the cycle to
// move on (the backstop; see pace_allocation): a counter bumped at each phase
// change of a cycle (marking started, marking ended, cycle complete).
struct progress_signal {
  std::mutex lock;
  std::condition_variable advanced;
  std::uint64_t steps = 0;
};
progress_signal& progress() {
  static auto* p = new progress_signal();
  return *p;
}

void signal_progress() {
  progress_signal& p = progress();
  {
    std::lock_guard guard(p.lock);
    ++p.steps;
  }
  p.advanced.notify_all();
}

// Blocks the calling mutator (as a safe thread) until the cycle's next phase
// change, or 10 ms. The bound only keeps a thread from waiting forever on a
// collector held by a test hook; each lapse lets it allocate one more run of
// slots, so it is long: with 1 ms, a collector thread slowed down (a loaded
// machine, ThreadSanitizer) let 256 KiB arrays push heap_inuse to 109 MiB
// against a 4 MiB goal.
void wait_for_progress() {
  progress_signal& p = progress();
  std::uint64_t seen;
  {
    std::lock_guard guard(p.lock);
    seen = p.steps;
  }
  roots::wait_as_safe([&] {
    std::unique_lock guard(p.lock);
    p.advanced.wait_for(guard, std::chrono::milliseconds(10),
                        [&] { return p.steps != seen; });
  });
}

// --- test hooks --------------------------------------------------------------
struct hold_state {
  std::mutex lock;
  std::condition_variable changed;
  std::atomic<int> armed{-1};
  bool held = false;
  bool released = false;
};
hold_state& holds() {
  static auto* h = new hold_state();
  return *h;
}

void reach_point(test_hooks::cycle_point point) {
  hold_state& h = holds();
  if (h.armed.load(std::memory_order_acquire) != static_cast<int>(point)) return;
  std::unique_lock guard(h.lock);
  h.held = true;
  h.changed.notify_all();
  h.changed.wait(guard, [&] { return h.released; });
  h.held = false;
  h.released = false;
  h.armed.store(-1, std::memory_order_release);
}

// --- pauses ------------------------------------------------------------------
struct pause {
  std::uint64_t start = monotonic_ns();
  std::uint64_t time_to_safepoint = roots::stop_the_world(nullptr);
  // Restarts the world and records the pause; returns its length. The pause
  // ends when the world is released: the wakeups that follow hand the CPUs
  // to the mutators, and the collector thread may well be descheduled by
  // them before it could read a clock again (measured: 1.4-4.7 ms of such
  // delay on 2 cores with 4 mutators, all of it mutator time).
  std::uint64_t end() {
    std::uint64_t length = monotonic_ns() - start;
    roots::start_the_world();
    record_pause(length, time_to_safepoint);
    return length;
  }
};

void flush_all_caches(bool relist) {
  roots::for_each_thread(
      [&](roots::thread_state& t) { heap::the_heap.flush_cache(t.cache, relist); });
  roots::flush_orphaned_caches(relist);
}

// Totals of a cycle's pauses for its record.
struct pause_totals {
  std::uint64_t total_ns = 0;
  std::uint64_t stopped_ns = 0;  // excluding the waits for threads to stop
  std::uint64_t max_time_to_safepoint_ns = 0;
  void add(std::uint64_t length, std::uint64_t ttsp) {
    total_ns += length;
    stopped_ns += length - std::min(length, ttsp);
    max_time_to_safepoint_ns = std::max(max_time_to_safepoint_ns, ttsp);
  }
};

void fill_from_roots(cycle_record& r, const roots::root_scan_totals& roots) {
  r.stacks_bytes = roots.stacks_bytes;
  r.globals_bytes = roots.globals_bytes;
  r.handle_roots = roots.handles;
  r.threads = roots.threads;
}

void fill_from_sweep(cycle_record& r, const heap::sweep_result& swept) {
  r.heap_live = swept.live_bytes;
  r.live_objects = swept.live_objects;
  r.spans_swept = swept.spans_swept;
  r.spans_freed = swept.spans_freed;
  r.objects_freed = swept.objects_freed;
  r.bytes_freed = swept.bytes_freed;
  r.bytes_released = swept.bytes_released;
}

std::uint64_t heap_alloc_now() {
  return static_cast<std::uint64_t>(
      heap::the_heap.counters().heap_alloc.load(std::memory_order_relaxed));
}

// What a concurrent cycle's marking measured, beyond its cycle_record.
struct marking_outcome {
  bool concurrent = false;
  std::uint64_t black = 0;    // bytes the mutators allocated while it marked
                              // (marked at birth, never scanned)
  std::uint64_t counted_black = 0;  // at most this much of it counts as live
};

// After the sweep: next goals, pages back to the OS.
//
// The goals grow from the live bytes the mark found. Black objects count as
// live, as in Go, but only up to `counted_black` (see run_concurrent_cycle):
// counting all of them feeds back when marking is slow (the more a cycle's
// marking lets the mutators allocate, the higher the next goal, the more
// the next marking lets them allocate): under ThreadSanitizer the goal grew
// by about 12 % a cycle, to 80 MiB of heap for a program whose live heap is
// empty, and with 4 mutators on 2 CPUs the pause benchmark's heap reached
// 6 GiB for 1 GiB live. Leaving them all out instead costs binary-trees
// 40 % (13.0 s against 9.3 s): its tree under construction is black and
// live. Black objects that stay live are traced, and counted, by the next
// cycle.
void finish_cycle_accounting(cycle_record& r, heap::sweep_result& swept,
                             const marking_outcome& marking) {
  heap::heap_counters& counters = heap::the_heap.counters();
  std::uint64_t inuse =
      static_cast<std::uint64_t>(counters.heap_inuse.load(std::memory_order_relaxed));
  std::uint64_t black = marking.black;
  std::uint64_t excess_black = black > marking.counted_black ? black - marking.counted_black : 0;
  std::uint64_t traced_live =
      swept.live_bytes > excess_black ? swept.live_bytes - excess_black : 0;
  cycle_outcome outcome;
  outcome.live_bytes = traced_live;
  outcome.heap_inuse = inuse;
  outcome.heap_alloc = heap_alloc_now();
  outcome.root_bytes = r.stacks_bytes + r.globals_bytes;
  if (marking.concurrent) {
    outcome.scanned_bytes =
        (swept.live_bytes > black ? swept.live_bytes - black : 0) + outcome.root_bytes;
    outcome.allocated_during_mark = black;
    outcome.assist_cpu_ns = r.mark_assist_cpu_ns;
    outcome.background_cpu_ns = r.mark_background_cpu_ns + r.mark_idle_cpu_ns;
  }
  the_pacer.end_cycle(outcome);
  // The next assist ratio's scan work: the scanned share of the live
  // objects (those allocated black were never scanned).
  double scanned_share = swept.live_bytes == 0 || black >= swept.live_bytes
                             ? 0.0
                             : static_cast<double>(swept.live_bytes - black) /
                                   static_cast<double>(swept.live_bytes);
  auto scanned_objects =
      static_cast<std::uint64_t>(static_cast<double>(swept.live_objects) * scanned_share);
  last_scanned_objects.store(scanned_objects, std::memory_order_relaxed);
  if (scanned_objects > 0)
    last_object_bytes.store(
        static_cast<double>(swept.live_bytes) / static_cast<double>(swept.live_objects),
        std::memory_order_relaxed);
  pacer::retain_targets retain = the_pacer.retain();
  swept.bytes_released = heap::the_heap.pages().release_idle(inuse, retain.soft, retain.hard);
  r.heap_inuse_after = inuse;
  fill_from_sweep(r, swept);
}

// --- the stop-the-world cycle (gcstoptheworld=1) -----------------------------
void run_stop_the_world_cycle(cycle_record& r) {
  phase_clock start;
  phase.store(gc_phase::sweep_termination, std::memory_order_relaxed);
  pause stop;
  flush_all_caches(/*relist=*/false);
  r.heap_start = heap_alloc_now();
  r.heap_goal = the_pacer.heap_goal();

  phase_clock mark_start;
  phase.store(gc_phase::mark, std::memory_order_relaxed);
  marker m(/*exclusive=*/true);
  leaks::begin_cycle();
  // Through the snapshot when it is kept, as in the concurrent cycle, so
  // that a leak report's path search finds the root words
  // (gc/root_snapshot.hpp). The stacks of blocked threads are deferred, as
  // there, so that those blocked on channels can be held back
  // (gc/channel_leaks.hpp); the world stays stopped throughout.
  root_snapshot& snapshot = the_root_snapshot();
  snapshot.clear();
  roots::root_visitor& roots_to = snapshot.kept() ? static_cast<roots::root_visitor&>(snapshot) : m;
  fill_from_roots(r, roots::enumerate_roots(nullptr, roots_to, /*handles=*/false,
                                            /*defer_blocked=*/true));
  channel_leak_finder channel_leaks;
  channel_leaks.hold_back_blocked_threads();
  auto scan_deferred = [&](const std::function<bool(const roots::thread_state&)>& now) {
    r.stacks_bytes += roots::scan_deferred_stacks(roots_to, now);
    if (snapshot.kept()) snapshot.scan(m);
  };
  // Named roots first, then the stacks (see the concurrent cycle).
  if (snapshot.kept()) snapshot.scan_globals(m);
  r.handle_roots = roots::visit_handles(m);
  roots::visit_root_ranges(m);
  leaks::roots_visited();
  m.drain();
  // The leak suspects among them, one at a time (gc/marker.hpp,
  // holding_roots).
  while (m.holding_roots()) {
    m.shade_next_held_root();
    m.drain();
  }
  scan_deferred([&](const roots::thread_state& t) { return !channel_leaks.holds(t); });
  m.drain();
  // The stacks of leak suspects, then the threads blocked on channels, in
  // the order of the concurrent cycle's termination attempts.
  while (channel_leaks.holding() || m.holding_roots()) {
    std::vector<roots::thread_state*> released = channel_leaks.release_woken();
    if (released.empty() && m.holding_roots()) {
      m.shade_next_held_root();
      m.drain();
      continue;
    }
    if (released.empty()) released = channel_leaks.release_leaked();
    channel_leaks.describe_leaked();
    scan_deferred([&](const roots::thread_state& t) {
      return std::find(released.begin(), released.end(), &t) != released.end();
    });
    m.drain();
  }
  leaks::note_channel_leaks(channel_leaks.leaked());
  m.flush_tallies();
  leaks::after_mark();

  phase_clock mark_end;
  phase.store(gc_phase::mark_termination, std::memory_order_relaxed);
  r.heap_end = heap_alloc_now();
  r.weak_cleared = clear_dead_weak_refs().cleared;
  heap_profile::after_mark();
  phase.store(gc_phase::sweep, std::memory_order_relaxed);
  heap::sweep_result swept = heap::sweep_heap();
  finish_cycle_accounting(r, swept, {});
  phase_clock end;
  std::uint64_t length = stop.end();
  the_pacer.end_pause(monotonic_ns(), length);

  r.sweep_termination_ns = mark_start.wall - start.wall;
  r.mark_ns = mark_end.wall - mark_start.wall;
  r.mark_termination_ns = end.wall - mark_end.wall;
  r.sweep_termination_cpu_ns = mark_start.cpu - start.cpu;
  r.mark_background_cpu_ns = mark_end.cpu - mark_start.cpu;
  r.mark_termination_cpu_ns = end.cpu - mark_end.cpu;
  r.pause_ns = length;
  r.time_to_safepoint_ns = stop.time_to_safepoint;
}

// --- the concurrent cycle ----------------------------------------------------
void run_concurrent_cycle(cycle_record& r, bool verify, bool minor) {
  pause_totals pauses;
  assist_cpu_ns.store(0, std::memory_order_relaxed);
  marker m(/*exclusive=*/false);

  start_mark_workers();

  // 1. Mark start.
  phase_clock start;
  phase.store(gc_phase::sweep_termination, std::memory_order_relaxed);
  pause mark_start_pause;
  flush_all_caches(/*relist=*/true);
  roots::for_each_thread([](roots::thread_state& t) {
    t.barrier.count = 0;
    t.assist_debt = 0;
  });
  r.heap_start = heap_alloc_now();
  r.heap_goal = the_pacer.heap_goal();
  const std::uint64_t trigger_at_start = the_pacer.trigger();
  const std::uint64_t live_at_start = the_pacer.last_live();
  {
    shared_assist_plan& plan = current_assist_plan;
    plan.expected_objects.store(last_scanned_objects.load(std::memory_order_relaxed),
                                std::memory_order_relaxed);
    double object_bytes = last_object_bytes.load(std::memory_order_relaxed);
    plan.worst_case_objects.store(
        static_cast<std::uint64_t>(static_cast<double>(r.heap_start) / object_bytes),
        std::memory_order_relaxed);
    plan.goal.store(r.heap_goal, std::memory_order_relaxed);
    bool limit_bound = the_pacer.limit_goal() <= r.heap_goal;
    plan.hard_goal.store(limit_bound ? r.heap_goal : r.heap_goal + r.heap_goal / 10,
                         std::memory_order_relaxed);
  }
  reset_mark_counters();
  leaks::begin_cycle();
  begin_mark_phase();
  generations::begin_marking(minor);
  m.trace_constructing_roots(minor);
  heap::the_heap.set_allocate_black(true);
  barriers::set_marking(true);
  phase.store(gc_phase::mark, std::memory_order_relaxed);
  root_snapshot& snapshot = the_root_snapshot();
  snapshot.clear();
  fill_from_roots(r, roots::enumerate_roots(nullptr, snapshot, /*handles=*/false,
                                            /*defer_blocked=*/true));
  // Threads blocked on channels: their stacks wait (gc/channel_leaks.hpp).
  channel_leak_finder channel_leaks;
  channel_leaks.hold_back_blocked_threads();
  if (verify) verifier::record_snapshot();
  std::uint64_t mark_start_length = mark_start_pause.end();
  pauses.add(mark_start_length, mark_start_pause.time_to_safepoint);
  signal_progress();
  phase_clock mark_start;
  // The snapshot's words, judged now that the world runs (root_snapshot.hpp),
  // before the marker can conclude anything. With leak tracking, the named
  // roots (variables, gc_roots, root ranges) are marked through first and
  // the stacks after: a stack word that points into a structure a variable
  // owns (a temporary of the code using it) then leaves the structure
  // credited to the variable, as a reader of the report expects. Marking
  // the snapshot's stack words later is as sound as marking them at once
  // (root_snapshot.hpp).
  const bool named_roots_first = leaks::tracking();
  if (named_roots_first) {
    snapshot.scan_globals(m);
    r.handle_roots = roots::visit_handles(m);
    roots::visit_root_ranges(m);
    leaks::roots_visited();
    // Marked through by the workers, then the leak suspects among these
    // roots, one at a time (gc/marker.hpp, holding_roots), then the stacks.
    auto mark_through = [&] {
      m.flush_tallies();
      m.give_all_to_pool();
      release_mark_workers();
      while (mark_workers_busy() || assists_running() > 0 || !the_work_pool.empty())
        wait_for_mark_workers();
    };
    mark_through();
    while (m.holding_roots()) {
      m.shade_next_held_root();
      mark_through();
    }
  }
  snapshot.scan(m);
  // The stacks of the threads that were blocked when the pause began, which
  // have not moved since and stay SAFE until scanned (thread_registry.hpp).
  // Through the snapshot when it is kept for the leak reports' path search.
  auto scan_deferred = [&](const std::function<bool(const roots::thread_state&)>& now) {
    if (snapshot.kept()) {
      r.stacks_bytes += roots::scan_deferred_stacks(snapshot, now);
      snapshot.scan(m);
    } else {
      r.stacks_bytes += roots::scan_deferred_stacks(m, now);
    }
  };
  scan_deferred([&](const roots::thread_state& t) { return !channel_leaks.holds(t); });
  // A minor cycle's old objects that may point at young ones: after the
  // roots above, whose check of constructors still running must come first
  // (gc/generations.hpp, (b)).
  if (minor) r.dirty_cards = generations::scan_dirty_cards(m);
  reach_point(test_hooks::cycle_point::marking_started);
  // gc_root handles, with the world running (roots/handles.cc says why that
  // is sound).
  if (!named_roots_first) {
    r.handle_roots = roots::visit_handles(m);
    roots::visit_root_ranges(m);  // root_allocator blocks: roots/root_ranges.hpp
    leaks::roots_visited();
  }
  m.flush_tallies();

  m.give_all_to_pool();
  release_mark_workers();

  // 2 and 3. Concurrent mark, then termination attempts: when no worker,
  // assist or pool holds grey objects, hold the workers (none holds any
  // then: gc/mark_workers.hpp), stop the world and shade the barrier buffers.
  std::optional<pause> termination;
  for (bool held_at_hook = false;;) {
    while (mark_workers_busy() || assists_running() > 0 || !the_work_pool.empty())
      wait_for_mark_workers();
    hold_mark_workers();
    if (assists_running() > 0 || !the_work_pool.empty()) {
      release_mark_workers();
      continue;
    }
    if (!held_at_hook) {
      held_at_hook = true;
      reach_point(test_hooks::cycle_point::before_mark_termination);
    }
    termination.emplace();
    // What the buffers grey goes to the pool (assists, stopped at
    // safepoints, hold none).
    roots::for_each_thread([](roots::thread_state& t) { barriers::shade_recorded(t.barrier); });
    if (the_work_pool.empty() && !channel_leaks.holding() && !m.holding_roots()) break;
    // Grey objects left, or held-back roots to release: marking from the
    // rest is complete here. First the threads blocked on channels that
    // are now marked (gc/channel_leaks.hpp, step 3); when none, the stack
    // of a leak suspect (its retained size: gc/marker.hpp, holding_roots),
    // one per attempt; when none is left, the threads leaked on channels
    // (every root that runs has been marked through, the suspects' too).
    std::vector<roots::thread_state*> released;
    bool shade_held_root = false;
    if (the_work_pool.empty()) {
      released = channel_leaks.release_woken();
      if (released.empty() && m.holding_roots()) shade_held_root = true;
      else if (released.empty()) released = channel_leaks.release_leaked();
    }
    ++r.termination_retries;
    pauses.add(termination->end(), termination->time_to_safepoint);
    if (!released.empty()) {
      channel_leaks.describe_leaked();
      scan_deferred([&](const roots::thread_state& t) {
        return std::find(released.begin(), released.end(), &t) != released.end();
      });
    }
    if (shade_held_root) m.shade_next_held_root();
    m.flush_tallies();
    m.give_all_to_pool();
    release_mark_workers();
  }
  leaks::note_channel_leaks(channel_leaks.leaked());

  // 3. Mark termination, the world still stopped.
  phase_clock mark_end;
  // Marking's CPU as gctrace splits it. Background: the mark workers'
  // dedicated and fractional time, and the collector thread's root scan and
  // termination attempts.
  mark_worker_cpu workers = mark_workers_cpu();
  r.mark_background_cpu_ns = mark_end.cpu - mark_start.cpu + workers.background_ns;
  r.mark_idle_cpu_ns = workers.idle_ns;
  r.mark_workers = workers.workers_marked;
  r.mark_assist_cpu_ns = assist_cpu_ns.load(std::memory_order_relaxed);
  phase.store(gc_phase::mark_termination, std::memory_order_relaxed);
  barriers::set_marking(false);
  heap::the_heap.set_allocate_black(false);
  generations::end_marking();
  flush_all_caches(/*relist=*/false);
  if (verify) r.objects_verified = verifier::check_mark();
  r.heap_end = heap_alloc_now();
  r.weak_cleared = clear_dead_weak_refs().cleared;
  leaks::after_mark();
  heap_profile::after_mark();
  heap::begin_sweep();
  phase.store(gc_phase::sweep, std::memory_order_relaxed);
  phase_clock termination_end;
  std::uint64_t termination_length = termination->end();
  pauses.add(termination_length, termination->time_to_safepoint);
  signal_progress();
  reach_point(test_hooks::cycle_point::sweep_started);

  // 4. Concurrent sweep.
  heap::sweep_result swept = heap::finish_sweep();
  // Both heap_alloc readings follow a cache flush, and nothing is swept
  // while marking: the difference is what marking allocated black.
  std::uint64_t black = r.heap_end > r.heap_start ? r.heap_end - r.heap_start : 0;
  // Black bytes count as live up to the runway the pacer planned (goal -
  // trigger), and at most 30 % of the headroom over the last live heap:
  // what Go's latest trigger point (70 % of it, never earlier) lets the
  // mutators allocate while marking. An earlier trigger here must not make
  // the next goal larger than Go's would be.
  std::uint64_t planned = r.heap_goal > trigger_at_start ? r.heap_goal - trigger_at_start : 0;
  std::uint64_t headroom = r.heap_goal > live_at_start ? r.heap_goal - live_at_start : 0;
  std::uint64_t counted_black = std::min(planned, headroom * 3 / 10);
  finish_cycle_accounting(r, swept, {true, black, counted_black});
  if (minor) {
    // The next assist plan's scan work: what this minor scanned, not the
    // live heap, most of which it left alone.
    last_scanned_objects.store(objects_scanned_this_cycle() + m.objects_scanned(),
                               std::memory_order_relaxed);
  }
  generations::end_cycle(minor, swept.live_bytes);
  phase_clock end;
  // The CPU limiter spaces limit-triggered cycles by the time the collector
  // held every mutator: its pauses with the world stopped (the marker and
  // sweeper ran beside the mutators; the time to reach the safepoints is the
  // mutators' own, and on a loaded machine mostly the scheduler's).
  the_pacer.end_pause(monotonic_ns(), pauses.stopped_ns);

  // The clock fields are the two pauses, stop request to restart, and the
  // concurrent marking between them.
  r.sweep_termination_ns = mark_start_length;
  r.mark_termination_ns = termination_length;
  r.mark_ns = termination_end.wall - start.wall > mark_start_length + termination_length
                  ? termination_end.wall - start.wall - mark_start_length - termination_length
                  : 0;
  r.sweep_termination_cpu_ns = mark_start.cpu - start.cpu;
  r.mark_termination_cpu_ns = termination_end.cpu - mark_end.cpu;
  r.sweep_cpu_ns = end.cpu - termination_end.cpu;
  r.pause_ns = pauses.total_ns;
  r.time_to_safepoint_ns = pauses.max_time_to_safepoint_ns;
}

void run_cycle(std::uint64_t number, cycle_trigger trigger) {
  const config& settings = environment_config();
  cycle_record record;
  record.number = number;
  record.forced = trigger == cycle_trigger::forced;
  record.start_ns = nanos_since_start();
  heap::finish_sweep();  // 0. (already finished by the previous cycle)
  if (settings.gcstoptheworld) run_stop_the_world_cycle(record);
  else {
    record.minor = generations::choose_minor(trigger);
    run_concurrent_cycle(record, settings.verify, record.minor);
  }
  // Swept, and nothing is freed before the next cycle: leak reports may
  // walk the heap (gc/leak_tracker.hpp).
  leaks::end_cycle(record);
  phase.store(gc_phase::off, std::memory_order_relaxed);
  goal_cycle_requested.store(false, std::memory_order_relaxed);
  signal_progress();
  record.end_unix_ns = unix_ns();
  record_cycle(record);
  if (settings.gctrace > 0) print_gctrace(record, gc_cpu_fraction(), settings.gctrace);
  if (settings.gcpacertrace) print_pacer_trace(record, the_pacer);
}

void collector_main() {
  pthread_setname_np(pthread_self(), "tricolor-gc");
  roots::set_safepoint_warning(
      static_cast<std::uint64_t>(environment_config().safepoint_warn_ms) * 1'000'000);
  // What the first mark-start pause would otherwise do on cold memory: the
  // leak tracker's construction (keep_root_snapshot asks it) and growing the
  // root snapshot's buffer. 64 Ki words leave room for the stacks.
  leaks::keep_root_snapshot();
  the_root_snapshot().prepare(64 * 1024);
  collector_control& c = control();
  for (;;) {
    cycle_trigger trigger;
    std::uint64_t number;
    {
      std::unique_lock guard(c.lock);
      c.requests.wait(guard,
                      [&] { return (c.pending && !c.fork_pending) || c.shutting_down; });
      if (c.shutting_down) return;
      trigger = c.pending_trigger;
      c.pending = false;
      c.pending_trigger = cycle_trigger::heap_goal;
      if (trigger == cycle_trigger::heap_goal &&
          !the_pacer.should_start_cycle(heap_alloc_now()) &&
          !the_pacer.should_trigger_concurrent_cycle(heap_alloc_now())) {
        goal_cycle_requested.store(false, std::memory_order_relaxed);
        continue;
      }
      c.cycle_running = true;
      number = ++c.cycles_started;
    }
    run_cycle(number, trigger);
    {
      std::lock_guard guard(c.lock);
      c.cycle_running = false;
      c.cycles_finished = number;
    }
    c.finished.notify_all();
  }
}

// At exit: let a cycle in progress finish and start no other, so that no
// cycle runs while static destructors tear the process down.
void shut_down_collector() {
  collector_control& c = control();
  {
    std::lock_guard guard(c.lock);
    c.shutting_down = true;
  }
  c.requests.notify_all();
  c.finished.notify_all();
  roots::wait_as_safe([&] {
    std::unique_lock guard(c.lock);
    c.finished.wait(guard, [&] { return !c.cycle_running; });
  });
}

// fork()
// ------
// A child that goes on without exec gets only the thread that forked; the
// collector thread and the mark workers are gone, and any lock they held or
// condition variable they waited on is in an unknown state. So:
//   prepare  (forking thread, as SAFE) no new cycle may start, and the one
//            running (marking or sweeping) is waited for; then the registry
//            stops the world (roots/thread_registry.hpp: prepare_fork, a
//            handler registered before this one, so it runs after it);
//   parent   the registry restarts the world; cycles may start again;
//   child    the registry keeps only this thread; here the collector's locks
//            and condition variables are made anew, and the collector
//            thread and the mark workers are started again on first need.
// Between cycles no collector thread holds a grey object, a span or a lock
// the child needs: the heap is as the last sweep left it.
void prepare_fork() {
  collector_control& c = control();
  roots::wait_as_safe([&] {
    std::unique_lock guard(c.lock);
    c.fork_pending = true;
    c.finished.wait(guard, [&] { return !c.cycle_running; });
  });
  finalizer_prepare_fork();
}

void parent_after_fork() {
  finalizer_parent_after_fork();
  collector_control& c = control();
  {
    std::lock_guard guard(c.lock);
    c.fork_pending = false;
  }
  c.requests.notify_all();
}

void child_after_fork() {
  collector_control& c = control();
  new (&c.lock) std::mutex();
  new (&c.requests) std::condition_variable();
  new (&c.finished) std::condition_variable();
  c.thread_started = false;
  c.cycle_running = false;
  c.pending = false;
  c.fork_pending = false;
  goal_cycle_requested.store(false, std::memory_order_relaxed);
  progress_signal& p = progress();
  new (&p.lock) std::mutex();
  new (&p.advanced) std::condition_variable();
  hold_state& h = holds();
  new (&h.lock) std::mutex();
  new (&h.changed) std::condition_variable();
  reset_mark_workers_after_fork();
  finalizer_child_after_fork();
}

// With c.lock held.
void request_locked(collector_control& c, cycle_trigger trigger) {
  if (!c.pending || trigger != cycle_trigger::heap_goal) c.pending_trigger = trigger;
  c.pending = true;
  if (!c.thread_started) {
    c.thread_started = true;
    {
      roots::runtime_thread_creation runtime_thread;
      std::thread(collector_main).detach();
    }
    static const bool registered = [] {
      std::atexit(shut_down_collector);
      pthread_atfork(prepare_fork, parent_after_fork, child_after_fork);
      return true;
    }();
    (void)registered;
  }
  c.requests.notify_one();
}
}  // namespace

gc_phase current_phase() { return phase.load(std::memory_order_relaxed); }

void request_cycle(cycle_trigger trigger) {
  collector_control& c = control();
  std::lock_guard guard(c.lock);
  if (c.shutting_down) return;
  request_locked(c, trigger);
}

void collect_and_wait(roots::thread_state*, cycle_trigger trigger) {
  collector_control& c = control();
  std::uint64_t target;
  {
    std::lock_guard guard(c.lock);
    if (c.shutting_down) return;
    // The next cycle to start begins after this call.
    target = c.cycles_started + 1;
    request_locked(c, trigger);
  }
  roots::wait_as_safe([&] {
    std::unique_lock guard(c.lock);
    c.finished.wait(guard, [&] { return c.cycles_finished >= target || c.shutting_down; });
  });
  // collect() returns after the destructors of what its cycle found dead
  // have run (not when called from a destructor: gc/finalizer.hpp). An
  // allocation that ran out of memory does not wait for them: its thread may
  // hold a lock a destructor takes.
  if (trigger == cycle_trigger::forced) wait_for_finalizers(finalizers_queued());
}

// Pacing an allocating thread, by phase, each time it takes a new run of
// slots (`bytes` is about what it is about to allocate).
//
//   off     at the trigger, request a cycle.
//   mark    pay for the allocation with marking work (assists, as Go's
//           gcAssistAlloc): the assist ratio = objects left to scan / bytes
//           of runway left to the goal (assist_ratio_now), so that marking
//           ends before the heap reaches the goal if the mutators scan
//           ratio objects per byte they allocate. The
//           mark workers' scanning is credit that allocating threads
//           draw from first; what is left is the thread's debt, which it pays
//           by scanning objects itself (assist()).
//   sweep   past the goal, help sweep, so that the next cycle can start.
//
// The backstop: "far past the goal" is more than 1/16 beyond it (beyond it
// at all when the memory limit sets the goal). A thread far past it that
// cannot pay (no cycle started yet, no marking work to take, nothing left to
// sweep) waits for the cycle to move on, instead of growing the heap without
// bound (a mutator outrunning the collector, or a collector thread waiting
// for a CPU on a loaded machine).
constexpr std::int64_t assist_debt_slack = 16384;  // objects

double assist_ratio_now(std::uint64_t heap_alloc) {
  const shared_assist_plan& shared = current_assist_plan;
  assist_plan plan;
  plan.expected_objects = shared.expected_objects.load(std::memory_order_relaxed);
  plan.worst_case_objects = shared.worst_case_objects.load(std::memory_order_relaxed);
  plan.goal = shared.goal.load(std::memory_order_relaxed);
  plan.hard_goal = shared.hard_goal.load(std::memory_order_relaxed);
  return assist_ratio(plan, objects_scanned_this_cycle(), heap_alloc);
}

void pace_allocation(roots::thread_state* self, std::size_t bytes) {
  std::uint64_t alloc = heap_alloc_now();
  std::uint64_t goal = the_pacer.heap_goal();
  bool limit_bound = the_pacer.limit_goal() <= goal;
  bool far_past_goal = alloc > (limit_bound ? goal : goal + goal / 16);
  gc_phase now = phase.load(std::memory_order_relaxed);
  if (now == gc_phase::mark) {
    if (!barriers::marking.load(std::memory_order_relaxed)) return;
    self->assist_debt +=
        static_cast<std::int64_t>(static_cast<double>(bytes) * assist_ratio_now(alloc));
    if (self->assist_debt > 0) self->assist_debt -= take_background_credit(self->assist_debt);
    // A debt within the slack waits for the workers' credit, which lags the
    // start of marking by a few thousand objects (the workers wake after the
    // root scan, and credit a few thousand objects at a time): assisting for
    // it would take work the workers are about to do. Past the slack the
    // workers are behind.
    if (self->assist_debt > assist_debt_slack && the_work_pool.empty()) {
      // They hold every grey object on their own stacks: have them share.
      request_work();
    } else if (self->assist_debt > assist_debt_slack) {
      // In slices, polling the safepoint between them (holding no grey
      // object then): a large allocation's debt must not delay a pause.
      constexpr std::int64_t slice = 1024;
      std::uint64_t cpu = thread_cpu_ns();
      while (self->assist_debt > 0 && barriers::marking.load(std::memory_order_relaxed)) {
        std::int64_t step = std::min(self->assist_debt, slice);
        auto scanned = static_cast<std::int64_t>(assist(static_cast<std::size_t>(step)));
        self->assist_debt -= scanned;
        if (scanned < step) break;  // no grey object to take
        safepoint();
      }
      assist_cpu_ns.fetch_add(thread_cpu_ns() - cpu, std::memory_order_relaxed);
    }
    // Past the goal with its debt paid, a thread goes on allocating up to an
    // eighth beyond it; under the memory limit, not beyond it at all.
    if (far_past_goal && (self->assist_debt > 0 || limit_bound || alloc > goal + goal / 8)) {
      request_work();
      wait_for_progress();
    }
    return;
  }
  if (now == gc_phase::sweep) {
    // Nothing left to sweep: the collector thread is closing the cycle.
    if (alloc > goal && !heap::sweep_some(16) && far_past_goal) wait_for_progress();
    return;
  }
  if (now != gc_phase::off) return;
  if (goal_cycle_requested.load(std::memory_order_relaxed)) {
    if (far_past_goal) wait_for_progress();
    return;
  }
  bool due = environment_config().gcstoptheworld
                 ? the_pacer.should_start_cycle(alloc)
                 : the_pacer.should_trigger_concurrent_cycle(alloc);
  if (due && !goal_cycle_requested.exchange(true, std::memory_order_relaxed))
    request_cycle(cycle_trigger::heap_goal);
}

namespace test_hooks {
void hold_collector_at(cycle_point point) {
  hold_state& h = holds();
  std::lock_guard guard(h.lock);
  h.released = false;
  h.armed.store(static_cast<int>(point), std::memory_order_release);
}

void wait_until_held() {
  hold_state& h = holds();
  roots::wait_as_safe([&] {
    std::unique_lock guard(h.lock);
    h.changed.wait(guard, [&] { return h.held; });
  });
}

void release_collector() {
  hold_state& h = holds();
  std::lock_guard guard(h.lock);
  h.released = true;
  h.changed.notify_all();
}

void start_cycle_async() {
  roots::current_thread();
  request_cycle(cycle_trigger::forced);
}

bool marking_active() { return barriers::marking.load(std::memory_order_relaxed); }
}  // namespace test_hooks

}  // namespace tricolor::gc
