// The stop signal: how the collector stops a thread that is blocked in the
// kernel, without its cooperation.
//
// A pause needs every registered thread SAFE (roots/thread_registry.hpp).
// Most threads get there by themselves, at the next safepoint. A thread
// blocked in the kernel (a std::mutex, a condition variable, a join, the
// guard of a function-local static, std::call_once, a sleep, read(),
// epoll_wait) would never get there. So stop_the_world sends every thread
// still RUNNING the stop signal (SIGURG, as Go's preemption: ignored by
// default and rarely used by programs), and the handler decides:
//
//     handler(interrupted context):
//         if no stop is requested, or the thread is SAFE already:  return
//         if the thread is inside the runtime (runtime_depth > 0):  return
//         if the interrupted instruction is not at a system call:
//             interrupted_pc = its pc;                               return
//         record registers and stack pointer; status = SAFE
//         wait until the world restarts and no deferred scan of this
//           stack is pending; leave SAFE (the usual protocol)
//         return (the system call restarts, see below)
//
// "At a system call" means one of:
//   (a) the instruction at pc is `syscall` (x86-64: 0f 05; AArch64: svc #0):
//       the kernel interrupted a blocking call that it will restart
//       (SA_RESTART, restart_syscall), or the thread is about to make one;
//   (b) the instruction before pc is `syscall`, pc lies in the C library's
//       code, and the result register holds -EINTR: a call the kernel does
//       not restart (sleeps, epoll_wait, poll) was interrupted.
// In (a) pc is the start of an instruction, so the bytes are that syscall
// instruction and nothing else; in (b) the pc range rules out any code of
// the program. Neither counts inside a sanitizer's runtime (ASan, TSan):
// it makes system calls with its own locks held (its allocator maps memory
// under one), and a thread stopped there would hold a lock the collector's
// next allocation needs. (A ThreadSanitizer run of threads_test hung once
// in 20, in the test whose thread exits, freeing its std::thread state,
// while a pause signals it every millisecond: the likely cause, not
// confirmed by a backtrace.) For the same reason the handler's own atomic
// accesses bypass TSan's instrumentation (stop_signal.cc, handler_load):
// instrumented, they lock the runtime's record of the variable, which the
// interrupted code may hold. So under TSan,
// whose runtime replaces the guard of function-local statics and
// pthread_once with waits of its own, a thread waiting there is not stopped
// by the signal.
//
// Why a thread stopped there is as safe as at a safepoint
// -------------------------------------------------------
// What a pause must never see is a thread in the middle of a sequence that
// the pause depends on being whole:
//   * the write barrier (tricolor/internal/write_barrier.hpp): load `marking`, shade
//     the old value, store. A thread stopped between the load and the store
//     would store without shading across the mark-start pause;
//   * the allocation fast path (tricolor/internal/thread_cache.hpp): pop a slot from the
//     cursor. The pause flushes the cache under it;
//   * the runtime's out-of-line code: refilling a cache, registering a
//     gc_root, shading a barrier buffer, taking the runtime's locks.
// The first two are inline in the program's code and contain neither a
// system call nor a call to anything but the runtime's out-of-line
// functions. The runtime's out-of-line entry points that may block or leave
// per-thread state half updated run as a runtime_section
// (roots/thread_registry.hpp), where the handler refuses to stop. So when
// the innermost frame is at a system call and runtime_depth is 0, no frame
// of the thread is inside any of the three: every frame below the system
// call is a call the program made, and each of those is at a call site,
// where the compiler keeps every value it still needs in callee-saved
// registers or in the frame. The state is that of a safepoint.
//
// The one way around this is a signal handler of the program that
// interrupts a write barrier or an allocation fast path and then blocks in
// the kernel on the same thread. The interrupted sequence is then below the
// handler's frames, and the stop would split it. Signal handlers may only
// call async-signal-safe functions and a blocking one is rare; the case is
// stated here and in the README, not detected.
//
// Registers. The handler runs on the thread's own stack (SA_ONSTACK is not
// used). The kernel saved the interrupted context, every general-purpose
// register and the floating-point/vector state, in the signal frame it
// pushed below the interrupted stack pointer and its 128-byte red zone, and
// the handler records its own stack pointer below that frame. The range the
// collector scans, [recorded stack pointer, stack top), therefore holds the
// complete register set of the interrupted code (caller-saved and vector
// registers included), the red zone, and every frame. A handler that finds
// itself on another stack (the program's alternate signal stack, when the
// signal interrupts the program's own handler there) refuses.
//
// What a stopped thread may hold. A thread stopped at a system call holds
// no lock of the runtime (runtime_depth is 0), but it may hold a lock of
// the C library that it took around that call: a stdio stream's lock
// around write(), the dynamic loader's lock around dlopen's system calls.
// So while the world is stopped the collector uses neither stdio nor
// dladdr (roots/code_address.hpp; the late-thread message is written with
// write(2)); dl_iterate_phdr takes only the loader's list lock, which is
// never held across a system call. The heap it allocates from during a
// pause is mimalloc's, which takes no lock around its system calls (the
// sanitizers' allocators do, which is why their runtimes' system calls do
// not count, above).
//
// Why not anywhere in code without barriers. A thread running the C
// library, libstdc++ or the vDSO is provably outside any write barrier and
// allocation fast path (those libraries include no tricolor header), so
// the argument above would hold at any of their instructions, and a long
// memcpy or qsort would stop at once. It is not done: at an arbitrary
// instruction such a thread may be inside a critical section that holds
// no lock across a system call (malloc's, stdio's formatting, the loader's
// list lock that dl_iterate_phdr takes, and under TSan its runtime's), and
// a pause that then needs that lock never ends. At a system call only the
// locks held across one can be held, and the paragraph above keeps the
// collector away from those.
//
// Signals arriving inside the runtime, and late. A thread inside a
// runtime_section returns at once and reaches a safepoint by itself: the
// runtime never blocks indefinitely except as SAFE. A signal that arrives
// after the world restarted finds no stop requested and returns. A thread
// signalled while running mutator code returns too; stop_the_world signals
// it again every millisecond, so a thread that blocks after the first
// signal is still stopped.
//
// EINTR and SA_RESTART. The handler is installed with SA_RESTART, so the
// calls the kernel restarts (read, write, futex waits without timeout,
// wait, ...) never see the signal. Calls that the kernel never restarts
// after a handler ran (nanosleep, futex waits with a timeout, epoll_wait,
// poll, select, and the others listed in signal(7)) return EINTR, as they do
// for any signal: the C and C++ libraries retry them (sleep_for, condition
// variable and mutex waits, std::thread::join), and a program that calls
// them directly must retry on EINTR, as Go's asynchronous preemption also
// asks.
//
// Signal masks. A thread that blocks the stop signal cannot be stopped this
// way. pthread_sigmask and sigprocmask are interposed
// (roots/thread_creation.cc) to leave it unblocked, as bdwgc does for its
// own signals; a mask set some other way (the raw system call, or a program
// handler's sa_mask while it runs) is reported on stderr by name with the
// thread when the collector has waited for it past the warning delay.
//
// Under ThreadSanitizer the handler is installed with the C library's own
// sigaction: TSan's would defer it until the thread leaves a call TSan does
// not mark as blocking (mutex locks, read()), which would hang the pause.
// The handler itself is not instrumented, and it tells TSan about the two
// synchronizations it performs (status published, world restarted).
#pragma once

#include <cstdint>

namespace tricolor::roots {

struct thread_state;

// The signal the collector stops threads with.
int stop_signal_number();

// Installs the handler; once, before the first thread registers.
void install_stop_signal();

// Asks `t` to stop (tgkill).
void send_stop_signal(thread_state& t);

// Wakes every thread parked in the handler to recheck what it waits for;
// called after stop_requested or a thread's stack_scan_pending was cleared.
void wake_threads_parked_in_handler();

// In the child of fork(): no thread is parked in the handler.
void reset_stop_signal_after_fork();

// For the collector's diagnostics: whether the handler installed by
// install_stop_signal is still the signal's handler.
bool stop_signal_handler_installed();

}  // namespace tricolor::roots
