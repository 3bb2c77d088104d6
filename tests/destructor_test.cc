// Destructors (SPEC §2.1): run exactly once, during the collection that frees
// a non-trivially-destructible object; never for a live object; never for an
// object whose constructor threw; once for every element of a gc_array.
//
// Destructors run on the finalizer thread (gc/finalizer.hpp; what that allows
// is tested in finalizer_test.cc); the ones here only touch unmanaged memory
// (their own std::string, atomics).
#include <atomic>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
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
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;

// Records how many times each id's destructor ran.
constexpr int max_ids = 20000;
std::atomic<int> destructions[max_ids];

void reset_destructions() {
  for (auto& d : destructions) d.store(0);
}

// Holds a heap-allocated std::string (longer than the small-string buffer):
// a destructor that never ran shows up as a leak under LeakSanitizer, and one
// that ran twice as a double free under AddressSanitizer.
struct named {
  explicit named(int id)
      : id(id), label("object number " + std::to_string(id) +
                      " with a label too long for the small-string buffer") {}
  ~named() { destructions[id].fetch_add(1, std::memory_order_relaxed); }
  int id;
  std::string label;
};

[[gnu::noinline]] void make_named_garbage(int first, int count) {
  for (int i = first; i < first + count; ++i) {
    auto object = make_gc<named>(i);
    asm volatile("" : : "r"(object.get()) : "memory");
  }
}

[[gnu::noinline]] void make_named_rooted(int first, int count,
                                         std::vector<gc_root<named>>* roots) {
  for (int i = first; i < first + count; ++i)
    roots->emplace_back(make_gc<named>(i), "destructor_test.live");
}

TEST(Destructors, RunExactlyOnceForUnreachableObjects) {
  reset_destructions();
  constexpr int n = 5000;
  make_named_garbage(0, n);
  collect_clean();
  int never = 0, twice = 0;
  for (int i = 0; i < n; ++i) {
    never += destructions[i].load() == 0;
    twice += destructions[i].load() > 1;
  }
  EXPECT_EQ(twice, 0) << twice << " objects were destroyed more than once";
  // Every one of them was unreachable when collect() started (SPEC §3.2),
  // and collect() returns after its sweep: all destructors have run.
  EXPECT_EQ(never, 0) << never << " of " << n
                      << " unreachable objects were not destroyed";

  // Later cycles never destroy them again.
  for (int round = 0; round < 3; ++round) {
    churn();
    collect_clean();
  }
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(destructions[i].load(), 1) << "object " << i;
}

TEST(Destructors, NeverRunForLiveObjects) {
  reset_destructions();
  constexpr int n = 3000;
  std::vector<gc_root<named>> roots;
  make_named_rooted(0, n, &roots);
  make_named_garbage(n, n);  // interleaved garbage in the same spans
  for (int round = 0; round < 4; ++round) {
    collect_clean();
    churn();
  }
  tricolor_test::isolated([&] {
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(destructions[i].load(), 0) << "live object " << i
                                           << " was destroyed";
      ASSERT_EQ(roots[i]->id, i);
      ASSERT_EQ(roots[i]->label.substr(0, 14 + std::to_string(i).size()),
                "object number " + std::to_string(i));
    }
  });
  for (int i = n; i < 2 * n; ++i)
    ASSERT_EQ(destructions[i].load(), 1) << "garbage object " << i;

  // Dropped, they are destroyed once.
  roots.clear();
  collect_clean();
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(destructions[i].load(), 1) << "object " << i;
}

// A managed object with a destructor that is part of a cycle.
struct cyclic_named {
  explicit cyclic_named(int id) : id(id), label(std::string(64, 'c')) {}
  ~cyclic_named() { destructions[id].fetch_add(1, std::memory_order_relaxed); }
  gc_ptr<cyclic_named> next;
  int id;
  std::string label;
  void trace(tricolor::tracer& t) const { t(next); }
};

