// Mark workers; see mark_workers.hpp for the CPU budget and the termination
// protocol.
#include "gc/mark_workers.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>

#include "gc/config.hpp"
#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "gc/stats.hpp"
#include "gc/work_pool.hpp"
#include "roots/thread_creation.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::gc {

worker_plan plan_mark_workers(unsigned cpus, unsigned bound) {
  cpus = std::max(cpus, 1u);
  bound = std::max(bound, 1u);
  const double budget = background_utilization * cpus;
  auto dedicated = static_cast<unsigned>(budget + 0.5);
  double fractional = 0;
  const double rounding_error = dedicated / budget - 1;
  if (rounding_error > 0.3 || rounding_error < -0.3) {
    if (dedicated > budget) --dedicated;
    fractional = budget - dedicated;
  }
  worker_plan plan;
  if (dedicated >= bound) {
    plan.dedicated = bound;
    plan.threads = bound;
    return plan;
  }
  plan.dedicated = dedicated;
  plan.fractional = fractional;
  unsigned planned = dedicated + (fractional > 0 ? 1 : 0);
  plan.threads = std::min(bound, std::max(cpus, planned));
  return plan;
}

namespace {

// Objects a worker scans between two looks at its role and the hold flag.
constexpr std::size_t objects_per_check = 2048;
// Chunks of objects_per_check between two readings of the thread's CPU time.
constexpr unsigned chunks_per_cpu_reading = 4;
// How long a worker that ran out of work waits before it looks again.
constexpr std::chrono::microseconds out_of_work_poll{100};

enum class role { none, dedicated, fractional, idle };

struct workers {
  std::mutex lock;
  std::condition_variable wake;       // workers wait here
  std::condition_variable went_idle;  // hold_mark_workers waits here
  std::atomic<bool> released{false};
  std::atomic<int> busy{0};
  std::uint64_t round = 0;  // bumped by each release (under lock)
  bool started = false;     // under lock
  worker_plan plan;
  unsigned cpus = 1;
  // This mark phase:
  std::atomic<std::uint64_t> phase{0};
  std::atomic<std::uint64_t> phase_start_ns{0};
  std::atomic<std::uint64_t> fractional_cpu_ns{0};
  std::atomic<std::uint64_t> background_cpu_ns{0};
  std::atomic<std::uint64_t> idle_cpu_ns{0};
  std::atomic<unsigned> workers_marked{0};
  // The idle-CPU estimate, refreshed at most once a millisecond.
  std::atomic<int> running_mutators{0};
  std::atomic<std::uint64_t> running_read_at_ns{0};
};

workers& the_workers() {
  static auto* w = new workers();  // leaked: the threads outlive main
  return *w;
}

unsigned usable_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(CPU_COUNT(&set), 1);
  return std::max(std::thread::hardware_concurrency(), 1u);
}

int running_mutators(workers& w, std::uint64_t now) {
  if (now - w.running_read_at_ns.load(std::memory_order_relaxed) > 1'000'000) {
    w.running_read_at_ns.store(now, std::memory_order_relaxed);
    int running = roots::running_thread_count();
    // A busy registry (a thread starting): keep the last reading.
    if (running >= 0) w.running_mutators.store(running, std::memory_order_relaxed);
  }
  return w.running_mutators.load(std::memory_order_relaxed);
}

