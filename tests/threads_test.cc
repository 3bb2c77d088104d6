// Threads as an ordinary C++ program uses them (SPEC §2.2, "Threads need no
// ceremony"): plain std::thread, std::mutex, std::condition_variable,
// std::deque, function-local statics, std::call_once, exceptions, fork() -
// and NOT ONE tricolor::blocking_scope or registration call. What the
// collector must do for that:
//
//   1. know every thread from its creation (std::thread / pthread_create) and
//      the main thread from load time, allocating or not;
//   2. stop a registered thread that is blocked in the kernel (mutex,
//      condition variable, join, the guard of a function-local static,
//      call_once, sleep, read() on a pipe) without its cooperation, and scan
//      its stack and ALL its registers (callee- and caller-saved) as they were
//      when it was stopped;
//   3. work in the child of a fork() without exec (only the forking thread
//      lives there; the collector thread must come back on first need).
//
// The tests, and what each shows when it fails:
//
//   MainThread       the main thread's stack alone keeps an object alive
//                    while another thread collects and main waits in join()
//                    (run first in the binary, main has made no tricolor
//                    call before it: registration at load time).
//   ThreadPool       4-8 workers waiting on a condition variable for
//                    std::function tasks in a std::deque; tasks build and
//                    check small trees (some sleep, some throw) while paced
//                    cycles and collect() from the main thread run.
//   ProducerConsumer a mutex-guarded std::deque<gc_root<message>> between
//                    producers and consumers that block on it; every message
//                    checked on receipt, each received exactly once.
//   LocalStatic      an initializer that allocates and sleeps, raced by 8
//                    threads (7 wait in the static's guard / in call_once)
//                    while another thread calls collect() in a loop.
//   NeverAllocatingReaders
//                    threads that never make a tricolor call hold the only
//                    copy of a pointer on their stacks while main collects.
//   BlockedHolder    a thread blocked in read() on a pipe, in sleep_for, in
//                    join holds the only reference to an object on its stack.
//   RegisterOnly     the only reference is in one register (rbx, callee-
//                    saved; r8, caller-saved) of a thread blocked in a raw
//                    read system call (x86-64 only).
//   Fork             children after the collector thread started, with other
//                    threads alive, and while another thread allocates.
//   ShortLivedThreads
//                    waves of threads that overwrite pointers in a shared,
//                    mutex-guarded array while cycles run back to back, and
//                    exit (each exit hands what the thread's write barrier
//                    recorded to the marker); a hang is the failure looked
//                    for, every node is checked at the end.
//
// "Kept alive" is observed by contents (ids and checksums derived from them,
// every tree node by node) after churn() has recycled freed slots, and by
// destructors that poison their object and set a "dead" flag. Every test
// expects things to be KEPT; none asserts that something was freed, so stale
// copies of addresses (tests/test_support.hpp) could only hide a bug, never
// fake one. Where that matters (the object's only reference must really be
// the one under test) the allocation happens on another thread or in a
// helper frame, main touches the address only inside isolated(), and
// collect_clean() zeroes the dead stack; RegisterOnly explains its own care.
//
// A hang is a failure: the fixture arms an alarm() watchdog for each test
// (TRICOLOR_THREADS_WATCHDOG_SECONDS, default 60) whose handler names the
// test and what it was doing, then calls std::_Exit(1). A collector that does
// not stop blocked threads hangs here (its stop-the-world waits forever),
// and its own "waiting more than 1 s for thread N" line appears above.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <latch>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::make_gc_array;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint64_t poison = 0xdeaddeaddeaddeadull;

std::uint64_t mix(std::uint64_t x) { return counted::mix(x); }

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%" PRIx64, value);
  return buffer;
}

// ---------------------------------------------------------------------------
// The watchdog and the fatal-signal reporter.

char current_test[256] = "(no test)";
std::atomic<const char*> current_stage{"starting"};

// Says what the test is doing; the watchdog and the fatal-signal reporter
// print it.
void stage(const char* what) { current_stage.store(what, std::memory_order_relaxed); }

using tricolor_test::append;
using tricolor_test::write_all;

unsigned watchdog_seconds() {
  static const unsigned seconds = [] {
    const char* value = std::getenv("TRICOLOR_THREADS_WATCHDOG_SECONDS");
    if (value == nullptr || *value == '\0') return 60u;
    char* end = nullptr;
    unsigned long s = std::strtoul(value, &end, 10);
    if (end == value || *end != '\0' || s < 2 || s > 3600) {
      std::fprintf(stderr,
                   "threads_test: TRICOLOR_THREADS_WATCHDOG_SECONDS=%s is not a number "
                   "of seconds (2-3600); using 60\n",
                   value);
      return 60u;
    }
    return unsigned(s);
  }();
  return seconds;
}

extern "C" void on_watchdog(int) {
  char buffer[900];
  char* out = buffer;
  const char* end = buffer + sizeof buffer - 1;
  append(out, end, "\nthreads_test: WATCHDOG: ");
  append(out, end, current_test);
  append(out, end, " did not finish within ");
  append(out, end, std::uint64_t(watchdog_seconds()));
  append(out, end, " s (pid ");
  append(out, end, std::uint64_t(getpid()));
  append(out, end, "); it hung while: ");
  append(out, end, current_stage.load(std::memory_order_relaxed));
  append(out, end,
         ".\nthreads_test: a thread blocked in the kernel was not stopped by the "
         "collector, or a collection never finished. Exiting with status 1.\n");
  write_all(buffer, out);
  std::_Exit(1);
}

extern "C" void on_fatal_signal(int signal_number) {
  char buffer[600];
  char* out = buffer;
  const char* end = buffer + sizeof buffer - 1;
  append(out, end, "\nthreads_test: fatal signal ");
  append(out, end, std::uint64_t(signal_number));
  append(out, end, " in ");
  append(out, end, current_test);
  append(out, end, " (pid ");
  append(out, end, std::uint64_t(getpid()));
  append(out, end, ") while: ");
  append(out, end, current_stage.load(std::memory_order_relaxed));
  append(out, end, "\n");
  write_all(buffer, out);
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

// Every test runs under the watchdog and the fatal-signal reporter.
class threads_test : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::snprintf(current_test, sizeof current_test, "%s.%s", info->test_suite_name(),
                  info->name());
    stage("starting");
    struct sigaction action {};
    action.sa_handler = on_watchdog;
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, nullptr);
    alarm(watchdog_seconds());
    reporter_.emplace(on_fatal_signal);
  }
  void TearDown() override {
    alarm(0);
    reporter_.reset();
    stage("finished");
  }

 private:
  std::optional<tricolor_test::fatal_signal_reporter> reporter_;
};

class MainThread : public threads_test {};
class ThreadPool : public threads_test {};
class ProducerConsumer : public threads_test {};
class LocalStatic : public threads_test {};
class NeverAllocatingReaders : public threads_test {};
class BlockedHolder : public threads_test {};
class RegisterOnly : public threads_test {};
class Fork : public threads_test {};
class LateThread : public threads_test {};
class HandOff : public threads_test {};
class ShortLivedThreads : public threads_test {};

// Sets the GC percent for a test and restores it.
class gc_percent_for_test {
 public:
  explicit gc_percent_for_test(int percent) : previous_(tricolor::set_gc_percent(percent)) {}
  ~gc_percent_for_test() { tricolor::set_gc_percent(previous_); }
  gc_percent_for_test(const gc_percent_for_test&) = delete;
  gc_percent_for_test& operator=(const gc_percent_for_test&) = delete;

 private:
  int previous_;
};

