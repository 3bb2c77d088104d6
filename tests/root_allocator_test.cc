// root_allocator (SPEC §2.1): std::vector, std::deque and std::unordered_map
// of gc_ptrs keep their elements alive with tricolor::root_allocator, also
// while the collector marks concurrently and the containers reallocate,
// erase and reuse their slots (roots/root_ranges.hpp).
//
// Every check reads the object's contents (an id and a checksum derived from
// it, tests/test_support.hpp: counted) after churn() has recycled every freed
// slot, so a freed object is seen as corrupted, not only as missing.
//
// (The same containers with std::allocator do not compile: gc_ptr.hpp, and
// tests/compile_fail/std_*_of_gc_ptr.cc.)
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

#include <gtest/gtest.h>

#include "gc/config.hpp"
#include "gc/test_hooks.hpp"
#include "tricolor/tricolor.hpp"
#include "roots/root_ranges.hpp"
#include "tests/held_cycle.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::make_gc;
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;
using tricolor_test::held_cycle;
namespace hooks = tricolor::gc::test_hooks;

template <class T>
using allocator = tricolor::root_allocator<T>;

using ptr = gc_ptr<counted>;
using vector = std::vector<ptr, allocator<ptr>>;
using deque = std::deque<ptr, allocator<ptr>>;
using map = std::unordered_map<std::uint64_t, ptr, std::hash<std::uint64_t>,
                               std::equal_to<std::uint64_t>,
                               allocator<std::pair<const std::uint64_t, ptr>>>;

std::atomic<int> destroyed{0};

[[gnu::noinline]] ptr make_counted(std::uint64_t id) { return make_gc<counted>(&destroyed, id); }

// Alive, contents intact, id as expected; names what broke.
::testing::AssertionResult intact(const ptr& p, std::uint64_t id) {
  if (!p) return ::testing::AssertionFailure() << "element " << id << " is null";
  if (p->id != id || !p->intact())
    return ::testing::AssertionFailure()
           << "element " << id << " was freed and its slot reused (id " << p->id
           << ", checksum " << (p->intact() ? "ok" : "wrong")
           << "): the container's memory is not a root";
  return ::testing::AssertionSuccess();
}

// Several full cycles with the freed slots handed out again in between.
void collect_and_churn() {
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    churn();
  }
}

// The containers live on the heap (std::make_unique), so that nothing of
// theirs is on a stack: only their root_allocator blocks can keep the
// elements alive.
template <class Fill>
[[gnu::noinline]] void filled(Fill&& fill) {
  fill();
}

TEST(RootAllocator, VectorKeepsItsElementsAlive) {
  auto v = std::make_unique<vector>();
  filled([&] {
    for (std::uint64_t i = 0; i < 5000; ++i) v->push_back(make_counted(i));
  });
  collect_and_churn();
  for (std::uint64_t i = 0; i < v->size(); ++i) ASSERT_TRUE(intact((*v)[i], i));
}

TEST(RootAllocator, DequeKeepsItsElementsAlive) {
  auto d = std::make_unique<deque>();
  filled([&] {
    for (std::uint64_t i = 0; i < 5000; ++i) {
      if (i % 2) d->push_back(make_counted(i));
      else d->push_front(make_counted(i));
    }
  });
  collect_and_churn();
  for (const ptr& p : *d) ASSERT_TRUE(intact(p, p ? p->id : 0));
  ASSERT_EQ(d->size(), 5000u);
}

TEST(RootAllocator, UnorderedMapKeepsItsValuesAlive) {
  auto m = std::make_unique<map>();
  filled([&] {
    for (std::uint64_t i = 0; i < 5000; ++i) m->emplace(i, make_counted(i));
  });
  collect_and_churn();
  ASSERT_EQ(m->size(), 5000u);
  for (const auto& [key, value] : *m) ASSERT_TRUE(intact(value, key));
}

// The allocator's blocks are registered while allocated, and only then.
TEST(RootAllocator, BlocksAreRegisteredWhileAllocated) {
  using tricolor::roots::range_kind;
  using tricolor::roots::registered_ranges;
  std::size_t before = registered_ranges(range_kind::scanned);
  {
    map m;
    for (std::uint64_t i = 0; i < 100; ++i) m.emplace(i, nullptr);
    EXPECT_GE(registered_ranges(range_kind::scanned), before + 100)
        << "an unordered_map node is not registered";
    m.erase(7);
    EXPECT_GE(registered_ranges(range_kind::scanned), before + 99);
  }
  EXPECT_EQ(registered_ranges(range_kind::scanned), before)
      << "a block given back is still registered (scanned after it is freed)";
}