[[gnu::noinline]] void make_cycles(int first, int cycles, int length) {
  for (int c = 0; c < cycles; ++c) {
    auto head = make_gc<cyclic_named>(first + c * length);
    auto tail = head;
    for (int i = 1; i < length; ++i) {
      auto node = make_gc<cyclic_named>(first + c * length + i);
      tail->next = node;
      tail = node;
    }
    tail->next = head;
  }
}

TEST(Destructors, CyclesOfFinalizableObjects) {
  reset_destructions();
  make_cycles(0, 100, 10);
  collect_clean();
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(destructions[i].load(), 1) << "cycle member " << i;
}

// ---------------------------------------------------------------------------
// Constructors that throw.

std::atomic<int> throwing_destroyed{0};
std::atomic<int> child_destroyed{0};

struct throws_in_constructor {
  explicit throws_in_constructor(bool fail) : label(std::string(100, 't')) {
    // A managed object allocated by the constructor, reachable only from the
    // half-built object: it must be reclaimed too.
    child = make_gc<counted>(&child_destroyed, 1);
    if (fail) throw std::runtime_error("constructor failed");
  }
  ~throws_in_constructor() { throwing_destroyed.fetch_add(1); }
  gc_ptr<counted> child;
  std::string label;
  char padding[200];
  void trace(tricolor::tracer& t) const { t(child); }
};

[[gnu::noinline]] int throw_many(int n) {
  int thrown = 0;
  for (int i = 0; i < n; ++i) {
    try {
      make_gc<throws_in_constructor>(true);
    } catch (const std::runtime_error&) {
      ++thrown;
    }
  }
  return thrown;
}

TEST(Destructors, ThrowingConstructorReclaimedWithoutDestructor) {
  throwing_destroyed.store(0);
  child_destroyed.store(0);
  EXPECT_EQ(throw_many(1), 1);
  collect_clean();
  EXPECT_EQ(throwing_destroyed.load(), 0)
      << "the destructor ran for an object whose constructor threw";
  EXPECT_EQ(child_destroyed.load(), 1)
      << "an object allocated by a constructor that then threw was not freed";

  // Many failed constructions: their slots are reclaimed (the heap does not
  // grow by ~300 bytes per failure) and no destructor runs for any of them.
  collect_clean();
  const auto before = tricolor::read_stats();
  constexpr int n = 100000;
  EXPECT_EQ(throw_many(n), n);
  collect_clean();
  const auto after = tricolor::read_stats();
  EXPECT_EQ(throwing_destroyed.load(), 0);
  EXPECT_EQ(child_destroyed.load(), 1 + n);
  // 100000 slots of ~320 bytes would be ~32 MB if they stayed allocated.
  EXPECT_LT(after.live_bytes, before.live_bytes + 4 * 1024 * 1024)
      << "slots of objects whose constructor threw were not reclaimed";
  EXPECT_LT(after.live_objects, before.live_objects + 1000);

  // A successful construction still gets its destructor.
  tricolor_test::isolated([] {
    gc_root<throws_in_constructor> ok(make_gc<throws_in_constructor>(false));
    EXPECT_EQ(ok->label.size(), 100u);
  });
  collect_clean();
  EXPECT_EQ(throwing_destroyed.load(), 1);
}

// ---------------------------------------------------------------------------
// Arrays.

std::atomic<int> element_destroyed{0};
std::atomic<int> element_constructed{0};
int throw_at_element = -1;

struct element {
  element() : label(std::string(50, 'e')) {
    if (element_constructed.load() == throw_at_element)
      throw std::runtime_error("element constructor failed");
    element_constructed.fetch_add(1);
  }
  element(const element& other) : label(other.label) {
    if (element_constructed.load() == throw_at_element)
      throw std::runtime_error("element copy failed");
    element_constructed.fetch_add(1);
  }
  ~element() { element_destroyed.fetch_add(1); }
  std::string label;
};

[[gnu::noinline]] void make_element_array(std::size_t n) {
  auto array = make_gc_array<element>(n);
  asm volatile("" : : "r"(array.get()) : "memory");
}

