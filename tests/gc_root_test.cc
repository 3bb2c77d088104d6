// gc_root<T> (gc/gc_root.hpp, roots/handles.cc): what a named precise root
// promises.
//
//   MoveAssignmentReleasesTheOldTarget
//                    a = std::move(b): a holds b's target, name and location,
//                    b reads null and keeps nothing alive, a's old target is
//                    collected (issue 10, point 3: it used to be a swap).
//
// "Kept alive" is checked by contents: each object carries its id and a
// checksum derived from it, and its destructor poisons the checksum, so an
// object freed under a root is noticed whether or not its slot was reused.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "gc/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::collect_clean;
using tricolor_test::counted;

template <class Store>
[[gnu::noinline]] weak_gc_ptr<counted> make_stored(std::atomic<int>* counter,
                                                   std::uint64_t id,
                                                   Store&& store) {
  gc_ptr<counted> object = make_gc<counted>(counter, id);
  store(object);
  return weak_gc_ptr<counted>(object);
}

[[gnu::noinline]] bool holds(const gc_root<counted>& root, std::uint64_t id) {
  gc_ptr<counted> object = root.get();
  return object && object->id == id && object->intact();
}

TEST(GcRoot, MoveAssignmentReleasesTheOldTarget) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<counted> a(nullptr, "root_a");
  gc_root<counted> b(nullptr, "root_b"); const unsigned b_line = __LINE__;
  weak_gc_ptr<counted> old_a =
      make_stored(&destroyed, 71, [&](gc_ptr<counted> p) { a = p; });
  weak_gc_ptr<counted> old_b =
      make_stored(&destroyed, 72, [&](gc_ptr<counted> p) { b = p; });

  a = std::move(b);

  EXPECT_TRUE(holds(a, 72)) << "a does not hold b's old target after a = std::move(b)";
  EXPECT_STREQ(a.name(), "root_b") << "a move transfers the root's name";
  EXPECT_EQ(a.where().line, b_line) << "a move transfers the root's location";
  EXPECT_FALSE(b.get()) << "the moved-from root still holds a target";  // NOLINT
  EXPECT_FALSE(b);                                                     // NOLINT
  EXPECT_STREQ(b.name(), "");                                          // NOLINT

  collect_clean();
  EXPECT_FALSE(alive(old_a))
      << "a's old target survived a collection after a = std::move(b): "
         "something (the moved-from root?) still keeps it alive";
  EXPECT_TRUE(alive(old_b)) << "b's old target, now held by a, was collected";
  EXPECT_EQ(destroyed.load(), 1);

  // Self-move leaves the root as it was.
  gc_root<counted>& alias = a;
  a = std::move(alias);
  EXPECT_TRUE(holds(a, 72)) << "self-move assignment lost the target";

  a.reset();
  collect_clean();
  EXPECT_FALSE(alive(old_b)) << "a was reset, yet its target survived";
  EXPECT_EQ(destroyed.load(), 2);
}

}  // namespace