// Elements destroyed and blocks given back stop retaining their objects.
[[gnu::noinline]] weak_gc_ptr<counted> push_then_clear(vector& v) {
  v.push_back(make_counted(77));
  weak_gc_ptr<counted> weak(v.back());
  v.clear();  // capacity kept: the bytes are zeroed by destroy
  return weak;
}

TEST(RootAllocator, DestroyedElementsDoNotRetain) {
  vector v;
  v.reserve(16);
  weak_gc_ptr<counted> weak = push_then_clear(v);
  collect_clean();
  EXPECT_FALSE(alive(weak)) << "a cleared element's stale bytes kept its object alive";
}

// ---------------------------------------------------------------------------
// While the collector marks: a cycle held just after its mark-start pause
// (the marker has read no root_allocator block yet), the containers move
// their only references around, then marking goes on.

using WhileMarking = tricolor_test::held_cycle_test;

// The vector reallocates while the marker has not read its old buffer: the
// elements move to a new buffer (registered during marking, so never
// scanned this cycle) and the old one is freed. Its words must be shaded.
TEST_F(WhileMarking, ReallocationDoesNotLoseElements) {
  auto v = std::make_unique<vector>();
  filled([&] {
    v->reserve(1000);
    for (std::uint64_t i = 0; i < 1000; ++i) v->push_back(make_counted(i));
  });
  {
    held_cycle cycle;
    ASSERT_TRUE(hooks::marking_active());
    filled([&] { v->reserve(100000); });  // reallocates, frees the old buffer
    cycle.finish();
  }
  churn();
  collect_and_churn();
  for (std::uint64_t i = 0; i < v->size(); ++i) ASSERT_TRUE(intact((*v)[i], i));
}

// pop_back then push_back reuses the slot without any gc_ptr assignment:
// the popped element, still held by the program elsewhere (here: a deque
// the marker already read... or not), must have been shaded on destruction.
[[gnu::noinline]] void move_through_reused_slots(vector& from, deque& to, std::uint64_t n) {
  for (std::uint64_t i = 0; i < n; ++i) {
    ptr element = from.back();
    from.pop_back();
    from.push_back(make_counted(1000000 + i));  // overwrites the dead slot
    std::swap(from.back(), from.front());
    to.push_front(element);
    from.pop_back();
  }
}

TEST_F(WhileMarking, ElementsMovedBetweenContainersSurvive) {
  auto from = std::make_unique<vector>();
  auto to = std::make_unique<deque>();
  filled([&] {
    for (std::uint64_t i = 0; i < 2000; ++i) from->push_back(make_counted(i));
  });
  {
    held_cycle cycle;
    move_through_reused_slots(*from, *to, 1000);
    cycle.finish();
  }
  collect_and_churn();
  for (const ptr& p : *to) ASSERT_TRUE(intact(p, p ? p->id : 0));
  for (const ptr& p : *from) ASSERT_TRUE(intact(p, p ? p->id : 0));
}

// unordered_map erase frees the node: the value, moved to another map first,
// survives.
[[gnu::noinline]] void rehome(map& from, map& to) {
  for (auto it = from.begin(); it != from.end();) {
    to.emplace(it->first, it->second);
    it = from.erase(it);
  }
}

TEST_F(WhileMarking, ErasedNodesAreShaded) {
  auto a = std::make_unique<map>();
  auto b = std::make_unique<map>();
  filled([&] {
    for (std::uint64_t i = 0; i < 3000; ++i) a->emplace(i, make_counted(i));
  });
  {
    held_cycle cycle;
    rehome(*a, *b);
    cycle.finish();
  }
  collect_and_churn();
  ASSERT_EQ(b->size(), 3000u);
  for (const auto& [key, value] : *b) ASSERT_TRUE(intact(value, key));
}