TEST(Destructors, ArrayDestroysEveryElement) {
  element_destroyed.store(0);
  element_constructed.store(0);
  throw_at_element = -1;
  make_element_array(1000);
  EXPECT_EQ(element_constructed.load(), 1000);
  collect_clean();
  EXPECT_EQ(element_destroyed.load(), 1000)
      << "a collected gc_array<element> did not destroy each element once";

  // A large array (> 32 KiB: a span of its own).
  element_destroyed.store(0);
  element_constructed.store(0);
  make_element_array(5000);
  collect_clean();
  EXPECT_EQ(element_destroyed.load(), 5000);
}

[[gnu::noinline]] void make_array_of_strings() {
  auto array = make_gc_array<std::string>(300, std::string(80, 's'));
  asm volatile("" : : "r"(array.get()) : "memory");
}

TEST(Destructors, ArrayOfStringsFreesTheirBuffers) {
  // Checked by LeakSanitizer in the sanitizer build: 300 string buffers leak
  // if the element destructors do not run.
  make_array_of_strings();
  collect_clean();
  SUCCEED();
}

TEST(Destructors, ArrayWhoseElementConstructorThrows) {
  element_destroyed.store(0);
  element_constructed.store(0);
  throw_at_element = 5;
  EXPECT_THROW(make_gc_array<element>(20), std::runtime_error);
  EXPECT_EQ(element_constructed.load(), 5);
  EXPECT_EQ(element_destroyed.load(), 5)
      << "make_gc_array must destroy the elements already built";
  collect_clean();
  EXPECT_EQ(element_destroyed.load(), 5)
      << "the collector destroyed elements of an array whose construction "
         "failed (they were already destroyed, or never built)";

  // The fill form.
  element_destroyed.store(0);
  element_constructed.store(0);
  throw_at_element = 3;
  {
    element prototype;  // constructed is now 1
    EXPECT_THROW(make_gc_array<element>(10, prototype), std::runtime_error);
    EXPECT_EQ(element_destroyed.load(), 2);  // two copies built before the throw
  }
  throw_at_element = -1;
  collect_clean();
  EXPECT_EQ(element_destroyed.load(), 3);  // + the prototype
}

TEST(Destructors, EmptyArrayOfNonTrivialElements) {
  element_destroyed.store(0);
  make_element_array(0);
  collect_clean();
  EXPECT_EQ(element_destroyed.load(), 0);
}

// ---------------------------------------------------------------------------
// Timing.

[[gnu::noinline]] weak_gc_ptr<counted> make_counted_garbage(
    std::atomic<int>* counter) {
  return weak_gc_ptr<counted>(make_gc<counted>(counter, 3));
}

TEST(Destructors, RunBeforeCollectReturns) {
  // collect() returns when its sweep has finished: the destructor has run,
  // the weak reference is cleared, and nothing runs later.
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  weak_gc_ptr<counted> weak = make_counted_garbage(&destroyed);
  EXPECT_EQ(destroyed.load(), 0);
  collect_clean();
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_FALSE(alive(weak));
  collect_clean();
  EXPECT_EQ(destroyed.load(), 1);
}

// Trivially destructible types have no destructor to run, whatever their size.
struct trivially_destructible {
  std::uint64_t words[5];
};
static_assert(std::is_trivially_destructible_v<trivially_destructible>);

[[gnu::noinline]] void make_trivial_garbage(int n) {
  for (int i = 0; i < n; ++i) {
    auto p = make_gc<trivially_destructible>();
    asm volatile("" : : "r"(p.get()) : "memory");
  }
}

TEST(Destructors, TriviallyDestructibleGarbageIsFreed) {
  collect_clean();
  const auto before = tricolor::read_stats();
  make_trivial_garbage(10000);
  collect_clean();
  const auto after = tricolor::read_stats();
  EXPECT_GE(after.objects_freed - before.objects_freed, 10000u);
  // None of the 10000 may survive: no reference to them remains anywhere
  // (the helper's frame was zeroed by collect_clean()).
  EXPECT_LE(after.live_objects, before.live_objects);
}

}  // namespace
