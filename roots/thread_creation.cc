// Thread creation and signal masks, interposed; see thread_creation.hpp.
#include "roots/thread_creation.hpp"

#include <dlfcn.h>
#include <mimalloc.h>
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>

#include "roots/stop_signal.hpp"
#include "roots/thread_registry.hpp"

// The allocator interface of the sanitizers' runtimes, present when the
// program runs under ASan or TSan (they then own malloc).
extern "C" int __sanitizer_get_ownership(const volatile void* p) __attribute__((weak));
extern "C" std::size_t __sanitizer_get_allocated_size(const volatile void* p)
    __attribute__((weak));

namespace tricolor::roots {

// roots/blocking_calls.cc: the interposed functions' next definitions.
void resolve_blocking_calls();

namespace {

thread_local bool creating_runtime_thread = false;

template <class F>
F next_definition(const char* name) {
  auto f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
  if (f == nullptr) {
    std::fprintf(stderr, "tricolor: cannot find the C library's %s\n", name);
    std::abort();
  }
  return f;
}

using start_routine = void* (*)(void*);
using pthread_create_function = int (*)(pthread_t*, const pthread_attr_t*,
                                        start_routine, void*);

struct thread_launch {
  start_routine start;
  void* argument;
  thread_state* thread;  // registered by the creator
};

}  // namespace

// The heap block `p` points to the start of, if it is one: [p, p + size).
memory_range heap_block_at(void* p) {
  if (p == nullptr) return {0, 0};
  auto begin = reinterpret_cast<std::uintptr_t>(p);
  if (__sanitizer_get_ownership != nullptr) {
    if (__sanitizer_get_ownership(p) == 0) return {0, 0};
    return {begin, begin + __sanitizer_get_allocated_size(p)};
  }
  if (!mi_is_in_heap_region(p)) return {0, 0};
  return {begin, begin + mi_usable_size(p)};
}

bool still_in_heap(memory_range block) {
  const auto* p = reinterpret_cast<const void*>(block.begin);
  if (__sanitizer_get_ownership != nullptr) return __sanitizer_get_ownership(p) != 0;
  return mi_is_in_heap_region(p);
}

namespace {

void* start_registered_thread(void* launch_word) {
  auto* launch = static_cast<thread_launch*>(launch_word);
  thread_launch copy = *launch;
  delete launch;
  thread_state* self = copy.thread;
  attach_created_thread(self);
  void* result = copy.start(copy.argument);
  // The block may be freed by now (std::thread frees its state before
  // returning): no longer scanned.
  self->start_argument = {0, 0};
  return result;
}

void prepare_registry_for_fork() { prepare_fork(current_thread()); }
void registry_in_parent_after_fork() { parent_after_fork(); }
void registry_in_child_after_fork() { child_after_fork(tls_thread_state); }

// Registers the thread that loads the library and installs the stop
// signal's handler before any other thread can be created through it. The
// registry's fork handlers are registered before the collector's
// (gc/collector.cc), so that the collector is idle when the registry stops
// the world for fork().
[[gnu::constructor]] void register_loading_thread() {
  resolve_blocking_calls();
  install_stop_signal();
  register_current_thread();
  pthread_atfork(prepare_registry_for_fork, registry_in_parent_after_fork,
                 registry_in_child_after_fork);
}

// Removes the stop signal from a set that is about to be blocked.
const sigset_t* without_stop_signal(int how, const sigset_t* set, sigset_t* copy) {
  if (set == nullptr || how == SIG_UNBLOCK || !sigismember(set, stop_signal_number()))
    return set;
  *copy = *set;
  sigdelset(copy, stop_signal_number());
  return copy;
}

}  // namespace

runtime_thread_creation::runtime_thread_creation() { creating_runtime_thread = true; }
runtime_thread_creation::~runtime_thread_creation() { creating_runtime_thread = false; }

}  // namespace tricolor::roots

using namespace tricolor::roots;

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attributes,
                              start_routine start, void* argument) {
  static const auto next = next_definition<pthread_create_function>("pthread_create");
  if (creating_runtime_thread) return next(thread, attributes, start, argument);
  thread_state* created = register_thread_being_created(heap_block_at(argument));
  auto* launch = new thread_launch{start, argument, created};
  int result = next(thread, attributes, start_registered_thread, launch);
  if (result != 0) {
    forget_thread_not_created(created);
    delete launch;
  }
  return result;
}

extern "C" int pthread_sigmask(int how, const sigset_t* set, sigset_t* old) {
  using function = int (*)(int, const sigset_t*, sigset_t*);
  static const auto next = next_definition<function>("pthread_sigmask");
  sigset_t copy;
  return next(how, without_stop_signal(how, set, &copy), old);
}

extern "C" int sigprocmask(int how, const sigset_t* set, sigset_t* old) {
  using function = int (*)(int, const sigset_t*, sigset_t*);
  static const auto next = next_definition<function>("sigprocmask");
  sigset_t copy;
  return next(how, without_stop_signal(how, set, &copy), old);
}