// ---------------------------------------------------------------------------
// Stress: threads push, pop and erase in their containers (one std::vector,
// std::deque and std::unordered_map each, plus one shared map under a
// std::mutex) while another thread calls collect() in a loop; every element
// is checked against its key as it leaves and at the end.

struct worker_result {
  std::uint64_t checked = 0;
  std::uint64_t corrupted = 0;
};

void check(const ptr& p, std::uint64_t id, worker_result& r) {
  ++r.checked;
  if (!p || p->id != id || !p->intact()) ++r.corrupted;
}

std::mutex shared_lock;
map* shared_map = nullptr;
// Cycles completed by the stress test's collecting thread.
std::atomic<std::uint64_t> stress_cycles{0};
constexpr std::uint64_t min_stress_cycles = 5;

// Until the time is up and the collector has run its minimum of cycles
// (under ThreadSanitizer a cycle takes about a second), or a minute at most.
bool keep_going(std::chrono::steady_clock::time_point until,
                std::chrono::steady_clock::time_point hard_until) {
  auto now = std::chrono::steady_clock::now();
  return now < until || (stress_cycles.load() < min_stress_cycles && now < hard_until);
}

void work(unsigned seed, std::chrono::steady_clock::time_point until, worker_result& r) {
  auto hard_until = until + std::chrono::seconds(60);
  std::mt19937_64 random(seed);
  vector v;
  deque d;
  map m;
  std::uint64_t next = std::uint64_t{seed} << 40;
  while (keep_going(until, hard_until)) {
    for (int step = 0; step < 200; ++step) {
      std::uint64_t id = next++;
      switch (random() % 8) {
        case 0: case 1: v.push_back(make_counted(id)); break;
        case 2:
          if (!v.empty()) {
            check(v.back(), v.back() ? v.back()->id : 0, r);
            v.pop_back();
          }
          break;
        case 3: d.push_back(make_counted(id)); break;
        case 4:
          if (!d.empty()) {
            check(d.front(), d.front() ? d.front()->id : 0, r);
            d.pop_front();
          }
          break;
        case 5: m.emplace(id, make_counted(id)); break;
        case 6:
          if (!m.empty()) {
            auto it = m.begin();
            check(it->second, it->first, r);
            m.erase(it);
          }
          break;
        case 7: {
          std::lock_guard guard(shared_lock);
          if (random() % 2) {
            shared_map->emplace(id, make_counted(id));
          } else if (!shared_map->empty()) {
            auto it = shared_map->begin();
            check(it->second, it->first, r);
            shared_map->erase(it);
          }
          break;
        }
      }
    }
    if (v.size() > 3000) v.erase(v.begin(), v.begin() + 1500);
    if (v.size() < 100) v.shrink_to_fit();
  }
  for (const ptr& p : v) check(p, p ? p->id : 0, r);
  for (const ptr& p : d) check(p, p ? p->id : 0, r);
  for (const auto& [key, value] : m) check(value, key, r);
}

TEST(RootAllocatorStress, ContainersWhileTheCollectorRuns) {
  double scale = tricolor_test::env_scale("TRICOLOR_ROOT_ALLOCATOR_SECONDS");
  auto until = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int>(2000 * scale));
  auto shared = std::make_unique<map>();
  shared_map = shared.get();
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t>& cycles = stress_cycles;
  cycles = 0;
  std::thread collector([&] {
    while (!done.load()) {
      tricolor::collect();
      cycles.fetch_add(1);
    }
  });
  constexpr int workers = 3;
  worker_result results[workers];
  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i)
    threads.emplace_back(work, 1 + i, until, std::ref(results[i]));
  for (auto& t : threads) t.join();
  done = true;
  collector.join();
  worker_result shared_result;
  for (const auto& [key, value] : *shared) check(value, key, shared_result);
  shared_map = nullptr;
  std::uint64_t checked = shared_result.checked, corrupted = shared_result.corrupted;
  for (const auto& r : results) {
    checked += r.checked;
    corrupted += r.corrupted;
  }
  EXPECT_GE(cycles.load(), min_stress_cycles)
      << "the collector thread ran too few cycles to test anything";
  EXPECT_GT(checked, 100u);
  EXPECT_EQ(corrupted, 0u) << corrupted << " of " << checked
                           << " elements were freed while in a container ("
                           << cycles.load() << " cycles)";
}

}  // namespace
