// Work pool; see work_pool.hpp.
#include "gc/work_pool.hpp"

#include <mimalloc.h>

#include <new>

#include "heap/futex.hpp"

namespace tricolor::gc {

work_pool the_work_pool;

void work_pool::put(work_batch* batch) {
  {
    std::lock_guard guard(lock_);
    batch->next = full_;
    full_ = batch;
    batches_.fetch_add(1, std::memory_order_release);
  }
  puts_.fetch_add(1, std::memory_order_seq_cst);
  if (waiters_.load(std::memory_order_seq_cst) != 0) heap::futex_wake_all(&puts_);
}

void work_pool::wait_for_put(std::uint64_t timeout_ns) {
  std::uint32_t seen = puts_.load(std::memory_order_seq_cst);
  waiters_.fetch_add(1, std::memory_order_seq_cst);
  if (empty()) heap::futex_wait(&puts_, seen, timeout_ns);
  waiters_.fetch_sub(1, std::memory_order_relaxed);
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
