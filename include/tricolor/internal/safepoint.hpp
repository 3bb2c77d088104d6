// Safepoints and blocking scopes: the mutator's side of a stop-the-world
// request.
//
// The collector raises stop_requested and waits until every registered
// thread is *safe* (roots/thread_registry.hpp): parked at a safepoint, in a
// blocking call (roots/blocking_calls.cc), inside a blocking_scope, or
// stopped by the stop signal while blocked in the kernel
// (roots/stop_signal.hpp). A running thread polls at every allocation slow
// path and at tricolor::safepoint(); a long loop that neither allocates,
// blocks nor calls safepoint() delays every collection (as a Go loop
// without preemption did before Go 1.14), and is named on stderr.
//
// blocking_scope is an optional hint around a call the library does not
// know that may block (a raw system call): the thread records its
// registers and stack pointer and is safe for its whole duration, which
// saves the collector a signal per pause. Inside the scope the thread must
// not touch managed objects or gc_ptrs; it may keep them on its stack (they
// are scanned from the recorded state). On leaving the scope the thread
// waits for a collection in progress to finish.
#pragma once

#include <atomic>

#include "tricolor/internal/registers.hpp"

namespace tricolor {
namespace roots {
extern std::atomic<bool> stop_requested;
void park_at_safepoint();
void enter_blocking(const register_snapshot& registers);
void leave_blocking();
}  // namespace roots

// Parks the calling thread if the collector is stopping the world.
inline void safepoint() {
  if (roots::stop_requested.load(std::memory_order_relaxed)) [[unlikely]]
    roots::park_at_safepoint();
}

class blocking_scope {
 public:
  [[gnu::always_inline]] blocking_scope() {
    roots::register_snapshot registers;
    roots::capture_registers(registers);
    roots::enter_blocking(registers);
  }
  ~blocking_scope() { roots::leave_blocking(); }
  blocking_scope(const blocking_scope&) = delete;
  blocking_scope& operator=(const blocking_scope&) = delete;
};

}  // namespace tricolor
