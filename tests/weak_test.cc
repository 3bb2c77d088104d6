// weak_gc_ptr<T>: does not keep its target alive, is cleared when the target
// is collected, stays set while the target lives, copies share one state, and
// lock() gives a strong pointer or null.
#include <atomic>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;

static_assert(std::is_nothrow_move_constructible_v<weak_gc_ptr<counted>>);
static_assert(std::is_copy_constructible_v<weak_gc_ptr<counted>>);

[[gnu::noinline]] weak_gc_ptr<counted> make_weak_garbage(
    std::atomic<int>* counter, std::uint64_t id) {
  return weak_gc_ptr<counted>(make_gc<counted>(counter, id));
}

TEST(WeakGcPtr, EmptyStates) {
  weak_gc_ptr<counted> none;
  EXPECT_FALSE(none.lock());
  EXPECT_TRUE(none.expired());
  weak_gc_ptr<counted> from_null{gc_ptr<counted>()};
  EXPECT_FALSE(from_null.lock());
  EXPECT_TRUE(from_null.expired());
  weak_gc_ptr<counted> copy_of_empty = none;
  EXPECT_TRUE(copy_of_empty.expired());
  tricolor::collect();  // empty weak pointers are harmless to the collector
  EXPECT_TRUE(none.expired());
}

TEST(WeakGcPtr, KeptWhileTargetAlive) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<counted> strong(make_gc<counted>(&destroyed, 7), "weak_test.strong");
  weak_gc_ptr<counted> weak(strong.get());
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    churn();
  }
  ASSERT_FALSE(weak.expired());
  EXPECT_EQ(weak.lock(), strong.get());
  EXPECT_EQ(weak.lock()->id, 7u);
  EXPECT_TRUE(weak.lock()->intact());
  EXPECT_EQ(destroyed.load(), 0);
}

TEST(WeakGcPtr, ClearedWhenTargetDies) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  weak_gc_ptr<counted> weak = make_weak_garbage(&destroyed, 8);
  collect_clean();
  EXPECT_EQ(destroyed.load(), 1) << "the weakly referenced object was not freed";
  EXPECT_TRUE(weak.expired())
      << "a weak_gc_ptr still points at a collected object";
  EXPECT_FALSE(weak.lock());
  // Stays cleared.
  tricolor::collect();
  churn();
  EXPECT_FALSE(weak.lock());
}

TEST(WeakGcPtr, DoesNotKeepTargetAlive) {
  // Many weak pointers, including copies, to one object: none of them is a
  // root.
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  std::vector<weak_gc_ptr<counted>> weaks;
  weaks.push_back(make_weak_garbage(&destroyed, 9));
  for (int i = 0; i < 50; ++i) weaks.push_back(weaks.front());
  collect_clean();
  EXPECT_EQ(destroyed.load(), 1);
  for (const auto& weak : weaks) EXPECT_TRUE(weak.expired());
}

// Stores a new counted object in *root and returns a weak reference to it.
[[gnu::noinline]] weak_gc_ptr<counted> make_rooted(std::atomic<int>* counter,
                                                   std::uint64_t id,
                                                   gc_root<counted>* root) {
  gc_ptr<counted> object = make_gc<counted>(counter, id);
  *root = object;
  return weak_gc_ptr<counted>(object);
}

// The weak reference's target is exactly the root's (and intact).
[[gnu::noinline]] ::testing::AssertionResult targets(
    const weak_gc_ptr<counted>& weak, const gc_root<counted>& root) {
  gc_ptr<counted> locked = weak.lock();
  if (!locked) return ::testing::AssertionFailure() << "the weak ref is null";
  if (locked != root.get())
    return ::testing::AssertionFailure() << "the weak ref points elsewhere";
  if (!locked->intact())
    return ::testing::AssertionFailure() << "the target is corrupted";
  return ::testing::AssertionSuccess();
}

TEST(WeakGcPtr, CopiesShareState) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<counted> strong;
  weak_gc_ptr<counted> original = make_rooted(&destroyed, 10, &strong);
  weak_gc_ptr<counted> copy(original);
  weak_gc_ptr<counted> assigned;
  assigned = original;
  EXPECT_TRUE(targets(copy, strong));
  EXPECT_TRUE(targets(assigned, strong));

  // Dropping the original does not affect its copies.
  original.reset();
  EXPECT_TRUE(original.expired());
  collect_clean();
  EXPECT_TRUE(targets(copy, strong));

  // When the target dies, every copy reads null.
  strong.reset();
  collect_clean();
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_FALSE(alive(copy));
  EXPECT_FALSE(alive(assigned));
}

TEST(WeakGcPtr, MoveAndSwap) {
  gc_root<counted> a(make_gc<counted>(nullptr, 1));
  gc_root<counted> b(make_gc<counted>(nullptr, 2));
  weak_gc_ptr<counted> wa(a.get());
  weak_gc_ptr<counted> wb(b.get());
  weak_gc_ptr<counted> moved(std::move(wa));
  EXPECT_EQ(moved.lock(), a.get());
  EXPECT_TRUE(wa.expired());  // NOLINT(bugprone-use-after-move)
  moved.swap(wb);
  EXPECT_EQ(moved.lock(), b.get());
  EXPECT_EQ(wb.lock(), a.get());
  wb = std::move(moved);
  EXPECT_EQ(wb.lock(), b.get());
}

