// gc_ptr<T>: null state, copy/move, comparison and hashing, conversions to
// base classes (including the interior pointers that multiple inheritance
// produces) and the static/dynamic casts.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::collect_clean;

struct point {
  int x = 0;
  int y = 0;
  point() = default;
  point(int x, int y) : x(x), y(y) {}
};

// A small class hierarchy with multiple inheritance. gc_ptr<right_base> made
// from gc_ptr<derived> points `offset_of_right` bytes into the object.
// How many times the destructor of the derived object with each tag ran.
// Counted per tag, not in total: an object of an earlier test that a stale
// stack word kept alive may die during a later test, and must not be
// mistaken for that test's object.
std::mutex destroyed_lock;
std::map<std::uint64_t, int> destroyed_by_tag;

int times_destroyed(std::uint64_t tag) {
  std::lock_guard guard(destroyed_lock);
  return destroyed_by_tag[tag];
}

struct left_base {
  virtual ~left_base() = default;
  virtual int which() const { return 1; }
  std::uint64_t left_value = 0x1111111111111111ull;
};

struct right_base {
  virtual ~right_base() = default;
  virtual int kind() const { return 2; }
  std::uint64_t right_values[6] = {21, 22, 23, 24, 25, 26};
};

struct derived final : left_base, right_base {
  explicit derived(std::uint64_t tag) : tag(tag) {}
  ~derived() override {
    std::lock_guard guard(destroyed_lock);
    ++destroyed_by_tag[tag];
  }
  int which() const override { return 3; }
  int kind() const override { return 4; }
  std::uint64_t tag;
};

struct unrelated {
  virtual ~unrelated() = default;
};

// Holds a base-class pointer inside a managed object: traced precisely, but
// the value is an interior address of the derived object.
struct base_holder {
  gc_ptr<right_base> held;
  void trace(tricolor::tracer& t) const { t(held); }
};

static_assert(sizeof(gc_ptr<point>) == sizeof(void*));
static_assert(std::is_nothrow_copy_constructible_v<gc_ptr<point>>);
static_assert(std::is_nothrow_move_constructible_v<gc_ptr<point>>);
static_assert(std::is_convertible_v<gc_ptr<derived>, gc_ptr<left_base>>);
static_assert(std::is_convertible_v<gc_ptr<derived>, gc_ptr<right_base>>);
static_assert(std::is_convertible_v<gc_ptr<point>, gc_ptr<const point>>);
static_assert(!std::is_convertible_v<gc_ptr<left_base>, gc_ptr<derived>>,
              "downcasts must be explicit (static_gc_cast / dynamic_gc_cast)");
static_assert(!std::is_convertible_v<gc_ptr<point>, bool>,
              "operator bool must be explicit");
static_assert(!std::is_constructible_v<gc_ptr<point>, point*>,
              "a gc_ptr cannot be made from an arbitrary raw pointer");

TEST(GcPtr, DefaultAndNullptrAreNull) {
  gc_ptr<point> a;
  gc_ptr<point> b = nullptr;
  EXPECT_EQ(a.get(), nullptr);
  EXPECT_EQ(b.get(), nullptr);
  EXPECT_FALSE(a);
  EXPECT_TRUE(a == nullptr);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a != b);
}

TEST(GcPtr, MakeGcConstructsWithArguments) {
  gc_ptr<point> p = make_gc<point>(3, 4);
  ASSERT_TRUE(p);
  EXPECT_FALSE(p == nullptr);
  EXPECT_EQ(p->x, 3);
  EXPECT_EQ((*p).y, 4);
  EXPECT_EQ(p.operator->(), p.get());
  EXPECT_EQ(&*p, p.get());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p.get()) % 8, 0u)
      << "managed objects are 8-byte aligned";

  auto text = make_gc<std::string>(40, 'x');
  EXPECT_EQ(*text, std::string(40, 'x'));
  auto number = make_gc<long>(-5);
  EXPECT_EQ(*number, -5);
  auto defaulted = make_gc<point>();
  EXPECT_EQ(defaulted->x, 0);
  EXPECT_EQ(defaulted->y, 0);
}

