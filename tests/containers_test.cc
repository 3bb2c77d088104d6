// The managed containers as values (issue 10): a gc_vector copies like a
// std::vector (a copy has its own buffer; a move takes the buffer and leaves
// the source empty), also while the collector marks concurrently; a
// gc_array is never copied (compile-fail tests in tests/compile_fail/), and
// the two fixes its error message names work.
//
// The tests, and what each shows when it fails:
//
//   CopyIsIndependent       a pop_back / store on the copy changed the
//                           original (the copy aliases the original's buffer)
//                           or an element died across collections.
//   CopyAssignment          the same for operator=, including self-assignment
//                           and assigning a shorter / an empty vector.
//   MoveTakesTheBuffer      a move left elements in the source or lost some
//                           in the destination; self-move broke the vector.
//   CopiesOfValues          gc_vector<std::string>: the copies share strings.
//   CopyWhileMarking        copies taken and mutated by the main thread while
//                           another std::thread runs tricolor::collect() in a
//                           loop: an element freed under a copy (its check
//                           word poisoned or reused), or a copy that shares
//                           the original's buffer.
//   ArrayFixesFromTheMessage copying elements into a new make_gc_array and
//                           swapping gc_ptrs, as gc_array's error says.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::gc_vector;
using tricolor::make_gc;
using tricolor::make_gc_array;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;
using tricolor_test::isolated;

using counted_vector = gc_vector<gc_ptr<counted>>;

void push_objects(counted_vector& v, std::size_t count, std::uint64_t first_id,
                  std::atomic<int>* counter) {
  for (std::size_t i = 0; i < count; ++i)
    v.push_back(make_gc<counted>(counter, first_id + i));
}

// Elements [0, count) of v are objects first_id, first_id + 1, ..., intact.
::testing::AssertionResult holds(const counted_vector& v, std::size_t count,
                                 std::uint64_t first_id) {
  if (v.size() != count)
    return ::testing::AssertionFailure() << "size " << v.size() << ", expected " << count;
  for (std::size_t i = 0; i < count; ++i) {
    const gc_ptr<counted>& e = v[i];
    if (!e) return ::testing::AssertionFailure() << "element " << i << " is null";
    if (!e->intact())
      return ::testing::AssertionFailure()
             << "element " << i << " was freed (its check word is overwritten)";
    if (e->id != first_id + i)
      return ::testing::AssertionFailure()
             << "element " << i << " is object " << e->id << ", expected " << first_id + i;
  }
  return ::testing::AssertionSuccess();
}

TEST(GcVectorValue, CopyIsIndependent) {
  static std::atomic<int> destroyed{0};
  counted_vector original;
  push_objects(original, 100, 0, &destroyed);
  counted_vector copy(original);
  ASSERT_TRUE(holds(copy, 100, 0));
  EXPECT_NE(copy.begin(), original.begin()) << "the copy shares the original's buffer";

  copy.pop_back();  // resets the copy's slot 99, not the original's
  copy[0] = make_gc<counted>(&destroyed, 1000);
  EXPECT_TRUE(holds(original, 100, 0)) << "a pop_back or a store on the copy reached the original";
  original.pop_back();
  original.pop_back();
  EXPECT_EQ(copy.size(), 99u);
  EXPECT_EQ(copy[0]->id, 1000u);
  EXPECT_EQ(copy[98]->id, 98u);

  for (int round = 0; round < 3; ++round) {
    collect_clean();
    churn(5000);
  }
  EXPECT_TRUE(holds(original, 98, 0));
  ASSERT_EQ(copy.size(), 99u);
  EXPECT_TRUE(copy[0]->intact() && copy[0]->id == 1000u);
  for (std::size_t i = 1; i < 99; ++i)
    ASSERT_TRUE(copy[i]->intact() && copy[i]->id == i) << "copy element " << i;

  counted_vector empty;
  counted_vector copy_of_empty(empty);
  EXPECT_TRUE(copy_of_empty.empty());
  EXPECT_EQ(copy_of_empty.capacity(), 0u);
}

TEST(GcVectorValue, CopyAssignment) {
  static std::atomic<int> destroyed{0};
  counted_vector a, b;
  push_objects(a, 50, 0, &destroyed);
  push_objects(b, 10, 500, &destroyed);
  b = a;
  ASSERT_TRUE(holds(b, 50, 0));
  b.pop_back();
  b[0] = nullptr;
  EXPECT_TRUE(holds(a, 50, 0)) << "assignment made b an alias of a";

  counted_vector& same = a;
  a = same;  // self-assignment
  EXPECT_TRUE(holds(a, 50, 0));

  counted_vector shorter;
  push_objects(shorter, 3, 700, &destroyed);
  a = shorter;
  EXPECT_TRUE(holds(a, 3, 700));
  a.pop_back();
  EXPECT_TRUE(holds(shorter, 3, 700));
  a = counted_vector();
  EXPECT_TRUE(a.empty());

  collect_clean();
  churn(5000);
  EXPECT_TRUE(holds(shorter, 3, 700));
  ASSERT_EQ(b.size(), 49u);
  EXPECT_FALSE(b[0]);
  for (std::size_t i = 1; i < 49; ++i) ASSERT_TRUE(b[i]->intact() && b[i]->id == i) << i;
}

