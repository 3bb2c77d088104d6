// Generations (TRICOLOR_DEBUG=generational=1, set by tests/meson.build for
// this executable, once alone and once with verify=1): minor cycles mark only
// young objects and the old objects written to since the last cycle
// (gc/generations.hpp). What a minor must not lose is a young object whose
// only reference is in an old object. The tests make old objects (they
// survive cycles) and store young ones into them, the ways a program does,
// then let allocation run cycles and check every stored object's contents.
//
//   AssignedIntoOldTable       young nodes assigned (gc_ptr::operator=) into
//                              an old gc_array, the local copies dropped: a
//                              node freed and reused by a later allocation
//                              fails its check word.
//   ManyThreadsAssignIntoOld   the same from four std::threads at once, each
//                              on its own slice, while the others allocate.
//   PushedIntoOldVector        gc_vector::push_back into a vector whose
//                              object is old (its buffer is replaced as it
//                              grows; elements are assigned into it).
//   ConstructorSpanningCycles  members initialized (not assigned: no write
//                              barrier) by a constructor that allocates long
//                              enough for cycles to run meanwhile, so the
//                              object may turn old before its members are set.
//   OldGarbageIsFreed          an old structure dropped by the program is
//                              freed by a later major cycle, though no
//                              collect() is called: minors alone never would.
//   ExpectDeadOnOldObject      expect_dead on a dropped old object: the
//                              minors that still find it marked must not
//                              report it as an expected-dead suspect.
// Each test also checks that minor cycles ran while it did (read_stats), so
// a change that turns them off fails here instead of passing vacuously.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_vector;
using tricolor::make_gc;
using tricolor::make_gc_array;

constexpr std::uint64_t check_of(std::uint64_t id) { return id * 0x9E3779B97F4A7C15ull ^ 0xC0FFEE; }

struct node {
  std::uint64_t id;
  std::uint64_t check;
  gc_ptr<node> next;
  explicit node(std::uint64_t i, gc_ptr<node> n = nullptr) : id(i), check(check_of(i)), next(n) {}
  void trace(tricolor::tracer& t) const { t(next); }
};

// A short chain of young nodes: id, id + 1, id + 2.
gc_ptr<node> chain(std::uint64_t id) {
  return make_gc<node>(id, make_gc<node>(id + 1, make_gc<node>(id + 2)));
}

bool chain_intact(const gc_ptr<node>& head, std::uint64_t id) {
  gc_ptr<node> n = head;
  for (std::uint64_t i = 0; i < 3; ++i, n = n->next) {
    if (!n || n->id != id + i || n->check != check_of(id + i)) return false;
  }
  return !n;
}

// Garbage: enough allocation to run a few pacing-triggered cycles (the
// collector's own, which may be minors; collect() always runs a major).
void allocate_garbage(std::size_t nodes) {
  for (std::size_t i = 0; i < nodes; ++i) (void)make_gc<node>(i);
}

std::uint64_t minor_cycles() { return tricolor::read_stats().num_minor_gc; }