// Collects problems found on any thread (a leaf lock: nothing managed is
// touched under it).
class problem_list {
 public:
  void add(std::string problem) {
    std::lock_guard lock(mutex_);
    ++count_;
    if (problems_.size() < 20) problems_.push_back(std::move(problem));
  }
  // Reports every problem as a test failure; true if there was none.
  bool report() {
    std::lock_guard lock(mutex_);
    for (const auto& p : problems_) ADD_FAILURE() << p;
    if (count_ > problems_.size())
      ADD_FAILURE() << (count_ - problems_.size()) << " more problems not shown";
    return count_ == 0;
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> problems_;
  std::size_t count_ = 0;
};

// ---------------------------------------------------------------------------
// Managed types.

// A noscan object with a "dead" flag its destructor sets, and contents
// derived from its id.
struct watched {
  watched(std::uint64_t id, std::atomic<bool>* dead) : id(id), check(mix(id)), dead(dead) {
    for (std::size_t k = 0; k < 8; ++k) words[k] = mix(id * 8 + k);
  }
  ~watched() {
    check = poison;
    for (auto& w : words) w = poison;
    if (dead) dead->store(true);
  }
  std::uint64_t id;
  std::uint64_t check;
  std::uint64_t words[8];
  std::atomic<bool>* dead;
};

// A "dead" flag for one object: static storage (a destructor may run during
// a later test's collection, so the flag must outlive every test), and never
// handed out twice (up to 4096 objects: hundreds of --gtest_repeat rounds),
// so an earlier test's garbage dying during a later test cannot set it.
std::atomic<bool>* fresh_dead_flag() {
  static std::atomic<bool> flags[4096];
  static std::atomic<std::size_t> next{0};
  std::atomic<bool>* flag = &flags[next.fetch_add(1) % 4096];
  flag->store(false);
  return flag;
}

// "" if the object is intact and its destructor has not run.
[[gnu::noinline]] std::string watched_problem(const watched* object, std::uint64_t id,
                                              const std::atomic<bool>& dead) {
  if (dead.load())
    return "object " + std::to_string(id) + " was destroyed (its destructor ran) while a "
           "thread still held it";
  if (object == nullptr) return "object " + std::to_string(id) + ": null pointer";
  if (object->id != id || object->check != mix(id))
    return "object " + std::to_string(id) + " at " + hex(reinterpret_cast<std::uintptr_t>(object)) +
           " has id " + std::to_string(object->id) + " and checksum " + hex(object->check) +
           ": freed and reused";
  for (std::size_t k = 0; k < 8; ++k)
    if (object->words[k] != mix(id * 8 + k))
      return "object " + std::to_string(id) + ": word " + std::to_string(k) + " is " +
             hex(object->words[k]) + ": freed and reused";
  return {};
}

// Tree nodes. build_tree(depth, base) makes a complete binary tree with
// depth levels below the root; the node at heap index k (root 1, children 2k
// and 2k + 1) has id tree_id(base, k).
std::atomic<std::uint64_t> tnodes_destroyed{0};

struct tnode {
  explicit tnode(std::uint64_t id) : id(id), check(mix(id)), word(mix(id ^ 0x5a5a5a5a)) {}
  ~tnode() {
    check = poison;
    word = poison;
    tnodes_destroyed.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t id;
  std::uint64_t check;
  std::uint64_t word;
  gc_ptr<tnode> left, right;
  void trace(tricolor::tracer& t) const { t(left, right); }
};

constexpr std::uint64_t tree_id(std::uint64_t base, std::uint64_t index) {
  return base * 4096 + index;
}

[[gnu::noinline]] gc_ptr<tnode> build_tree(int depth, std::uint64_t base,
                                           std::uint64_t index = 1) {
  gc_ptr<tnode> node = make_gc<tnode>(tree_id(base, index));
  if (depth > 0) {
    node->left = build_tree(depth - 1, base, 2 * index);
    node->right = build_tree(depth - 1, base, 2 * index + 1);
  }
  return node;
}

bool check_subtree(const tnode* node, int depth, std::uint64_t base, std::uint64_t index,
                   std::string& problem) {
  const std::uint64_t id = tree_id(base, index);
  if (node == nullptr) {
    problem = "node " + std::to_string(index) + " of tree " + std::to_string(base) +
              " is missing (a null edge where a child was stored)";
    return false;
  }
  if (node->id != id || node->check != mix(id) || node->word != mix(id ^ 0x5a5a5a5a)) {
    problem = "node " + std::to_string(index) + " of tree " + std::to_string(base) + " at " +
              hex(reinterpret_cast<std::uintptr_t>(node)) + " has id " + std::to_string(node->id) +
              ", checksum " + hex(node->check) + ", word " + hex(node->word) + " (expected id " +
              std::to_string(id) + "): " +
              (node->check == poison ? "its destructor ran while it was reachable"
                                     : "freed and reused while reachable");
    return false;
  }
  if (depth == 0) {
    if (node->left || node->right) {
      problem = "leaf " + std::to_string(index) + " of tree " + std::to_string(base) +
                " has children";
      return false;
    }
    return true;
  }
  return check_subtree(node->left.get(), depth - 1, base, 2 * index, problem) &&
         check_subtree(node->right.get(), depth - 1, base, 2 * index + 1, problem);
}

// "" if the tree is intact, node by node; else what is wrong with the first
// damaged node.
[[gnu::noinline]] std::string tree_problem(const gc_ptr<tnode>& root, int depth,
                                           std::uint64_t base) {
  std::string problem;
  check_subtree(root.get(), depth, base, 1, problem);
  return problem;
}

// ---------------------------------------------------------------------------
// Where a thread is blocked: /proc/self/task/<tid>/syscall shows the system
// call number and its arguments while the thread is in one ("running"
// otherwise).

struct syscall_state {
  long nr = -1;  // -1: running, or unreadable
  unsigned long long arg0 = 0;
  std::string raw;
};

syscall_state read_syscall_state(pid_t tid) {
  syscall_state state;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/syscall", int(tid));
  FILE* file = std::fopen(path, "r");
  if (file == nullptr) {
    state.raw = std::string("cannot open ") + path + ": " + std::strerror(errno);
    return state;
  }
  char buffer[256];
  std::size_t n = std::fread(buffer, 1, sizeof buffer - 1, file);
  std::fclose(file);
  buffer[n] = '\0';
  if (n > 0 && buffer[n - 1] == '\n') buffer[n - 1] = '\0';
  state.raw = buffer;
  char* end = nullptr;
  long nr = std::strtol(buffer, &end, 10);
  if (end == buffer) return state;  // "running"
  state.nr = nr;
  state.arg0 = std::strtoull(end, nullptr, 16);
  return state;
}

// Waits (up to 10 s) until thread `tid` sits in a system call that `matches`
// accepts; "" then, else what /proc showed last.
template <class Match>
std::string wait_until_blocked(pid_t tid, Match&& matches) {
  const auto until = clock_type::now() + 10s;
  syscall_state state;
  while (clock_type::now() < until) {
    state = read_syscall_state(tid);
    if (state.nr >= 0 && matches(state)) {
      // Seen twice 5 ms apart: it is blocked, not passing through.
      std::this_thread::sleep_for(5ms);
      syscall_state again = read_syscall_state(tid);
      if (again.nr == state.nr && again.arg0 == state.arg0) return {};
    }
    std::this_thread::sleep_for(1ms);
  }
  return "thread " + std::to_string(tid) + " was not seen blocked in the expected system call "
         "within 10 s; /proc/self/task/" + std::to_string(tid) + "/syscall last showed \"" +
         state.raw + "\"";
}

bool is_sleep_syscall(long nr) {
#ifdef SYS_nanosleep
  if (nr == SYS_nanosleep) return true;
#endif
  return nr == SYS_clock_nanosleep;
}

// ---------------------------------------------------------------------------
// MainThread: run first, main has made no tricolor call before it.

gc_ptr<watched> main_mailbox;
constexpr std::uint64_t main_object_id = 1001;

TEST_F(MainThread, StackAloneKeepsObjectAliveWhileAnotherThreadCollects) {
  std::atomic<bool>* const dead = fresh_dead_flag();
  stage("a maker thread allocates the object into a global slot");
  std::thread maker([dead] { main_mailbox = make_gc<watched>(main_object_id, dead); });
  maker.join();
  // From here on main's own stack (or a callee-saved register) holds the only
  // reference; the maker is gone.
  gc_ptr<watched> mine = main_mailbox;
  main_mailbox = nullptr;
  stage("main blocked in join() while another thread runs collect() and churns");
  std::thread collector([] {
    for (int i = 0; i < 4; ++i) {
      collect_clean();
      churn(5000);
    }
  });
  collector.join();
  stage("checking");
  EXPECT_FALSE(dead->load())
      << "an object held only on the main thread's stack was destroyed while main waited "
         "in join() and another thread collected: the main thread's stack was not scanned "
         "(is main registered at load time?)";
  EXPECT_EQ(watched_problem(mine.get(), main_object_id, *dead), "");
}

// ---------------------------------------------------------------------------
// ThreadPool.

// An ordinary thread pool: workers wait on a condition variable for tasks in
// a deque; an exception thrown by a task is caught and recorded.
class thread_pool {
 public:
  explicit thread_pool(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
  }
  ~thread_pool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  void submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    work_ready_.notify_one();
  }

  // Waits up to `timeout` for every submitted task to finish.
  bool wait_idle_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return idle_.wait_for(lock, timeout, [&] { return tasks_.empty() && busy_ == 0; });
  }

  std::vector<std::string> exceptions() {
    std::lock_guard lock(mutex_);
    return exceptions_;
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mutex_);
        work_ready_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;  // stopping
        task = std::move(tasks_.front());
        tasks_.pop_front();
        ++busy_;
      }
      std::string failure;
      try {
        task();
      } catch (const std::exception& e) {
        failure = e.what();
      }
      task = nullptr;  // the task's captures (gc_roots) go now
      std::lock_guard lock(mutex_);
      if (!failure.empty()) exceptions_.push_back(std::move(failure));
      if (--busy_ == 0 && tasks_.empty()) idle_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> tasks_;
  int busy_ = 0;
  bool stopping_ = false;
  std::vector<std::string> exceptions_;
  std::vector<std::thread> workers_;
};

