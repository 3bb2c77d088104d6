// Write barrier slow path; see write_barrier.hpp for the barrier's soundness
// argument and barrier_buffer.hpp for the buffer's invariants.
#include "tricolor/internal/write_barrier.hpp"

#include "barriers/barrier_buffer.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::barriers {

std::atomic<bool> marking{false};
std::atomic<std::uint8_t> store_work{0};

void set_marking(bool on) noexcept {
  marking.store(on, std::memory_order_relaxed);
  if (on) store_work.fetch_or(shade_old_value, std::memory_order_relaxed);
  else store_work.fetch_and(static_cast<std::uint8_t>(~shade_old_value), std::memory_order_relaxed);
}

namespace {
[[gnu::noinline]] void record_slow(const void* pointer) noexcept {
  // A thread that never allocated registers here; registration waits for a
  // pause in progress, which may have ended marking. A full buffer is shaded
  // into the work pool, which takes locks: a runtime_section.
  roots::runtime_section runtime;
  roots::thread_state* self = runtime.thread();
  if (!marking.load(std::memory_order_relaxed)) return;
  barrier_buffer& buffer = self->barrier;
  buffer.entries[buffer.count++] = pointer;
  if (buffer.count == barrier_buffer::capacity) shade_recorded(buffer);
}
}  // namespace

void record_for_shading(const void* pointer) noexcept {
  // Fast path: a registered thread with room in its buffer appends without a
  // runtime_section. The append is no system call, so the stop signal never
  // parks the thread inside it; and marking, on when the caller looked, ends
  // only with the world stopped, which waits for this RUNNING thread.
  if (roots::thread_state* self = roots::tls_thread_state) [[likely]] {
    barrier_buffer& buffer = self->barrier;
    if (buffer.count + 1 < barrier_buffer::capacity) {
      buffer.entries[buffer.count++] = pointer;
      return;
    }
  }
  record_slow(pointer);
}

}  // namespace tricolor::barriers
