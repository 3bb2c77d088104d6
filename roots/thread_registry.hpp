// The thread registry and the stop-the-world handshake.
//
// Every thread that touches the managed heap has a thread_state, created on
// first use (register_current_thread) and removed when the thread exits (a
// pthread key destructor, which runs after the thread's C++ thread_local
// destructors, so those may still use the heap).
//
// Status protocol. A thread is either RUNNING (may read and write managed
// pointers) or SAFE (parked at a safepoint, inside a blocking_scope, or
// waiting for another thread's collection; its callee-saved registers and
// stack pointer are recorded in `saved`). The collector stops the world:
//
//     collector                              mutator leaving SAFE
//     ---------                              --------------------
//     stop_requested = true     (seq_cst)    status = RUNNING       (seq_cst)
//     wait until every other                 if stop_requested      (seq_cst)
//       status == SAFE          (seq_cst)      status = SAFE; wait; retry
//
// Both sides store, then load the other's variable, all sequentially
// consistent (Dekker): either the collector sees RUNNING and waits, or the
// mutator sees the request and stays SAFE. So once stop_the_world returns,
// no other registered thread runs mutator code until start_the_world.
//
// The registry lock is held from stop_the_world to start_the_world, so no
// thread registers or unregisters during a pause. A registering thread holds
// no managed pointer yet; an exiting thread becomes SAFE before it takes the
// lock, so the collector never waits on it.
//
// Threads and concurrent marking. A thread that registers while the
// collector marks needs nothing: its stack holds only pointers to objects
// reachable at the snapshot or allocated since (black), and its allocations
// are black (barriers/write_barrier.hpp). A thread that exits while the
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
#include "heap/thread_cache.hpp"
#include "roots/registers.hpp"

namespace tricolor::roots {

struct memory_range {
  std::uintptr_t begin;
  std::uintptr_t end;
};

enum class thread_status : int { running, safe };

struct thread_state {
  heap::thread_cache cache;
  barriers::barrier_buffer barrier;
  std::atomic<thread_status> status{thread_status::running};
  register_snapshot saved{};   // valid while status == safe
  std::uintptr_t stack_high = 0;  // highest address of the stack (exclusive)
  std::uintptr_t stack_low = 0;
  std::vector<memory_range> tls_blocks;  // static TLS of modules loaded at registration
  pid_t tid = 0;
  std::string name;
  int blocking_depth = 0;
  std::int64_t assist_debt = 0;  // objects this thread owes the marker (gc/collector.cc)
  thread_state* next = nullptr;
  thread_state* prev = nullptr;
};

[[gnu::tls_model("initial-exec")]] extern thread_local constinit thread_state*
    tls_thread_state;

// The calling thread's state, registering the thread on first use.
thread_state* current_thread();

// Marks the calling thread SAFE with the given register snapshot, and back.
void become_safe(thread_state* self, const register_snapshot& registers);
void become_running(thread_state* self);

// Stops every registered thread but `self` (nullptr: the calling thread is
// not a registered one, e.g. the collector's own thread) and
// returns holding the registry lock. Returns the nanoseconds spent waiting
// for the last thread to become safe (time to safepoint).
std::uint64_t stop_the_world(thread_state* self);
void start_the_world();

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
