// Work pool; see work_pool.hpp.
#include "gc/work_pool.hpp"

#include <mimalloc.h>

#include <new>

namespace tricolor::gc {

work_pool the_work_pool;

void work_pool::put(work_batch* batch) {
  std::lock_guard guard(lock_);
  batch->next = full_;
  full_ = batch;
  batches_.fetch_add(1, std::memory_order_release);
}

work_batch* work_pool::take() {
  if (empty()) return nullptr;
  std::lock_guard guard(lock_);
  work_batch* batch = full_;
  if (batch != nullptr) {
    full_ = batch->next;
    batches_.fetch_sub(1, std::memory_order_relaxed);
  }
  return batch;
}

work_batch* work_pool::empty_batch() {
  {
    std::lock_guard guard(lock_);
    if (work_batch* batch = free_) {
      free_ = batch->next;
      batch->next = nullptr;
      batch->count = 0;
      return batch;
    }
  }
  void* memory = mi_malloc(sizeof(work_batch));
  if (memory == nullptr) throw std::bad_alloc();
  return new (memory) work_batch();
}

void work_pool::recycle(work_batch* batch) {
  std::lock_guard guard(lock_);
  batch->next = free_;
  free_ = batch;
}

}  // namespace tricolor::gc