TEST(GcVectorValue, MoveTakesTheBuffer) {
  static std::atomic<int> destroyed{0};
  counted_vector source;
  push_objects(source, 40, 0, &destroyed);
  const gc_ptr<counted>* buffer = source.begin();
  counted_vector moved(std::move(source));
  EXPECT_EQ(moved.begin(), buffer) << "a move construction takes the buffer";
  EXPECT_TRUE(source.empty());
  EXPECT_EQ(source.capacity(), 0u);
  EXPECT_TRUE(holds(moved, 40, 0));

  counted_vector target;
  push_objects(target, 5, 900, &destroyed);
  target = std::move(moved);
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(moved.capacity(), 0u);
  EXPECT_TRUE(holds(target, 40, 0));

  counted_vector& same = target;
  target = std::move(same);  // self-move leaves the vector as it was
  EXPECT_TRUE(holds(target, 40, 0));

  std::swap(target, source);
  EXPECT_TRUE(target.empty());
  EXPECT_TRUE(holds(source, 40, 0));

  // The moved-from vectors are usable.
  push_objects(moved, 2, 800, &destroyed);
  EXPECT_TRUE(holds(moved, 2, 800));

  collect_clean();
  churn(5000);
  EXPECT_TRUE(holds(source, 40, 0));
  EXPECT_TRUE(holds(moved, 2, 800));
}

TEST(GcVectorValue, CopiesOfValues) {
  gc_vector<std::string> words;
  for (int i = 0; i < 20; ++i) words.push_back("word " + std::to_string(i));
  gc_vector<std::string> copy = words;
  copy[3] += " changed";
  copy.pop_back();
  EXPECT_EQ(words[3], "word 3");
  EXPECT_EQ(words.size(), 20u);
  EXPECT_EQ(words[19], "word 19");
  EXPECT_EQ(copy[3], "word 3 changed");
  gc_vector<std::string> assigned;
  assigned = words;
  words.clear();
  collect_clean();
  churn(2000);
  ASSERT_EQ(assigned.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(assigned[i], "word " + std::to_string(i));
}

// A managed object holding a vector: copies assigned into it are stores into
// a managed object while the collector may be marking it.
struct holder {
  counted_vector items;
  void trace(tricolor::tracer& t) const { t(items); }
};

TEST(GcVectorValue, CopyWhileMarking) {
  static std::atomic<int> destroyed{0};
  gc_root<holder> shared(make_gc<holder>(), "containers_test.shared");
  push_objects(shared->items, 300, 0, &destroyed);

  std::atomic<bool> stop{false};
  std::atomic<int> cycles{0};
  std::thread collector_thread([&] {
    while (!stop.load()) {
      tricolor::collect();
      cycles.fetch_add(1);
    }
  });

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  int round = 0;
  ::testing::AssertionResult failure = ::testing::AssertionSuccess();
  while (failure && (std::chrono::steady_clock::now() < deadline || cycles.load() < 5)) {
    ++round;
    // A local copy of the managed vector, mutated: the original must not move.
    counted_vector copy = shared->items;
    for (int i = 0; i < 50; ++i) copy.pop_back();
    copy.push_back(make_gc<counted>(&destroyed, 100000 + round));
    churn(200);
    if (!(failure = holds(shared->items, 300, 0))) break;
    if (copy.size() != 251 || copy[250]->id != std::uint64_t(100000 + round) ||
        !copy[250]->intact()) {
      failure = ::testing::AssertionFailure() << "the element pushed onto the copy is wrong";
      break;
    }
    copy.pop_back();
    if (!(failure = holds(copy, 250, 0))) break;
    // Copy back into the managed object (a barriered buffer swing), then a
    // move out and back in.
    counted_vector full = shared->items;
    shared->items = copy;
    if (!(failure = holds(shared->items, 250, 0))) break;
    shared->items = std::move(full);
    if (!full.empty()) failure = ::testing::AssertionFailure() << "moved-from vector not empty";
  }
  stop.store(true);
  collector_thread.join();
  EXPECT_TRUE(failure) << "round " << round;
  EXPECT_GE(cycles.load(), 5);
  collect_clean();
  EXPECT_TRUE(holds(shared->items, 300, 0));
}

TEST(GcArrayValue, ArrayFixesFromTheMessage) {
  auto a = make_gc_array<std::string>(3, std::string("a"));
  auto b = make_gc_array<std::string>(3);
  std::ranges::copy(*a, b->begin());  // copy the elements, not the array
  (*b)[0] = "b";
  EXPECT_EQ((*a)[0], "a");
  EXPECT_EQ((*b)[1], "a");

  auto x = make_gc_array<int>(2, 1);
  auto y = make_gc_array<int>(7, 2);
  std::swap(x, y);  // exchange the arrays: swap the gc_ptrs
  EXPECT_EQ(x->size(), 7u);
  EXPECT_EQ(y->size(), 2u);
  EXPECT_EQ((*x)[6], 2);
  EXPECT_EQ((*y)[1], 1);
}

}  // namespace
