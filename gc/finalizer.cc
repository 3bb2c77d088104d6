// The finalizer thread and its queue; see finalizer.hpp for the design.
#include "gc/finalizer.hpp"

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <new>
#include <thread>

#include "roots/thread_creation.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::gc {

namespace {

struct queued_destructor {
  void* payload;
  const heap::type_descriptor* type;
};

struct finalizer_queue {
  std::mutex lock;  // a leaf: see finalizer.hpp
  std::condition_variable work;     // the finalizer thread waits here
  std::condition_variable progress; // wait_for_finalizers waits here
  std::deque<queued_destructor> items;
  std::uint64_t queued = 0;
  std::uint64_t finished = 0;
  const heap::type_descriptor* running = nullptr;  // whose destructor runs now
  bool thread_started = false;
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
  for (;;) {
    queued_destructor item;
    roots::wait_as_safe([&] {
      std::unique_lock guard(q.lock);
      q.work.wait(guard, [&] { return !q.items.empty(); });
      item = q.items.front();
      q.items.pop_front();
      q.running = item.type;
    });
    run_destructor(item);
    {
      std::lock_guard guard(q.lock);
      ++q.finished;
      q.running = nullptr;
    }
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

void queue_finalizer(void* payload, const heap::type_descriptor* type) {
  finalizer_queue& q = queue();
  bool start;
  {
    std::lock_guard guard(q.lock);
    q.items.push_back({payload, type});
    ++q.queued;
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
    // would hang the caller silently: it is named after a second.
    if (q.progress.wait_for(guard, std::chrono::seconds(1),
                            [&] { return q.finished >= count; }))
      return;
    if (q.running != nullptr)
      std::fprintf(stderr,
                   "tricolor: collect() has waited 1 s for the destructor of %s on the "
                   "finalizer thread; if that destructor waits for a lock the caller "
                   "of collect() holds, neither will finish\n",
                   q.running->name);
    q.progress.wait(guard, [&] { return q.finished >= count; });
  });
}

void finalizer_prepare_fork() { queue().lock.lock(); }

void finalizer_parent_after_fork() { queue().lock.unlock(); }

void finalizer_child_after_fork() {
  finalizer_queue& q = queue();
  new (&q.lock) std::mutex();
  new (&q.work) std::condition_variable();
  new (&q.progress) std::condition_variable();
  // The parent's finalizer thread may have taken an item it had not finished:
  // that object stays awaiting_finalizer here. The items still queued run in
  // the child's own finalizer thread, started on first need.
  q.finished = q.queued - q.items.size();
  q.thread_started = false;
}

}  // namespace tricolor::gc
