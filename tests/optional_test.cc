// std::optional<gc_ptr<T>> as a member of a managed object (issue 10,
// point 1): traced like a gc_ptr, and every change of its value, reset(),
// emplace(), = nullopt, = value, swap, goes through the write barrier
// (tricolor/optional_gc_ptr.hpp).
//
// The marking tests hold a cycle just after its mark-start pause, copy the
// optional's object into a local (the stack was scanned in the pause, so the
// local is not seen this cycle), end the optional's value, and let marking
// go on. The object must survive through its snapshot path: with the
// standard optional (whose reset() runs the gc_ptr's trivial destructor)
// it was freed under the local.
#include <atomic>
#include <cstdint>
#include <optional>
#include <utility>

#include <gtest/gtest.h>

#include "gc/config.hpp"
#include "tests/held_cycle.hpp"
#include "tests/test_support.hpp"
#include "tricolor/tricolor.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::make_gc;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;
using tricolor_test::held_cycle;

struct holder {
  std::optional<gc_ptr<counted>> item;
  void trace(tricolor::tracer& t) const { t(item); }
};

std::atomic<int> destroyed{0};

// Made in a frame of its own: no stale copy of the item's address is left
// on the test's stack for the conservative scan to find.
[[gnu::noinline]] gc_ptr<holder> make_holder(std::uint64_t id) {
  auto h = make_gc<holder>();
  h->item = make_gc<counted>(&destroyed, id);
  return h;
}

::testing::AssertionResult intact(const gc_ptr<counted>& p, std::uint64_t id) {
  if (!p) return ::testing::AssertionFailure() << "object " << id << " is null";
  if (p->id != id || !p->intact())
    return ::testing::AssertionFailure()
           << "object " << id << " was freed while a local held it (id " << p->id
           << ", checksum " << (p->intact() ? "ok" : "wrong")
           << "): the optional's change escaped the write barrier";
  return ::testing::AssertionSuccess();
}

void collect_and_churn() {
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    churn();
  }
}

TEST(OptionalGcPtr, TracedAsAMember) {
  gc_ptr<holder> h = make_holder(1);
  collect_and_churn();
  ASSERT_TRUE(h->item.has_value());
  EXPECT_TRUE(intact(*h->item, 1));
}

TEST(OptionalGcPtr, BehavesAsStdOptional) {
  std::optional<gc_ptr<counted>> empty, full = make_gc<counted>(&destroyed, 2);
  EXPECT_FALSE(empty);
  EXPECT_TRUE(full.has_value());
  EXPECT_EQ(full.value()->id, 2u);
  EXPECT_EQ((*full)->id, 2u);
  EXPECT_EQ(full->get()->id, 2u);
  EXPECT_THROW((void)empty.value(), std::bad_optional_access);
  EXPECT_EQ(empty.value_or(nullptr), nullptr);
  EXPECT_TRUE(empty == std::nullopt);
  EXPECT_TRUE(full != empty);
  std::optional<gc_ptr<counted>> copy = full;
  EXPECT_TRUE(copy == full);
  std::swap(copy, empty);
  EXPECT_FALSE(copy);
  EXPECT_TRUE(empty == full);
  std::optional<gc_ptr<const counted>> as_const = full;
  EXPECT_EQ((*as_const)->id, 2u);
  std::optional<gc_ptr<counted>> engaged_null{std::in_place, nullptr};
  EXPECT_TRUE(engaged_null.has_value()) << "an engaged optional may hold a null gc_ptr";
  full.reset();
  EXPECT_FALSE(full);
  EXPECT_EQ(std::hash<std::optional<gc_ptr<counted>>>{}(empty),
            std::hash<gc_ptr<counted>>{}(*empty));
}

using WhileMarking = tricolor_test::held_cycle_test;

// Each way of ending the optional's value, applied while the marker has not
// read the holder yet.
template <class End>
void check_survives(std::uint64_t id, End end) {
  gc_ptr<holder> h = make_holder(id);
  gc_ptr<counted> kept;
  {
    held_cycle cycle;
    ASSERT_TRUE(tricolor::gc::test_hooks::marking_active());
    kept = *h->item;
    end(h->item);
    cycle.finish();
  }
  collect_and_churn();
  EXPECT_TRUE(intact(kept, id));
}

TEST_F(WhileMarking, ResetShadesTheOldValue) {
  check_survives(10, [](std::optional<gc_ptr<counted>>& item) { item.reset(); });
}

TEST_F(WhileMarking, AssigningNulloptShadesTheOldValue) {
  check_survives(11, [](std::optional<gc_ptr<counted>>& item) { item = std::nullopt; });
}

TEST_F(WhileMarking, EmplaceShadesTheOldValue) {
  check_survives(12, [](std::optional<gc_ptr<counted>>& item) {
    item.emplace(make_gc<counted>(&destroyed, 1012));
  });
}

TEST_F(WhileMarking, AssignmentShadesTheOldValue) {
  check_survives(13, [](std::optional<gc_ptr<counted>>& item) {
    std::optional<gc_ptr<counted>> other;
    item = other;
  });
}

TEST_F(WhileMarking, SwapShadesTheOldValue) {
  check_survives(14, [](std::optional<gc_ptr<counted>>& item) {
    std::optional<gc_ptr<counted>> other;
    item.swap(other);
  });
}

}  // namespace
