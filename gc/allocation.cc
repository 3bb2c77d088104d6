// The allocation slow path and the public control calls: where the heap, the
// thread registry and the collector meet.
//
// allocate_slow runs when a thread's cursor for the size class is empty (about
// once per 64 small allocations), for every large object, and on a thread's
// first allocation. In order, it:
//   1. registers the thread (first call only) and reads the environment;
//   2. refuses to run inside a destructor called by the sweeper;
//   3. polls the safepoint (a pending stop-the-world parks the thread here);
//   4. paces: requests a cycle at the pacer's trigger, or assists the marker
//      if the cycle marking has let the heap pass its goal;
//   5. refills the cursor (sweeping a few spans first if its class has no
//      swept span with room) or allocates a large span; if the arena is
//      exhausted, waits for a full cycle and retries, then throws
//      std::bad_alloc;
//   6. counts the slot toward the thread's next heap profile sample, as the
//      fast path does (gc/heap_profile.hpp).
#include <cstdio>
#include <cstdlib>
#include <new>

#include "gc/collector.hpp"
#include "gc/config.hpp"
#include "gc/generations.hpp"
#include "tricolor/control.hpp"
#include "gc/pacer.hpp"
#include "heap/heap.hpp"
#include "heap/sweeper.hpp"
#include "tricolor/internal/safepoint.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor {

namespace {
roots::thread_state* runtime_thread() {
  static const bool initialized = [] {
    const gc::config& c = gc::environment_config();
    heap::the_heap.initialize();
    if (c.generational && !c.gcstoptheworld) gc::generations::enable();
    gc::the_pacer.initialize(c.gc_percent, c.memory_limit, gc::monotonic_ns);
    return true;
  }();
  (void)initialized;
  return roots::current_thread();
}

void* try_allocate(roots::thread_state* self, std::size_t bytes) {
  if (bytes > heap::max_small_size) return heap::the_heap.allocate_large(bytes);
  std::size_t cls = heap::size_class_of(bytes);
  if (void* slot = self->cache.try_allocate(cls)) return slot;
  return heap::the_heap.refill_and_allocate(self->cache, cls);
}

// What the heap spends on an object of `bytes`: its size class's slot, or a
// large object's whole pages.
std::size_t slot_bytes_for(std::size_t bytes) {
  if (bytes > heap::max_small_size)
    return (bytes + heap::page_size - 1) & ~(heap::page_size - 1);
  return heap::size_class_bytes[heap::size_class_of(bytes)];
}

void* counted_for_sampling(roots::thread_state* self, void* slot, std::size_t bytes) {
  std::size_t slot_bytes = slot_bytes_for(bytes);
  if (self->cache.reaches_sample(slot_bytes))
    return heap::sample_allocation(self->cache, slot, slot_bytes);
  return slot;
}
}  // namespace

void* heap::allocate_slow(std::size_t bytes) {
  roots::runtime_section runtime;
  roots::thread_state* self = runtime_thread();
  safepoint();
  // A refill takes up to 64 slots.
  gc::pace_allocation(self, bytes <= heap::max_small_size ? 64 * bytes : bytes);
  if (void* slot = try_allocate(self, bytes)) return counted_for_sampling(self, slot, bytes);
  gc::collect_and_wait(self, gc::cycle_trigger::out_of_memory);
  if (void* slot = try_allocate(self, bytes)) return counted_for_sampling(self, slot, bytes);
  throw std::bad_alloc();
}

void heap::note_finalizable(void* slot) {
  find_span(slot)->has_finalizers.store(true, std::memory_order_relaxed);
}

void collect() {
  roots::runtime_section runtime;
  roots::thread_state* self = runtime_thread();
  gc::collect_and_wait(self, gc::cycle_trigger::forced);
}

int set_gc_percent(int percent) {
  roots::runtime_section runtime;
  runtime_thread();
  return gc::the_pacer.set_gc_percent(percent);
}

std::int64_t set_memory_limit(std::int64_t bytes) {
  roots::runtime_section runtime;
  runtime_thread();
  return gc::the_pacer.set_memory_limit(bytes);
}

}  // namespace tricolor