constexpr std::uint64_t pool_base = 10000;
constexpr std::uint64_t forest_base = 9000;
constexpr int forest_depth = 8;
constexpr int forest_size = 4;

int pool_tree_depth(int task) { return 4 + task % 4; }
bool pool_task_throws(int task) { return task % 11 == 5; }

[[gnu::noinline]] void make_pool_garbage(int count) {
  for (int i = 0; i < count; ++i) {
    gc_ptr<tnode> junk = make_gc<tnode>(0);
    junk->left = junk;  // cyclic garbage
    asm volatile("" : : "r"(junk.get()) : "memory");
  }
}

TEST_F(ThreadPool, TasksBuildTreesWhileCyclesRun) {
  constexpr int workers = 6;
  constexpr int batches = 8;
  constexpr int batch_size = 60;
  constexpr int task_count = batches * batch_size;
  gc_percent_for_test pacing(25);  // paced cycles come often
  const std::uint64_t cycles_before = tricolor::read_stats().num_gc;

  stage("building the shared forest");
  std::vector<gc_root<tnode>> forest;
  for (int k = 0; k < forest_size; ++k)
    forest.emplace_back(build_tree(forest_depth, forest_base + std::uint64_t(k)),
                        "thread_pool.forest");

  problem_list problems;
  std::mutex results_mutex;
  std::vector<gc_root<tnode>> results(task_count);
  std::atomic<int> naps{0};

  int forced = 0;
  {
    thread_pool pool(workers);
    for (int b = 0; b < batches; ++b) {
      stage("submitting a batch of tasks");
      for (int i = b * batch_size; i < (b + 1) * batch_size; ++i) {
        // The task captures a gc_root (a precise root, wherever the
        // std::function keeps it) and plain values; never a gc_ptr, which in
        // the std::function's malloc'd storage would not be seen.
        gc_root<tnode> input = forest[std::size_t(i % forest_size)];
        pool.submit([i, input, &problems, &results, &results_mutex, &naps] {
          const std::uint64_t base = pool_base + std::uint64_t(i);
          const int depth = pool_tree_depth(i);
          if (i % 3 == 0) {
            std::string p = tree_problem(input.get(), forest_depth,
                                         forest_base + std::uint64_t(i % forest_size));
            if (!p.empty()) problems.add("task " + std::to_string(i) + ", the forest tree: " + p);
          }
          gc_ptr<tnode> tree = build_tree(depth, base);
          make_pool_garbage(400);
          if (i % 4 == 0) {
            // "I/O": blocked in the kernel with the tree only on this stack.
            std::this_thread::sleep_for(1ms);
            naps.fetch_add(1, std::memory_order_relaxed);
          }
          if (pool_task_throws(i)) {
            gc_ptr<tnode> partial = build_tree(3, base + 100000);
            std::string p = tree_problem(partial, 3, base + 100000);
            if (!p.empty()) problems.add("task " + std::to_string(i) + ", partial tree: " + p);
            throw std::runtime_error("task " + std::to_string(i) +
                                     ": simulated failure after building a partial tree");
          }
          std::string p = tree_problem(tree, depth, base);
          if (!p.empty()) {
            problems.add("task " + std::to_string(i) + ", its own tree before handing it back: " + p);
            return;
          }
          std::lock_guard lock(results_mutex);
          results[std::size_t(i)] = tree;
        });
      }
      stage("main thread in collect() while the pool works");
      tricolor::collect();
      ++forced;
    }
    stage("main thread waiting for the pool (condition_variable::wait_for), collecting meanwhile");
    while (!pool.wait_idle_for(5ms)) {
      tricolor::collect();
      ++forced;
    }
    stage("checking the exceptions the pool caught");
    std::vector<std::string> exceptions = pool.exceptions();
    int expected_exceptions = 0;
    for (int i = 0; i < task_count; ++i) expected_exceptions += pool_task_throws(i);
    EXPECT_EQ(int(exceptions.size()), expected_exceptions)
        << "the pool caught a different number of exceptions than the tasks threw";
    for (const auto& e : exceptions)
      EXPECT_NE(e.find("simulated failure"), std::string::npos) << "unexpected exception: " << e;
    stage("joining the pool's workers");
  }

  stage("checking every result node by node");
  problems.report();
  auto check_results = [&](const char* when) {
    int missing = 0, damaged = 0;
    for (int i = 0; i < task_count; ++i) {
      if (pool_task_throws(i)) {
        EXPECT_FALSE(results[std::size_t(i)]) << "task " << i << " threw but left a result";
        continue;
      }
      if (!results[std::size_t(i)]) {
        ++missing;
        continue;
      }
      std::string p = tree_problem(results[std::size_t(i)].get(), pool_tree_depth(i),
                                   pool_base + std::uint64_t(i));
      if (!p.empty() && ++damaged <= 5) ADD_FAILURE() << when << ", task " << i << "'s tree: " << p;
    }
    EXPECT_EQ(missing, 0) << when << ": tasks that did not hand back a tree";
    EXPECT_EQ(damaged, 0) << when << ": result trees damaged";
  };
  check_results("after the pool finished");
  stage("two more collections, then checking every result again");
  tricolor_test::isolated([] { collect_clean(); churn(); collect_clean(); });
  check_results("after two more collections");
  for (int k = 0; k < forest_size; ++k)
    EXPECT_EQ(tree_problem(forest[std::size_t(k)].get(), forest_depth,
                           forest_base + std::uint64_t(k)),
              "");
  const std::uint64_t cycles = tricolor::read_stats().num_gc - cycles_before;
  std::printf("thread_pool: %d tasks on %d workers, %d collect() calls from main, %" PRIu64
              " cycles in all, %d tasks slept holding their tree\n",
              task_count, workers, forced, cycles, naps.load());
  EXPECT_GE(cycles, std::uint64_t(forced));
  EXPECT_GE(forced, batches) << "collections did not overlap the tasks";
}

// ---------------------------------------------------------------------------
// ProducerConsumer.

// A message: 1-4 parts chained by `next`, each with a noscan body.
struct message {
  message(std::uint32_t producer, std::uint32_t seq, std::uint32_t part)
      : producer(producer), seq(seq), part(part), check(mix(key() * 8 + part)) {}
  ~message() { check = poison; }
  std::uint64_t key() const { return (std::uint64_t(producer) << 32) | seq; }

  std::uint32_t producer, seq, part;
  std::uint64_t check;
  gc_ptr<gc_array<std::uint64_t>> body;  // body[k] == mix(check + k)
  gc_ptr<message> next;
  void trace(tricolor::tracer& t) const { t(body, next); }
};

std::uint32_t parts_of(std::uint32_t seq) { return 1 + seq % 4; }
std::size_t body_length(std::uint32_t seq, std::uint32_t part) { return 1 + (seq * 7 + part) % 40; }

[[gnu::noinline]] gc_ptr<message> make_message(std::uint32_t producer, std::uint32_t seq) {
  gc_ptr<message> head;
  for (std::uint32_t part = parts_of(seq); part-- > 0;) {
    gc_ptr<message> m = make_gc<message>(producer, seq, part);
    const std::size_t n = body_length(seq, part);
    auto body = make_gc_array<std::uint64_t>(n);
    for (std::size_t k = 0; k < n; ++k) (*body)[k] = mix(m->check + k);
    m->body = body;
    m->next = head;
    head = m;
  }
  return head;
}

// "" if the message (as its head says it is) is intact, part by part.
[[gnu::noinline]] std::string message_problem(const gc_ptr<message>& head) {
  const std::uint32_t producer = head->producer, seq = head->seq;
  const std::string name = "message " + std::to_string(producer) + "/" + std::to_string(seq);
  gc_ptr<message> m = head;
  for (std::uint32_t part = 0; part < parts_of(seq); ++part) {
    if (!m) return name + ": part " + std::to_string(part) + " is missing";
    std::uint64_t key = (std::uint64_t(producer) << 32) | seq;
    if (m->producer != producer || m->seq != seq || m->part != part ||
        m->check != mix(key * 8 + part))
      return name + ": part " + std::to_string(part) + " at " +
             hex(reinterpret_cast<std::uintptr_t>(m.get())) + " is damaged (check " +
             hex(m->check) + "): freed and reused while queued or held";
    const std::size_t n = body_length(seq, part);
    if (!m->body || m->body->size() != n)
      return name + ": part " + std::to_string(part) + "'s body has the wrong length";
    for (std::size_t k = 0; k < n; ++k)
      if ((*m->body)[k] != mix(m->check + k))
        return name + ": part " + std::to_string(part) + ", body word " + std::to_string(k) +
               " is " + hex((*m->body)[k]) + ": the body was freed and reused";
    m = m->next;
  }
  if (m) return name + ": has more parts than it should";
  return {};
}

