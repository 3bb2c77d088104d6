// The stop signal's handler; see stop_signal.hpp for when it stops a thread
// and why that is sound.
#include "roots/stop_signal.hpp"

#include <dlfcn.h>
#include <link.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "heap/futex.hpp"
#include "tricolor/internal/registers.hpp"
#include "tricolor/internal/safepoint.hpp"
#include "roots/runtime_modules.hpp"
#include "roots/thread_registry.hpp"

#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void* address);
extern "C" void __tsan_release(void* address);
#endif

namespace tricolor::roots {

namespace {

constexpr int stop_signal = SIGURG;

// Bumped by every restart of the world; threads parked in the handler wait
// on it (a futex: the handler may use nothing that is not async-signal-safe).
std::atomic<std::uint32_t> restart_epoch{0};
// Threads inside park_in_handler, so that a restart without any costs no
// system call.
std::atomic<int> threads_in_handler{0};

// The process id for tgkill (pthread_kill asks getpid() on every call, one
// more system call per signal); set again in a child of fork().
std::atomic<pid_t> process_id{0};

// The executable ranges of the C library, where case (b) of stop_signal.hpp
// accepts a pc. Set once before any signal is sent.
struct code_range {
  std::uintptr_t begin, end;
};
// And those of a sanitizer's runtime (ASan, TSan, UBSan, LSan), where no
// system call counts: the runtime may make one with its own lock held (its
// allocator maps memory under a lock), and a thread stopped there would
// hold a lock the collector's next allocation needs.
struct code_ranges {
  static constexpr int capacity = 8;
  code_range ranges[capacity];
  int count = 0;
  __attribute__((no_sanitize("thread"))) bool contain(std::uintptr_t pc) const {
    for (int i = 0; i < count; ++i)
      if (pc >= ranges[i].begin && pc < ranges[i].end) return true;
    return false;
  }
};
code_ranges libc_code, sanitizer_code;

int find_code_ranges(dl_phdr_info* info, std::size_t, void*) {
  const char* name = info->dlpi_name;
  if (name == nullptr) return 0;
  code_ranges* into = nullptr;
  if (std::strstr(name, "/libc.so")) into = &libc_code;
  if (is_sanitizer_runtime(name)) into = &sanitizer_code;
  if (into == nullptr) return 0;
  for (int i = 0; i < info->dlpi_phnum && into->count < code_ranges::capacity; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
    std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    into->ranges[into->count++] = {begin, begin + ph.p_memsz};
  }
  return 0;
}

// The handler's atomic accesses. Under ThreadSanitizer, GCC instruments
// std::atomic operations even in a no_sanitize("thread") function, and each
// instrumented access locks the runtime's record of that address. A signal
// that lands while the interrupted code holds that lock (it was in the
// middle of an access to the same variable: become_safe's store of its
// status, a runtime_section's update of runtime_depth) deadlocked the
// handler on it, and the pause on the handler (seen in gc_root_test under
// TSan, about once in 40 runs beside two other copies). So under TSan on
// x86-64 the handler uses these, which compile to the instructions of the
// seq_cst operations (mov; xchg; lock xadd) and which the runtime does not
// see; park_in_handler tells it of the one synchronization it needs with
// __tsan_release/__tsan_acquire, called only where the interrupted code is
// at a system call outside the runtime. Elsewhere they are the std::atomic
// operations themselves.
#if defined(__SANITIZE_THREAD__) && defined(__x86_64__)
template <class T>
[[gnu::always_inline]] inline T handler_load(const std::atomic<T>& a) {
  static_assert(sizeof(std::atomic<T>) == sizeof(T));
  T value;
  asm volatile("mov %1, %0" : "=r"(value) : "m"(a) : "memory");
  return value;
}
template <class T>
[[gnu::always_inline]] inline void handler_store(std::atomic<T>& a, T value) {
  asm volatile("xchg %0, %1" : "+r"(value), "+m"(a) : : "memory");
}
template <class T>
[[gnu::always_inline]] inline T handler_fetch_add(std::atomic<T>& a, T delta) {
  asm volatile("lock xadd %0, %1" : "+r"(delta), "+m"(a) : : "memory");
  return delta;
}
#else
template <class T>
[[gnu::always_inline]] inline T handler_load(const std::atomic<T>& a) {
  return a.load(std::memory_order_seq_cst);
}
template <class T>
[[gnu::always_inline]] inline void handler_store(std::atomic<T>& a, T value) {
  a.store(value, std::memory_order_seq_cst);
}
template <class T>
[[gnu::always_inline]] inline T handler_fetch_add(std::atomic<T>& a, T delta) {
  return a.fetch_add(delta, std::memory_order_seq_cst);
}
#endif

[[gnu::always_inline]] inline std::uintptr_t interrupted_pc(const ucontext_t* context) {
#if defined(__x86_64__)
  return static_cast<std::uintptr_t>(context->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return static_cast<std::uintptr_t>(context->uc_mcontext.pc);
#endif
}

// Cases (a) and (b) of stop_signal.hpp.
[[gnu::always_inline]] inline bool at_system_call(const ucontext_t* context) {
  std::uintptr_t pc = interrupted_pc(context);
  if (sanitizer_code.contain(pc)) return false;
#if defined(__x86_64__)
  const auto* code = reinterpret_cast<const unsigned char*>(pc);
  if (code[0] == 0x0f && code[1] == 0x05) return true;                       // (a)
  long long result = context->uc_mcontext.gregs[REG_RAX];
  return pc % 4096 >= 2 && code[-2] == 0x0f && code[-1] == 0x05 &&           // (b)
         result == -EINTR && libc_code.contain(pc);
#elif defined(__aarch64__)
  constexpr std::uint32_t svc_0 = 0xd4000001;
  const auto* code = reinterpret_cast<const std::uint32_t*>(pc);
  if (code[0] == svc_0) return true;                                         // (a)
  auto result = static_cast<long long>(context->uc_mcontext.regs[0]);
  return pc % 4096 >= 4 && code[-1] == svc_0 && result == -EINTR &&          // (b)
         libc_code.contain(pc);
#endif
}

// Called from the handler: nothing in it may enter the TSan runtime (so
// not heap/futex.hpp's inline one, which may be instrumented).
__attribute__((no_sanitize("thread")))
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE,
          expected, nullptr, nullptr, 0);
}

// The thread is at a system call outside the runtime: SAFE until the world
// restarts. Same steps as become_safe and become_running, with a futex for
// the wait (a condition variable is not async-signal-safe).
__attribute__((no_sanitize("address", "thread", "undefined"), noinline))
bool park_in_handler(thread_state* self) {
  register_snapshot registers;
  capture_registers(registers);
  if (registers.stack_pointer <= self->stack_low ||
      registers.stack_pointer >= self->stack_high)
    return false;  // on an alternate signal stack: not scannable as this thread
  handler_fetch_add(threads_in_handler, 1);
  self->saved = registers;
  handler_store(self->stopped_by_signal, true);
#if defined(__SANITIZE_THREAD__)
  __tsan_release(&self->status);
#endif
  handler_store(self->status, thread_status::safe);
  // As become_running: a mark-start pause that began while this thread was
  // still parked here from an earlier stop found it SAFE and deferred its
  // stack scan (stack_scan_pending), so the world restarting is not enough;
  // finish_stack_scan wakes it too (wake_threads_parked_in_handler).
  for (;;) {
    for (;;) {
      std::uint32_t epoch = handler_load(restart_epoch);
      if (!handler_load(stop_requested) && !handler_load(self->stack_scan_pending)) break;
      futex_wait(&restart_epoch, epoch);
    }
    handler_store(self->status, thread_status::running);
    if (!handler_load(stop_requested) && !handler_load(self->stack_scan_pending)) break;
    handler_store(self->status, thread_status::safe);
  }
#if defined(__SANITIZE_THREAD__)
  __tsan_acquire(&stop_requested);
  __tsan_acquire(&self->stack_scan_pending);
#endif
  handler_store(self->stopped_by_signal, false);
  handler_fetch_add(threads_in_handler, -1);
  return true;
}

__attribute__((no_sanitize("address", "thread", "undefined")))
void on_stop_signal(int, siginfo_t*, void* context_word) {
  int saved_errno = errno;
  const auto* context = static_cast<const ucontext_t*>(context_word);
  thread_state* self = tls_thread_state;
  if (self != nullptr && handler_load(stop_requested) &&
      handler_load(self->status) == thread_status::running) {
    bool parked = handler_load(self->runtime_depth) == 0 && at_system_call(context) &&
                  park_in_handler(self);
    if (!parked) handler_store(self->interrupted_pc, interrupted_pc(context));
  }
  errno = saved_errno;
}

using sigaction_function = int (*)(int, const struct sigaction*, struct sigaction*);

// The C library's own sigaction, past any interposer (ThreadSanitizer's
// defers handlers; see stop_signal.hpp).
sigaction_function libc_sigaction() {
  static sigaction_function found = [] {
    sigaction_function f = nullptr;
    if (void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD)) {
      f = reinterpret_cast<sigaction_function>(dlsym(libc, "sigaction"));
      dlclose(libc);
    }
    return f != nullptr ? f : &::sigaction;
  }();
  return found;
}

}  // namespace

int stop_signal_number() { return stop_signal; }

void install_stop_signal() {
  process_id.store(getpid(), std::memory_order_relaxed);
  dl_iterate_phdr(find_code_ranges, nullptr);
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_sigaction = on_stop_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&action.sa_mask);
  if (libc_sigaction()(stop_signal, &action, nullptr) != 0) {
    std::perror("tricolor: cannot install the stop signal's handler");
    std::abort();
  }
}

void send_stop_signal(thread_state& t) {
  ++t.signals_sent;
  syscall(SYS_tgkill, process_id.load(std::memory_order_relaxed), t.tid, stop_signal);
}

void wake_threads_parked_in_handler() {
  restart_epoch.fetch_add(1, std::memory_order_seq_cst);
  if (threads_in_handler.load(std::memory_order_seq_cst) > 0) heap::futex_wake_all(&restart_epoch);
}

void reset_stop_signal_after_fork() {
  threads_in_handler.store(0, std::memory_order_relaxed);
  process_id.store(getpid(), std::memory_order_relaxed);
}

bool stop_signal_handler_installed() {
  struct sigaction current;
  if (libc_sigaction()(stop_signal, nullptr, &current) != 0) return false;
  return (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_stop_signal;
}

}  // namespace tricolor::roots