TEST(GcPtr, DistinctAllocationsAreDistinct) {
  auto a = make_gc<point>(1, 1);
  auto b = make_gc<point>(1, 1);
  EXPECT_NE(a, b);
  EXPECT_NE(a.get(), b.get());
  a->x = 7;
  EXPECT_EQ(b->x, 1);
}

TEST(GcPtr, CopyAndAssignShareTheObject) {
  auto a = make_gc<point>(1, 2);
  gc_ptr<point> b(a);
  EXPECT_EQ(a, b);
  EXPECT_EQ(b.get(), a.get());
  b->x = 10;
  EXPECT_EQ(a->x, 10);

  gc_ptr<point> c;
  c = a;
  EXPECT_EQ(c, a);
  gc_ptr<point>& alias = c;
  c = alias;  // self-assignment keeps the value
  EXPECT_EQ(c, a);

  auto d = make_gc<point>(5, 6);
  c = d;
  EXPECT_EQ(c, d);
  EXPECT_NE(c, a);
  c = nullptr;
  EXPECT_FALSE(c);
  d.reset();
  EXPECT_FALSE(d);
  EXPECT_TRUE(a) << "resetting a copy does not touch the others";
}

TEST(GcPtr, MoveTransfersTheTarget) {
  auto a = make_gc<point>(8, 9);
  point* raw = a.get();
  gc_ptr<point> b(std::move(a));
  EXPECT_EQ(b.get(), raw);
  gc_ptr<point> c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  EXPECT_EQ(c->x, 8);
  // The moved-from state is unspecified but valid: it can be assigned again.
  a = c;
  EXPECT_EQ(a.get(), raw);
}

TEST(GcPtr, ComparisonFollowsAddresses) {
  auto a = make_gc<point>();
  auto b = make_gc<point>();
  gc_ptr<point> none;
  const bool a_below = std::less<point*>{}(a.get(), b.get());
  EXPECT_EQ(a < b, a_below);
  EXPECT_EQ(b < a, !a_below);
  EXPECT_EQ(a <= a, true);
  EXPECT_EQ(a >= a, true);
  EXPECT_TRUE((a <=> a) == 0);
  EXPECT_TRUE((a <=> b) != 0);
  EXPECT_TRUE(none < a || a < none);

  // Comparison across related types compares the converted addresses.
  auto object = make_gc<derived>(1);
  gc_ptr<right_base> as_right = object;
  gc_ptr<derived> back = tricolor::static_gc_cast<derived>(as_right);
  EXPECT_TRUE(back == object);

  // Usable as a key of ordered containers (with root_allocator: std
  // containers of gc_ptr with std::allocator do not compile).
  std::map<gc_ptr<point>, int, std::less<gc_ptr<point>>,
           tricolor::root_allocator<std::pair<const gc_ptr<point>, int>>>
      ordered;
  ordered[a] = 1;
  ordered[b] = 2;
  ordered[a] = 3;
  EXPECT_EQ(ordered.size(), 2u);
  EXPECT_EQ(ordered[a], 3);
}

TEST(GcPtr, HashMatchesRawPointerHash) {
  auto a = make_gc<point>();
  auto b = make_gc<point>();
  gc_ptr<point> none;
  EXPECT_EQ(std::hash<gc_ptr<point>>{}(a), std::hash<point*>{}(a.get()));
  EXPECT_EQ(std::hash<gc_ptr<point>>{}(none), std::hash<point*>{}(nullptr));
  gc_ptr<point> a_copy = a;
  EXPECT_EQ(std::hash<gc_ptr<point>>{}(a), std::hash<gc_ptr<point>>{}(a_copy));

  std::unordered_set<gc_ptr<point>, std::hash<gc_ptr<point>>, std::equal_to<gc_ptr<point>>,
                     tricolor::root_allocator<gc_ptr<point>>>
      set{a, b, a_copy, none};
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(set.contains(a));
  EXPECT_TRUE(set.contains(none));
  std::unordered_map<gc_ptr<point>, int, std::hash<gc_ptr<point>>, std::equal_to<gc_ptr<point>>,
                     tricolor::root_allocator<std::pair<const gc_ptr<point>, int>>>
      map;
  map[a] = 1;
  map[a_copy] += 1;
  EXPECT_EQ(map[a], 2);
}