class message_queue {
 public:
  void push(const gc_ptr<message>& m) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return queue_.size() < capacity; });
    queue_.emplace_back(m, "producer_consumer.queue");
    not_empty_.notify_one();
  }
  // False once the queue is closed and drained.
  bool pop(gc_root<message>& out) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || closed_; });
    if (queue_.empty()) return false;
    out = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  static constexpr std::size_t capacity = 32;
  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<gc_root<message>> queue_;
  bool closed_ = false;
};

TEST_F(ProducerConsumer, GcRootsThroughMutexGuardedDeque) {
  constexpr std::uint32_t producers = 4;
  constexpr std::uint32_t per_producer = 1500;
  constexpr int consumers = 3;
  gc_percent_for_test pacing(50);
  message_queue queue;
  problem_list problems;
  std::vector<std::atomic<std::uint8_t>> received(producers * per_producer);
  std::atomic<std::uint32_t> producers_done{0};
  std::atomic<std::uint64_t> held_on_stack{0};
  // Halfway through, each producer waits for three collections by main, so
  // that cycles overlap the traffic however fast or slow the build is.
  std::atomic<int> collections{0};
  constexpr int overlapping_collections = 3;

  stage("starting producers and consumers");
  std::vector<std::thread> consumer_threads;
  for (int c = 0; c < consumers; ++c) {
    consumer_threads.emplace_back([&, c] {
      gc_root<message> root;
      while (queue.pop(root)) {
        gc_ptr<message> m = root.get();
        if (!m) {
          problems.add("consumer " + std::to_string(c) + " received an empty gc_root");
          continue;
        }
        if (m->seq % 8 == 3) {
          // Drop the root and hold the message only on this stack while
          // blocked in the kernel.
          root = nullptr;
          std::this_thread::sleep_for(100us);
          held_on_stack.fetch_add(1, std::memory_order_relaxed);
        }
        std::string p = message_problem(m);
        if (!p.empty()) {
          problems.add("consumer " + std::to_string(c) + ": " + p);
          continue;
        }
        if (m->producer >= producers || m->seq >= per_producer) {
          problems.add("consumer " + std::to_string(c) + ": a message with an impossible key");
          continue;
        }
        received[m->producer * per_producer + m->seq].fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  std::vector<std::thread> producer_threads;
  for (std::uint32_t p = 0; p < producers; ++p) {
    producer_threads.emplace_back([&, p] {
      for (std::uint32_t seq = 0; seq < per_producer; ++seq) {
        if (seq == per_producer / 2)
          while (collections.load() < overlapping_collections)
            std::this_thread::sleep_for(1ms);
        gc_ptr<message> m = make_message(p, seq);
        churn(20);
        queue.push(m);  // may block while the queue is full, holding m
      }
      producers_done.fetch_add(1);
    });
  }
  stage("main thread calling collect() while messages flow");
  int forced = 0;
  while (producers_done.load() < producers) {
    tricolor::collect();
    collections.store(++forced);
    std::this_thread::sleep_for(2ms);
  }
  stage("joining producers");
  for (auto& t : producer_threads) t.join();
  queue.close();
  stage("joining consumers");
  for (auto& t : consumer_threads) t.join();

  stage("checking");
  problems.report();
  int lost = 0, duplicated = 0;
  for (std::size_t i = 0; i < received.size(); ++i) {
    const int n = received[i].load();
    if (n == 0 && ++lost <= 5)
      ADD_FAILURE() << "message " << i / per_producer << "/" << i % per_producer << " never arrived";
    if (n > 1 && ++duplicated <= 5)
      ADD_FAILURE() << "message " << i / per_producer << "/" << i % per_producer << " arrived "
                    << n << " times";
  }
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicated, 0);
  std::printf("producer_consumer: %u messages, %d collect() calls from main, %" PRIu64
              " held only on a consumer's stack across a sleep\n",
              producers * per_producer, forced, held_on_stack.load());
}

// ---------------------------------------------------------------------------
// LocalStatic.

// The initializer: allocates a tree, then sleeps (the tree only on its
// stack) and allocates garbage, while the other threads wait for it.
struct slow_init_probe {
  std::atomic<int> runs{0};
  std::atomic<bool> inside{false};
  // Collections that began and ended while the initializer ran.
  std::atomic<int> cycles_inside{0};
};

// The initializer stays inside until this many collections ran meanwhile
// (or 30 s passed, which the test reports), whatever the build's speed.
constexpr int cycles_inside_initializer = 2;

constexpr int slow_tree_depth = 7;

[[gnu::noinline]] gc_ptr<tnode> slow_initializer(slow_init_probe& probe, std::uint64_t base) {
  probe.runs.fetch_add(1);
  gc_ptr<tnode> tree = build_tree(slow_tree_depth, base);
  probe.inside.store(true);
  std::this_thread::sleep_for(50ms);
  churn(5000);
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (probe.cycles_inside.load() < cycles_inside_initializer &&
         std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(10ms);
  probe.inside.store(false);
  return tree;
}

slow_init_probe static_probe;
constexpr std::uint64_t static_tree_base = 20000;

const gc_ptr<tnode>& slow_static() {
  static gc_ptr<tnode> config = slow_initializer(static_probe, static_tree_base);
  return config;
}

slow_init_probe once_probe;
constexpr std::uint64_t once_tree_base = 20001;
std::once_flag once_flag;
gc_ptr<tnode> once_config;

const gc_ptr<tnode>& slow_call_once() {
  std::call_once(once_flag, [] { once_config = slow_initializer(once_probe, once_tree_base); });
  return once_config;
}

// Eight threads race for `get`; another thread calls collect() in a loop.
template <class Get>
void race_for_slow_initializer(slow_init_probe& probe, std::uint64_t base, Get get,
                               const char* what) {
#if defined(__SANITIZE_THREAD__)
  // TSan replaces the guard of function-local statics and pthread_once with
  // waits inside its own runtime, where the stop signal does not stop a
  // thread (roots/stop_signal.hpp): the collections would wait for the
  // initializer.
  GTEST_SKIP() << what << ": ThreadSanitizer's own guard waits are not stopped by the signal";
#endif
  if (probe.runs.load() != 0)
    GTEST_SKIP() << what << ": initialized by an earlier repetition (a function-local static "
                 "and a once_flag initialize once per process)";
  constexpr int racers = 8;
  problem_list problems;
  std::atomic<std::uintptr_t> seen[racers] = {};
  std::atomic<bool> stop{false};
  std::atomic<int>& cycles_inside = probe.cycles_inside;
  std::latch start(racers + 1);

  stage("starting the collecting thread and the racers");
  std::thread collector([&] {
    while (!stop.load()) {
      const bool began_inside = probe.inside.load();
      tricolor::collect();
      if (began_inside && probe.inside.load()) cycles_inside.fetch_add(1);
      std::this_thread::sleep_for(2ms);
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < racers; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      const gc_ptr<tnode>& value = get();  // 7 of 8 wait here for the initializer
      seen[t].store(reinterpret_cast<std::uintptr_t>(value.get()));
      std::string p = tree_problem(value, slow_tree_depth, base);
      if (!p.empty()) problems.add(std::string(what) + ", thread " + std::to_string(t) + ": " + p);
    });
  }
  stage(what);
  start.arrive_and_wait();
  for (auto& t : threads) t.join();
  stop.store(true);
  collector.join();

  stage("checking");
  problems.report();
  EXPECT_EQ(probe.runs.load(), 1) << what << ": the initializer ran more or less than once";
  for (int t = 1; t < racers; ++t)
    EXPECT_EQ(seen[t].load(), seen[0].load()) << what << ": threads saw different objects";
  EXPECT_GE(cycles_inside.load(), 2)
      << what << ": only " << cycles_inside.load()
      << " collect() calls began and ended while the initializer slept (300 ms): each "
         "collect() waited for the sleeping initializer to wake and reach a safepoint, i.e. a "
         "thread blocked in the kernel was not stopped (or the test proved little)";
  tricolor_test::isolated([] { collect_clean(); churn(); });
  EXPECT_EQ(tree_problem(get(), slow_tree_depth, base), "")
      << what << ": the initialized value did not survive later collections";
}

TEST_F(LocalStatic, InitializerAllocatesAndSleepsWhileSevenThreadsWaitInTheGuard) {
  race_for_slow_initializer(static_probe, static_tree_base, slow_static,
                            "8 threads racing for a function-local static whose initializer "
                            "allocates and sleeps, collect() in a loop on another thread");
}

TEST_F(LocalStatic, CallOnceInitializerAllocatesAndSleeps) {
  race_for_slow_initializer(once_probe, once_tree_base, slow_call_once,
                            "8 threads racing for std::call_once whose callable allocates "
                            "and sleeps, collect() in a loop on another thread");
}

// ---------------------------------------------------------------------------
// NeverAllocatingReaders.

constexpr int reader_count = 4;
gc_ptr<watched> reader_mailbox[reader_count];
std::atomic<bool>* reader_dead[reader_count];  // set before the readers start
constexpr std::uint64_t reader_base_id = 3000;

struct reader_board {
  std::mutex mutex;
  std::condition_variable changed;
  bool mail = false;
  int copied = 0;
  bool collected = false;
};

// How each reader keeps its copy: 0 a gc_ptr local, 1 a raw pointer forced
// into a stack slot, 2 an interior pointer (to words[5]) forced into a stack
// slot, 3 a gc_ptr in a local std::array. No reader makes any tricolor call:
// it copies, waits in the kernel, and reads.
[[gnu::noinline]] void reader_main(int index, reader_board& board, std::string& outcome) {
  const std::uint64_t id = reader_base_id + std::uint64_t(index);
  auto wait_for = [&](auto condition) {
    std::unique_lock lock(board.mutex);
    board.changed.wait(lock, condition);
  };
  auto say_copied = [&] {
    std::lock_guard lock(board.mutex);
    ++board.copied;
    board.changed.notify_all();
  };
  wait_for([&] { return board.mail; });
  const watched* object = nullptr;
  switch (index) {
    case 0: {
      gc_ptr<watched> copy = reader_mailbox[0];
      say_copied();
      wait_for([&] { return board.collected; });
      object = copy.get();
      break;
    }
    case 1: {
      const watched* volatile copy = reader_mailbox[1].get();
      say_copied();
      wait_for([&] { return board.collected; });
      object = copy;
      break;
    }
    case 2: {
      const std::uint64_t* volatile inner = &reader_mailbox[2]->words[5];
      say_copied();
      wait_for([&] { return board.collected; });
      // Only the interior pointer survived the wait; read the object
      // through it (words[0..7] lie around it).
      const std::uint64_t* words = inner - 5;
      for (std::size_t k = 0; k < 8; ++k)
        if (words[k] != mix(id * 8 + k)) {
          outcome = "reader 2 (interior pointer): word " + std::to_string(k) + " is " +
                    hex(words[k]) + ": the object was freed and reused";
          return;
        }
      if (reader_dead[2]->load())
        outcome = "reader 2 (interior pointer): the object's destructor ran";
      return;
    }
    default: {
      std::array<gc_ptr<watched>, 4> copies{};
      copies[2] = reader_mailbox[3];
      say_copied();
      wait_for([&] { return board.collected; });
      object = copies[2].get();
      break;
    }
  }
  outcome = watched_problem(object, id, *reader_dead[index]);
  if (!outcome.empty()) outcome = "reader " + std::to_string(index) + ": " + outcome;
}

TEST_F(NeverAllocatingReaders, StackCopyAloneKeepsObjectAlive) {
  for (auto& dead : reader_dead) dead = fresh_dead_flag();
  reader_board board;
  std::string outcomes[reader_count];
  stage("starting reader threads (they never make a tricolor call)");
  std::vector<std::thread> readers;
  for (int i = 0; i < reader_count; ++i)
    readers.emplace_back(reader_main, i, std::ref(board), std::ref(outcomes[i]));

  stage("a maker thread allocates the objects into global slots");
  std::thread maker([] {
    for (int i = 0; i < reader_count; ++i)
      reader_mailbox[i] = make_gc<watched>(reader_base_id + std::uint64_t(i), reader_dead[i]);
  });
  maker.join();
  stage("readers copy the pointers to their stacks");
  {
    std::unique_lock lock(board.mutex);
    board.mail = true;
    board.changed.notify_all();
    board.changed.wait(lock, [&] { return board.copied == reader_count; });
  }
  // The slots are cleared: each object now lives only on its reader's stack.
  tricolor_test::isolated([] {
    for (auto& slot : reader_mailbox) slot = nullptr;
  });
  stage("main thread collecting while the readers wait on a condition variable");
  tricolor_test::isolated([] {
    for (int c = 0; c < 4; ++c) {
      collect_clean();
      churn();
    }
  });
  int dead_after_collections = 0;
  for (auto* dead : reader_dead) dead_after_collections += dead->load();
  {
    std::lock_guard lock(board.mutex);
    board.collected = true;
    board.changed.notify_all();
  }
  stage("joining the readers");
  for (auto& t : readers) t.join();
  EXPECT_EQ(dead_after_collections, 0)
      << dead_after_collections << " of " << reader_count
      << " objects held only on the stacks of threads that never allocated were destroyed "
         "by collect(): those threads' stacks were not scanned (not registered at creation?)";
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome, "");
}

// ---------------------------------------------------------------------------
// BlockedHolder.

// A thread allocates an object and a tree, publishes its tid, and calls
// block(); until block() returns, its stack holds their only references.
// Main waits until /proc shows it blocked as `matches` expects, collects
// (recycling freed slots) four times, calls release(), and checks what the
// thread found after it woke.
template <class Block, class Match, class Release>
void hold_while_blocked(std::uint64_t id, Block block, Match matches, Release release,
                        const char* what) {
  std::atomic<bool>& dead = *fresh_dead_flag();
  std::atomic<pid_t> tid{0};
  std::string outcome = "the holder thread did not run";
  stage(what);
  std::thread holder([&] {
    gc_ptr<watched> object = make_gc<watched>(id, &dead);
    gc_ptr<tnode> tree = build_tree(6, id);
    tid.store(gettid());
    block();
    outcome = watched_problem(object.get(), id, dead);
    if (outcome.empty()) outcome = tree_problem(tree, 6, id);
  });
  while (tid.load() == 0) std::this_thread::sleep_for(1ms);
  std::string not_blocked = wait_until_blocked(tid.load(), matches);
  EXPECT_EQ(not_blocked, "") << what;
  tricolor_test::isolated([] {
    for (int c = 0; c < 4; ++c) {
      collect_clean();
      churn();
    }
  });
  const bool dead_while_blocked = dead.load();
  release();
  stage("joining the holder");
  holder.join();
  EXPECT_FALSE(dead_while_blocked)
      << what << ": the object held only on the blocked thread's stack was destroyed by "
                 "collect() while the thread was blocked";
  EXPECT_EQ(outcome, "") << what;
}

TEST_F(BlockedHolder, InPipeRead) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  hold_while_blocked(
      4001,
      [&] {
        char byte = 0;
        while (read(fds[0], &byte, 1) < 0 && errno == EINTR) {
        }
      },
      [&](const syscall_state& s) {
        return s.nr == SYS_read && s.arg0 == static_cast<unsigned long long>(fds[0]);
      },
      [&] { EXPECT_EQ(write(fds[1], "x", 1), 1); },
      "a thread blocked in read() on a pipe holds the only reference on its stack while "
      "main collects");
  close(fds[0]);
  close(fds[1]);
}

TEST_F(BlockedHolder, InSleepFor) {
  std::atomic<bool> wake{false};
  hold_while_blocked(
      4002,
      [&] {
        while (!wake.load()) std::this_thread::sleep_for(20ms);
      },
      [](const syscall_state& s) { return is_sleep_syscall(s.nr); }, [&] { wake.store(true); },
      "a thread blocked in std::this_thread::sleep_for holds the only reference on its "
      "stack while main collects");
}

TEST_F(BlockedHolder, InJoinOfALongRunningThread) {
  std::atomic<bool> finish{false};
  hold_while_blocked(
      4003,
      [&] {
        std::thread long_running([&] {
          while (!finish.load()) std::this_thread::sleep_for(20ms);
        });
        long_running.join();
      },
      [](const syscall_state& s) { return s.nr == SYS_futex; }, [&] { finish.store(true); },
      "a thread blocked in std::thread::join (of a thread that runs until released) holds "
      "the only reference on its stack while main collects");
}

// ---------------------------------------------------------------------------
// RegisterOnly.
//
// How the test makes sure the register is the object's ONLY reference while
// the thread is blocked:
//   * the object is allocated in a helper that stores it in a global slot
//     and returns nothing; the thread's own frame never holds the address;
//   * one inline-asm block (no C++ in between, so the compiler cannot spill
//     or copy the value) loads the slot into the chosen register and zeroes
//     the slot; zeroes 128 KiB below the stack pointer (the helper's dead
//     frames, the red zone, where stale copies could sit); zeroes every other
//     general register it may (rax-r15 but rbp and rsp, the chosen one
//     excepted: caller-saved ones may still hold the address from the
//     helper) and xmm0-15; and then blocks in a raw read system call on a
//     pipe (syscall preserves every register but rcx, r11 and rax), retrying
//     on EINTR, so no libc code can save the register on the stack;
//   * the slot is zeroed without the write barrier, which is only sound while
//     no cycle marks: pacing is off for the test (GC percent -1), a collect()
//     at its start finishes any cycle in flight, and main collects only once
//     /proc shows the thread blocked in that read;
//   * rbp is left alone (the compiler may need it); it holds the caller's
//     value, which never was the object's address.
// A collector that stops the thread with a signal must therefore find the
// pointer in the interrupted context's registers (the signal frame's
// ucontext): for r8, which no handler code preserves, nowhere else.

gc_ptr<watched> register_slot;
unsigned char register_read_byte;

[[gnu::noinline]] void allocate_into_register_slot(std::uint64_t id, std::atomic<bool>* dead) {
  register_slot = make_gc<watched>(id, dead);
  // Same-size garbage afterwards: the thread's allocation cursor moves on.
  for (int i = 0; i < 2000; ++i) {
    gc_ptr<watched> junk = make_gc<watched>(0, nullptr);
    asm volatile("" : : "r"(junk.get()) : "memory");
  }
}

#if defined(__x86_64__)

#define TRICOLOR_ZERO_BELOW_RSP       \
  "lea -131072(%%rsp), %%rdi\n\t"     \
  "mov $16384, %%ecx\n\t"             \
  "xor %%eax, %%eax\n\t"              \
  "cld\n\t"                           \
  "rep stosq\n\t"
#define TRICOLOR_ZERO_XMM                                                              \
  "pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"              \
  "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"              \
  "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"              \
  "pxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"          \
  "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\tpxor %%xmm14, %%xmm14\n\t"        \
  "pxor %%xmm15, %%xmm15\n\t"
#define TRICOLOR_READ_ONE_BYTE_RETRYING                                  \
  "mov %%edx, %%edi\n\t"  /* fd */                                       \
  "1:\n\t"                                                               \
  "mov %[nr], %%eax\n\t"                                                 \
  "mov $1, %%edx\n\t"                                                    \
  "syscall\n\t"                                                          \
  "cmp $-4, %%rax\n\t"    /* -EINTR: a signal interrupted it; again */  \
  "je 1b\n\t"

// Blocks in read(fd, &register_read_byte, 1); meanwhile the object taken
// from *slot is only in rbx. Returns it.
[[gnu::noinline]] watched* read_holding_only_in_rbx(gc_ptr<watched>* slot, int fd) {
  std::uintptr_t rax = reinterpret_cast<std::uintptr_t>(slot);
  std::uintptr_t rdx = static_cast<std::uintptr_t>(fd);
  asm volatile(
      "mov (%%rax), %%rbx\n\t"
      "movq $0, (%%rax)\n\t"
      TRICOLOR_ZERO_BELOW_RSP
      "xor %%r8d, %%r8d\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d\n\t"
      "xor %%r12d, %%r12d\n\txor %%r13d, %%r13d\n\txor %%r14d, %%r14d\n\txor %%r15d, %%r15d\n\t"
      TRICOLOR_ZERO_XMM
      TRICOLOR_READ_ONE_BYTE_RETRYING
      "mov %%rbx, %%rax\n\t"
      "xor %%ebx, %%ebx\n\t"
      : "+a"(rax), "+d"(rdx)
      : "S"(&register_read_byte), [nr] "i"(SYS_read)
      : "rbx", "rcx", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0",
        "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
  return reinterpret_cast<watched*>(rax);
}

// The same with the object only in r8 (caller-saved).
[[gnu::noinline]] watched* read_holding_only_in_r8(gc_ptr<watched>* slot, int fd) {
  std::uintptr_t rax = reinterpret_cast<std::uintptr_t>(slot);
  std::uintptr_t rdx = static_cast<std::uintptr_t>(fd);
  asm volatile(
      "mov (%%rax), %%r8\n\t"
      "movq $0, (%%rax)\n\t"
      TRICOLOR_ZERO_BELOW_RSP
      "xor %%ebx, %%ebx\n\txor %%r9d, %%r9d\n\txor %%r10d, %%r10d\n\txor %%r11d, %%r11d\n\t"
      "xor %%r12d, %%r12d\n\txor %%r13d, %%r13d\n\txor %%r14d, %%r14d\n\txor %%r15d, %%r15d\n\t"
      TRICOLOR_ZERO_XMM
      TRICOLOR_READ_ONE_BYTE_RETRYING
      "mov %%r8, %%rax\n\t"
      "xor %%r8d, %%r8d\n\t"
      : "+a"(rax), "+d"(rdx)
      : "S"(&register_read_byte), [nr] "i"(SYS_read)
      : "rbx", "rcx", "rdi", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "xmm0",
        "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "memory", "cc");
  return reinterpret_cast<watched*>(rax);
}

#undef TRICOLOR_ZERO_BELOW_RSP
#undef TRICOLOR_ZERO_XMM
#undef TRICOLOR_READ_ONE_BYTE_RETRYING

void hold_only_in_register(watched* (*read_holding)(gc_ptr<watched>*, int), std::uint64_t id,
                           const char* what) {
  gc_percent_for_test no_pacing(-1);  // no cycle may start on its own (see above)
  stage("collect() to finish any cycle in flight");
  tricolor::collect();
  std::atomic<bool>& dead = *fresh_dead_flag();
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  register_read_byte = 0;
  std::atomic<pid_t> tid{0};
  std::string outcome = "the holder thread did not run";
  stage(what);
  std::thread holder([&] {
    allocate_into_register_slot(id, &dead);
    tid.store(gettid());
    watched* object = read_holding(&register_slot, fds[0]);
    if (register_read_byte != 'x') {
      outcome = "the raw read returned without the byte main wrote";
      return;
    }
    outcome = watched_problem(object, id, dead);
  });
  while (tid.load() == 0) std::this_thread::sleep_for(1ms);
  std::string not_blocked = wait_until_blocked(tid.load(), [&](const syscall_state& s) {
    return s.nr == SYS_read && s.arg0 == static_cast<unsigned long long>(fds[0]);
  });
  EXPECT_EQ(not_blocked, "") << what;
  EXPECT_FALSE(register_slot) << "the slot was not emptied before the thread blocked";
  stage("main collecting while the thread is blocked in its raw read");
  tricolor_test::isolated([] {
    for (int c = 0; c < 4; ++c) {
      collect_clean();
      churn();
    }
  });
  const bool dead_while_blocked = dead.load();
  EXPECT_EQ(write(fds[1], "x", 1), 1);
  stage("joining the holder");
  holder.join();
  close(fds[0]);
  close(fds[1]);
  EXPECT_FALSE(dead_while_blocked)
      << what << ": the object was destroyed by collect() while its only reference was in "
                 "that register of the blocked thread: the stopped thread's registers were "
                 "not scanned from its interrupted context";
  EXPECT_EQ(outcome, "") << what;
}

#endif  // __x86_64__

TEST_F(RegisterOnly, CalleeSavedRbxOfThreadBlockedInRawRead) {
#if defined(__x86_64__)
  hold_only_in_register(read_holding_only_in_rbx, 5001,
                        "a thread blocked in a raw read system call holds the only reference "
                        "in rbx (callee-saved)");
#else
  GTEST_SKIP() << "x86-64 only";
#endif
}

TEST_F(RegisterOnly, CallerSavedR8OfThreadBlockedInRawRead) {
#if defined(__x86_64__)
  hold_only_in_register(read_holding_only_in_r8, 5002,
                        "a thread blocked in a raw read system call holds the only reference "
                        "in r8 (caller-saved)");
#else
  GTEST_SKIP() << "x86-64 only";
#endif
}

// ---------------------------------------------------------------------------
// Fork.

// Exit statuses of a forked child.
enum child_status : int {
  child_ok = 0,
  child_pre_fork_damaged = 10,
  child_no_cycle = 11,
  child_trees_damaged = 12,
  child_kept_trees_damaged = 13,
  child_nothing_freed = 14,
  child_threw = 15,
};

std::string describe_child_status(int status) {
  switch (status) {
    case child_pre_fork_damaged:
      return "a tree built before fork() (held by a gc_root) was damaged in the child";
    case child_no_cycle:
      return "collect() in the child returned but no cycle ran (num_gc did not advance)";
    case child_trees_damaged:
      return "trees allocated in the child were damaged after collect()";
    case child_kept_trees_damaged:
      return "trees the child kept were damaged after a second collect() freed the others";
    case child_nothing_freed:
      return "collect() in the child freed nothing although the child dropped garbage";
    case child_threw:
      return "the child threw an exception (std::bad_alloc?)";
    default:
      return "the child exited with status " + std::to_string(status) +
             " (1: its alarm() watchdog fired, see stderr)";
  }
}

constexpr int fork_tree_depth = 8;
constexpr std::uint64_t fork_tree_base = 60000;
constexpr std::uint64_t child_tree_base = 61000;
constexpr int child_trees = 40;  // 40 trees of 127 nodes: 5080 objects

// What a forked child does: allocates a few thousand objects, collects,
// checks everything, drops half, collects, checks again. Returns its status.
[[gnu::noinline]] int child_work(const gc_root<tnode>& before_fork) {
  stage("child: checking the tree built before fork()");
  if (!tree_problem(before_fork.get(), fork_tree_depth, fork_tree_base).empty())
    return child_pre_fork_damaged;
  const tricolor::gc_stats before = tricolor::read_stats();
  stage("child: allocating");
  gc_ptr<gc_array<gc_ptr<tnode>>> trees = make_gc_array<gc_ptr<tnode>>(child_trees);
  for (int k = 0; k < child_trees; ++k)
    (*trees)[std::size_t(k)] = build_tree(6, child_tree_base + std::uint64_t(k));
  churn(20000);
  stage("child: collect()");
  tricolor::collect();
  const tricolor::gc_stats after = tricolor::read_stats();
  if (after.num_gc <= before.num_gc) return child_no_cycle;
  for (int k = 0; k < child_trees; ++k)
    if (!tree_problem((*trees)[std::size_t(k)], 6, child_tree_base + std::uint64_t(k)).empty())
      return child_trees_damaged;
  if (after.objects_freed <= before.objects_freed) return child_nothing_freed;
  for (int k = 1; k < child_trees; k += 2) (*trees)[std::size_t(k)] = nullptr;
  churn(20000);
  stage("child: second collect()");
  tricolor::collect();
  for (int k = 0; k < child_trees; k += 2)
    if (!tree_problem((*trees)[std::size_t(k)], 6, child_tree_base + std::uint64_t(k)).empty())
      return child_kept_trees_damaged;
  if (!tree_problem(before_fork.get(), fork_tree_depth, fork_tree_base).empty())
    return child_pre_fork_damaged;
  return child_ok;
}

unsigned child_timeout_seconds() { return std::min(30u, watchdog_seconds() / 2); }

[[noreturn]] void run_child(const gc_root<tnode>& before_fork) {
  alarm(child_timeout_seconds() + 5);  // a backstop should the parent be gone
  int status = child_threw;
  try {
    status = child_work(before_fork);
  } catch (...) {
  }
  _exit(status);
}

// Waits for the child, killing it after child_timeout_seconds(); "" if it
// exited with child_ok.
std::string wait_for_child(pid_t pid) {
  const auto until = clock_type::now() + std::chrono::seconds(child_timeout_seconds());
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return std::string("waitpid failed: ") + std::strerror(errno);
    if (clock_type::now() > until) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return "the child did not finish within " + std::to_string(child_timeout_seconds()) +
             " s and was killed: it hung after fork() (its last stage is not known to the "
             "parent; a collect() in the child that never returns is the likely cause)";
    }
    std::this_thread::sleep_for(5ms);
  }
  if (WIFSIGNALED(status))
    return "the child died of signal " + std::to_string(WTERMSIG(status)) + " (" +
           strsignal(WTERMSIG(status)) + ")";
  if (WIFEXITED(status) && WEXITSTATUS(status) == child_ok) return {};
  return describe_child_status(WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

// Forks; the child runs run_child(). "" if it held.
[[gnu::noinline]] std::string fork_and_check(const gc_root<tnode>& before_fork) {
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) run_child(before_fork);
  if (pid < 0) return std::string("fork failed: ") + std::strerror(errno);
  return wait_for_child(pid);
}

// ThreadSanitizer cannot run these: a child of a multi-threaded fork() that
// starts a thread (the collector thread, here) fails with TSan's own error
// "dup thread with used id" whenever glibc hands the new thread a stack of
// one of the parent's threads, which it reclaims in the child. fork() is
// tested in the release, ASan and verify runs.
#if defined(__SANITIZE_THREAD__)
#define SKIP_FORK_UNDER_TSAN() \
  GTEST_SKIP() << "ThreadSanitizer does not support starting threads in the child of a " \
                  "multi-threaded fork"
#else
#define SKIP_FORK_UNDER_TSAN() static_cast<void>(0)
#endif

TEST_F(Fork, SingleThreadedParentAfterCollect) {
  SKIP_FORK_UNDER_TSAN();
  gc_root<tnode> before(build_tree(fork_tree_depth, fork_tree_base), "fork.before");
  stage("collect() before fork (the collector thread starts)");
  tricolor::collect();
  stage("parent waiting for the child of a single-threaded parent");
  EXPECT_EQ(fork_and_check(before), "");
  stage("parent: collect() after fork");
  tricolor::collect();
  EXPECT_EQ(tree_problem(before.get(), fork_tree_depth, fork_tree_base), "")
      << "the parent's tree was damaged after the fork";
}

TEST_F(Fork, ChildAllocatesAndCollectsWhileParentThreadsAreBlocked) {
  SKIP_FORK_UNDER_TSAN();
  constexpr int helpers = 3;
  gc_root<tnode> before(build_tree(fork_tree_depth, fork_tree_base), "fork.before");
  std::mutex mutex;
  std::condition_variable changed;
  int ready = 0;
  bool release = false;
  std::string outcomes[helpers];
  stage("starting helper threads that allocate, then wait on a condition variable");
  std::vector<std::thread> threads;
  for (int h = 0; h < helpers; ++h) {
    threads.emplace_back([&, h] {
      const std::uint64_t base = 62000 + std::uint64_t(h);
      gc_ptr<tnode> tree = build_tree(6, base);
      {
        std::unique_lock lock(mutex);
        ++ready;
        changed.notify_all();
        changed.wait(lock, [&] { return release; });
      }
      outcomes[h] = tree_problem(tree, 6, base);
    });
  }
  {
    std::unique_lock lock(mutex);
    changed.wait(lock, [&] { return ready == helpers; });
  }
  stage("collect() before fork with helper threads blocked on a condition variable");
  tricolor::collect();
  stage("parent waiting for the child (other threads of the parent blocked)");
  std::string child = fork_and_check(before);
  stage("parent: collect() after fork, helpers still blocked");
  tricolor::collect();
  {
    std::lock_guard lock(mutex);
    release = true;
    changed.notify_all();
  }
  stage("joining the helpers");
  for (auto& t : threads) t.join();
  EXPECT_EQ(child, "");
  for (int h = 0; h < helpers; ++h)
    EXPECT_EQ(outcomes[h], "") << "helper " << h << "'s tree, in the parent, after the fork";
}

TEST_F(Fork, WhileAnotherThreadAllocatesHeavily) {
  SKIP_FORK_UNDER_TSAN();
  constexpr int allocators = 2;
  constexpr int forks = 6;
  gc_percent_for_test pacing(50);
  gc_root<tnode> before(build_tree(fork_tree_depth, fork_tree_base), "fork.before");
  std::atomic<bool> stop{false};
  std::string outcomes[allocators];
  std::atomic<std::uint64_t> rounds{0};
  stage("starting allocator threads");
  std::vector<std::thread> threads;
  for (int a = 0; a < allocators; ++a) {
    threads.emplace_back([&, a] {
      auto ring = make_gc_array<gc_ptr<tnode>>(8);
      const std::uint64_t base0 = 100000 + 100000 * std::uint64_t(a);
      for (std::uint64_t round = 0; !stop.load(std::memory_order_relaxed); ++round) {
        (*ring)[round % 8] = build_tree(6, base0 + round);
        churn(300);
        if (round >= 7) {
          const std::uint64_t oldest = round - 7;
          std::string p = tree_problem((*ring)[oldest % 8], 6, base0 + oldest);
          if (!p.empty()) {
            outcomes[a] = "allocator " + std::to_string(a) + ": " + p;
            return;
          }
        }
        rounds.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  const std::uint64_t cycles_before = tricolor::read_stats().num_gc;
  int failures = 0;
  for (int f = 0; f < forks; ++f) {
    stage("parent sleeping while the allocators run");
    std::this_thread::sleep_for(std::chrono::milliseconds(10 + 7 * f));
    stage("parent waiting for a child forked while another thread allocates heavily");
    std::string child = fork_and_check(before);
    if (!child.empty() && ++failures <= 3) ADD_FAILURE() << "fork " << f << ": " << child;
  }
  stop.store(true);
  stage("joining the allocators");
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0) << failures << " of " << forks << " children failed";
  for (const auto& outcome : outcomes) EXPECT_EQ(outcome, "") << "in the parent";
  std::printf("fork: %d children forked while %d threads allocated (%" PRIu64 " rounds, %" PRIu64
              " cycles meanwhile)\n",
              forks, allocators, rounds.load(), tricolor::read_stats().num_gc - cycles_before);
}

// ---------------------------------------------------------------------------
// HandOff: the README's old rule 3 ("keep an object handed to a new thread in
// a root until the thread has made its first tricolor call") is gone. A
// lambda's capture lives in std::thread's heap block, not on any stack,
// until the thread's function returns; here it is the object's only
// reference while the thread waits and the creator collects.

constexpr std::uint64_t handed_off_id = 5001;

TEST_F(HandOff, LambdaCaptureAloneKeepsObjectAlive) {
  std::atomic<bool>& dead = *fresh_dead_flag();
  std::mutex m;
  std::condition_variable cv;
  bool go = false;
  std::string outcome = "the thread did not run";
  std::thread receiver;
  // The object is made and moved into the capture in a helper frame, which
  // collect_clean() then wipes: the creator keeps no copy.
  tricolor_test::isolated([&] {
    receiver = std::thread([object = make_gc<watched>(handed_off_id, &dead), &dead, &m, &cv, &go, &outcome] {
      {
        std::unique_lock lock(m);
        cv.wait(lock, [&] { return go; });
      }
      outcome = watched_problem(object.get(), handed_off_id, dead);
    });
  });
  stage("collect() while the new thread's capture is its object's only reference");
  tricolor_test::isolated([] {
    for (int c = 0; c < 4; ++c) {
      collect_clean();
      churn();
    }
  });
  const bool dead_while_waiting = dead.load();
  {
    std::lock_guard lock(m);
    go = true;
  }
  cv.notify_all();
  receiver.join();
  EXPECT_FALSE(dead_while_waiting) << "an object captured by a std::thread lambda was freed "
                                      "while the thread waited to use it";
  EXPECT_EQ(outcome, "");
}

// ---------------------------------------------------------------------------
// LateThread: the one duty left to a program is a safepoint() in a long loop
// that neither allocates nor blocks. A thread that skips it is not waited on
// in silence: after the warning delay (1 s by default) stderr names it and
// the function it runs. The loop below is such a thread: it calls nothing
// (a call into the C library or the vDSO would be where the signals find
// it) and ends by itself after about 2 s (while a pause waits for it no
// other thread runs, so none could tell it to stop), and the pause completes.

// Not inlined, so that the stop signals find the thread in a function of
// its own name.
// Spins until `until` with no safepoint: the loop neither allocates, blocks
// nor calls safepoint(); it reads the clock (vDSO, no system call) every
// million spins. A deadline rather than a calibrated spin count: on a loaded
// machine a calibration ran short and the thread was never late.
[[gnu::noinline]] void spin_without_safepoint(clock_type::time_point until) {
  do {
    for (unsigned long k = 0; k < 1'000'000; ++k) asm volatile("" : "+r"(k));
  } while (clock_type::now() < until);
}

// What the calling process writes to stderr while `body` runs.
template <class Body>
std::string captured_stderr(Body body) {
  std::fflush(stderr);
  char path[] = "/tmp/tricolor_threads_test_stderr_XXXXXX";
  int file = mkstemp(path);
  int saved = dup(2);
  dup2(file, 2);
  body();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string text;
  char buffer[4096];
  lseek(file, 0, SEEK_SET);
  for (ssize_t n; (n = ::read(file, buffer, sizeof buffer)) > 0;)
    text.append(buffer, static_cast<std::size_t>(n));
  close(file);
  unlink(path);
  return text;
}

TEST_F(LateThread, IsNamedWithTheFunctionItRuns) {
  std::atomic<bool> spinning{false};
  const std::string text = captured_stderr([&] {
    std::thread spinner([&] {
      pthread_setname_np(pthread_self(), "late-spinner");
      spinning.store(true);
      spin_without_safepoint(clock_type::now() + 2000ms);
    });
    while (!spinning.load()) std::this_thread::sleep_for(1ms);
    stage("collect() while a thread spins without a safepoint for 2 s");
    tricolor::collect();
    spinner.join();
  });
  EXPECT_NE(text.find("late-spinner"), std::string::npos)
      << "the late thread's name is missing from stderr:\n" << text;
  EXPECT_NE(text.find("spin_without_safepoint"), std::string::npos)
      << "the function the late thread runs is missing from stderr:\n" << text;
  EXPECT_NE(text.find("tricolor::safepoint()"), std::string::npos)
      << "the message does not say what to do:\n" << text;
}


// ---------------------------------------------------------------------------
// ShortLivedThreads: an exiting thread shades the pointers its write barrier
// recorded (the old values of its stores while marking): it marks them and
// hands them to the marker in batches through the work-pool lock. Threads
// that exit in waves contend for that lock with each other and with the mark
// workers while mark termination, which takes the same lock with the world
// stopped, may be starting. Before the exit path ran as a runtime_section, a
// thread parked there (by the stop signal, or by the contended
// pthread_mutex_lock) either held the lock, and the pause waited forever
// (concurrent_torture_test hung once in 31 runs), or held a batch of objects
// it had marked but not yet handed over: marking ended without scanning
// them, and their children were freed while reachable.

constexpr std::uint64_t short_lived_base = 40000;

// "" if a slot holds tree `base` (a root and its two children, reachable
// only through it) intact; base 0: nothing was stored there.
std::string slot_problem(const gc_ptr<tnode>& root, std::uint64_t base) {
  return base == 0 ? std::string() : tree_problem(root, 1, base);
}

TEST_F(ShortLivedThreads, OverwriteSharedPointersAndExitWhileCyclesRun) {
  constexpr std::size_t slot_count = 1024;
  constexpr int spawners = 3;
  constexpr int wave_size = 8;
  constexpr int stores_per_thread = 200;  // fewer than a barrier buffer holds
  constexpr int live_depth = 14;
  const auto run_for = 6s;
  constexpr std::uint64_t min_cycles = 20;

  // A live tree, so that every cycle's marking gives the mark workers work
  // (and the work-pool lock traffic) for a while.
  stage("building the live tree");
  gc_root<tnode> live_tree(build_tree(live_depth, short_lived_base), "short_lived.live_tree");

  // The shared array: slot i holds a small tree made by the thread that
  // stored it last; bases[i] says which. Guarded by slots_mutex.
  std::mutex slots_mutex;
  gc_root<gc_array<gc_ptr<tnode>>> slots(make_gc_array<gc_ptr<tnode>>(slot_count),
                                         "short_lived.slots");
  std::vector<std::uint64_t> bases(slot_count, 0);

  problem_list problems;
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> cycles{0}, threads_exited{0};
  std::atomic<std::uint64_t> next_base{short_lived_base + 1};
  stage("threads overwrite the shared array and exit, in waves, while another thread "
        "calls collect() in a loop");
  std::thread collector([&] {
    while (!done.load()) {
      tricolor::collect();
      cycles.fetch_add(1);
    }
  });
  // 6 s and at least min_cycles cycles (a sanitizer's build is slower),
  // within 40 s.
  const auto until = clock_type::now() + run_for;
  const auto hard_limit = clock_type::now() + 40s;
  auto keep_going = [&] {
    const auto now = clock_type::now();
    return now < hard_limit && (now < until || cycles.load() < min_cycles);
  };
  std::vector<std::thread> spawner_threads;
  for (int s = 0; s < spawners; ++s) {
    spawner_threads.emplace_back([&, s] {
      std::uint64_t seed = 0x9e3779b97f4a7c15ull * std::uint64_t(s + 1);
      while (keep_going()) {
        std::vector<std::thread> wave;
        for (int w = 0; w < wave_size; ++w) {
          seed = mix(seed);
          wave.emplace_back([&, start = seed] {
            std::uint64_t r = start;
            for (int k = 0; k < stores_per_thread; ++k) {
              r = mix(r);
              const std::uint64_t base = next_base.fetch_add(1);
              gc_ptr<tnode> node = build_tree(1, base);
              // Two slots: an overwritten tree often stays reachable through
              // its other one, with its children reachable only through it.
              std::lock_guard lock(slots_mutex);
              for (std::size_t slot : {std::size_t(r % slot_count),
                                       std::size_t((r >> 32) % slot_count)}) {
                std::string problem = slot_problem((*slots)[slot], bases[slot]);
                if (!problem.empty())
                  problems.add("slot " + std::to_string(slot) + " before a store: " + problem);
                (*slots)[slot] = node;  // records the old node while marking
                bases[slot] = base;
              }
            }
          });
        }
        for (auto& t : wave) t.join();
        threads_exited.fetch_add(wave_size);
      }
    });
  }
  for (auto& t : spawner_threads) t.join();
  done.store(true);
  collector.join();

  stage("checking every slot's node and the live tree");
  collect_clean();
  churn(20000);
  problems.report();
  int damaged = 0;
  for (std::size_t i = 0; i < slot_count; ++i) {
    std::string problem = slot_problem((*slots)[i], bases[i]);
    if (!problem.empty() && ++damaged <= 5) ADD_FAILURE() << "slot " << i << ": " << problem;
  }
  EXPECT_EQ(damaged, 0);
  EXPECT_EQ(tree_problem(live_tree.get(), live_depth, short_lived_base), "");
  std::printf("short-lived threads: %llu exited during %llu collect() cycles\n",
              static_cast<unsigned long long>(threads_exited.load()),
              static_cast<unsigned long long>(cycles.load()));
  EXPECT_GE(cycles.load(), min_cycles)
      << "too few cycles ran within 40 s for the exits to overlap marking";
}

}  // namespace
