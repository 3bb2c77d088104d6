// Thread registry, safepoints and blocking scopes; see thread_registry.hpp
// for the status protocol and safepoint.hpp for the mutator's view.
#include "roots/thread_registry.hpp"

#include <fcntl.h>
#include <link.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <thread>

#include "tricolor/internal/write_barrier.hpp"
#include "heap/heap.hpp"
#include "roots/code_address.hpp"
#include "tricolor/internal/safepoint.hpp"
#include "roots/runtime_modules.hpp"
#include "roots/stop_signal.hpp"

namespace tricolor::roots {

constinit thread_local thread_state* tls_thread_state = nullptr;
std::atomic<bool> stop_requested{false};
std::atomic<std::uint64_t> safepoint_warning_ns{1'000'000'000};

void unregister_at_exit(void* state);

namespace {

// Leaked on purpose: threads may register and exit during static destruction.
struct registry {
  std::mutex lock;  // held for the whole stop-the-world
  thread_state* head = nullptr;
  std::mutex park_lock;
  std::condition_variable parked;  // signalled when stop_requested clears
  pthread_key_t exit_key;
  std::vector<heap::thread_cache> orphaned;  // guarded by lock
};

registry& the_registry() {
  static registry* r = [] {
    auto* created = new registry();
    if (pthread_key_create(&created->exit_key, unregister_at_exit) != 0) {
      std::fputs("tricolor: pthread_key_create failed\n", stderr);
      std::abort();
    }
    return created;
  }();
  return *r;
}

int collect_tls_block(dl_phdr_info* info, std::size_t, void* data) {
  auto* blocks = static_cast<std::vector<tls_block>*>(data);
  if (info->dlpi_tls_data == nullptr) return 0;
  if (info->dlpi_name != nullptr && holds_no_program_pointers(info->dlpi_name)) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_TLS || ph.p_memsz == 0) continue;
    auto begin = reinterpret_cast<std::uintptr_t>(info->dlpi_tls_data);
    const char* module = info->dlpi_name;
    blocks->push_back({begin, begin + ph.p_memsz,
                       module == nullptr || module[0] == '\0' ? "(executable)" : module});
  }
  return 0;
}

void record_stack_bounds(thread_state& t) {
  pthread_attr_t attr;
  void* low = nullptr;
  std::size_t size = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0 ||
      pthread_attr_getstack(&attr, &low, &size) != 0) {
    std::fputs("tricolor: cannot find the bounds of this thread's stack\n", stderr);
    std::abort();
  }
  pthread_attr_destroy(&attr);
  t.stack_low = reinterpret_cast<std::uintptr_t>(low);
  t.stack_high = t.stack_low + size;
}

// The calling thread's stack, TLS and identity. From the thread itself.
void record_identity(thread_state& t) {
  record_stack_bounds(t);
  dl_iterate_phdr(collect_tls_block, &t.tls_blocks);
  t.tid = static_cast<pid_t>(gettid());
  t.handle = pthread_self();
  char name[32] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof name) == 0) t.name = name;
}

// With r.lock held.
void link(registry& r, thread_state* t) {
  t->next = r.head;
  if (r.head) r.head->prev = t;
  r.head = t;
}

void unlink(registry& r, thread_state* t) {
  if (t->prev) t->prev->next = t->next;
  else r.head = t->next;
  if (t->next) t->next->prev = t->prev;
}

void adopt_as_current(registry& r, thread_state* t) {
  pthread_setspecific(r.exit_key, t);
  tls_thread_state = t;
  heap::tls_thread_cache = &t->cache;
}

thread_state* register_thread() {
  registry& r = the_registry();
  // From the global allocator, not mimalloc's API: LeakSanitizer must see the
  // vector and string it owns as reachable through the registry.
  auto* t = new thread_state();
  record_identity(*t);
  {
    std::lock_guard guard(r.lock);
    link(r, t);
  }
  adopt_as_current(r, t);
  return t;
}

// Until the world restarts and the thread's own stack scan is done.
void wait_until_world_restarts(thread_state* self) {
  registry& r = the_registry();
  std::unique_lock guard(r.park_lock);
  r.parked.wait(guard, [self] {
    return !stop_requested.load(std::memory_order_seq_cst) &&
           !self->stack_scan_pending.load(std::memory_order_seq_cst);
  });
}

// A thread whose stack scan the last mark-start pause deferred may be read
// by the collector until the scan is done: its state must not change or go
// away before. Called with the registry lock held, by a SAFE thread (it may
// then wait; the scan takes no lock).
void wait_until_stack_scanned(thread_state* t) {
  registry& r = the_registry();
  std::unique_lock guard(r.park_lock);
  r.parked.wait(guard, [t] { return !t->stack_scan_pending.load(std::memory_order_seq_cst); });
}

}  // namespace

