// Write barrier slow path; see write_barrier.hpp for the barrier's soundness
// argument and barrier_buffer.hpp for the buffer's invariants.
#include "barriers/write_barrier.hpp"

#include "barriers/barrier_buffer.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::barriers {

std::atomic<bool> marking{false};

void record_for_shading(const void* pointer) noexcept {
  // A thread that never allocated registers here; registration waits for a
  // pause in progress, which may have ended marking.
  roots::runtime_section runtime;
  roots::thread_state* self = runtime.thread();
  if (!marking.load(std::memory_order_relaxed)) return;
  barrier_buffer& buffer = self->barrier;
  buffer.entries[buffer.count++] = pointer;
  if (buffer.count == barrier_buffer::capacity) shade_recorded(buffer);
}

}  // namespace tricolor::barriers
