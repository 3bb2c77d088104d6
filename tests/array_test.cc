// gc_array<T> and gc_vector<T>: construction, element access, keeping their
// elements alive (small and large arrays, across the 32 KiB small/large
// boundary), and gc_vector growth across collections, on the stack, as a
// member of a managed object and as a managed object itself.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
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
using tricolor::gc_vector;
using tricolor::make_gc;
using tricolor::make_gc_array;
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;
using tricolor_test::isolated;

using counted_array = gc_array<gc_ptr<counted>>;

struct point {
  int x = 0, y = 0;
};

TEST(GcArray, ValueInitialized) {
  auto ints = make_gc_array<int>(1000);
  ASSERT_EQ(ints->size(), 1000u);
  EXPECT_FALSE(ints->empty());
  for (int v : *ints) ASSERT_EQ(v, 0);

  auto pointers = make_gc_array<gc_ptr<counted>>(100);
  for (const auto& p : *pointers) ASSERT_FALSE(p);

  auto points = make_gc_array<point>(10);
  for (const auto& p : *points) ASSERT_TRUE(p.x == 0 && p.y == 0);

  auto strings = make_gc_array<std::string>(5);
  for (const auto& s : *strings) ASSERT_TRUE(s.empty());
}

TEST(GcArray, ValueInitializedWhereAnotherArrayDied) {
  // Slots are reused without being cleared: the zeroing is make_gc_array's.
  for (int round = 0; round < 2; ++round) {
    {
      auto dirty = make_gc_array<gc_ptr<gc_array<char>>>(2000);
      for (auto& array : *dirty) {
        array = make_gc_array<char>(100);
        std::memset(array->data(), 0xab, 100);
      }
    }
    tricolor::collect();
    for (int i = 0; i < 2000; ++i) {
      auto fresh = make_gc_array<char>(100);
      for (char c : *fresh) ASSERT_EQ(c, 0);
    }
  }
}

TEST(GcArray, Filled) {
  auto ints = make_gc_array<int>(777, 7);
  ASSERT_EQ(ints->size(), 777u);
  for (int v : *ints) ASSERT_EQ(v, 7);
  auto points = make_gc_array<point>(3, point{1, 2});
  for (const auto& p : *points) ASSERT_TRUE(p.x == 1 && p.y == 2);
  auto strings = make_gc_array<std::string>(4, std::string("fill"));
  for (const auto& s : *strings) ASSERT_EQ(s, "fill");
  auto target = make_gc<counted>(nullptr, 1);
  auto same = make_gc_array<gc_ptr<counted>>(50, target);
  for (const auto& p : *same) ASSERT_EQ(p, target);
}

TEST(GcArray, AccessAndBounds) {
  auto array = make_gc_array<long>(10);
  for (std::size_t i = 0; i < array->size(); ++i) (*array)[i] = long(i * i);
  EXPECT_EQ(array->at(3), 9);
  EXPECT_EQ(array->data()[4], 16);
  EXPECT_EQ(array->end() - array->begin(), 10);
  EXPECT_EQ(array->data(), array->begin());
  EXPECT_THROW(array->at(10), std::out_of_range);
  const gc_array<long>& constant = *array;
  EXPECT_EQ(constant[9], 81);
  EXPECT_EQ(constant.at(2), 4);
  EXPECT_THROW(constant.at(100), std::out_of_range);

  auto empty = make_gc_array<long>(0);
  EXPECT_EQ(empty->size(), 0u);
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(empty->begin(), empty->end());
  EXPECT_THROW(empty->at(0), std::out_of_range);
}

TEST(GcArray, AbsurdLengthThrows) {
  EXPECT_THROW(make_gc_array<std::uint64_t>(std::size_t{1} << 62),
               std::bad_array_new_length);
}

// Fills a rooted array of n gc_ptrs with distinct counted objects.
[[gnu::noinline]] void fill_with_objects(gc_root<counted_array>* root,
                                         std::size_t n, std::uint64_t first_id,
                                         std::atomic<int>* counter) {
  *root = make_gc_array<gc_ptr<counted>>(n);
  gc_ptr<counted_array> array = root->get();
  for (std::size_t i = 0; i < n; ++i)
    (*array)[i] = make_gc<counted>(counter, first_id + i);
}