TEST(GcPtr, ConstConversion) {
  auto p = make_gc<point>(2, 3);
  gc_ptr<const point> c = p;
  EXPECT_EQ(c.get(), p.get());
  EXPECT_EQ(c->y, 3);
  EXPECT_TRUE(c == p);
}

TEST(GcPtr, SingleInheritanceUpcast) {
  struct base {
    virtual ~base() = default;
    int b = 1;
  };
  struct child : base {
    int c = 2;
  };
  gc_ptr<child> object = make_gc<child>();
  gc_ptr<base> up = object;
  EXPECT_EQ(up.get(), static_cast<base*>(object.get()));
  EXPECT_EQ(up->b, 1);
  gc_ptr<base> assigned;
  assigned = object;
  EXPECT_EQ(assigned, up);
}

TEST(GcPtr, MultipleInheritanceUpcastIsInterior) {
  gc_ptr<derived> object = make_gc<derived>(77);
  gc_ptr<left_base> left = object;
  gc_ptr<right_base> right = object;
  EXPECT_EQ(left.get(), static_cast<left_base*>(object.get()));
  EXPECT_EQ(right.get(), static_cast<right_base*>(object.get()));
  EXPECT_NE(static_cast<const void*>(right.get()),
            static_cast<const void*>(object.get()))
      << "the test needs the right base to sit at a non-zero offset";
  EXPECT_EQ(left->which(), 3);
  EXPECT_EQ(right->kind(), 4);
  EXPECT_EQ(right->right_values[5], 26u);
  // Comparison converts: the interior right pointer equals the object.
  EXPECT_TRUE(right == object);
}

TEST(GcPtr, StaticAndDynamicCasts) {
  gc_ptr<derived> object = make_gc<derived>(5);
  gc_ptr<right_base> right = object;
  gc_ptr<left_base> left = object;

  gc_ptr<derived> down = tricolor::static_gc_cast<derived>(right);
  EXPECT_EQ(down.get(), object.get());
  EXPECT_EQ(down->tag, 5u);

  EXPECT_EQ(tricolor::dynamic_gc_cast<derived>(right).get(), object.get());
  EXPECT_EQ(tricolor::dynamic_gc_cast<derived>(left).get(), object.get());
  // Cross-cast from one base to the other.
  EXPECT_EQ(tricolor::dynamic_gc_cast<right_base>(left).get(), right.get());
  // To an unrelated polymorphic type: null.
  EXPECT_FALSE(tricolor::dynamic_gc_cast<unrelated>(left));
  // From null: null.
  EXPECT_FALSE(tricolor::dynamic_gc_cast<derived>(gc_ptr<left_base>()));
  EXPECT_FALSE(tricolor::static_gc_cast<derived>(gc_ptr<right_base>()))
      << "static_gc_cast of null must stay null, not become -offset";
  // A genuine left_base object is not a derived.
  gc_ptr<left_base> plain = make_gc<left_base>();
  EXPECT_FALSE(tricolor::dynamic_gc_cast<derived>(plain));
}

// Creates a derived object and stores only an interior pointer to it (its
// right_base subobject) in *out; returns a weak reference to the whole object.
template <class Out>
[[gnu::noinline]] weak_gc_ptr<derived> make_derived_as_right(std::uint64_t tag,
                                                             Out* out) {
  gc_ptr<derived> object = make_gc<derived>(tag);
  *out = gc_ptr<right_base>(object);
  return weak_gc_ptr<derived>(object);
}