// The pthread key destructor: a thread that registered is exiting.
void unregister_at_exit(void* state) {
  auto* t = static_cast<thread_state*>(state);
  // Running, so marking cannot end under our feet: shade what the barrier
  // recorded, or drop entries left from an earlier cycle. Shading takes the
  // work pool's lock, which the collector takes with the world stopped: a
  // runtime_section, so that neither the stop signal nor the contended
  // pthread_mutex_lock (roots/blocking_calls.cc) makes this thread SAFE in
  // the middle. Outside one it did: a pause then either waited forever for
  // the lock the thread held, or ended marking while the thread held objects
  // it had marked but not yet handed to the pool, and their children were
  // freed while reachable.
  {
    runtime_section runtime(t);
    if (barriers::marking.load(std::memory_order_relaxed)) barriers::shade_recorded(t->barrier);
    t->barrier.count = 0;
  }
  register_snapshot registers;
  capture_registers(registers);
  become_safe(t, registers);
  registry& r = the_registry();
  {
    std::lock_guard guard(r.lock);
    wait_until_stack_scanned(t);
    // allocating_black changes only in a pause, under this lock.
    if (heap::the_heap.allocating_black()) r.orphaned.push_back(t->cache);
    else heap::the_heap.flush_cache(t->cache, /*relist=*/true);
    unlink(r, t);
  }
  tls_thread_state = nullptr;
  heap::tls_thread_cache = nullptr;
  delete t;
}

thread_state* current_thread() {
  if (thread_state* t = tls_thread_state) return t;
  return register_thread();
}

void register_current_thread() { current_thread(); }

thread_state* register_thread_being_created(memory_range start_argument) {
  registry& r = the_registry();
  auto* t = new thread_state();
  t->start_argument = start_argument;
  t->status.store(thread_status::safe, std::memory_order_relaxed);
  // Taking the lock waits out a pause in progress; the creator is SAFE
  // meanwhile (roots/blocking_calls.cc), so the pause does not wait for it.
  std::lock_guard guard(r.lock);
  link(r, t);
  return t;
}

void attach_created_thread(thread_state* t) {
  registry& r = the_registry();
  {
    std::lock_guard guard(r.lock);
    wait_until_stack_scanned(t);
    record_identity(*t);
  }
  adopt_as_current(r, t);
  become_running(t);
}

void forget_thread_not_created(thread_state* t) {
  registry& r = the_registry();
  {
    std::lock_guard guard(r.lock);
    wait_until_stack_scanned(t);
    unlink(r, t);
  }
  delete t;
}

thread_state* registry_head() { return the_registry().head; }

int running_thread_count() {
  registry& r = the_registry();
  std::unique_lock guard(r.lock, std::try_to_lock);
  if (!guard.owns_lock()) return -1;
  int running = 0;
  for (thread_state* t = r.head; t; t = t->next)
    running += t->status.load(std::memory_order_relaxed) == thread_status::running;
  return running;
}

void flush_orphaned_caches(bool relist) {
  registry& r = the_registry();
  for (heap::thread_cache& cache : r.orphaned) heap::the_heap.flush_cache(cache, relist);
  r.orphaned.clear();
}