// Describes the first element that is not the expected object, if any.
[[gnu::noinline]] ::testing::AssertionResult all_intact(
    const gc_root<counted_array>& root, std::size_t n, std::uint64_t first_id) {
  gc_ptr<counted_array> array = root.get();
  if (!array) return ::testing::AssertionFailure() << "the array is gone";
  if (array->size() != n)
    return ::testing::AssertionFailure()
           << "array length " << array->size() << ", expected " << n;
  for (std::size_t i = 0; i < n; ++i) {
    gc_ptr<counted> element = (*array)[i];
    if (!element)
      return ::testing::AssertionFailure() << "element " << i << " is null";
    if (element->id != first_id + i || !element->intact())
      return ::testing::AssertionFailure()
             << "element " << i << ": expected object " << first_id + i
             << " with checksum " << counted::mix(first_id + i) << ", found id "
             << element->id << " checksum " << element->check;
  }
  return ::testing::AssertionSuccess();
}

TEST(GcArray, ElementsKeptAlive) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<counted_array> root(nullptr, "array_test.small");
  fill_with_objects(&root, 1000, 0, &destroyed);
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    churn();
  }
  EXPECT_TRUE(all_intact(root, 1000, 0));
  EXPECT_EQ(destroyed.load(), 0);

  // Clearing elements releases exactly those objects.
  isolated([&] {
    for (std::size_t i = 0; i < 1000; i += 2) (*root)[i] = nullptr;
  });
  collect_clean();
  EXPECT_EQ(destroyed.load(), 500)
      << "elements cleared from a gc_array were not all freed (or more were)";
  isolated([&] {
    for (std::size_t i = 1; i < 1000; i += 2) {
      ASSERT_TRUE((*root)[i]) << i;
      ASSERT_EQ((*root)[i]->id, i);
      ASSERT_TRUE((*root)[i]->intact()) << i;
    }
  });
}

// One past the end (issue 10): end(), or a reverse iterator's base(), is a
// pointer to the byte after the last element. For an array that exactly fills
// its slot, that is the first byte of the next slot (or of the next span), so
// a conservative lookup that maps each address to the slot containing it
// finds the neighbour and lets the array die. An array of n uint64_t takes
// 8 (header) + 8 (length) + 8n bytes: n = 6 fills a 64-byte slot, n = 2046 a
// 16 KiB slot, n = 5118 a large object of exactly 5 pages (40 KiB).
std::uint64_t end_pattern(std::uint64_t seed, std::size_t i) { return counted::mix(seed * 100000 + i); }

using word_array = gc_array<std::uint64_t>;

// Also hands back a weak reference, which says directly whether the array was
// collected (the contents say it only once the slot has been reused).
[[gnu::noinline]] std::uint64_t* exact_fit_array_end(std::size_t n, std::uint64_t seed,
                                                     weak_gc_ptr<word_array>& weak) {
  auto array = make_gc_array<std::uint64_t>(n);
  for (std::size_t i = 0; i < n; ++i) (*array)[i] = end_pattern(seed, i);
  weak = array;
  return array->end();
}

// Overwrites freed slots of the array's size with other arrays of that size.
[[gnu::noinline]] void reuse_slots_of(std::size_t n, int count) {
  for (int i = 0; i < count; ++i) {
    auto junk = make_gc_array<std::uint64_t>(n, 0xababababababababull);
    asm volatile("" : : "r"(junk.get()) : "memory");
  }
}

// Reads the array back through its end pointer alone: end()[-1] ... end()[-n],
// then the length word before the elements.
[[gnu::noinline]] ::testing::AssertionResult intact_through_end(const std::uint64_t* end,
                                                                std::size_t n,
                                                                std::uint64_t seed) {
  for (std::size_t i = 1; i <= n; ++i)
    if (end[-std::ptrdiff_t(i)] != end_pattern(seed, n - i))
      return ::testing::AssertionFailure()
             << "element " << n - i << " of the array of " << n
             << " reached only through end() was overwritten: the array was freed";
  std::uint64_t length = end[-std::ptrdiff_t(n) - 1];
  if (length != n)
    return ::testing::AssertionFailure() << "the length word is " << length << ", not " << n;
  return ::testing::AssertionSuccess();
}

TEST(GcArray, OnePastTheEndKeepsAnExactFitArrayAlive) {
  std::uint64_t seed = 1;
  for (std::size_t n : {std::size_t{6}, std::size_t{2046}, std::size_t{5118}}) {
    ++seed;
    // The only reference: end(), in a volatile slot of this frame.
    weak_gc_ptr<word_array> weak;
    std::uint64_t* volatile end = exact_fit_array_end(n, seed, weak);
    for (int round = 0; round < 3; ++round) {
      collect_clean();
      churn(5000);
      reuse_slots_of(n, n < 100 ? 5000 : 20);
    }
    EXPECT_TRUE(alive(weak)) << "the array of " << n << " elements reached only through end() was collected";
    EXPECT_TRUE(intact_through_end(end, n, seed)) << "array of " << n << " elements";
  }
}