[[gnu::noinline]] bool derived_intact(const weak_gc_ptr<derived>& weak,
                                      std::uint64_t tag) {
  gc_ptr<derived> object = weak.lock();
  return object && object->tag == tag &&
         object->left_value == 0x1111111111111111ull &&
         object->right_values[0] == 21 && object->right_values[5] == 26 &&
         object->which() == 3 && object->kind() == 4;
}

TEST(GcPtr, InteriorBasePointerInRootKeepsObjectAlive) {
  collect_clean();
  // The only reference: an interior address, in a precise root.
  gc_root<right_base> root(nullptr, "interior");
  weak_gc_ptr<derived> weak = make_derived_as_right(0xabc, &root);
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    tricolor_test::churn();
  }
  EXPECT_TRUE(derived_intact(weak, 0xabc))
      << "an object referenced only through a gc_ptr to its second base class "
         "(an interior address) held in a gc_root was freed or corrupted";
  EXPECT_EQ(times_destroyed(0xabc), 0);
  tricolor_test::isolated([&] {
    EXPECT_EQ(root->kind(), 4);
    EXPECT_EQ(root->right_values[2], 23u);
  });

  // Once the root lets go, the object is garbage.
  root.reset();
  collect_clean();
  EXPECT_FALSE(alive(weak)) << "the object outlived its only (interior) root";
  EXPECT_EQ(times_destroyed(0xabc), 1);
}

[[gnu::noinline]] gc_ptr<base_holder> make_holder_of_interior(
    std::uint64_t tag, weak_gc_ptr<derived>* weak) {
  auto holder = make_gc<base_holder>();
  *weak = make_derived_as_right(tag, &holder->held);
  return holder;
}

TEST(GcPtr, InteriorBasePointerInManagedFieldKeepsObjectAlive) {
  collect_clean();
  weak_gc_ptr<derived> weak;
  gc_root<base_holder> root(make_holder_of_interior(0xdef, &weak), "holder");
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    tricolor_test::churn();
  }
  EXPECT_TRUE(derived_intact(weak, 0xdef))
      << "a traced gc_ptr<right_base> field (interior address) did not keep "
         "its derived object alive";
  EXPECT_EQ(times_destroyed(0xdef), 0);

  root->held = nullptr;
  collect_clean();
  EXPECT_FALSE(alive(weak));
  EXPECT_EQ(times_destroyed(0xdef), 1)
      << "the derived destructor must run once (through the object's own "
         "type, not the base through which it was last referenced)";
}

TEST(GcPtr, InteriorBasePointerOnStackKeepsObjectAlive) {
  collect_clean();
  // `volatile` keeps the interior address in this frame's stack slot.
  gc_ptr<right_base> right;
  weak_gc_ptr<derived> weak = make_derived_as_right(0x123, &right);
  right_base* volatile interior = right.get();
  right = nullptr;
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    tricolor_test::churn();
  }
  EXPECT_TRUE(derived_intact(weak, 0x123))
      << "an interior pointer to a base subobject on the stack did not keep "
         "the object alive";
  EXPECT_EQ(times_destroyed(0x123), 0);
  EXPECT_EQ(interior->kind(), 4);
}

struct with_members {
  gc_ptr<point> first;
  gc_ptr<point> second;
  void trace(tricolor::tracer& t) const { t(first, second); }
};

TEST(GcPtr, StoresIntoManagedObjects) {
  auto owner = make_gc<with_members>();
  EXPECT_FALSE(owner->first);
  EXPECT_FALSE(owner->second) << "managed memory starts zeroed/null";
  owner->first = make_gc<point>(1, 2);
  owner->second = owner->first;
  EXPECT_EQ(owner->first, owner->second);
  tricolor::collect();
  EXPECT_EQ(owner->first->x, 1);
  EXPECT_EQ(owner->second->y, 2);
  owner->second.reset();
  EXPECT_FALSE(owner->second);
  EXPECT_TRUE(owner->first);
}

}  // namespace