void become_safe(thread_state* self, const register_snapshot& registers) {
  self->saved = registers;
  self->waits.store(self->waits.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  self->status.store(thread_status::safe, std::memory_order_seq_cst);
}

void become_running(thread_state* self) {
  for (;;) {
    self->status.store(thread_status::running, std::memory_order_seq_cst);
    if (!stop_requested.load(std::memory_order_seq_cst) &&
        !self->stack_scan_pending.load(std::memory_order_seq_cst))
      return;
    self->status.store(thread_status::safe, std::memory_order_seq_cst);
    wait_until_world_restarts(self);
  }
}

void finish_stack_scan(thread_state& t) {
  registry& r = the_registry();
  {
    std::lock_guard guard(r.park_lock);
    t.stack_scan_pending.store(false, std::memory_order_seq_cst);
  }
  r.parked.notify_all();
  wake_threads_parked_in_handler();  // t may be parked in the stop signal's handler
}


namespace {

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

unsigned last_signal_stops = 0;  // under the registry lock

// Whether the thread's kernel signal mask blocks `signal`
// (/proc/self/task/TID/status, SigBlk).
bool signal_blocked_by(pid_t tid, int signal) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/status", static_cast<int>(tid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[4096];
  ssize_t n = ::read(fd, text, sizeof text - 1);
  close(fd);
  if (n <= 0) return false;
  text[n] = 0;
  const char* line = std::strstr(text, "SigBlk:");
  unsigned long long blocked = 0;
  if (line == nullptr || std::sscanf(line, "SigBlk: %llx", &blocked) != 1) return false;
  return (blocked >> (signal - 1) & 1) != 0;
}

// The stderr line for a thread a pause has waited `waited_ns` for.
void report_late_thread(thread_state& t, std::uint64_t waited_ns) {
  char name[32] = {};
  if (pthread_getname_np(t.handle, name, sizeof name) != 0) std::strncpy(name, t.name.c_str(), 31);
  std::string why;
  std::uintptr_t pc = t.interrupted_pc.load(std::memory_order_relaxed);
  if (!stop_signal_handler_installed()) {
    why = "the program replaced the handler of the collector's stop signal (" +
          std::string(strsignal(stop_signal_number())) + "), so threads blocked in the kernel cannot be stopped";
  } else if (signal_blocked_by(t.tid, stop_signal_number())) {
    why = "it blocks the collector's stop signal (" + std::string(strsignal(stop_signal_number())) +
          ") in its signal mask, so it cannot be stopped while it is blocked in the kernel";
  } else if (pc != 0) {
    why = "it is running " + describe_code_address(pc) + " (" + std::to_string(t.signals_sent) +
          " stop signals sent, the last found it there)";
  } else {
    why = "none of its " + std::to_string(t.signals_sent) + " stop signals has been handled yet";
  }
  // Not through stdio: a thread stopped in write() holds the stream's lock.
  char head[128];
  std::snprintf(head, sizeof head, "tricolor: a pause has waited %.1f s for thread %d (%s): ",
                static_cast<double>(waited_ns) / 1e9, static_cast<int>(t.tid), name);
  std::string line = head + why +
                     "; a loop that neither allocates nor blocks must call tricolor::safepoint()\n";
  for (std::size_t written = 0; written < line.size();) {
    ssize_t n = ::write(2, line.data() + written, line.size() - written);
    if (n <= 0) break;
    written += static_cast<std::size_t>(n);
  }
}

// Waits until `t` is SAFE, signalling it after the grace period and again
// every millisecond (it may have blocked after the last signal found it
// running), and naming it on stderr each warning interval.
void wait_until_safe(thread_state& t, std::uint64_t start) {
  constexpr std::uint64_t grace_ns = 100'000;
  constexpr std::uint64_t resignal_ns = 1'000'000;
  const std::uint64_t warning_ns = safepoint_warning_ns.load(std::memory_order_relaxed);
  std::uint64_t next_signal = start + (t.signal_stopped_last_time ? resignal_ns : grace_ns);
  std::uint64_t next_warning = start + warning_ns;
  for (int spins = 0; t.status.load(std::memory_order_seq_cst) == thread_status::running; ++spins) {
    if (spins < 64) {
#if defined(__x86_64__)
      __builtin_ia32_pause();
#endif
      continue;
    }
    std::uint64_t now = now_ns();
    if (now >= next_signal) {
      send_stop_signal(t);
      next_signal = now + resignal_ns;
    }
    if (now >= next_warning) {
      report_late_thread(t, now - start);
      next_warning = now + warning_ns;
    }
    if (spins < 256) sched_yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

// Stops every registered thread but `self`, with r.lock held.
std::uint64_t stop_all_locked(registry& r, thread_state* self) {
  std::uint64_t start = now_ns();
  stop_requested.store(true, std::memory_order_seq_cst);
  // A thread blocked in the kernel parks in the stop signal's handler; one
  // running mutator code gets on to its next safepoint. A thread the signal
  // stopped last time is likely blocked still: signalled at once.
  for (thread_state* t = r.head; t; t = t->next) {
    t->signals_sent = 0;
    t->interrupted_pc.store(0, std::memory_order_relaxed);
    // After the request: a thread SAFE now stays SAFE until the restart.
    t->safe_at_stop = t->status.load(std::memory_order_seq_cst) == thread_status::safe;
    if (t != self && t->signal_stopped_last_time &&
        t->status.load(std::memory_order_seq_cst) == thread_status::running)
      send_stop_signal(*t);
  }
  for (thread_state* t = r.head; t; t = t->next)
    if (t != self) wait_until_safe(*t, start);
  last_signal_stops = 0;
  for (thread_state* t = r.head; t; t = t->next) {
    t->signal_stopped_last_time = t->stopped_by_signal.load(std::memory_order_relaxed);
    last_signal_stops += t->signal_stopped_last_time;
  }
  return now_ns() - start;
}

}  // namespace

std::uint64_t stop_the_world(thread_state* self) {
  registry& r = the_registry();
  r.lock.lock();
  return stop_all_locked(r, self);
}

void start_the_world() {
  registry& r = the_registry();
  {
    std::lock_guard guard(r.park_lock);
    stop_requested.store(false, std::memory_order_seq_cst);
  }
  wake_threads_parked_in_handler();
  r.parked.notify_all();
  r.lock.unlock();
}

unsigned threads_stopped_by_signal() { return last_signal_stops; }

void set_safepoint_warning(std::uint64_t nanoseconds) {
  safepoint_warning_ns.store(nanoseconds, std::memory_order_relaxed);
}

void prepare_fork(thread_state* self) {
  registry& r = the_registry();
  // From here to the end of the parent's or the child's handler this thread
  // runs the runtime with the world stopped by itself: the interposed
  // blocking calls (the lock in start_the_world, a sleep while waiting for a
  // thread) must not make it SAFE, or leaving SAFE would wait for the world
  // it stopped to restart.
  self->runtime_depth.fetch_add(1, std::memory_order_relaxed);
  // A pause may be in progress: wait for its end as a SAFE thread. Holding
  // the lock, no other pause can start, so stop_requested is clear.
  register_snapshot registers;
  capture_registers(registers);
  become_safe(self, registers);
  r.lock.lock();
  self->status.store(thread_status::running, std::memory_order_seq_cst);
  stop_all_locked(r, self);
}

void parent_after_fork() {
  start_the_world();
  tls_thread_state->runtime_depth.fetch_sub(1, std::memory_order_relaxed);
}

void child_after_fork(thread_state* self) {
  registry& r = the_registry();
  // The other threads do not exist here. Each was stopped at a safepoint or
  // in the kernel outside the runtime, so its cache is whole: return its
  // reserved slots, as at exit (no cycle marks: gc/fork.cc waited for it).
  for (thread_state* t = r.head; t != nullptr;) {
    thread_state* next = t->next;
    if (t != self) {
      heap::the_heap.flush_cache(t->cache, /*relist=*/true);
      delete t;
    }
    t = next;
  }
  flush_orphaned_caches(/*relist=*/true);
  self->next = self->prev = nullptr;
  r.head = self;
  self->tid = static_cast<pid_t>(gettid());
  // Locks and condition variables as new: other threads held or waited on
  // them in the parent.
  new (&r.lock) std::mutex();
  new (&r.park_lock) std::mutex();
  new (&r.parked) std::condition_variable();
  stop_requested.store(false, std::memory_order_seq_cst);
  reset_stop_signal_after_fork();
  self->runtime_depth.fetch_sub(1, std::memory_order_relaxed);
}

void park_at_safepoint() {
  thread_state* self = tls_thread_state;
  if (self == nullptr || self->blocking_depth > 0) return;
  register_snapshot registers;
  capture_registers(registers);
  become_safe(self, registers);
  become_running(self);
}

void enter_blocking(const register_snapshot& registers) {
  thread_state* self = current_thread();
  if (self->blocking_depth++ == 0) become_safe(self, registers);
}

void leave_blocking() {
  thread_state* self = tls_thread_state;
  if (--self->blocking_depth == 0) become_running(self);
}

}  // namespace tricolor::roots

namespace tricolor::heap {

void fault_in_while_safe(char* start, std::size_t bytes, bool may_be_unmapped) {
  roots::thread_state* self = roots::tls_thread_state;
  bool go_safe = self != nullptr && self->blocking_depth == 0;
  if (go_safe) {
    roots::register_snapshot registers;
    roots::capture_registers(registers);
    roots::become_safe(self, registers);
  }
  // Pages that may be unmapped are populated writable in one system call:
  // a fault per page cost about 8 us each in a VM (perf, 2-thread
  // mt_gcbench: a third of the kernel time). Touching is the fallback
  // (kernels before 5.14) and the way for resident runs, where it costs no
  // fault (but for a released page coalesced into a resident run). A touch
  // writes back the byte read: the run holds no object, and a write (not a
  // read, which would map the shared zero page) is what allocates the page.
  if (!may_be_unmapped || madvise(start, bytes, MADV_POPULATE_WRITE) != 0) {
    constexpr std::size_t os_page = 4096;
    for (std::size_t offset = 0; offset < bytes; offset += os_page) {
      volatile char* p = start + offset;
      *p = *p;
    }
  }
  if (go_safe) roots::become_running(self);
}

}  // namespace tricolor::heap