// Runs cycles until what is reachable now is old: a major (collect()), and
// a pacing cycle after it, whose sweep keeps the marks.
void age_everything() {
  tricolor::collect();
  std::uint64_t cycles = tricolor::read_stats().num_gc;
  while (tricolor::read_stats().num_gc < cycles + 2) allocate_garbage(10'000);
}

using table = gc_array<gc_ptr<node>>;

// What the tests keep in a static: a box around the old structure. A minor
// cycle scans old objects that a root points at directly (constructors
// running at mark start need that), so the structure under test sits one
// old object further away, where only its dirty cards lead the cycle to it.
template <class T>
struct box {
  gc_ptr<T> held;
  void trace(tricolor::tracer& t) const { t(held); }
};

TEST(Generations, AssignedIntoOldTable) {
  constexpr std::size_t slots = 4096;
  static gc_ptr<box<table>> cache;  // a static, as a program's cache would be
  cache = make_gc<box<table>>();
  cache->held = make_gc_array<gc_ptr<node>>(slots);
  table& old_table = *cache->held;
  std::vector<std::uint64_t> expected(slots, 0);
  for (std::size_t i = 0; i < slots; ++i) {
    old_table[i] = chain(i * 8);
    expected[i] = i * 8;
  }
  age_everything();
  const std::uint64_t minors_before = minor_cycles();
  std::uint64_t next_id = slots * 8;
  // At least 200 rounds and 10 minors (fewer cycles are minors where marking
  // is slow, as under the sanitizers: more is allocated black, and promoted).
  for (int round = 0; (round < 200 || minor_cycles() < minors_before + 10) && round < 5000;
       ++round) {
    // Replace a stretch of the table with young chains, then let cycles run.
    for (std::size_t k = 0; k < 97; ++k) {
      std::size_t i = (static_cast<std::size_t>(round) * 389 + k * 41) % slots;
      old_table[i] = chain(next_id);
      expected[i] = next_id;
      next_id += 8;
    }
    allocate_garbage(20'000);
    if (round % 20 == 19) {
      for (std::size_t i = 0; i < slots; ++i)
        ASSERT_TRUE(chain_intact(old_table[i], expected[i])) << "slot " << i << " round " << round;
    }
  }
  for (std::size_t i = 0; i < slots; ++i)
    ASSERT_TRUE(chain_intact(old_table[i], expected[i])) << "slot " << i;
  EXPECT_GE(minor_cycles(), minors_before + 10);
  cache = nullptr;
}

TEST(Generations, ManyThreadsAssignIntoOld) {
  constexpr std::size_t threads = 4, slice = 1024;
  static gc_ptr<box<table>> shared;
  shared = make_gc<box<table>>();
  shared->held = make_gc_array<gc_ptr<node>>(threads * slice);
  for (std::size_t i = 0; i < threads * slice; ++i) (*shared->held)[i] = chain(i * 8);
  age_everything();
  const std::uint64_t minors_before = minor_cycles();
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([t, minors_before, &failures] {
      std::vector<std::uint64_t> expected(slice);
      for (std::size_t i = 0; i < slice; ++i) expected[i] = (t * slice + i) * 8;
      std::uint64_t next_id = (std::uint64_t{t} + 1) << 40;
      for (int round = 0;
           (round < 150 || minor_cycles() < minors_before + 10) && round < 3000; ++round) {
        for (std::size_t k = 0; k < 50; ++k) {
          std::size_t i = (static_cast<std::size_t>(round) * 131 + k * 17) % slice;
          (*shared->held)[t * slice + i] = chain(next_id);
          expected[i] = next_id;
          next_id += 8;
        }
        allocate_garbage(5'000);
        for (std::size_t i = 0; i < slice; ++i)
          if (!chain_intact((*shared->held)[t * slice + i], expected[i])) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& w : workers) w.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(minor_cycles(), minors_before + 10);
  shared = nullptr;
}

struct registry {
  gc_vector<gc_ptr<node>> entries;
  void trace(tricolor::tracer& t) const { t(entries); }
};

TEST(Generations, PushedIntoOldVector) {
  static gc_ptr<box<registry>> registries;
  registries = make_gc<box<registry>>();
  registries->held = make_gc<registry>();
  registry* old_registry = registries->held.get();
  age_everything();
  const std::uint64_t minors_before = minor_cycles();
  std::uint64_t pushed = 0;
  for (; (pushed < 20'000 || minor_cycles() < minors_before + 10) && pushed < 400'000; ++pushed) {
    old_registry->entries.push_back(chain(pushed * 8));
    if (pushed % 8 == 0) allocate_garbage(3'000);
  }
  ASSERT_EQ(old_registry->entries.size(), pushed);
  for (std::uint64_t i = 0; i < pushed; ++i)
    ASSERT_TRUE(chain_intact(old_registry->entries[i], i * 8)) << "entry " << i;
  EXPECT_GE(minor_cycles(), minors_before + 10);
  registries = nullptr;
}

// Members initialized by the constructor from calls that allocate enough to
// run cycles: the object is allocated before they run, so a cycle may mark it
// (it is on this thread's stack) and a later one treat it as old, while its
// members are set without any barrier.
struct slow_holder {
  std::array<gc_ptr<node>, 8> members;
  gc_ptr<node> last;

  static gc_ptr<node> slow_chain(std::uint64_t id) {
    allocate_garbage(40'000);
    return chain(id);
  }
  static std::array<gc_ptr<node>, 8> slow_members(std::uint64_t id) {
    return {slow_chain(id), slow_chain(id + 8), slow_chain(id + 16), slow_chain(id + 24),
            slow_chain(id + 32), slow_chain(id + 40), slow_chain(id + 48), slow_chain(id + 56)};
  }
  explicit slow_holder(std::uint64_t id) : members(slow_members(id)), last(slow_chain(id + 64)) {}
  void trace(tricolor::tracer& t) const { t(members, last); }
};

bool holder_intact(const gc_ptr<slow_holder>& h, std::uint64_t id) {
  for (std::size_t i = 0; i < 8; ++i)
    if (!chain_intact(h->members[i], id + i * 8)) return false;
  return chain_intact(h->last, id + 64);
}

TEST(Generations, ConstructorSpanningCycles) {
  constexpr std::size_t count = 64;
  static gc_ptr<box<gc_array<gc_ptr<slow_holder>>>> holders_box;
  holders_box = make_gc<box<gc_array<gc_ptr<slow_holder>>>>();
  holders_box->held = make_gc_array<gc_ptr<slow_holder>>(count);
  gc_array<gc_ptr<slow_holder>>& holders = *holders_box->held;
  age_everything();
  const std::uint64_t minors_before = minor_cycles();
  for (std::size_t i = 0; i < count; ++i) {
    holders[i] = make_gc<slow_holder>(i * 128);
    allocate_garbage(20'000);
  }
  for (int round = 0; (round < 20 || minor_cycles() < minors_before + 10) && round < 500;
       ++round) {
    allocate_garbage(50'000);
    for (std::size_t i = 0; i < count; ++i)
      ASSERT_TRUE(holder_intact(holders[i], i * 128)) << "holder " << i << " round " << round;
  }
  EXPECT_GE(minor_cycles(), minors_before + 10);
  holders_box = nullptr;
}

// Builds `nodes` nodes reachable only from the returned array, in a frame
// of its own, so that no stale word of the test's frame keeps them.
[[gnu::noinline]] void build_old_structure(gc_ptr<table>& out, std::size_t nodes) {
  out = make_gc_array<gc_ptr<node>>(nodes);
  for (std::size_t i = 0; i < nodes; ++i) (*out)[i] = make_gc<node>(i);
}

TEST(Generations, OldGarbageIsFreed) {
  static gc_ptr<table> big;
  build_old_structure(big, 400'000);  // about 16 MB with the array
  age_everything();
  const std::uint64_t live_with_structure = tricolor::read_stats().live_bytes;
  ASSERT_GT(live_with_structure, std::uint64_t{12} << 20);
  const std::uint64_t minors_before = minor_cycles();
  big = nullptr;
  // Only pacing cycles from here: the dropped structure is old, so minors
  // keep it; the collector must still run a major eventually.
  std::uint64_t live = live_with_structure;
  for (int i = 0; i < 5000 && live > live_with_structure / 2; ++i) {
    allocate_garbage(20'000);
    live = tricolor::read_stats().live_bytes;
  }
  EXPECT_LT(live, live_with_structure / 2);
  EXPECT_GT(minor_cycles(), minors_before);
}

// expect_dead on an old object the program dropped: minors leave it marked
// (they do not look at old objects), which must not count as "still
// reachable"; only the full mark of a major judges it, and frees it.
[[gnu::noinline]] void fill(gc_ptr<box<node>>& holder) { holder->held = make_gc<node>(7); }

[[gnu::noinline]] void drop_and_expect_dead(gc_ptr<box<node>>& holder) {
  tricolor::expect_dead(holder->held, "dropped by the test");
  holder->held = nullptr;
}

TEST(Generations, ExpectDeadOnOldObject) {
  static gc_ptr<box<node>> holder;
  holder = make_gc<box<node>>();
  fill(holder);
  age_everything();
  const std::uint64_t minors_before = minor_cycles();
  drop_and_expect_dead(holder);
  // No stale copy of the node's address below this frame: a major that
  // found one would rightly report the node as still reachable.
  tricolor_test::zero_below_stack_pointer();
  for (int i = 0; (i < 100 || minor_cycles() < minors_before + 10) && i < 2000; ++i)
    allocate_garbage(20'000);
  EXPECT_GE(minor_cycles(), minors_before + 10);
  for (const tricolor::leak_suspect& s : tricolor::leak_report())
    EXPECT_NE(s.why, tricolor::leak_suspect::reason::expected_dead)
        << "an old object dropped before expect_dead was reported: " << s.expectation;
  holder = nullptr;
}

}  // namespace