[[gnu::noinline]] std::reverse_iterator<std::uint64_t*> exact_fit_array_rbegin(
    std::uint64_t seed, weak_gc_ptr<word_array>& weak) {
  auto array = make_gc_array<std::uint64_t>(6);
  for (std::size_t i = 0; i < 6; ++i) (*array)[i] = end_pattern(seed, i);
  weak = array;
  return std::make_reverse_iterator(array->end());
}

TEST(GcArray, ReverseIteratorKeepsAnExactFitArrayAlive) {
  // The only reference: a reverse iterator, which holds end() (its base()).
  weak_gc_ptr<word_array> weak;
  std::reverse_iterator<std::uint64_t*> last = exact_fit_array_rbegin(77, weak);
  asm volatile("" : : "r"(&last) : "memory");  // kept in memory, in this frame
  for (int round = 0; round < 3; ++round) {
    collect_clean();
    churn(5000);
    reuse_slots_of(6, 5000);
  }
  asm volatile("" : : "r"(&last) : "memory");
  EXPECT_TRUE(alive(weak)) << "the array reached only through a reverse iterator was collected";
  EXPECT_TRUE(intact_through_end(last.base(), 6, 77));
  EXPECT_EQ(last[0], end_pattern(77, 5));
}

TEST(GcArray, SizesAroundTheLargeObjectBoundary) {
  // A gc_array<gc_ptr> of n elements needs 8 (header) + 8 (length) + 8n
  // bytes: n = 4094 is exactly 32 KiB, the largest small object.
  // One counter per size, in static storage: it must outlive its objects.
  static std::atomic<int> counters[6];
  int which = 0;
  for (std::size_t n : {4000u, 4093u, 4094u, 4095u, 4096u, 5000u}) {
    std::atomic<int>& destroyed = counters[which++];
    gc_root<counted_array> root(nullptr, "array_test.boundary");
    fill_with_objects(&root, n, 100000, &destroyed);
    collect_clean();
    churn();
    collect_clean();
    EXPECT_TRUE(all_intact(root, n, 100000)) << "array of " << n << " elements";
    EXPECT_EQ(destroyed.load(), 0) << "array of " << n << " elements";
    root.reset();
    collect_clean();
    EXPECT_EQ(destroyed.load(), int(n))
        << "the elements of a dropped array of " << n
        << " gc_ptrs were not all freed";
  }
}

TEST(GcArray, MillionDistinctObjectsInOneLargeArray) {
  constexpr std::size_t n = 1000000;  // 8 MB of gc_ptrs: a large object
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<counted_array> root(nullptr, "array_test.million");
  // Collections triggered by pacing while filling scan a partly filled array.
  fill_with_objects(&root, n, 1, &destroyed);
  collect_clean();
  churn();
  collect_clean();
  EXPECT_TRUE(all_intact(root, n, 1));
  EXPECT_EQ(destroyed.load(), 0);
  const auto stats = tricolor::read_stats();
  EXPECT_GE(stats.live_objects, n + 1);
  EXPECT_GE(stats.live_bytes, n * sizeof(counted) + n * sizeof(gc_ptr<counted>));

  // Replace every element: the originals all die, the array is rescanned.
  isolated([&] {
    gc_ptr<counted_array> array = root.get();
    for (std::size_t i = 0; i < n; ++i)
      (*array)[i] = make_gc<counted>(nullptr, 2 * n + i);
  });
  collect_clean();
  EXPECT_EQ(destroyed.load(), int(n));
  EXPECT_TRUE(all_intact(root, n, 2 * n));

  root.reset();
  collect_clean();
  EXPECT_LT(tricolor::read_stats().live_objects, stats.live_objects / 10)
      << "dropping the million-element array did not free its objects";
}

[[gnu::noinline]] void make_large_values(gc_root<gc_array<std::uint64_t>>* root,
                                         std::size_t n) {
  auto array = make_gc_array<std::uint64_t>(n);
  for (std::size_t i = 0; i < n; ++i) (*array)[i] = counted::mix(i);
  *root = array;
}

