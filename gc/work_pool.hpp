// The global pool of grey objects shared by every marking thread.
//
// Each marking thread (a mark worker, a mutator assisting, a mutator
// shading its barrier buffer) keeps grey objects on a private mark stack
// (gc/marker.hpp) and exchanges them with the others through this pool, in
// batches of 256 items, so the lock is taken once per batch:
//   * a mutator shading its barrier buffer puts what it greyed here;
//   * a mark worker gives a batch away when the pool is empty while an
//     assist or an idle worker wants work (gc/mark_workers.hpp);
//   * an assist takes batches, scans within its budget and puts back what is
//     left before returning to the program.
//
// Termination invariant: a mutator holds grey objects privately only while
// it is inside a marking step (an assist, a buffer shading); it puts them
// back here before it reaches a safepoint. A mark worker puts them back
// before the collector's hold on the workers returns (gc/mark_workers.hpp).
// So in a stop-the-world pause taken with the workers held, every grey
// object is in the pool or in a barrier buffer.
//
// A mark worker that ran out of work waits for a put in wait_for_put, a
// futex wait on `puts_`, rather than polling the pool: polling with
// sched_yield made 84,000 system calls in a 2-second run of 2-thread
// mt_gcbench (issue 12). No lost wakeup: a waiter reads `puts_`, counts
// itself in `waiters_` and sleeps only while `puts_` still holds what it
// read (the kernel compares); put() bumps `puts_` and then reads `waiters_`,
// both sequentially consistent, so either put() sees the waiter and wakes
// it, or the waiter's futex finds `puts_` changed and returns at once. The
// wait also has a timeout: it bounds the wait where work appears without a
// put (a worker's own role changing, the termination conditions), which
// the caller re-checks.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "gc/mark_stack.hpp"

namespace tricolor::gc {

struct work_batch {
  static constexpr std::size_t capacity = 256;
  work_batch* next = nullptr;
  std::size_t count = 0;
  mark_item items[capacity];
};

class work_pool {
 public:
  // A batch with count > 0.
  void put(work_batch* batch);
  // A batch, or nullptr when the pool is empty.
  work_batch* take();
  // An empty batch (recycled or new) and back.
  work_batch* empty_batch();
  void recycle(work_batch* batch);

  bool empty() const { return batches_.load(std::memory_order_acquire) == 0; }

  // Blocks until a put() after the call, or `timeout_ns` passed, or a
  // spurious wake-up; the caller looks at the pool again either way.
  void wait_for_put(std::uint64_t timeout_ns);
  // In the child of fork(), which has none of the waiting threads.
  void forget_waiters() { waiters_.store(0, std::memory_order_relaxed); }

 private:
  std::mutex lock_;
  work_batch* full_ = nullptr;
  work_batch* free_ = nullptr;
  std::atomic<std::size_t> batches_{0};
  std::atomic<std::uint32_t> puts_{0};     // bumped by every put (a futex word)
  std::atomic<std::uint32_t> waiters_{0};  // threads in wait_for_put
};

extern work_pool the_work_pool;

}  // namespace tricolor::gc
