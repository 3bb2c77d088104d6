// Coroutine frames (SPEC §2.2): a gc_ptr local held across co_yield or
// co_await keeps its object alive when the promise type derives from
// tricolor::scanned_coroutine_frame (tricolor/coroutine.hpp), with collections
// while the coroutine is suspended and when another std::thread resumes it.
//
// The coroutine types are written as a C++ programmer writes them by hand:
// a generator whose promise keeps a pointer to the yielded value, and a task
// that hops to a worker thread.
//
// (With promises that do not derive from the mixin, frames come from plain
// operator new and these tests fail: the case of issue 10, point 6.)
#include <atomic>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "roots/root_ranges.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::make_gc;
using tricolor::weak_gc_ptr;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;

using frame_base = tricolor::scanned_coroutine_frame;

std::atomic<int> destroyed{0};

// --- a generator, by hand ---------------------------------------------------
template <class T>
class generator {
 public:
  struct promise_type : frame_base {
    const T* current = nullptr;
    generator get_return_object() {
      return generator(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    std::suspend_always yield_value(const T& value) noexcept {
      current = &value;
      return {};
    }
    void return_void() noexcept {}
    void unhandled_exception() { throw; }
  };

  explicit generator(std::coroutine_handle<promise_type> h) : handle_(h) {}
  generator(generator&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  generator(const generator&) = delete;
  ~generator() {
    if (handle_) handle_.destroy();
  }

  // Resumes the coroutine; false when it has finished.
  bool next() {
    handle_.resume();
    return !handle_.done();
  }
  const T& value() const { return *handle_.promise().current; }

 private:
  std::coroutine_handle<promise_type> handle_;
};

// Holds a list of managed objects in frame locals across every co_yield and
// yields, each time, a checksum over all of them computed from their
// contents: an object freed and reused shows as a wrong checksum.
generator<std::uint64_t> checksums(std::uint64_t first, int rounds) {
  gc_ptr<counted> a = make_gc<counted>(&destroyed, first);
  gc_ptr<counted> b = make_gc<counted>(&destroyed, first + 1);
  std::vector<gc_ptr<counted>, tricolor::root_allocator<gc_ptr<counted>>> more;
  for (int round = 0; round < rounds; ++round) {
    std::uint64_t sum = 0;
    bool ok = a->intact() && b->intact() && a->id == first && b->id == first + 1;
    for (const auto& p : more) ok = ok && p->intact();
    sum = ok ? a->check ^ b->check : 0;
    co_yield sum;
    more.push_back(make_gc<counted>(&destroyed, first + 2 + round));
  }
}

std::uint64_t expected_checksum(std::uint64_t first) {
  return counted::mix(first) ^ counted::mix(first + 1);
}

TEST(Coroutines, GeneratorLocalsSurviveCollectionsWhileSuspended) {
  auto g = tricolor_test::isolated([] { return checksums(1000, 6); });
  int rounds = 0;
  while (g.next()) {
    ASSERT_EQ(g.value(), expected_checksum(1000))
        << "round " << rounds
        << ": a gc_ptr local of the suspended coroutine was freed (its frame is not a root)";
    ++rounds;
    collect_clean();
    churn();
  }
  EXPECT_EQ(rounds, 6);
}

TEST(Coroutines, ManySuspendedGenerators) {
  std::vector<generator<std::uint64_t>> gens;
  for (std::uint64_t i = 0; i < 200; ++i)
    gens.push_back(tricolor_test::isolated([i] { return checksums(10000 + 100 * i, 3); }));
  for (int round = 0; round < 3; ++round) {
    collect_clean();
    churn();
    for (std::uint64_t i = 0; i < gens.size(); ++i) {
      ASSERT_TRUE(gens[i].next());
      ASSERT_EQ(gens[i].value(), expected_checksum(10000 + 100 * i))
          << "generator " << i << ", round " << round << ": a frame local was freed";
    }
  }
}

TEST(Coroutines, FramesAreUnregisteredWhenDestroyed) {
  using tricolor::roots::range_kind;
  using tricolor::roots::registered_ranges;
  std::size_t before = registered_ranges(range_kind::frame);
  {
    auto g = checksums(5, 2);
    EXPECT_EQ(registered_ranges(range_kind::frame), before + 1);
    g.next();
  }
  EXPECT_EQ(registered_ranges(range_kind::frame), before)
      << "a destroyed coroutine's frame is still registered";
}

// --- a task that hops to another thread --------------------------------------
// A fire-and-forget coroutine type, and an awaitable that hands the
// coroutine to a worker thread (a one-thread executor: std::mutex,
// std::condition_variable, a queue of handles).
class executor {
 public:
  executor() : thread_([this] { run(); }) {}
  ~executor() {
    {
      std::lock_guard guard(lock_);
      stopping_ = true;
    }
    ready_.notify_one();
    thread_.join();
  }
  void post(std::coroutine_handle<> h) {
    {
      std::lock_guard guard(lock_);
      queue_.push_back(h);
    }
    ready_.notify_one();
  }
  auto schedule() {
    struct awaiter {
      executor* ex;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) { ex->post(h); }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }
  std::thread::id id() const { return thread_.get_id(); }

 private:
  void run() {
    for (;;) {
      std::coroutine_handle<> h;
      {
        std::unique_lock guard(lock_);
        ready_.wait(guard, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        h = queue_.front();
        queue_.pop_front();
      }
      h.resume();
    }
  }

  std::mutex lock_;
  std::condition_variable ready_;
  std::deque<std::coroutine_handle<>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

struct fire_and_forget {
  struct promise_type : frame_base {
    fire_and_forget get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

// A one-shot event the test sets; the coroutine parks its handle in it.
struct event {
  std::mutex lock;
  std::coroutine_handle<> waiter;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) {
    std::lock_guard guard(lock);
    waiter = h;
  }
  void await_resume() const noexcept {}
  std::coroutine_handle<> take() {
    std::lock_guard guard(lock);
    return std::exchange(waiter, {});
  }
};

struct hop_report {
  std::mutex lock;
  std::condition_variable done_signal;
  bool done = false;
  bool ran_on_worker = false;
  std::uint64_t checksum = 0;
};

fire_and_forget hop(executor& worker, event& parked, hop_report& report, std::uint64_t first) {
  gc_ptr<counted> kept = make_gc<counted>(&destroyed, first);
  co_await parked;            // suspended: the test collects
  co_await worker.schedule();  // resumed on the worker thread
  bool on_worker = std::this_thread::get_id() == worker.id();
  std::uint64_t sum = kept->id == first && kept->intact() ? kept->check : 0;
  std::lock_guard guard(report.lock);
  report.ran_on_worker = on_worker;
  report.checksum = sum;
  report.done = true;
  report.done_signal.notify_all();
}

TEST(Coroutines, ResumedFromAnotherThread) {
  executor worker;
  event parked;
  hop_report report;
  tricolor_test::isolated([&] { hop(worker, parked, report, 4242); });
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    churn();
  }
  std::coroutine_handle<> h = parked.take();
  ASSERT_TRUE(h) << "the coroutine did not park";
  h.resume();  // goes on to the worker thread
  {
    std::unique_lock guard(report.lock);
    report.done_signal.wait(guard, [&] { return report.done; });
  }
  EXPECT_TRUE(report.ran_on_worker);
  EXPECT_EQ(report.checksum, counted::mix(4242))
      << "the frame's gc_ptr was freed while the coroutine was suspended";
}

// Many coroutines hop back and forth between the main thread and a worker
// while a third thread collects in a loop.
fire_and_forget ping(executor& worker, std::atomic<int>& finished,
                     std::atomic<int>& corrupted, std::uint64_t first) {
  gc_ptr<counted> kept = make_gc<counted>(&destroyed, first);
  for (int i = 0; i < 20; ++i) {
    co_await worker.schedule();
    gc_ptr<counted> fresh = make_gc<counted>(&destroyed, first + 1 + i);
    if (kept->id != first || !kept->intact()) corrupted.fetch_add(1);
    co_await worker.schedule();
    if (fresh->id != first + 1 + i || !fresh->intact()) corrupted.fetch_add(1);
  }
  finished.fetch_add(1);
}

TEST(Coroutines, HoppingWhileTheCollectorRuns) {
  std::atomic<bool> stop{false};
  std::thread collector([&] {
    while (!stop.load()) tricolor::collect();
  });
  std::atomic<int> finished{0}, corrupted{0};
  {
    executor worker;
    for (std::uint64_t i = 0; i < 100; ++i) ping(worker, finished, corrupted, 1000000 + 100 * i);
    while (finished.load() < 100) {
      tricolor::blocking_scope blocking;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  stop = true;
  collector.join();
  EXPECT_EQ(corrupted.load(), 0) << "gc_ptrs in coroutine frames were freed";
}

}  // namespace
