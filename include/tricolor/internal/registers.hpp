// Capturing a thread's callee-saved registers and stack pointer.
//
// A thread that stops for the collector (at a safepoint, in a blocking call,
// on entering a blocking_scope) records where its stack ends and what its
// callee-saved registers hold, because a gc_ptr may live only in a register
// of one of its callers. Caller-saved registers need no capture: every value
// still needed after the call that follows is spilled to the stack above the
// recorded stack pointer, which the collector scans. A thread stopped by the
// stop signal records the same from inside its handler, below the signal
// frame that holds every register of the interrupted code
// (roots/stop_signal.hpp).
//
// The capture is inline assembly in an always-inline function, so it reads
// the registers of the function it is inlined into. (setjmp is not used:
// glibc mangles the frame pointer it saves, which would hide a pointer kept in
// rbp by code built without frame pointers.)
#pragma once

#include <cstdint>

namespace tricolor::roots {

struct register_snapshot {
  std::uintptr_t stack_pointer;
#if defined(__x86_64__)
  std::uintptr_t callee_saved[6];   // rbx rbp r12 r13 r14 r15
#elif defined(__aarch64__)
  std::uintptr_t callee_saved[11];  // x19 .. x29
#endif
};

[[gnu::always_inline]] inline void capture_registers(register_snapshot& s) {
#if defined(__x86_64__)
  asm volatile(
      "movq %%rsp, 0(%0)\n\t"
      "movq %%rbx, 8(%0)\n\t"
      "movq %%rbp, 16(%0)\n\t"
      "movq %%r12, 24(%0)\n\t"
      "movq %%r13, 32(%0)\n\t"
      "movq %%r14, 40(%0)\n\t"
      "movq %%r15, 48(%0)\n\t"
      :
      : "r"(&s)
      : "memory");
#elif defined(__aarch64__)
  asm volatile(
      "mov x9, sp\n\t"
      "str x9, [%0, #0]\n\t"
      "stp x19, x20, [%0, #8]\n\t"
      "stp x21, x22, [%0, #24]\n\t"
      "stp x23, x24, [%0, #40]\n\t"
      "stp x25, x26, [%0, #56]\n\t"
      "stp x27, x28, [%0, #72]\n\t"
      "str x29, [%0, #88]\n\t"
      :
      : "r"(&s)
      : "x9", "memory");
#else
#error "tricolor: register capture is implemented for x86-64 and AArch64 only"
#endif
}

}  // namespace tricolor::roots