// Worker k's role now; for role::none, *sleep_ns says when to look again.
role decide(workers& w, unsigned k, std::uint64_t now, std::uint64_t* sleep_ns) {
  const worker_plan& plan = w.plan;
  if (k < plan.dedicated) return role::dedicated;
  *sleep_ns = 1'000'000;
  bool fractional = plan.fractional > 0 && k == plan.dedicated;
  if (fractional) {
    double elapsed = static_cast<double>(now - w.phase_start_ns.load(std::memory_order_relaxed));
    double allowed = plan.fractional * elapsed;
    double used = static_cast<double>(w.fractional_cpu_ns.load(std::memory_order_relaxed));
    if (used < allowed) return role::fractional;
    // Asleep until the elapsed time makes up for it.
    double wait = (used - allowed) / plan.fractional;
    *sleep_ns = static_cast<std::uint64_t>(std::clamp(wait, 50'000.0, 2'000'000.0));
  }
  // Idle CPUs: those not taken by running mutators nor by the workers
  // before this one (counted as marking).
  if (static_cast<int>(w.cpus) - running_mutators(w, now) - static_cast<int>(k) > 0)
    return role::idle;
  return role::none;
}

void account(workers& w, role r, std::uint64_t cpu_ns) {
  if (r == role::idle) {
    w.idle_cpu_ns.fetch_add(cpu_ns, std::memory_order_relaxed);
    return;
  }
  w.background_cpu_ns.fetch_add(cpu_ns, std::memory_order_relaxed);
  if (r == role::fractional) w.fractional_cpu_ns.fetch_add(cpu_ns, std::memory_order_relaxed);
}

void uncount(workers& w) {
  if (w.busy.fetch_sub(1, std::memory_order_seq_cst) == 1) {
    { std::lock_guard guard(w.lock); }  // no lost wakeup for a waiter between check and wait
    w.went_idle.notify_all();
  }
}

enum class session_end { held, out_of_work, sleep };

// One stretch of marking by worker k; see mark_workers.hpp for why `busy`
// is counted before `released` is read.
// *cpu_ns is the thread's CPU time when the last session ended, 0 after a
// sleep; the session charges what it used since (a wait for shared work in
// between is a few system calls, charged with it).
session_end mark_session(workers& w, unsigned k, marker& m, std::uint64_t* sleep_ns,
                         std::uint64_t* cpu_ns) {
  role r = decide(w, k, monotonic_ns(), sleep_ns);
  if (r == role::none) return session_end::sleep;
  w.busy.fetch_add(1, std::memory_order_seq_cst);
  if (!w.released.load(std::memory_order_seq_cst)) {
    uncount(w);
    return session_end::held;
  }
  thread_local std::uint64_t marked_in_phase = 0;
  std::uint64_t phase = w.phase.load(std::memory_order_relaxed);
  if (marked_in_phase != phase) {
    marked_in_phase = phase;
    w.workers_marked.fetch_add(1, std::memory_order_relaxed);
  }
  session_end end = session_end::held;
  // CPU time is a system call: read every few chunks, when the role
  // changes (the time goes to the role it was spent in) and at the end.
  std::uint64_t cpu = *cpu_ns != 0 ? *cpu_ns : thread_cpu_ns();
  auto charge = [&] {
    std::uint64_t now_cpu = thread_cpu_ns();
    account(w, r, now_cpu - cpu);
    cpu = now_cpu;
  };
  for (unsigned chunks = 1;; ++chunks) {
    std::size_t scanned = m.drain_some(objects_per_check, /*share=*/true);
    add_background_credit(static_cast<std::int64_t>(scanned));
    if (scanned < objects_per_check) {
      end = session_end::out_of_work;
      break;
    }
    if (!w.released.load(std::memory_order_relaxed)) break;
    role next = decide(w, k, monotonic_ns(), sleep_ns);
    if (next == role::none) {
      end = session_end::sleep;
      break;
    }
    if (next != r || chunks % chunks_per_cpu_reading == 0) {
      charge();
      r = next;
    }
  }
  charge();
  *cpu_ns = cpu;
  m.give_all_to_pool();
  m.flush_tallies();
  uncount(w);
  return end;
}

// Waits until the pool has work, or no other marker runs, or a while
// passed; true if there is work. The pool wakes the wait when work arrives
// (work_pool.hpp); the other two conditions are looked at every quarter of
// the window.
bool wait_for_shared_work(workers& w) {
  constexpr std::uint64_t window_ns = 1'000'000, recheck_ns = window_ns / 4;
  std::uint64_t give_up = monotonic_ns() + window_ns;
  for (;;) {
    if (!w.released.load(std::memory_order_relaxed)) return false;
    if (!the_work_pool.empty()) return true;
    if (w.busy.load(std::memory_order_relaxed) == 0 && assists_running() == 0) return false;
    std::uint64_t now = monotonic_ns();
    if (now >= give_up) return false;
    the_work_pool.wait_for_put(std::min(recheck_ns, give_up - now));
  }
}

void worker_main(unsigned k) {
  pthread_setname_np(pthread_self(), "tricolor-mark");
  workers& w = the_workers();
  marker m(/*exclusive=*/false);
  std::uint64_t cpu_ns = 0;  // see mark_session
  for (;;) {
    std::uint64_t round;
    {
      std::unique_lock guard(w.lock);
      w.wake.wait(guard, [&] { return w.released.load(std::memory_order_relaxed); });
      round = w.round;
    }
    std::uint64_t sleep_ns = 0;
    session_end end = mark_session(w, k, m, &sleep_ns, &cpu_ns);
    if (end == session_end::held) {  // wait for the next release
      cpu_ns = 0;
      continue;
    }
    if (end == session_end::out_of_work) {
      // Others (workers, assists) may be about to share: ask, and look at
      // the pool for a while before sleeping.
      request_work();
      if (wait_for_shared_work(w)) continue;
      sleep_ns = std::chrono::nanoseconds(out_of_work_poll).count();
    }
    cpu_ns = 0;
    std::unique_lock guard(w.lock);
    w.wake.wait_for(guard, std::chrono::nanoseconds(sleep_ns), [&] { return w.round != round; });
  }
}

}  // namespace

void start_mark_workers() {
  workers& w = the_workers();
  std::lock_guard guard(w.lock);
  if (w.started) return;
  w.started = true;
  w.cpus = usable_cpus();
  int bound = environment_config().mark_workers;
  w.plan = plan_mark_workers(w.cpus, bound > 0 ? static_cast<unsigned>(bound) : w.cpus);
  roots::runtime_thread_creation runtime_threads;
  for (unsigned k = 0; k < w.plan.threads; ++k) std::thread(worker_main, k).detach();
}

void reset_mark_workers_after_fork() {
  workers& w = the_workers();
  new (&w.lock) std::mutex();
  new (&w.wake) std::condition_variable();
  new (&w.went_idle) std::condition_variable();
  w.released.store(false, std::memory_order_relaxed);
  w.busy.store(0, std::memory_order_relaxed);
  w.started = false;
  the_work_pool.forget_waiters();
}

void begin_mark_phase() {
  workers& w = the_workers();
  w.phase.fetch_add(1, std::memory_order_relaxed);
  w.phase_start_ns.store(monotonic_ns(), std::memory_order_relaxed);
  w.fractional_cpu_ns.store(0, std::memory_order_relaxed);
  w.background_cpu_ns.store(0, std::memory_order_relaxed);
  w.idle_cpu_ns.store(0, std::memory_order_relaxed);
  w.workers_marked.store(0, std::memory_order_relaxed);
  w.running_read_at_ns.store(0, std::memory_order_relaxed);
}

void release_mark_workers() {
  workers& w = the_workers();
  {
    std::lock_guard guard(w.lock);
    w.released.store(true, std::memory_order_seq_cst);
    ++w.round;
  }
  w.wake.notify_all();
}

void hold_mark_workers() {
  workers& w = the_workers();
  std::unique_lock guard(w.lock);
  w.released.store(false, std::memory_order_seq_cst);
  w.went_idle.wait(guard, [&] { return w.busy.load(std::memory_order_seq_cst) == 0; });
}

bool mark_workers_busy() { return the_workers().busy.load(std::memory_order_seq_cst) > 0; }

void wait_for_mark_workers() {
  workers& w = the_workers();
  std::unique_lock guard(w.lock);
  if (w.busy.load(std::memory_order_seq_cst) == 0) {
    // Nothing to be woken by (the pool may hold work for workers asleep
    // over their CPU share, or an assist runs): look again shortly.
    w.went_idle.wait_for(guard, std::chrono::microseconds(200));
    return;
  }
  // No timeout: the worker that takes busy to 0 notifies under the lock
  // (uncount), as for hold_mark_workers. A 1 ms timeout here woke the
  // collector thread about 54 times in each 60-70 ms mark of binary-trees,
  // which cost the run about 38 % of its context switches (bench/README.md,
  // "Sticky mark bits, a measured prototype").
  w.went_idle.wait(guard, [&] { return w.busy.load(std::memory_order_seq_cst) == 0; });
}

mark_worker_cpu mark_workers_cpu() {
  workers& w = the_workers();
  return {w.background_cpu_ns.load(std::memory_order_relaxed),
          w.idle_cpu_ns.load(std::memory_order_relaxed),
          w.workers_marked.load(std::memory_order_relaxed)};
}

}  // namespace tricolor::gc
