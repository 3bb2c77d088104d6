// The registry of threads blocked on channels; see channel_waits.hpp.
#include "gc/channel_waits.hpp"

#include <pthread.h>

#include <mutex>
#include <new>

#include "gc/pacer.hpp"
#include "roots/thread_registry.hpp"
#include "tricolor/gc_chan.hpp"

namespace tricolor {
namespace {

struct registered_wait {
  gc::channel_wait wait;
  registered_wait* previous;
  registered_wait* next;
};

struct wait_registry {
  std::mutex lock;
  registered_wait* first = nullptr;
};

constinit wait_registry registry;
thread_local constinit registered_wait this_threads_wait{};

void empty_registry_in_fork_child() {
  new (&registry.lock) std::mutex();
  registry.first = nullptr;
}

[[gnu::constructor]] void install_fork_handler() {
  pthread_atfork(nullptr, nullptr, empty_registry_in_fork_child);
}

}  // namespace

void detail::channel_wait_begin(const void* channel_payload,
                                const heap::type_descriptor* channel_type, bool sending) {
  roots::runtime_section runtime;
  registered_wait& record = this_threads_wait;
  record.wait = {runtime.thread(), channel_type, gc::monotonic_ns(), sending,
                 reinterpret_cast<std::uintptr_t>(channel_payload) ^ gc::channel_disguise};
  std::lock_guard guard(registry.lock);
  record.previous = nullptr;
  record.next = registry.first;
  if (registry.first != nullptr) registry.first->previous = &record;
  registry.first = &record;
}

void detail::channel_wait_end() noexcept {
  roots::runtime_section runtime;
  registered_wait& record = this_threads_wait;
  std::lock_guard guard(registry.lock);
  if (record.previous != nullptr) record.previous->next = record.next;
  else registry.first = record.next;
  if (record.next != nullptr) record.next->previous = record.previous;
  record.previous = record.next = nullptr;
}

void gc::for_each_channel_wait(void (*visit)(const channel_wait& wait, void* context),
                               void* context) {
  std::lock_guard guard(registry.lock);
  for (registered_wait* w = registry.first; w != nullptr; w = w->next) visit(w->wait, context);
}

}  // namespace tricolor
