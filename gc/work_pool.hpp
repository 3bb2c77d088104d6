// The global pool of grey objects shared by every marking thread.
//
// Each marking thread (the background marker, a mutator assisting, a mutator
// shading its barrier buffer) keeps grey objects on a private mark stack
// (gc/marker.hpp) and exchanges them with the others through this pool, in
// batches of 256 items, so the lock is taken once per batch:
//   * a mutator shading its barrier buffer puts what it greyed here;
//   * the background marker gives a batch away when the pool is empty and its
//     own stack is deep, so that assists find work;
//   * an assist takes batches, scans within its budget and puts back what is
//     left before returning to the program.
//
// Termination invariant: a thread outside the collector's pauses holds grey
// objects privately only while it is inside a marking step (an assist, a
// buffer shading); it puts them back here before it reaches a safepoint. So in
// a stop-the-world pause every grey object is in the pool, in a barrier
// buffer or on the background marker's stack.
#pragma once

#include <atomic>
#include <cstddef>
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

 private:
  std::mutex lock_;
  work_batch* full_ = nullptr;
  work_batch* free_ = nullptr;
  std::atomic<std::size_t> batches_{0};
};

extern work_pool the_work_pool;

}  // namespace tricolor::gc
