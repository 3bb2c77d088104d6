// The thread registry and the stop-the-world handshake.
//
// Every thread of the program is known to the collector without a call from
// the program: a thread created by pthread_create (std::thread, libraries)
// registers itself before its start routine runs, and the thread that loads
// the library (the main thread) registers at load time
// (roots/thread_creation.cc). A registration is removed when the thread
// exits (a pthread key destructor, which runs after the thread's C++
// thread_local destructors, so those may still use the heap). The collector's
// own threads are not registered: they hold no managed pointer outside their
// mark stacks.
//
// Status protocol. A thread is either RUNNING (may read and write managed
// pointers) or SAFE (its callee-saved registers and stack pointer recorded in
// `saved`, and it does not touch managed memory until it is RUNNING again).
// A thread becomes SAFE in one of two ways:
//
//   cooperatively   at a safepoint (allocation slow path, safepoint()),
//                   inside a blocking_scope, or while the runtime waits on
//                   its behalf (collect(), an exhausted heap);
//   by the signal   a thread blocked in the kernel (a lock, a condition
//                   variable, a join, a sleep, I/O) outside the runtime's
//                   own code is sent the stop signal, whose handler makes it
//                   SAFE and parks it until the world restarts
//                   (roots/stop_signal.hpp has the handler and the argument
//                   for why such a thread is at a point as safe as a
//                   safepoint).
//
// The collector stops the world:
//
//     collector                              mutator leaving SAFE
//     ---------                              --------------------
//     stop_requested = true     (seq_cst)    status = RUNNING       (seq_cst)
//     wait until every other                 if stop_requested      (seq_cst)
//       status == SAFE,         (seq_cst)      status = SAFE; wait; retry
//       signalling it if it takes long
//
// Both sides store, then load the other's variable, all sequentially
// consistent (Dekker): either the collector sees RUNNING and waits, or the
// mutator sees the request and stays SAFE. So once stop_the_world returns,
// no other registered thread runs mutator code until start_the_world. The
// signal handler leaves SAFE by the same steps.
//
// A running thread is signalled only if it has not become SAFE by itself
// within a grace period (100 us; at once if the signal stopped it in the
// last pause): a signal costs a running thread microseconds and most reach
// a safepoint sooner. A thread that runs mutator code without polling (a
// long loop that neither allocates, blocks nor calls safepoint()) is
// signalled again every millisecond; after TRICOLOR_DEBUG=safepointwarn=MS (default 1000), and
// again each such interval, the collector names it on stderr with the
// function its last signal interrupted.
//
// The registry lock is held from stop_the_world to start_the_world, so no
// thread registers or unregisters during a pause. A registering thread holds
// no managed pointer yet; an exiting thread becomes SAFE before it takes the
// lock, so the collector never waits on it.
//
// Blocked threads and the mark-start pause. A thread that was SAFE when the
// stop began (blocked in the kernel, in a blocking_scope, or waiting in the
// runtime) cannot have moved since: its stack, registers and TLS are those
// of the snapshot until it leaves SAFE. So the mark-start pause does not copy
// them: it sets the thread's stack_scan_pending, and the collector scans
// them right after the world restarts, before the marker can conclude
// anything. A thread that wakes meanwhile waits in become_running (or, if
// the stop signal parked it in an earlier stop and it has not left the
// handler yet, in the handler: roots/stop_signal.cc) until its scan is done:
//
//     collector (after restart)             thread leaving SAFE
//     -------------------------             -------------------
//     scan [saved sp, stack top), TLS       status = RUNNING         (seq_cst)
//     pending = false  (seq_cst, under      if stop_requested or pending
//       the park lock), notify                status = SAFE; wait; retry
//
// Between its status store and its check, the waking thread runs only
// become_running, below the saved stack pointer; above it, the frame of the
// blocking call it returns from holds only what it held when it blocked
// (the call's arguments and results, no managed pointer moved). So the scan
// reads the snapshot's words, and the pause costs nothing per blocked
// thread's stack (Go scans a blocked goroutine's stack the same way, while
// the goroutine is held). The scan takes no lock: a waking thread may hold
// any lock while it waits for its scan (the registry lock itself, if that
// is what it was blocked on). A pending thread's state neither changes nor
// goes away: a thread that starts (attach_created_thread), exits or was
// never created waits, under the registry lock, for its scan first.
//
// Threads and concurrent marking. A thread that registers while the
// collector marks needs nothing: its stack holds only pointers to objects
// reachable at the snapshot or allocated since (black), and its allocations
// are black (tricolor/internal/write_barrier.hpp). A thread that exits while the
// collector marks first shades its barrier buffer, then, under the registry
// lock, leaves its cache's reserved slots (already marked, allocated black)
// on the orphaned list instead of returning them: a concurrent marker may be
// reading those allocation bits. The next pause flushes the orphans
// (flush_orphaned_caches). Its stack needs nothing: it was scanned at the
// snapshot.
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "barriers/barrier_buffer.hpp"
#include "tricolor/internal/thread_cache.hpp"
#include "tricolor/internal/registers.hpp"

