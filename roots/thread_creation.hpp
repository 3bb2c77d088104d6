// How threads become known to the collector without a call from the program.
//
//  * pthread_create is interposed (the library's definition comes before the
//    C library's in symbol lookup, as bdwgc's GC_pthread_create does with
//    macros): every new thread, whether std::thread, std::async,
//    std::jthread or a library's pthread_create, is registered by its
//    creator before it exists (SAFE, no stack yet) and completes its
//    registration before its start routine runs, so it is known before it
//    can hold a managed pointer, and no pause waits for a thread starting.
//  * The thread that loads the library (the main thread, for a program
//    linked with it) registers in a load-time constructor, which also
//    installs the stop signal's handler (roots/stop_signal.hpp).
//  * The start argument. std::thread keeps its callable and arguments (the
//    lambda's captures) in a heap block that lives until the thread's
//    function returns, and a C start argument is often a malloc'd struct.
//    Memory from malloc is not a root, so a gc_ptr handed to a new thread
//    that way would be seen by nobody once the creating thread dropped its
//    own. When the start argument is a heap block (asked of the allocator
//    that owns it: mimalloc, or the sanitizer's), the block is scanned
//    with the thread's stack from the moment pthread_create registers the
//    thread until its start routine returns.
//  * pthread_sigmask and sigprocmask are interposed to leave the stop signal
//    unblocked (a thread that blocks every signal would otherwise stall
//    pauses whenever it blocks in the kernel).
//  * The collector's own threads (tricolor-gc, tricolor-mark) are created
//    inside a runtime_thread_creation scope and are not registered.
//
// Cost of a registered thread that never touches managed memory: its
// registration at creation (a thread_state with an empty allocation cache,
// about 6 KiB, and a look at its stack bounds and TLS blocks), a copy of its
// live stack in each mark-start pause, and, while it is blocked in the
// kernel, one stop signal per pause (bench/README.md has the figures).
#pragma once

#include "roots/thread_registry.hpp"

namespace tricolor::roots {

// The heap block that `p` points to the start of ([p, p + usable size), from
// the allocator that owns it), or an empty range if it is not one.
memory_range heap_block_at(void* p);

// Whether a block heap_block_at found still lies in the allocator's memory
// (it may have been freed and its pages returned to the OS since). No
// system call and no lock: usable while the world is stopped.
bool still_in_heap(memory_range block);

// Threads the calling thread creates while one of these is alive are the
// runtime's own: not registered.
class runtime_thread_creation {
 public:
  runtime_thread_creation();
  ~runtime_thread_creation();
  runtime_thread_creation(const runtime_thread_creation&) = delete;
  runtime_thread_creation& operator=(const runtime_thread_creation&) = delete;
};

}  // namespace tricolor::roots
