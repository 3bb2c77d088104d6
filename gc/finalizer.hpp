// Destructors of managed objects run on the finalizer thread.
//
// A managed object whose type has a non-trivial destructor is finalized, not
// simply freed, when a cycle finds it unreachable. The destructor never runs
// on a thread that did not ask for it (not inside make_gc, not in the middle
// of the program's own code on an allocating thread that happened to sweep
// the span): a destructor may then take any lock the program's threads take
// around their allocations, allocate, and call collect().
//
// The life of such an object after its last reference is gone (the header
// word is the state; tricolor/internal/object_header.hpp):
//
//     header = T's descriptor     unreachable, not yet swept
//         | the sweep of the cycle that found it unmarked (any sweeping
//         | thread): header := awaiting_finalizer, queued here; the slot
//         | stays allocated
//     header = awaiting_finalizer
//         | the finalizer thread runs T's destructor, then
//         | header := finalized (release)
//     header = finalized
//         | the next sweep that finds it unmarked frees the slot, as it frees
//         | any object without a destructor
//     free slot
//
// So the memory of a finalized object is reused one cycle later than that of
// a trivially destructible one (Go's finalizers, and Java's, do the same).
//
// Invariants:
//   * Each object is queued at most once: only a sweep queues it, and a sweep
//     queues only objects whose header has a destructor; the sweep that
//     queues it replaces the header first. A sweep that finds
//     awaiting_finalizer keeps the slot allocated; one that finds finalized
//     frees it.
//   * Neither state is scanned (both are noscan descriptors): the marker never
//     reads an object whose destructor may be running. A stale conservative
//     word that points at one only keeps it allocated for one more cycle.
//   * The queue lock is a leaf: no code holding it allocates, waits for a
//     pause or takes another lock. Sweepers push under it from inside the
//     runtime (RUNNING threads in a runtime_section); the finalizer thread
//     takes items as a SAFE thread (roots::wait_as_safe) and becomes RUNNING
//     only after releasing it, so no pause can wait on a thread that waits
//     for the lock.
//   * Destructors run one at a time, in the order their objects were queued.
//
// What a destructor may do: anything an ordinary function on a background
// thread may do (take locks, allocate managed or unmanaged memory, call
// collect(), throw nothing). What it must not do: read other managed objects
// through the object's own gc_ptr members. They were unreachable in the same
// cycle and may have been freed already (an object it reaches through a root
// is alive as usual).
#pragma once

#include <cstddef>
#include <cstdint>

#include "tricolor/internal/object_header.hpp"

namespace tricolor::gc {

struct queued_destructor {
  void* payload;
  const heap::type_descriptor* type;
};

// Queues the destructors of dead objects. Called by the sweep, on whichever
// thread sweeps their span, after their headers were set to
// awaiting_finalizer.
void queue_finalizers(const queued_destructor* items, std::size_t count);

// Destructors queued so far (monotonic).
std::uint64_t finalizers_queued();

// Waits until the first `count` queued destructors have run, as a SAFE
// thread. Returns at once on the finalizer thread itself (a destructor that
// calls collect() does not wait for itself).
void wait_for_finalizers(std::uint64_t count);

// fork(): prepare (after the cycle in progress ended, so no sweep pushes)
// takes the queue lock, so that the child's copy of the queue is whole; the
// parent releases it. The child gets no finalizer thread; the queue's lock and condition
// variables are made anew and the thread is started again on first need. A
// destructor that was running in the parent at the fork does not run in the
// child (its object stays allocated there).
void finalizer_prepare_fork();
void finalizer_parent_after_fork();
void finalizer_child_after_fork();

}  // namespace tricolor::gc