TEST(WeakGcPtr, LockGivesStrongReference) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  weak_gc_ptr<counted> weak;
  gc_root<counted> relocked;
  tricolor_test::isolated([&] {
    gc_root<counted> strong;
    weak = make_rooted(&destroyed, 11, &strong);
    // The gc_root goes away at the end of this scope: a strong reference
    // taken from lock() now keeps the object alive by itself.
    relocked = weak.lock();
    ASSERT_TRUE(relocked);
  });
  collect_clean();
  churn();
  EXPECT_EQ(destroyed.load(), 0);
  EXPECT_TRUE(targets(weak, relocked));
  relocked.reset();
  collect_clean();
  EXPECT_FALSE(alive(weak));
  EXPECT_EQ(destroyed.load(), 1);
}

// A weak reference held inside a managed object is traced as nothing.
struct observer {
  weak_gc_ptr<counted> watched;
  gc_ptr<counted> owned;
  void trace(tricolor::tracer& t) const { t(watched, owned); }
};

[[gnu::noinline]] void fill_observer(gc_ptr<observer> o,
                                     std::atomic<int>* counter) {
  o->watched = make_gc<counted>(counter, 12);
  o->owned = make_gc<counted>(counter, 13);
}

TEST(WeakGcPtr, WeakMemberOfManagedObject) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<observer> holder(make_gc<observer>(), "observer");
  fill_observer(holder.get(), &destroyed);
  collect_clean();
  EXPECT_EQ(destroyed.load(), 1)
      << "exactly the weakly held object should have died";
  EXPECT_TRUE(holder->watched.expired());
  ASSERT_TRUE(holder->owned);
  EXPECT_EQ(holder->owned->id, 13u);
  EXPECT_TRUE(holder->owned->intact());

  // A weak member pointing at a strongly held object stays set.
  holder->watched = holder->owned;
  collect_clean();
  EXPECT_EQ(holder->watched.lock(), holder->owned);
  EXPECT_EQ(destroyed.load(), 1);
}

[[gnu::noinline]] void drop_many_weak_pointers(int n) {
  gc_ptr<counted> target = make_gc<counted>(nullptr, 14);
  for (int i = 0; i < n; ++i) {
    weak_gc_ptr<counted> weak(target);
    weak_gc_ptr<counted> copy = weak;
    EXPECT_EQ(copy.lock(), target);
  }
}

TEST(WeakGcPtr, ChurnOfShortLivedWeakPointers) {
  // Weak cells whose last reference went away are reclaimed by the
  // collector; creating and dropping many of them across cycles must not
  // disturb the live ones.
  gc_root<counted> strong(make_gc<counted>(nullptr, 15));
  weak_gc_ptr<counted> keeper(strong.get());
  for (int round = 0; round < 5; ++round) {
    drop_many_weak_pointers(20000);
    tricolor::collect();
    ASSERT_EQ(keeper.lock(), strong.get()) << "round " << round;
  }
}

// Weak references to base subobjects: the cell holds an interior address.
struct first_base {
  virtual ~first_base() = default;
  std::uint64_t a = 1;
};
struct second_base {
  virtual ~second_base() = default;
  std::uint64_t b = 2;
};
struct both final : first_base, second_base {
  explicit both(std::atomic<int>* counter) : counter(counter) {}
  ~both() override { counter->fetch_add(1); }
  std::atomic<int>* counter;
};

[[gnu::noinline]] weak_gc_ptr<second_base> make_weak_interior(
    std::atomic<int>* counter, gc_root<both>* keep) {
  gc_ptr<both> object = make_gc<both>(counter);
  *keep = object;
  return weak_gc_ptr<second_base>(gc_ptr<second_base>(object));
}

TEST(WeakGcPtr, WeakToBaseSubobject) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<both> keep;
  weak_gc_ptr<second_base> weak = make_weak_interior(&destroyed, &keep);
  collect_clean();
  churn();
  tricolor_test::isolated([&] {
    ASSERT_FALSE(weak.expired())
        << "a weak reference to a live object's second base was cleared";
    EXPECT_EQ(weak.lock().get(), static_cast<second_base*>(keep.get().get()));
    EXPECT_EQ(weak.lock()->b, 2u);
  });
  keep.reset();
  collect_clean();
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_FALSE(alive(weak))
      << "a weak reference holding an interior address was not cleared when "
         "its object died";
}

[[gnu::noinline]] std::vector<weak_gc_ptr<counted>> make_weak_batch(
    std::atomic<int>* counter, int n, std::vector<gc_root<counted>>* keep) {
  std::vector<weak_gc_ptr<counted>> weaks;
  for (int i = 0; i < n; ++i) {
    gc_ptr<counted> object = make_gc<counted>(counter, 100 + i);
    if (i % 3 == 0) keep->emplace_back(object);
    weaks.emplace_back(object);
  }
  return weaks;
}

TEST(WeakGcPtr, MixedBatchClearsExactlyTheDead) {
  constexpr int n = 3000;
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  std::vector<gc_root<counted>> keep;
  auto weaks = make_weak_batch(&destroyed, n, &keep);
  collect_clean();
  int dead_expected = 0;
  for (int i = 0; i < n; ++i) {
    if (i % 3 == 0) {
      auto p = weaks[i].lock();
      ASSERT_TRUE(p) << "weak #" << i << " to a rooted object was cleared";
      ASSERT_EQ(p->id, std::uint64_t(100 + i));
      ASSERT_TRUE(p->intact());
    } else {
      ++dead_expected;
      EXPECT_TRUE(weaks[i].expired())
          << "weak #" << i << " to an unreachable object was not cleared";
    }
  }
  EXPECT_EQ(destroyed.load(), dead_expected);
}

}  // namespace