TEST(GcArray, LargeNoscanArraySurvives) {
  constexpr std::size_t n = 3 * 1000 * 1000;  // 24 MB
  gc_root<gc_array<std::uint64_t>> root;
  make_large_values(&root, n);
  collect_clean();
  churn();
  collect_clean();
  isolated([&] {
    ASSERT_EQ(root->size(), n);
    for (std::size_t i = 0; i < n; ++i)
      ASSERT_EQ((*root)[i], counted::mix(i)) << "word " << i;
  });
}

// ---------------------------------------------------------------------------
// gc_vector.

[[gnu::noinline]] void push_objects(gc_vector<gc_ptr<counted>>& vector,
                                    std::size_t count, std::uint64_t first_id,
                                    std::atomic<int>* counter) {
  for (std::size_t i = 0; i < count; ++i)
    vector.push_back(make_gc<counted>(counter, first_id + i));
}

[[gnu::noinline]] ::testing::AssertionResult vector_intact(
    gc_vector<gc_ptr<counted>>& vector, std::size_t n, std::uint64_t first_id) {
  if (vector.size() != n)
    return ::testing::AssertionFailure()
           << "size " << vector.size() << ", expected " << n;
  for (std::size_t i = 0; i < n; ++i) {
    gc_ptr<counted> element = vector[i];
    if (!element || element->id != first_id + i || !element->intact())
      return ::testing::AssertionFailure()
             << "element " << i << " is not object " << first_id + i;
  }
  return ::testing::AssertionSuccess();
}

TEST(GcVector, EmptyState) {
  gc_vector<gc_ptr<counted>> vector;
  EXPECT_TRUE(vector.empty());
  EXPECT_EQ(vector.size(), 0u);
  EXPECT_EQ(vector.capacity(), 0u);
  EXPECT_EQ(vector.begin(), vector.end());
  EXPECT_THROW(vector.at(0), std::out_of_range);
  gc_vector<int> sized(5);
  EXPECT_EQ(sized.size(), 5u);
  for (int v : sized) EXPECT_EQ(v, 0);
}

TEST(GcVector, PushBackOnStackAcrossCollections) {
  // The vector is a local: its buffer pointer is found on the stack, and the
  // buffer (a gc_array) keeps the elements alive.
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_vector<gc_ptr<counted>> vector;
  std::size_t last_capacity = 0;
  for (int step = 0; step < 8; ++step) {
    push_objects(vector, 2500, 0 + vector.size(), &destroyed);
    EXPECT_GE(vector.capacity(), vector.size());
    EXPECT_GE(vector.capacity(), last_capacity) << "capacity never shrinks";
    last_capacity = vector.capacity();
    collect_clean();
    churn(2000);
    ASSERT_TRUE(vector_intact(vector, 2500 * (step + 1), 0)) << "step " << step;
  }
  EXPECT_EQ(destroyed.load(), 0);
  EXPECT_EQ(vector.back()->id, 19999u);
}

TEST(GcVector, PopBackReleasesTheElement) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<gc_vector<gc_ptr<counted>>> root(make_gc<gc_vector<gc_ptr<counted>>>(),
                                           "array_test.vector");
  isolated([&] { push_objects(*root, 100, 0, &destroyed); });
  isolated([&] {
    for (int i = 0; i < 40; ++i) root->pop_back();
  });
  EXPECT_EQ(root->size(), 60u);
  collect_clean();
  EXPECT_EQ(destroyed.load(), 40)
      << "popped elements must not be kept alive by the vector's buffer";
  EXPECT_TRUE(isolated([&] { return vector_intact(*root, 60, 0); }));

  isolated([&] { root->clear(); });
  EXPECT_TRUE(root->empty());
  collect_clean();
  EXPECT_EQ(destroyed.load(), 100);
}

TEST(GcVector, ResizeAndReserve) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<gc_vector<gc_ptr<counted>>> root(make_gc<gc_vector<gc_ptr<counted>>>());
  isolated([&] {
    root->resize(10);
    ASSERT_EQ(root->size(), 10u);
    for (std::size_t i = 0; i < 10; ++i) ASSERT_FALSE((*root)[i]);
    for (std::size_t i = 0; i < 10; ++i)
      (*root)[i] = make_gc<counted>(&destroyed, i);
  });
  isolated([&] {
    root->resize(3);  // releases 7
    EXPECT_EQ(root->size(), 3u);
    root->reserve(1000);
    EXPECT_GE(root->capacity(), 1000u);
    EXPECT_EQ(root->size(), 3u);
  });
  collect_clean();
  EXPECT_EQ(destroyed.load(), 7);
  EXPECT_TRUE(isolated([&] { return vector_intact(*root, 3, 0); }));
  isolated([&] {
    root->resize(6);  // the re-exposed slots are null, not the old objects
    for (std::size_t i = 3; i < 6; ++i) EXPECT_FALSE((*root)[i]) << i;
    EXPECT_EQ(root->at(2)->id, 2u);
    EXPECT_THROW(root->at(6), std::out_of_range);
  });
}

