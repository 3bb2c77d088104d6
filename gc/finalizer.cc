// The finalizer thread and its queue; see finalizer.hpp for the design.
#include "gc/finalizer.hpp"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <atomic>
#include <deque>
#include <mutex>
#include <new>
#include <thread>

#include "roots/thread_creation.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::gc {

namespace {

struct finalizer_queue {
  std::mutex lock;  // a leaf: see finalizer.hpp
  std::condition_variable work;     // the finalizer thread waits here
  std::condition_variable progress; // wait_for_finalizers waits here
  std::deque<queued_destructor> items;
  std::uint64_t queued = 0;
  std::uint64_t finished = 0;  // destructors run, counted per batch
  bool thread_started = false;
  // For the diagnostic of a destructor that does not return: destructors
  // run so far (one by one) and whose runs now. Written by the finalizer
  // thread only, read without the lock.
  std::atomic<std::uint64_t> destroyed{0};
  std::atomic<const heap::type_descriptor*> running{nullptr};
};

finalizer_queue& queue() {
  static auto* q = new finalizer_queue();  // leaked: sweeps may run at exit
  return *q;
}

thread_local bool on_finalizer_thread = false;

void run_destructor(const queued_destructor& item) {
  item.type->destroy(item.payload);
  heap::header_of(item.payload)->type.store(&heap::finalized_object, std::memory_order_release);
}

void finalizer_main() {
  pthread_setname_np(pthread_self(), "tricolor-final");
  on_finalizer_thread = true;
  finalizer_queue& q = queue();
  std::deque<queued_destructor> batch;
  for (;;) {
    // Everything queued so far, in one take: one lock and one wake-up of
    // the waiters per batch, not per object.
    roots::wait_as_safe([&] {
      std::unique_lock guard(q.lock);
      q.work.wait(guard, [&] { return !q.items.empty(); });
      batch.swap(q.items);
    });
    for (const queued_destructor& item : batch) {
      q.running.store(item.type, std::memory_order_relaxed);
      run_destructor(item);
      q.destroyed.fetch_add(1, std::memory_order_relaxed);
    }
    q.running.store(nullptr, std::memory_order_relaxed);
    {
      std::lock_guard guard(q.lock);
      q.finished += batch.size();
    }
    batch.clear();
    q.progress.notify_all();
  }
}

// With q.lock held: whether the caller must start the finalizer thread
// (after releasing the lock: the lock is a leaf).
bool claim_thread_start_locked(finalizer_queue& q) {
  if (q.thread_started || q.items.empty()) return false;
  q.thread_started = true;
  return true;
}

void start_finalizer_thread() {
  // Not registered at creation: it holds no managed pointer until a
  // destructor allocates, which registers it then (roots::current_thread).
  roots::runtime_thread_creation runtime_thread;
  std::thread(finalizer_main).detach();
}
}  // namespace

void queue_finalizers(const queued_destructor* items, std::size_t count) {
  finalizer_queue& q = queue();
  bool start;
  {
    std::lock_guard guard(q.lock);
    q.items.insert(q.items.end(), items, items + count);
    q.queued += count;
    start = claim_thread_start_locked(q);
  }
  if (start) start_finalizer_thread();
  q.work.notify_one();
}

std::uint64_t finalizers_queued() {
  finalizer_queue& q = queue();
  std::lock_guard guard(q.lock);
  return q.queued;
}

void wait_for_finalizers(std::uint64_t count) {
  if (on_finalizer_thread) return;
  finalizer_queue& q = queue();
  bool start;
  {
    std::lock_guard guard(q.lock);
    start = claim_thread_start_locked(q);  // after fork(), items may wait
  }
  if (start) start_finalizer_thread();
  roots::wait_as_safe([&] {
    std::unique_lock guard(q.lock);
    // A destructor that blocks for good (on a lock the caller holds, say)
    // would hang the caller silently: it is named when a whole second
    // passes without any destructor finishing.
    std::uint64_t seen = q.destroyed.load(std::memory_order_relaxed);
    while (!q.progress.wait_for(guard, std::chrono::seconds(1),
                                [&] { return q.finished >= count; })) {
      std::uint64_t now = q.destroyed.load(std::memory_order_relaxed);
      const heap::type_descriptor* stuck = q.running.load(std::memory_order_relaxed);
      if (now == seen && stuck != nullptr) {
        std::fprintf(stderr,
                     "tricolor: collect() is waiting for the destructor of %s on the "
                     "finalizer thread, which has not returned for 1 s; if it waits for a "
                     "lock the caller of collect() holds, neither will finish\n",
                     stuck->name);
        q.progress.wait(guard, [&] { return q.finished >= count; });
        return;
      }
      seen = now;
    }
  });
}

void finalizer_prepare_fork() { queue().lock.lock(); }

void finalizer_parent_after_fork() { queue().lock.unlock(); }

void finalizer_child_after_fork() {
  finalizer_queue& q = queue();
  new (&q.lock) std::mutex();
  new (&q.work) std::condition_variable();
  new (&q.progress) std::condition_variable();
  // The parent's finalizer thread may have taken a batch it had not
  // finished: those objects stay awaiting_finalizer here (never freed). The items still queued run in
  // the child's own finalizer thread, started on first need.
  q.finished = q.queued - q.items.size();
  q.thread_started = false;
}

}  // namespace tricolor::gc
