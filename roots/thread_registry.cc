// Thread registry, safepoints and blocking scopes; see thread_registry.hpp
// for the status protocol and safepoint.hpp for the mutator's view.
#include "roots/thread_registry.hpp"

#include <link.h>
#include <sched.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <new>
#include <thread>

#include "barriers/write_barrier.hpp"
#include "heap/heap.hpp"
#include "roots/safepoint.hpp"

namespace tricolor::roots {

constinit thread_local thread_state* tls_thread_state = nullptr;
std::atomic<bool> stop_requested{false};

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
  auto* blocks = static_cast<std::vector<memory_range>*>(data);
  if (info->dlpi_tls_data == nullptr) return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_TLS || ph.p_memsz == 0) continue;
    auto begin = reinterpret_cast<std::uintptr_t>(info->dlpi_tls_data);
    blocks->push_back({begin, begin + ph.p_memsz});
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

thread_state* register_thread() {
  heap::the_heap.initialize();
  registry& r = the_registry();
  // From the global allocator, not mimalloc's API: LeakSanitizer must see the
  // vector and string it owns as reachable through the registry.
  auto* t = new thread_state();
  record_stack_bounds(*t);
  dl_iterate_phdr(collect_tls_block, &t->tls_blocks);
  t->tid = static_cast<pid_t>(gettid());
  char name[32] = {};
  if (pthread_getname_np(pthread_self(), name, sizeof name) == 0) t->name = name;
  {
    std::lock_guard guard(r.lock);
    t->next = r.head;
    if (r.head) r.head->prev = t;
    r.head = t;
  }
  pthread_setspecific(r.exit_key, t);
  tls_thread_state = t;
  heap::tls_thread_cache = &t->cache;
  return t;
}

void wait_until_world_restarts() {
  registry& r = the_registry();
  std::unique_lock guard(r.park_lock);
  r.parked.wait(guard, [] { return !stop_requested.load(std::memory_order_seq_cst); });
}

}  // namespace

// The pthread key destructor: a thread that registered is exiting.
void unregister_at_exit(void* state) {
  auto* t = static_cast<thread_state*>(state);
  // Running, so marking cannot end under our feet: shade what the barrier
  // recorded, or drop entries left from an earlier cycle.
  if (barriers::marking.load(std::memory_order_relaxed)) barriers::shade_recorded(t->barrier);
  t->barrier.count = 0;
  register_snapshot registers;
  capture_registers(registers);
  become_safe(t, registers);
  registry& r = the_registry();
  {
    std::lock_guard guard(r.lock);
    // allocating_black changes only in a pause, under this lock.
    if (heap::the_heap.allocating_black()) r.orphaned.push_back(t->cache);
    else heap::the_heap.flush_cache(t->cache, /*relist=*/true);
    if (t->prev) t->prev->next = t->next;
    else r.head = t->next;
    if (t->next) t->next->prev = t->prev;
  }
  tls_thread_state = nullptr;
  heap::tls_thread_cache = nullptr;
  delete t;
}

thread_state* current_thread() {
  if (thread_state* t = tls_thread_state) return t;
  return register_thread();
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
  self->status.store(thread_status::safe, std::memory_order_seq_cst);
}

void become_running(thread_state* self) {
  for (;;) {
    self->status.store(thread_status::running, std::memory_order_seq_cst);
    if (!stop_requested.load(std::memory_order_seq_cst)) return;
    self->status.store(thread_status::safe, std::memory_order_seq_cst);
    wait_until_world_restarts();
  }
}

std::uint64_t stop_the_world(thread_state* self) {
  registry& r = the_registry();
  r.lock.lock();
  auto start = std::chrono::steady_clock::now();
  stop_requested.store(true, std::memory_order_seq_cst);
  for (thread_state* t = r.head; t; t = t->next) {
    if (t == self) continue;
    bool warned = false;
    for (int spins = 0;
         t->status.load(std::memory_order_seq_cst) == thread_status::running;
         ++spins) {
      if (!warned && std::chrono::steady_clock::now() - start > std::chrono::seconds(1)) {
        // A thread that blocks outside a blocking_scope, or loops without
        // allocating or calling safepoint(), stalls every thread; say which.
        std::fprintf(stderr,
                     "tricolor: waiting more than 1 s for thread %d (%s) to reach "
                     "a safepoint; wrap its blocking calls in "
                     "tricolor::blocking_scope and call tricolor::safepoint() in "
                     "long loops that do not allocate\n",
                     static_cast<int>(t->tid), t->name.c_str());
        warned = true;
      }
      if (spins < 64) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
      } else if (spins < 256) {
        sched_yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    }
  }
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now() - start)
          .count());
}

void start_the_world() {
  registry& r = the_registry();
  {
    std::lock_guard guard(r.park_lock);
    stop_requested.store(false, std::memory_order_seq_cst);
  }
  r.parked.notify_all();
  r.lock.unlock();
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

void fault_in_while_safe(char* start, std::size_t bytes) {
  roots::thread_state* self = roots::tls_thread_state;
  bool go_safe = self != nullptr && self->blocking_depth == 0;
  if (go_safe) {
    roots::register_snapshot registers;
    roots::capture_registers(registers);
    roots::become_safe(self, registers);
  }
  // Writing back the byte read: the run holds no object, and a write (not a
  // read, which would map the shared zero page) is what allocates the page.
  constexpr std::size_t os_page = 4096;
  for (std::size_t offset = 0; offset < bytes; offset += os_page) {
    volatile char* p = start + offset;
    *p = *p;
  }
  if (go_safe) roots::become_running(self);
}

}  // namespace tricolor::heap
