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