TEST(GcVector, OfValues) {
  gc_vector<std::uint64_t> values;
  for (std::uint64_t i = 0; i < 100000; ++i) {
    values.push_back(counted::mix(i));
    if (i % 20000 == 0) tricolor::collect();
  }
  churn();
  tricolor::collect();
  ASSERT_EQ(values.size(), 100000u);
  for (std::uint64_t i = 0; i < values.size(); ++i)
    ASSERT_EQ(values[i], counted::mix(i)) << i;
  values.pop_back();
  EXPECT_EQ(values.size(), 99999u);
}

// A tree whose children are held in a gc_vector member.
struct tree_node {
  explicit tree_node(std::uint64_t id) : id(id), check(counted::mix(id)) {}
  std::uint64_t id, check;
  gc_vector<gc_ptr<tree_node>> children;
  void trace(tricolor::tracer& t) const { t(children); }
};

[[gnu::noinline]] gc_ptr<tree_node> build_tree(std::uint64_t& next_id,
                                               int depth, int fanout) {
  auto node = make_gc<tree_node>(next_id++);
  if (depth > 0)
    for (int i = 0; i < fanout; ++i)
      node->children.push_back(build_tree(next_id, depth - 1, fanout));
  return node;
}

// Walks the tree in the order it was built; returns the number of nodes or
// -1 if a node is out of place or corrupted.
[[gnu::noinline]] long check_tree(const gc_ptr<tree_node>& node,
                                  std::uint64_t& next_id, int depth,
                                  int fanout) {
  if (!node || node->id != next_id || node->check != counted::mix(next_id))
    return -1;
  ++next_id;
  long count = 1;
  if (depth > 0) {
    if (node->children.size() != std::size_t(fanout)) return -1;
    for (int i = 0; i < fanout; ++i) {
      long sub = check_tree(node->children[i], next_id, depth - 1, fanout);
      if (sub < 0) return -1;
      count += sub;
    }
  }
  return count;
}

TEST(GcVector, AsMemberOfManagedObject) {
  gc_root<tree_node> root(nullptr, "array_test.tree");
  std::uint64_t next_id = 0;
  root = build_tree(next_id, 7, 4);  // 21845 nodes
  const long expected = long(next_id);
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    churn();
    std::uint64_t id = 0;
    ASSERT_EQ(check_tree(root.get(), id, 7, 4), expected)
        << "a tree held through gc_vector members was damaged by cycle " << i;
  }
  // Grow every child vector of the root across collections.
  for (int i = 0; i < 100; ++i) {
    root->children.push_back(make_gc<tree_node>(1000000 + i));
    if (i % 10 == 0) tricolor::collect();
  }
  collect_clean();
  ASSERT_EQ(root->children.size(), 104u);
  for (int i = 0; i < 100; ++i) {
    const auto& child = root->children[4 + i];
    ASSERT_EQ(child->id, std::uint64_t(1000000 + i));
    ASSERT_EQ(child->check, counted::mix(1000000 + i));
  }
}

TEST(GcVector, AsManagedObjectItself) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<gc_vector<gc_ptr<counted>>> root(nullptr, "array_test.managed_vector");
  auto weak = isolated([&] {
    auto vector = make_gc<gc_vector<gc_ptr<counted>>>();
    root = vector;
    return weak_gc_ptr<gc_vector<gc_ptr<counted>>>(vector);
  });
  for (int step = 0; step < 5; ++step) {
    isolated([&] { push_objects(*root, 3000, 3000 * step, &destroyed); });
    collect_clean();
    churn(3000);
    ASSERT_TRUE(isolated([&] { return vector_intact(*root, 3000 * (step + 1), 0); }))
        << "step " << step;
  }
  EXPECT_EQ(destroyed.load(), 0);
  root.reset();
  collect_clean();
  EXPECT_FALSE(alive(weak));
  EXPECT_EQ(destroyed.load(), 15000)
      << "a dropped managed gc_vector did not release its elements";
}

}  // namespace