namespace tricolor::roots {

struct memory_range {
  std::uintptr_t begin;
  std::uintptr_t end;
};

// A module's static TLS block in one thread: its thread_local variables lie
// at the module's TLS symbol offsets from `begin` (roots/data_symbols.hpp).
struct tls_block {
  std::uintptr_t begin;
  std::uintptr_t end;
  std::string module;  // the module's path; "(executable)" for the program
};

enum class thread_status : int { running, safe };

struct thread_state {
  heap::thread_cache cache;
  barriers::barrier_buffer barrier;
  std::atomic<thread_status> status{thread_status::running};
  register_snapshot saved{};   // valid while status == safe; stack_pointer 0
                               // until the thread has started
  // SAFE when the last stop began (blocked, not stopped by that pause);
  // written under the registry lock in the stop.
  bool safe_at_stop = false;
  // How many times the thread became SAFE: a wait's identity (leak reports
  // tell a thread blocked in one wait across cycles from one that woke and
  // waited again). Written by the thread only, before its SAFE store.
  std::atomic<std::uint64_t> waits{0};
  // Set in a mark-start pause for a thread that was SAFE when the stop began:
  // its stack is scanned after the world restarts (root_set.hpp,
  // scan_deferred_stacks), and become_running keeps it SAFE until then.
  std::atomic<bool> stack_scan_pending{false};
  std::uintptr_t stack_high = 0;  // highest address of the stack (exclusive)
  std::uintptr_t stack_low = 0;
  std::vector<tls_block> tls_blocks;  // static TLS of modules loaded at registration
  // The heap block of the thread's start argument while its start routine
  // runs (roots/thread_creation.hpp), or empty.
  memory_range start_argument{0, 0};
  pid_t tid = 0;
  pthread_t handle{};
  std::string name;  // at registration; diagnostics read the current one
  int blocking_depth = 0;
  // > 0 while the thread runs the runtime's own out-of-line code (a
  // runtime_section): the stop signal never stops it there. Written by the
  // thread, read by its own signal handler.
  std::atomic<int> runtime_depth{0};
  // Where the last stop signal found the thread running mutator code
  // (0: none since the world last restarted), for the collector's
  // diagnostics.
  std::atomic<std::uintptr_t> interrupted_pc{0};
  // Stop signals sent in the current stop, and whether the signal stopped it
  // (now, and in the last stop: a thread the signal stopped last time is
  // likely blocked still, and is signalled without a grace period).
  int signals_sent = 0;
  std::atomic<bool> stopped_by_signal{false};
  bool signal_stopped_last_time = false;  // under the registry lock
  std::int64_t assist_debt = 0;  // objects this thread owes the marker (gc/collector.cc)
  thread_state* next = nullptr;
  thread_state* prev = nullptr;
};

[[gnu::tls_model("initial-exec")]] extern thread_local constinit thread_state*
    tls_thread_state;

// The calling thread's state, registering the thread on first use (a thread
// that existed before the library was loaded, other than the one that loaded
// it).
thread_state* current_thread();

// Registers the calling thread if it is not yet (the thread that loads the
// library).
void register_current_thread();

// Threads created through pthread_create (roots/thread_creation.hpp) are
// registered by their creator before they exist: SAFE, with no stack yet, so
// that a pause neither waits for them nor misses their start argument's
// block, which is then their only root. The new thread's first step is
// attach_created_thread, which fills in its stack and identity (under the
// registry lock, so never while a pause reads them) and makes it RUNNING.
thread_state* register_thread_being_created(memory_range start_argument);
void attach_created_thread(thread_state* t);
void forget_thread_not_created(thread_state* t);  // pthread_create failed

// Marks the calling thread as running the runtime's own code, where the stop
// signal must not stop it: any out-of-line runtime entry point that may wait
// for a lock or leave per-thread state half updated. Cheap (one relaxed
// increment on the thread's state); nests.
class runtime_section {
 public:
  runtime_section() : runtime_section(current_thread()) {}
  // For a thread whose state is known (one that is exiting, say).
  explicit runtime_section(thread_state* self) : self_(self) {
    self_->runtime_depth.fetch_add(1, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ~runtime_section() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    self_->runtime_depth.fetch_sub(1, std::memory_order_relaxed);
  }
  runtime_section(const runtime_section&) = delete;
  runtime_section& operator=(const runtime_section&) = delete;
  thread_state* thread() const { return self_; }

 private:
  thread_state* self_;
};

// Marks the calling thread SAFE with the given register snapshot, and back.
// become_running waits while a pause is on or the thread's stack scan is
// pending.
void become_safe(thread_state* self, const register_snapshot& registers);
void become_running(thread_state* self);

// Clears t's pending stack scan and wakes it if it waits to leave SAFE.
void finish_stack_scan(thread_state& t);


// Calls `wait()` as a SAFE thread if the caller is registered, so that a
// pause never waits for it. `wait` takes and releases its own locks: the
// thread may block in become_running until a pause ends, holding none (a
// thread that parked holding a runtime lock could stall a RUNNING thread
// inside a runtime_section, which the pause waits for).
template <class Wait>
void wait_as_safe(Wait&& wait) {
  thread_state* self = tls_thread_state;
  if (self != nullptr && self->blocking_depth == 0) {
    register_snapshot registers;
    capture_registers(registers);
    become_safe(self, registers);
    wait();
    become_running(self);
  } else {
    wait();
  }
}

// Stops every registered thread but `self` (nullptr: the calling thread is
// not a registered one, e.g. the collector's own thread) and
// returns holding the registry lock. Returns the nanoseconds spent waiting
// for the last thread to become safe (time to safepoint).
std::uint64_t stop_the_world(thread_state* self);
void start_the_world();

// Threads the last stop_the_world stopped with the signal.
unsigned threads_stopped_by_signal();

// How long stop_the_world waits for a thread before naming it on stderr, and
// again each such interval (TRICOLOR_DEBUG=safepointwarn).
void set_safepoint_warning(std::uint64_t nanoseconds);

// fork(): prepare_fork stops the world for the forking thread (holding the
// registry lock across fork); after it, the parent restarts the world and
// the child keeps only the forking thread, with fresh locks.
void prepare_fork(thread_state* self);
void parent_after_fork();
void child_after_fork(thread_state* self);

thread_state* registry_head();

// Registered threads that are running (not at a safepoint or inside a
// blocking_scope), or -1 when the registry is busy (a pause or a thread
// starting). A glimpse for the mark workers' idle-CPU estimate: it may be
// stale by the time it is used.
int running_thread_count();

// Flushes the caches left by threads that exited while the collector marked
// (heap::managed_heap::flush_cache). Only with the world stopped.
void flush_orphaned_caches(bool relist);

// Calls f(thread_state&) for every registered thread; only between
// stop_the_world and start_the_world.
template <class F>
void for_each_thread(F&& f) {
  for (thread_state* t = registry_head(); t; t = t->next) f(*t);
}

}  // namespace tricolor::roots
