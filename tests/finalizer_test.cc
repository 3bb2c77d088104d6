// Destructors of managed objects run on the collector's finalizer thread
// (gc/finalizer.hpp), never inside make_gc or on a thread of the program:
// a destructor may take the locks the program takes around its allocations,
// allocate, and call collect().
//
// Written as a program would be: a registry guarded by a std::mutex that
// objects leave in their destructor, std::threads that allocate.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;

// A hang is a failure, with a message (the test binary would otherwise sit
// until meson's timeout).
extern "C" void on_hang(int) {
  static const char message[] =
      "\nfinalizer_test: WATCHDOG: the test hung for 60 s; a destructor that "
      "takes a lock held around make_gc deadlocks if destructors run inside "
      "make_gc\n";
  tricolor_test::write_all(message, message + sizeof message - 1);
  _exit(1);
}

class Finalizers : public ::testing::Test {
 protected:
  void SetUp() override {
    std::signal(SIGALRM, on_hang);
    alarm(60);
  }
  void TearDown() override { alarm(0); }
};

// --- The "unregister myself" pattern ----------------------------------------

std::mutex registry_lock;
std::set<int> registry;

struct listener {
  explicit listener(int id) : id(id) {}
  ~listener() {
    std::lock_guard guard(registry_lock);
    registry.erase(id);
  }
  int id;
  char state[200] = {};
};

TEST_F(Finalizers, DestructorMayTakeTheLockHeldAroundAllocation) {
  // Each listener is created and registered under the registry's lock, and
  // becomes garbage at once. Tens of megabytes of them: many cycles run
  // meanwhile, and this thread's own allocations would sweep spans.
  constexpr int count = 300000;
  for (int i = 0; i < count; ++i) {
    std::lock_guard guard(registry_lock);
    gc_ptr<listener> l = make_gc<listener>(i);
    registry.insert(l->id);
  }
  tricolor::collect();
  tricolor::collect();
  std::lock_guard guard(registry_lock);
  // Every listener but the few a stale stack word may still keep has left.
  EXPECT_LT(registry.size(), 100u);
}

// --- Which thread runs them ------------------------------------------------

std::mutex ran_on_lock;
std::set<std::thread::id> ran_on;

struct records_its_thread {
  ~records_its_thread() {
    std::lock_guard guard(ran_on_lock);
    ran_on.insert(std::this_thread::get_id());
  }
  std::string payload = std::string(64, 'p');
};

TEST_F(Finalizers, RunOnOneThreadThatIsNotTheProgramsOwn) {
  {
    std::lock_guard guard(ran_on_lock);
    ran_on.clear();
  }
  std::vector<std::thread::id> program_threads{std::this_thread::get_id()};
  std::mutex ids_lock;
  std::vector<std::thread> allocators;
  for (int t = 0; t < 3; ++t) {
    allocators.emplace_back([&] {
      {
        std::lock_guard guard(ids_lock);
        program_threads.push_back(std::this_thread::get_id());
      }
      for (int i = 0; i < 200000; ++i) {
        auto garbage = make_gc<records_its_thread>();
        asm volatile("" : : "r"(garbage.get()) : "memory");
      }
    });
  }
  for (auto& a : allocators) a.join();
  tricolor::collect();
  std::lock_guard guard(ran_on_lock);
  ASSERT_FALSE(ran_on.empty());
  EXPECT_EQ(ran_on.size(), 1u) << "destructors ran on more than one thread";
  for (std::thread::id id : program_threads)
    EXPECT_EQ(ran_on.count(id), 0u) << "a destructor ran on a thread of the program";
}

// --- What a destructor may do ------------------------------------------------

struct item {
  explicit item(int v) : value(v) {}
  int value;
};

std::atomic<int> allocated_in_destructor{0};
std::atomic<int> collected_in_destructor{0};

struct allocates_when_destroyed {
  ~allocates_when_destroyed() {
    gc_ptr<item> fresh = make_gc<item>(42);
    if (fresh->value == 42) allocated_in_destructor.fetch_add(1);
  }
  int padding[4] = {};
};

struct collects_when_destroyed {
  ~collects_when_destroyed() {
    tricolor::collect();
    collected_in_destructor.fetch_add(1);
  }
};

[[gnu::noinline]] void drop_objects_whose_destructors_allocate_and_collect() {
  for (int i = 0; i < 1000; ++i) {
    auto a = make_gc<allocates_when_destroyed>();
    asm volatile("" : : "r"(a.get()) : "memory");
  }
  auto c = make_gc<collects_when_destroyed>();
  asm volatile("" : : "r"(c.get()) : "memory");
}

TEST_F(Finalizers, DestructorMayAllocateAndCollect) {
  allocated_in_destructor.store(0);
  collected_in_destructor.store(0);
  drop_objects_whose_destructors_allocate_and_collect();
  tricolor_test::collect_clean();
  tricolor_test::collect_clean();
  EXPECT_GT(allocated_in_destructor.load(), 900);
  EXPECT_EQ(collected_in_destructor.load(), 1);
}

// --- Memory comes back --------------------------------------------------------

struct owns_a_buffer {
  std::string buffer = std::string(200, 'b');  // on the malloc heap
};

[[gnu::noinline]] void drop_objects_that_own_buffers(int count) {
  for (int i = 0; i < count; ++i) {
    auto garbage = make_gc<owns_a_buffer>();
    asm volatile("" : : "r"(garbage.get()) : "memory");
  }
}

TEST_F(Finalizers, SlotsAreReusedOneCycleLater) {
  // 20 rounds of 50000 dead objects with destructors (about 15 MB each in
  // managed slots): if finalized slots were never freed, the heap would grow
  // by all of it.
  tricolor::collect();
  tricolor::collect();
  const auto before = tricolor::read_stats();
  for (int round = 0; round < 20; ++round) {
    drop_objects_that_own_buffers(50000);
    tricolor::collect();
  }
  // No stale word of the helpers' frames keeps the last ones (their buffers
  // would be reported as leaks at exit).
  tricolor_test::collect_clean();
  tricolor_test::collect_clean();
  const auto after = tricolor::read_stats();
  EXPECT_LT(after.heap_alloc, before.heap_alloc + 8 * 1024 * 1024)
      << "slots of finalized objects were not freed";
  EXPECT_GE(after.objects_freed - before.objects_freed, 20u * 50000u - 1000u);
}

}  // namespace
