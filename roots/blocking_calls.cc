// Blocking calls that make their thread SAFE without a signal.
//
// The stop signal (roots/stop_signal.hpp) stops any thread blocked in the
// kernel, but each stop costs the blocked thread a wake-up, a handler and a
// second wake-up when the world restarts: about 15 us of a pause per
// blocked thread on the 2-CPU development machine (bench/README.md). The
// calls a thread most often sits in for long (an idle pool worker's
// condition variable wait, a contended mutex, a join, a sleep, a read or
// poll that waits for input) are interposed here to do what a
// blocking_scope does: record the callee-saved registers and the stack
// pointer, become SAFE for the duration of the call, and become RUNNING
// again (waiting for a pause in progress to end) before returning. A pause
// then finds such a thread SAFE and neither signals nor waits for it.
//
// Why it is sound: the wrapper runs when the program calls the function,
// so the thread is at a call site of the program's code: not inside a write
// barrier or an allocation fast path (they call none of these). The values
// the caller still needs are in callee-saved registers (recorded) or in its
// frame (above the recorded stack pointer). While SAFE the thread runs only
// the C library's code, which touches no managed pointer. The wrapper does
// nothing when the thread is inside the runtime's own code (runtime_depth >
// 0: its waits must keep the pause waiting for it, see stop_signal.hpp),
// inside a blocking_scope, not registered (the collector's threads), or
// already SAFE.
//
// pthread_mutex_lock first tries the lock, so an uncontended lock costs one
// extra trylock-sized check and no state change. A call not interposed here
// (the guard of a function-local static, std::call_once, a raw futex or any
// other system call) is stopped by the signal instead.
#include <dlfcn.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "tricolor/internal/registers.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::roots {
namespace {

// The next definition of `name` (a sanitizer's interceptor, or the C
// library's default version: dlsym, not dlvsym, which would skip the
// sanitizers' unversioned interceptors), looked up on first use. No
// function-local static: its guard may itself wait (a racing first call just
// looks it up twice).
template <class F>
F next_definition(std::atomic<F>& cached, const char* name) {
  if (F f = cached.load(std::memory_order_acquire)) return f;
  void* found = dlsym(RTLD_NEXT, name);
  if (found == nullptr) {
    std::fprintf(stderr, "tricolor: cannot find the C library's %s\n", name);
    std::abort();
  }
  cached.store(reinterpret_cast<F>(found), std::memory_order_release);
  return reinterpret_cast<F>(found);
}

// The thread is SAFE from construction to destruction when it may be (see
// the top of this file). Always inline: the registers recorded must be
// those of the interposed function's frame.
class safe_while_blocked {
 public:
  [[gnu::always_inline]] safe_while_blocked() {
    thread_state* t = tls_thread_state;
    if (t == nullptr || t->blocking_depth != 0 ||
        t->runtime_depth.load(std::memory_order_relaxed) != 0 ||
        t->status.load(std::memory_order_relaxed) != thread_status::running)
      return;
    register_snapshot registers;
    capture_registers(registers);
    become_safe(t, registers);
    self_ = t;
  }
  ~safe_while_blocked() {
    if (self_ == nullptr) return;
    int saved_errno = errno;
    become_running(self_);
    errno = saved_errno;
  }
  safe_while_blocked(const safe_while_blocked&) = delete;
  safe_while_blocked& operator=(const safe_while_blocked&) = delete;

 private:
  thread_state* self_ = nullptr;
};

}  // namespace
}  // namespace tricolor::roots

using tricolor::roots::next_definition;
using tricolor::roots::safe_while_blocked;

// The interposed calls: return type, name, parameters, arguments.
#define TRICOLOR_BLOCKING_CALLS(X)                                                          \
  X(int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t * m),     \
    (c, m))                                                                                 \
  X(int, pthread_cond_timedwait,                                           \
    (pthread_cond_t * c, pthread_mutex_t * m, const struct timespec* t), (c, m, t))         \
  X(int, pthread_cond_clockwait,                                                   \
    (pthread_cond_t * c, pthread_mutex_t * m, clockid_t k, const struct timespec* t),       \
    (c, m, k, t))                                                                           \
  X(int, pthread_join, (pthread_t t, void** r), (t, r))                            \
  X(int, nanosleep, (const struct timespec* d, struct timespec* r), (d, r))        \
  X(int, clock_nanosleep,                                                          \
    (clockid_t k, int f, const struct timespec* d, struct timespec* r), (k, f, d, r))       \
  X(ssize_t, read, (int fd, void* b, size_t n), (fd, b, n))                        \
  X(ssize_t, recv, (int fd, void* b, size_t n, int f), (fd, b, n, f))              \
  X(int, accept, (int fd, struct sockaddr* a, socklen_t* l), (fd, a, l))           \
  X(int, poll, (struct pollfd * p, nfds_t n, int t), (p, n, t))                    \
  X(int, epoll_wait, (int fd, struct epoll_event* e, int n, int t), (fd, e, n, t)) \
  X(int, select, (int n, fd_set* r, fd_set* w, fd_set* e, struct timeval* t),      \
    (n, r, w, e, t))

namespace tricolor::roots {
namespace {
#define TRICOLOR_NEXT_POINTER(ret, name, params, args) \
  std::atomic<ret(*) params> next_##name{nullptr};
TRICOLOR_BLOCKING_CALLS(TRICOLOR_NEXT_POINTER)
std::atomic<int (*)(pthread_mutex_t*)> next_pthread_mutex_lock{nullptr};
std::atomic<int (*)(pthread_mutex_t*)> next_pthread_mutex_trylock{nullptr};
}  // namespace

void resolve_blocking_calls() {
#define TRICOLOR_RESOLVE(ret, name, params, args) \
  next_definition(next_##name, #name);
  TRICOLOR_BLOCKING_CALLS(TRICOLOR_RESOLVE)
  next_definition(next_pthread_mutex_lock, "pthread_mutex_lock");
  next_definition(next_pthread_mutex_trylock, "pthread_mutex_trylock");
}
}  // namespace tricolor::roots

using namespace tricolor::roots;

// Each wrapper calls the next definition as a SAFE thread.
#define TRICOLOR_WRAPPER(ret, name, params, args)      \
  extern "C" ret name params {                                   \
    auto next = next_definition(next_##name, #name);    \
    safe_while_blocked safe;                                     \
    return next args;                                            \
  }
TRICOLOR_BLOCKING_CALLS(TRICOLOR_WRAPPER)

// A contended mutex only: an uncontended lock changes no state. (Under
// ThreadSanitizer every lock, so that TSan sees the calls it expects.)
extern "C" int pthread_mutex_lock(pthread_mutex_t* m) {
#if !defined(__SANITIZE_THREAD__)
  auto try_next = next_definition(next_pthread_mutex_trylock, "pthread_mutex_trylock");
  int tried = try_next(m);
  if (tried != EBUSY) return tried;
#endif
  auto next = next_definition(next_pthread_mutex_lock, "pthread_mutex_lock");
  safe_while_blocked safe;
  return next(m);
}
