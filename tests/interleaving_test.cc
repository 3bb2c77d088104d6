// Forced interleavings of mutators with a concurrent cycle: the write
// barrier's classic failure cases, weak_gc_ptr::lock() and allocation while
// marking, and threads that start, exit or block while a cycle runs.
//
// Each test holds the collector at a point of a cycle (gc/test_hooks.hpp):
//
//   marking_started          the root snapshot is taken, the barrier is on,
//                            the marker has scanned nothing;
//   before_mark_termination  the marker has drained everything it could see,
//                            the barrier buffers are not yet flushed;
//   sweep_started            marking is over, the barrier is off, nothing is
//                            swept yet;
//
// and, while it is held, does what a mutator may do at that moment. What the
// test body does in the held window is invisible to the root snapshot (the
// stacks were scanned before): a pointer that lives only in a local or in an
// object allocated during marking (black, never scanned) is saved only by
// the mechanism under test. If that mechanism were broken, the cycle's sweep
// would free the object; the tests see it three ways: the object's weak
// reference is cleared, its destructor counter moves, and after `churn` has
// reused the freed slots its id and checksum no longer match.
//
// Conservative stack scanning (tests/test_support.hpp) matters in both
// directions. So that a broken barrier cannot be hidden by a stale copy of an
// address on the stack, held_cycle zeroes the dead stack before it starts
// the cycle, and objects are built and handled inside isolated() frames: the
// test bodies hold only gc_roots, weak references, ids and counters. The
// same recipe lets the tests check that objects are freed once dropped.
//
// Not run in parallel with other tests: every test holds the collector.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gc/collector.hpp"
#include "gc/config.hpp"
#include "gc/test_hooks.hpp"
#include "tricolor/tricolor.hpp"
#include "tests/held_cycle.hpp"
#include "tests/test_support.hpp"

namespace {

namespace hooks = tricolor::gc::test_hooks;
using hooks::cycle_point;
using tricolor_test::held_cycle;
using tricolor_test::wait_for_cycles;
using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::gc_vector;
using tricolor::make_gc;
using tricolor::make_gc_array;
using tricolor::weak_gc_ptr;
using tricolor::gc::current_phase;
using tricolor::gc::gc_phase;
using tricolor_test::alive;
using tricolor_test::collect_clean;
using tricolor_test::counted;
using tricolor_test::isolated;

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// A managed node with two edges, an id and a checksum of the id.

struct node {
  node(std::atomic<int>* counter, std::uint64_t id)
      : counter(counter), id(id), check(counted::mix(id)) {}
  ~node() {
    check = 0xdeaddeaddeaddeadull;  // a use after the destructor shows
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
  }
  bool intact() const { return check == counted::mix(id); }
  void trace(tricolor::tracer& t) const { t(child, other); }

  std::atomic<int>* counter;
  std::uint64_t id;
  std::uint64_t check;
  gc_ptr<node> child;
  gc_ptr<node> other;
};

using node_array = gc_array<gc_ptr<node>>;
using node_vector = gc_vector<gc_ptr<node>>;

// Ids unique across the whole run, so a slot freed and reused by another
// node never passes for the node a test expects there.
std::uint64_t fresh_ids(std::uint64_t count) {
  static std::atomic<std::uint64_t> next{1000};
  return next.fetch_add(count, std::memory_order_relaxed);
}

// A destruction counter of its own for each test (and each round, and each
// --gtest_repeat iteration): objects a test leaves behind are destroyed
// during later tests and must not count there. Static storage, so it outlives
// every object counting into it.
std::atomic<int>& fresh_counter() {
  static std::atomic<int> counters[16384];
  static std::atomic<std::size_t> next{0};
  std::atomic<int>& counter = counters[next.fetch_add(1) % 16384];
  counter.store(0);
  return counter;
}

// True if p is the live node `id`. Out of line: callers pass pointers they
// load from roots, so that the address stays out of the test body's frame.
[[gnu::noinline]] bool is_node(const node* p, std::uint64_t id) {
  return p && p->id == id && p->intact();
}
[[gnu::noinline]] bool is_node(const gc_ptr<node>& p, std::uint64_t id) {
  return is_node(p.get(), id);
}

// Keeps p in a register or stack slot up to this point.
template <class T>
[[gnu::always_inline]] inline void keep(const gc_ptr<T>& p) {
  asm volatile("" : : "r"(p.get()) : "memory");
}

// Note on building chains in these tests: a cursor that walks or builds a
// chain is a raw pointer, not a gc_ptr. Assigning to a gc_ptr local goes
// through the write barrier like any gc_ptr store, and while marking it
// shades the pointer it overwrites: a gc_ptr cursor would shade every node it
// passed and so mask a missing allocate-black or a lost barrier entry.

// Allocates and drops nodes (and counted objects and small arrays), so the
// slots a broken cycle would have freed are reused and overwritten.
[[gnu::noinline]] void churn(std::size_t count = 20000) {
  for (std::size_t i = 0; i < count; ++i) {
    auto junk = make_gc<node>(nullptr, (std::uint64_t{1} << 62) + i);
    asm volatile("" : : "r"(junk.get()) : "memory");
  }
  tricolor_test::churn(count / 2);
}

using Interleaving = tricolor_test::held_cycle_test;

// ---------------------------------------------------------------------------
// 1. The classic lost object: load X from a field the marker has not
// scanned, store it into a black object, delete the original edge.

TEST_F(Interleaving, PointerHiddenInABlackObjectSurvives) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(8);
  gc_root<node> a(nullptr, "interleaving.a");
  gc_root<node> keeper(nullptr, "interleaving.keeper");
  weak_gc_ptr<node> wx, wy;

  // a -> B -> X -> Y; only the gc_root is a root.
  isolated([&] {
    gc_ptr<node> an = make_gc<node>(nullptr, id);
    an->child = make_gc<node>(nullptr, id + 1);
    gc_ptr<node> x = make_gc<node>(&destroyed, id + 2);
    x->child = make_gc<node>(&destroyed, id + 3);
    an->child->child = x;
    wx = x;
    wy = x->child;
    a = an;
  });

  {
    held_cycle cycle(cycle_point::marking_started);
    ASSERT_TRUE(hooks::marking_active());
    isolated([&] {
      gc_ptr<node> b = a->child;
      gc_ptr<node> x = b->child;  // a local: not a root of this cycle
      b->child = nullptr;         // the deletion: the barrier must shade X
      gc_ptr<node> n = make_gc<node>(nullptr, id + 4);  // black: never scanned
      n->child = x;
      keeper = n;
    });
    cycle.finish();
  }
  churn();

  EXPECT_EQ(destroyed.load(), 0)
      << "X (or its child) was freed while reachable from a black object: the "
         "deletion barrier did not shade the overwritten pointer";
  EXPECT_TRUE(alive(wx)) << "the weak reference to X was cleared: X was left white";
  EXPECT_TRUE(alive(wy)) << "X's child was left white: X was not scanned";
  if (destroyed.load() == 0) {
    EXPECT_TRUE(isolated([&] {
      return is_node(keeper->child, id + 2) && is_node(keeper->child->child, id + 3);
    })) << "X or its child was overwritten";
  }

  // Dropped, X and Y are collected (by the next cycle after the drop).
  keeper.reset();
  collect_clean();
  EXPECT_FALSE(alive(wx));
  EXPECT_EQ(destroyed.load(), 2);
}

// ---------------------------------------------------------------------------
// 2. The last heap reference deleted while only a stack holds the object.

// In the held window: takes X from a->child into a local, deletes the edge,
// lets the cycle finish and checks X with X still in the local; then runs one
// more cycle, whose snapshot sees the local.
[[gnu::noinline]] void delete_last_edge_keep_local(held_cycle& cycle, gc_root<node>& a,
                                                   std::uint64_t id,
                                                   const weak_gc_ptr<node>& wx,
                                                   const std::atomic<int>& destroyed) {
  gc_ptr<node> x = a->child;
  a->child = nullptr;
  cycle.finish();
  churn();
  EXPECT_EQ(destroyed.load(), 0)
      << "X, held only by a local after the snapshot, was freed by the cycle "
         "during which its last heap reference was deleted";
  EXPECT_TRUE(alive(wx));
  if (destroyed.load() == 0) {
    EXPECT_TRUE(is_node(x, id + 1));
    EXPECT_TRUE(is_node(x->child, id + 2));
  }

  tricolor::collect();  // X is on this stack at this cycle's snapshot
  churn();
  EXPECT_EQ(destroyed.load(), 0) << "X, on the stack, was freed by the next cycle";
  if (destroyed.load() == 0) {
    EXPECT_TRUE(is_node(x, id + 1));
    EXPECT_TRUE(is_node(x->child, id + 2));
  }
  keep(x);
}

TEST_F(Interleaving, LastHeapReferenceDeletedWhileOnTheStack) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(4);
  gc_root<node> a(nullptr, "interleaving.a");
  weak_gc_ptr<node> wx;
  isolated([&] {
    gc_ptr<node> an = make_gc<node>(nullptr, id);
    an->child = make_gc<node>(&destroyed, id + 1);
    an->child->child = make_gc<node>(&destroyed, id + 2);
    wx = an->child;
    a = an;
  });

  {
    held_cycle cycle(cycle_point::marking_started);
    delete_last_edge_keep_local(cycle, a, id, wx, destroyed);
  }

  // The local is gone: X and its child are garbage now.
  collect_clean();
  EXPECT_FALSE(alive(wx)) << "X, dropped from the stack, was not collected";
  EXPECT_EQ(destroyed.load(), 2);
  EXPECT_TRUE(isolated([&] { return is_node(a.get(), id); }));
}

// The same through gc_root handles, which the collector visits after the
// mark-start pause (concurrently): at marking_started it has not visited
// them yet. X is held only by handle `r`; the test takes X into a local and
// then empties the handle (reset) or destroys it. Only the handles' own
// barrier (roots/handles.cc) can save X.
[[gnu::noinline]] void empty_handle_keep_local(held_cycle& cycle,
                                               std::unique_ptr<gc_root<node>>& r,
                                               bool destroy, std::uint64_t id,
                                               const std::atomic<int>& destroyed) {
  gc_ptr<node> x = r->get();
  if (destroy) r.reset();
  else r->reset();
  cycle.finish();
  churn();
  EXPECT_EQ(destroyed.load(), 0) << (destroy ? "destroying" : "emptying")
                                 << " a gc_root while marking did not shade its target";
  if (destroyed.load() == 0) {
    EXPECT_TRUE(is_node(x, id));
    EXPECT_TRUE(is_node(x->child, id + 1));
  }
  keep(x);
}

TEST_F(Interleaving, HandleEmptiedOrDestroyedBeforeTheCollectorVisitsIt) {
  for (bool destroy : {false, true}) {
    std::atomic<int>& destroyed = fresh_counter();
    const std::uint64_t id = fresh_ids(2);
    auto r = std::make_unique<gc_root<node>>(nullptr, "interleaving.handle");
    isolated([&] {
      gc_ptr<node> x = make_gc<node>(&destroyed, id);
      x->child = make_gc<node>(&destroyed, id + 1);
      *r = x;
    });
    {
      held_cycle cycle(cycle_point::marking_started);
      empty_handle_keep_local(cycle, r, destroy, id, destroyed);
    }
  }
}

// ---------------------------------------------------------------------------
// 3. The same through managed containers.

// gc_array element overwritten with another object; X kept in a local only.
[[gnu::noinline]] void overwrite_array_element(held_cycle& cycle,
                                               gc_root<node_array>& array,
                                               std::uint64_t id,
                                               const std::atomic<int>& destroyed) {
  gc_ptr<node> x = (*array)[3];
  (*array)[3] = make_gc<node>(nullptr, id + 100);  // black, replaces X
  cycle.finish();
  churn();
  EXPECT_EQ(destroyed.load(), 0)
      << "overwriting a gc_array element did not shade the old element";
  if (destroyed.load() == 0) {
    EXPECT_TRUE(is_node(x, id + 3));
    EXPECT_TRUE(is_node(x->child, id + 53));
  }
  keep(x);
}

TEST_F(Interleaving, GcArrayElementOverwrite) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(128);
  gc_root<node_array> array(nullptr, "interleaving.array");
  weak_gc_ptr<node> wx;
  isolated([&] {
    gc_ptr<node_array> fresh = make_gc_array<gc_ptr<node>>(8);
    for (std::uint64_t i = 0; i < 8; ++i) {
      (*fresh)[i] = make_gc<node>(&destroyed, id + i);
      (*fresh)[i]->child = make_gc<node>(&destroyed, id + 50 + i);
    }
    wx = (*fresh)[3];
    array = fresh;
  });

  {
    held_cycle cycle(cycle_point::marking_started);
    overwrite_array_element(cycle, array, id, destroyed);
  }
  collect_clean();
  EXPECT_FALSE(alive(wx)) << "the overwritten element was never collected";
  EXPECT_EQ(destroyed.load(), 2);
  EXPECT_TRUE(isolated([&] {
    for (std::uint64_t i = 0; i < 8; ++i) {
      if (i == 3) continue;
      if (!is_node((*array)[i], id + i) || !is_node((*array)[i]->child, id + 50 + i))
        return false;
    }
    return is_node((*array)[3], id + 100);
  }));
}

// More deletions than a barrier buffer holds (256): the mutator shades full
// buffers itself (into the work pool), the rest is shaded at termination.
TEST_F(Interleaving, ManyDeletionsOverflowTheBarrierBuffer) {
  constexpr std::uint64_t n = 1000;
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(2 * n);
  gc_root<node_array> old_array(nullptr, "interleaving.old_array");
  gc_root<node_array> new_array(nullptr, "interleaving.new_array");
  std::vector<weak_gc_ptr<node>> weak(n);
  isolated([&] {
    gc_ptr<node_array> fresh = make_gc_array<gc_ptr<node>>(n);
    for (std::uint64_t i = 0; i < n; ++i) {
      (*fresh)[i] = make_gc<node>(&destroyed, id + i);
      (*fresh)[i]->child = make_gc<node>(&destroyed, id + n + i);
      weak[i] = (*fresh)[i];
    }
    old_array = fresh;
  });

  {
    held_cycle cycle(cycle_point::marking_started);
    isolated([&] {
      gc_ptr<node_array> moved = make_gc_array<gc_ptr<node>>(n);  // black
      for (std::uint64_t i = 0; i < n; ++i) {
        (*moved)[i] = (*old_array)[i];
        (*old_array)[i] = nullptr;
      }
      new_array = moved;
    });
    cycle.finish();
  }
  churn();
  EXPECT_EQ(destroyed.load(), 0) << "elements moved into a black array were freed";
  std::uint64_t dead = 0;
  for (const auto& w : weak) dead += !alive(w);
  EXPECT_EQ(dead, 0u);
  if (destroyed.load() == 0) {
    EXPECT_TRUE(isolated([&] {
      for (std::uint64_t i = 0; i < n; ++i)
        if (!is_node((*new_array)[i], id + i) || !is_node((*new_array)[i]->child, id + n + i))
          return false;
      return true;
    }));
  }

  new_array.reset();
  collect_clean();
  dead = 0;
  for (const auto& w : weak) dead += !alive(w);
  EXPECT_EQ(dead, n);
  EXPECT_EQ(destroyed.load(), static_cast<int>(2 * n));
}

// gc_vector: pop_back and an element overwrite, both values hidden in a black
// object.
TEST_F(Interleaving, GcVectorPopBackAndOverwrite) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(8);
  gc_root<node_vector> vector(nullptr, "interleaving.vector");
  gc_root<node> keeper(nullptr, "interleaving.keeper");
  weak_gc_ptr<node> w_first, w_last;
  isolated([&] {
    gc_ptr<node_vector> v = make_gc<node_vector>();
    for (std::uint64_t i = 0; i < 3; ++i) v->push_back(make_gc<node>(&destroyed, id + i));
    w_first = (*v)[0];
    w_last = v->back();
    vector = v;
  });

  {
    held_cycle cycle(cycle_point::marking_started);
    isolated([&] {
      gc_ptr<node> n = make_gc<node>(nullptr, id + 10);  // black
      n->child = vector->back();
      vector->pop_back();        // resets the slot: shades the last element
      n->other = (*vector)[0];
      (*vector)[0] = nullptr;    // overwrites the first
      keeper = n;
    });
    cycle.finish();
  }
  churn();
  EXPECT_EQ(destroyed.load(), 0)
      << "gc_vector::pop_back or an element overwrite lost the removed element";
  EXPECT_TRUE(alive(w_first));
  EXPECT_TRUE(alive(w_last));
  if (destroyed.load() == 0) {
    EXPECT_TRUE(isolated([&] {
      return is_node(keeper->child, id + 2) && is_node(keeper->other, id) &&
             vector->size() == 2 && !(*vector)[0] && is_node((*vector)[1], id + 1);
    }));
  }
  keeper.reset();
  collect_clean();
  EXPECT_FALSE(alive(w_first));
  EXPECT_FALSE(alive(w_last));
  EXPECT_EQ(destroyed.load(), 2);
}

// gc_vector growth while marking: the elements are copied into a new buffer
// (allocated black, never scanned) and the buffer pointer is swung. Only the
// barrier on that swing (it shades the old buffer) gets the elements marked.
TEST_F(Interleaving, GcVectorGrowthDuringMarking) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(8);
  gc_root<node_vector> vector(nullptr, "interleaving.vector");
  std::vector<weak_gc_ptr<node>> weak(4);
  isolated([&] {
    gc_ptr<node_vector> v = make_gc<node_vector>();
    for (std::uint64_t i = 0; i < 4; ++i) {
      v->push_back(make_gc<node>(&destroyed, id + i));
      weak[i] = v->back();
    }
    vector = v;
  });
  ASSERT_EQ(isolated([&] { return vector->capacity(); }), 4u) << "set-up: the next push must grow";

  {
    held_cycle cycle(cycle_point::marking_started);
    isolated([&] { vector->push_back(make_gc<node>(nullptr, id + 4)); });
    EXPECT_EQ(isolated([&] { return vector->capacity(); }), 8u);
    cycle.finish();
  }
  churn();
  EXPECT_EQ(destroyed.load(), 0)
      << "elements of a gc_vector that grew during marking were freed";
  for (const auto& w : weak) EXPECT_TRUE(alive(w));
  if (destroyed.load() == 0) {
    EXPECT_TRUE(isolated([&] {
      for (std::uint64_t i = 0; i < 5; ++i)
        if (!is_node((*vector)[i], id + i)) return false;
      return vector->size() == 5;
    }));
  }
}

// ---------------------------------------------------------------------------
// 4. weak_gc_ptr::lock() while marking resurrects an object that was only
// weakly reachable at the snapshot (white); lock() must shade it.

// W -> C, both only weakly reachable (C not even that).
[[gnu::noinline]] void make_weakly_reachable(weak_gc_ptr<node>& ww, weak_gc_ptr<node>& wc,
                                             std::atomic<int>* destroyed, std::uint64_t id) {
  gc_ptr<node> w = make_gc<node>(destroyed, id);
  w->child = make_gc<node>(destroyed, id + 1);
  ww = w;
  wc = w->child;
}

TEST_F(Interleaving, WeakLockAtMarkStartIntoBlackObject) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(4);
  gc_root<node> keeper(nullptr, "interleaving.keeper");
  weak_gc_ptr<node> ww, wc;
  make_weakly_reachable(ww, wc, &destroyed, id);

  {
    held_cycle cycle(cycle_point::marking_started);
    bool locked = isolated([&] {
      gc_ptr<node> n = make_gc<node>(nullptr, id + 2);  // black
      n->child = ww.lock();
      keeper = n;
      return static_cast<bool>(n->child);
    });
    ASSERT_TRUE(locked) << "weak reference cleared before the cycle's marking ended";
    cycle.finish();
  }
  churn();
  EXPECT_EQ(destroyed.load(), 0)
      << "an object lock()ed during marking and stored in a black object was freed";
  EXPECT_TRUE(alive(ww));
  EXPECT_TRUE(alive(wc)) << "the lock()ed object was marked but not scanned";
  if (destroyed.load() == 0) {
    EXPECT_TRUE(isolated([&] {
      return is_node(keeper->child, id) && is_node(keeper->child->child, id + 1);
    }));
  }
  keeper.reset();
  collect_clean();
  EXPECT_FALSE(alive(ww));
  EXPECT_EQ(destroyed.load(), 2);
}

// Held when the marker has drained everything: the rooted object is black,
// the weakly reachable W and its child C are white, and the only record of
// the resurrection is the barrier buffer, shaded in the termination pause,
// which must then go back to marking (C is reached only through W).
TEST_F(Interleaving, WeakLockBeforeMarkTerminationIntoScannedObject) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(4);
  gc_root<node> a(nullptr, "interleaving.a");
  weak_gc_ptr<node> ww, wc;
  isolated([&] { a = make_gc<node>(nullptr, id + 2); });
  make_weakly_reachable(ww, wc, &destroyed, id);

  {
    held_cycle cycle(cycle_point::before_mark_termination);
    ASSERT_TRUE(hooks::marking_active());
    bool locked = isolated([&] {
      a->child = ww.lock();  // a was scanned: black
      return static_cast<bool>(a->child);
    });
    ASSERT_TRUE(locked) << "weak reference cleared before mark termination";
    cycle.finish();
  }
  churn();
  EXPECT_EQ(destroyed.load(), 0)
      << "an object lock()ed just before mark termination was freed";
  EXPECT_TRUE(alive(ww));
  EXPECT_TRUE(alive(wc)) << "the termination pause shaded W but did not resume marking";
  if (destroyed.load() == 0) {
    EXPECT_TRUE(isolated(
        [&] { return is_node(a->child, id) && is_node(a->child->child, id + 1); }));
  }
  isolated([&] { a->child = nullptr; });
  collect_clean();
  EXPECT_FALSE(alive(ww));
  EXPECT_EQ(destroyed.load(), 2);
}

// ---------------------------------------------------------------------------
// 5. Allocate black: objects allocated while marking, linked only from each
// other and from a local (which the snapshot never saw), survive the cycle.

struct allocation_witness {
  weak_gc_ptr<node> first, last;
  weak_gc_ptr<node_array> large;
};

[[gnu::noinline]] void allocate_during_marking(held_cycle& cycle, std::uint64_t id,
                                               std::atomic<int>* destroyed,
                                               allocation_witness& witness) {
  constexpr std::uint64_t length = 100;
  gc_ptr<node> head = make_gc<node>(destroyed, id);
  node* tail = head.get();
  for (std::uint64_t i = 1; i < length; ++i) {
    tail->child = make_gc<node>(destroyed, id + i);
    tail = tail->child.get();
  }
  witness.first = head;
  witness.last = head->child;  // (the second node, reached only through head)
  // A large array (a span of its own: allocated black by another path),
  // held only by a local; its one element is also head->other.
  gc_ptr<node_array> large = make_gc_array<gc_ptr<node>>(8192);
  (*large)[8191] = make_gc<node>(destroyed, id + length);
  head->other = (*large)[8191];
  witness.large = large;

  auto chain_ok = [&] {
    const node* p = head.get();
    for (std::uint64_t i = 0; i < length; ++i, p = p->child.get())
      if (!is_node(p, id + i)) return false;
    return !p && is_node(head->other, id + length) && is_node((*large)[8191], id + length);
  };
  cycle.finish();
  churn();
  EXPECT_EQ(destroyed->load(), 0) << "objects allocated during marking were freed";
  EXPECT_TRUE(alive(witness.first));
  EXPECT_TRUE(alive(witness.last));
  EXPECT_TRUE(alive(witness.large));
  if (destroyed->load() == 0) {
    EXPECT_TRUE(chain_ok());
  }

  tricolor::collect();  // now the local is a root
  churn();
  EXPECT_EQ(destroyed->load(), 0);
  if (destroyed->load() == 0) {
    EXPECT_TRUE(chain_ok());
  }
  keep(head);
  keep(large);
}

TEST_F(Interleaving, AllocatedBlackDuringMarking) {
  for (cycle_point point : {cycle_point::marking_started, cycle_point::before_mark_termination}) {
    SCOPED_TRACE(point == cycle_point::marking_started ? "held at marking_started"
                                                       : "held at before_mark_termination");
    std::atomic<int>& destroyed = fresh_counter();
    const std::uint64_t id = fresh_ids(128);
    allocation_witness witness;
    {
      held_cycle cycle(point);
      ASSERT_TRUE(hooks::marking_active());
      allocate_during_marking(cycle, id, &destroyed, witness);
    }
    collect_clean();
    EXPECT_FALSE(alive(witness.first)) << "dropped objects were never collected";
    EXPECT_FALSE(alive(witness.large));
    EXPECT_EQ(destroyed.load(), 101);
  }
}

// ---------------------------------------------------------------------------
// 6. Threads that start and exit while the collector marks.

// Thread started at `point` (registers with its first allocation), builds a
// chain, publishes it into a rooted object under a mutex and exits, all
// before the collector is released. Held at before_mark_termination, the
// rooted object is black: the chain survives only because it was allocated
// black.
TEST_F(Interleaving, ThreadStartedAndExitedDuringMarkingPublishes) {
  for (cycle_point point : {cycle_point::marking_started, cycle_point::before_mark_termination}) {
    SCOPED_TRACE(point == cycle_point::marking_started ? "held at marking_started"
                                                       : "held at before_mark_termination");
    std::atomic<int>& destroyed = fresh_counter();
    constexpr std::uint64_t length = 50;
    const std::uint64_t id = fresh_ids(length + 1);
    gc_root<node> a(nullptr, "interleaving.a");
    isolated([&] { a = make_gc<node>(nullptr, id + length); });
    std::mutex publish_lock;
    weak_gc_ptr<node> w_head, w_tail;
    {
      held_cycle cycle(point);
      std::thread worker([&] {
        gc_ptr<node> head = make_gc<node>(&destroyed, id);
        node* tail = head.get();
        for (std::uint64_t i = 1; i < length; ++i) {
          tail->child = make_gc<node>(&destroyed, id + i);
          tail = tail->child.get();
        }
        tricolor_test::churn(2000);  // more of its own allocation, then garbage
        w_head = head;
        node* before_last = head.get();
        while (before_last->child->child) before_last = before_last->child.get();
        w_tail = before_last->child;
        std::lock_guard guard(publish_lock);
        a->child = head;
      });
      {
        tricolor::blocking_scope blocking;
        worker.join();
      }
      EXPECT_TRUE(hooks::marking_active()) << "the cycle moved on while held";
      cycle.finish();
    }
    churn();
    EXPECT_EQ(destroyed.load(), 0)
        << "objects a thread built and published during marking were freed";
    EXPECT_TRUE(alive(w_head));
    EXPECT_TRUE(alive(w_tail));
    if (destroyed.load() == 0) {
      EXPECT_TRUE(isolated([&] {
        const node* p = a->child.get();
        for (std::uint64_t i = 0; i < length; ++i, p = p->child.get())
          if (!is_node(p, id + i)) return false;
        return !p;
      }));
    }
    // One more cycle: the exited thread's cache was left for the next pause
    // to flush; nothing of it may be lost or handed out twice.
    collect_clean();
    churn();
    EXPECT_EQ(destroyed.load(), 0);
    EXPECT_EQ(tricolor::read_stats().threads, 1u) << "the exited thread is still registered";
    isolated([&] { a->child = nullptr; });
    collect_clean();
    EXPECT_FALSE(alive(w_head));
    EXPECT_EQ(destroyed.load(), static_cast<int>(length));
  }
}

// A thread that, during marking, moves X from an unscanned field into an
// object it allocated (black) and exits: the deletion is recorded in its
// barrier buffer, which must be shaded when the thread exits (the thread is
// gone when the termination pause flushes the buffers of registered ones).
TEST_F(Interleaving, ThreadExitsWithRecordedDeletions) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(4);
  gc_root<node> a(nullptr, "interleaving.a");
  weak_gc_ptr<node> wx;
  isolated([&] {
    gc_ptr<node> an = make_gc<node>(nullptr, id);
    an->child = make_gc<node>(&destroyed, id + 1);
    an->child->child = make_gc<node>(&destroyed, id + 2);
    wx = an->child;
    a = an;
  });
  std::mutex publish_lock;

  {
    held_cycle cycle(cycle_point::marking_started);
    std::thread worker([&] {
      std::lock_guard guard(publish_lock);
      gc_ptr<node> x = a->child;
      a->child = nullptr;  // recorded in this thread's buffer only
      gc_ptr<node> n = make_gc<node>(nullptr, id + 3);  // black
      n->child = x;
      a->other = n;  // a is grey: it will be scanned, finding black n
    });
    {
      tricolor::blocking_scope blocking;
      worker.join();
    }
    cycle.finish();
  }
  churn();
  EXPECT_EQ(destroyed.load(), 0)
      << "an exiting thread's barrier buffer was lost: X, reachable through a "
         "black object, was freed";
  EXPECT_TRUE(alive(wx));
  if (destroyed.load() == 0) {
    EXPECT_TRUE(isolated([&] {
      return is_node(a->other, id + 3) && is_node(a->other->child, id + 1) &&
             is_node(a->other->child->child, id + 2) && !a->child;
    }));
  }
  isolated([&] { a->other = nullptr; });
  collect_clean();
  EXPECT_FALSE(alive(wx));
  EXPECT_EQ(destroyed.load(), 2);
}

// A thread that takes the last reference to X during marking and exits with
// it: X is garbage from then on. It is floating garbage for the held cycle
// and must be collected by a later cycle, exactly once, with everything else
// intact.
TEST_F(Interleaving, ThreadExitsHoldingTheLastReference) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(8);
  gc_root<node> a(nullptr, "interleaving.a");
  weak_gc_ptr<node> wx;
  isolated([&] {
    gc_ptr<node> an = make_gc<node>(nullptr, id);
    an->child = make_gc<node>(&destroyed, id + 1);
    an->child->child = make_gc<node>(&destroyed, id + 2);
    an->other = make_gc<node>(nullptr, id + 3);
    an->other->child = make_gc<node>(nullptr, id + 4);
    wx = an->child;
    a = an;
  });

  {
    held_cycle cycle(cycle_point::marking_started);
    std::thread worker([&] {
      gc_ptr<node> x = a->child;
      a->child = nullptr;
      tricolor_test::churn(5000);
      EXPECT_TRUE(is_node(x, id + 1));
      keep(x);
    });
    {
      tricolor::blocking_scope blocking;
      worker.join();
    }
    cycle.finish();
  }
  churn();
  // Floating garbage: marked by the held cycle (SATB), so still intact.
  if (alive(wx)) {
    EXPECT_EQ(destroyed.load(), 0);
    EXPECT_TRUE(isolated([&] {
      gc_ptr<node> x = wx.lock();
      return is_node(x, id + 1) && is_node(x->child, id + 2);
    }));
  }
  collect_clean();
  EXPECT_FALSE(alive(wx)) << "X, last held by an exited thread, was never collected";
  EXPECT_EQ(destroyed.load(), 2);
  churn();
  collect_clean();
  EXPECT_EQ(destroyed.load(), 2) << "an object was destroyed twice";
  EXPECT_TRUE(isolated([&] {
    return is_node(a.get(), id) && !a->child && is_node(a->other, id + 3) &&
           is_node(a->other->child, id + 4);
  }));
}

// ---------------------------------------------------------------------------
// 7. A thread parked in a blocking_scope, holding gc_ptrs on its stack, while
// cycles run, held ones included: its objects survive and no pause waits for
// it.

struct parked_thread_protocol {
  std::mutex lock;
  std::condition_variable changed;
  int stage = 0;  // main: 1 = cut your edge now, 2 = verify and exit
  int done = 0;   // worker: 1 = built, 2 = cut
  bool timed_out = false;
  bool verified = false;
  weak_gc_ptr<node> w_head, w_cut;

  // Waits for stage >= s in a blocking_scope, at most 10 s: were the scope
  // broken, a pause would wait up to 10 s for this thread (and the
  // time-to-safepoint check fail) instead of waiting forever.
  void worker_wait(int s) {
    tricolor::blocking_scope blocking;
    std::unique_lock guard(lock);
    if (!changed.wait_for(guard, 10s, [&] { return stage >= s; })) timed_out = true;
  }
  void worker_done(int d) {
    std::lock_guard guard(lock);
    done = d;
    changed.notify_all();
  }
  void main_wait(int d) {
    for (;;) {
      tricolor::safepoint();  // (as in wait_for_cycles)
      tricolor::blocking_scope blocking;
      std::unique_lock guard(lock);
      if (changed.wait_for(guard, 1ms, [&] { return done >= d; })) return;
    }
  }
  void main_go(int s) {
    std::lock_guard guard(lock);
    stage = s;
    changed.notify_all();
  }
};

[[gnu::noinline]] void parked_worker(parked_thread_protocol& p, std::atomic<int>* destroyed,
                                     std::uint64_t id) {
  constexpr std::uint64_t length = 20;
  // A chain held only by this thread's stack.
  gc_ptr<node> head = make_gc<node>(destroyed, id);
  node* tail = head.get();
  for (std::uint64_t i = 1; i < length; ++i) {
    tail->child = make_gc<node>(destroyed, id + i);
    tail = tail->child.get();
  }
  p.w_head = head;
  p.w_cut = head->child->child;
  p.worker_done(1);
  p.worker_wait(1);
  // In the held window: detach the chain's tail, keep it in a local only.
  gc_ptr<node> cut = head->child->child;
  head->child->child = nullptr;
  p.worker_done(2);
  p.worker_wait(2);
  // (Stops at the first damaged node: its fields may be anything.)
  auto chain_ok = [&](const node* q, std::uint64_t from, std::uint64_t to) {
    for (std::uint64_t i = from; i < to; ++i, q = q->child.get())
      if (!is_node(q, id + i)) return false;
    return q == nullptr;
  };
  bool ok = chain_ok(head.get(), 0, 2) && chain_ok(cut.get(), 2, length);
  std::lock_guard guard(p.lock);
  p.verified = ok;
  keep(head);
  keep(cut);
}

TEST_F(Interleaving, BlockedThreadDuringCycles) {
  std::atomic<int>& destroyed = fresh_counter();
  const std::uint64_t id = fresh_ids(32);
  parked_thread_protocol p;
  std::thread worker([&] { parked_worker(p, &destroyed, id); });
  p.main_wait(1);  // built, now parked in a blocking_scope

  const auto before = tricolor::read_stats();
  collect_clean();
  churn();
  {
    held_cycle cycle(cycle_point::marking_started);
    EXPECT_TRUE(hooks::marking_active());
    p.main_go(1);     // the worker leaves its scope, cuts an edge, parks again
    p.main_wait(2);
    cycle.finish();
  }
  churn();
  {
    held_cycle cycle(cycle_point::before_mark_termination);
    EXPECT_TRUE(hooks::marking_active());
  }
  churn();
  collect_clean();
  churn();
  const auto after = tricolor::read_stats();

  EXPECT_GE(after.num_gc, before.num_gc + 4);
  EXPECT_EQ(destroyed.load(), 0) << "objects on a parked thread's stack were freed";
  EXPECT_TRUE(alive(p.w_head));
  EXPECT_TRUE(alive(p.w_cut)) << "the parked thread's deletion during marking was lost";
  // (No ASSERT before the join: a joinable std::thread must not be destroyed.)
  EXPECT_LE(after.num_pauses - before.num_pauses, tricolor::gc_stats::pause_history);
  EXPECT_GE(after.num_pauses - before.num_pauses, 8u) << "two pauses per cycle at least";
  for (std::uint64_t i = before.num_pauses;
       i < after.num_pauses && after.num_pauses - i <= tricolor::gc_stats::pause_history; ++i) {
    const auto& pause = after.pauses[i % tricolor::gc_stats::pause_history];
    EXPECT_LT(pause.time_to_safepoint_ns, 50'000'000u)
        << "pause " << i << " waited " << pause.time_to_safepoint_ns / 1000
        << " us for its threads: it waited for the thread in a blocking_scope";
  }

  p.main_go(2);
  {
    tricolor::blocking_scope blocking;
    worker.join();
  }
  EXPECT_FALSE(p.timed_out) << "the worker was not woken in time";
  EXPECT_TRUE(p.verified) << "the parked thread found its objects damaged";
  collect_clean();
  EXPECT_FALSE(alive(p.w_head));
  EXPECT_EQ(destroyed.load(), 20);
}

// ---------------------------------------------------------------------------
// 8. The barrier's mode and the phase at each hold point.

TEST_F(Interleaving, BarrierOnExactlyWhileMarking) {
  EXPECT_FALSE(hooks::marking_active());
  EXPECT_EQ(current_phase(), gc_phase::off);
  {
    held_cycle cycle(cycle_point::marking_started);
    EXPECT_TRUE(hooks::marking_active());
    EXPECT_EQ(current_phase(), gc_phase::mark);
  }
  EXPECT_FALSE(hooks::marking_active());
  EXPECT_EQ(current_phase(), gc_phase::off);
  {
    held_cycle cycle(cycle_point::before_mark_termination);
    EXPECT_TRUE(hooks::marking_active());
    EXPECT_EQ(current_phase(), gc_phase::mark);
  }
  EXPECT_FALSE(hooks::marking_active());
  {
    held_cycle cycle(cycle_point::sweep_started);
    EXPECT_FALSE(hooks::marking_active());
    EXPECT_EQ(current_phase(), gc_phase::sweep);
  }
  EXPECT_FALSE(hooks::marking_active());
  EXPECT_EQ(current_phase(), gc_phase::off);
}

// Held at sweep_started: marking is over (barrier off), weak references to
// garbage are already cleared though nothing is swept yet, and allocation
// works: objects allocated now are not marked, and this cycle's sweep must
// not free them.
TEST_F(Interleaving, AllocationWhileSweepIsPending) {
  std::atomic<int>& garbage_destroyed = fresh_counter();
  std::atomic<int>& destroyed = fresh_counter();
  constexpr std::uint64_t length = 1000;
  const std::uint64_t id = fresh_ids(length + 2);
  gc_root<node> keeper(nullptr, "interleaving.keeper");
  gc_root<node_array> large(nullptr, "interleaving.large");
  weak_gc_ptr<node> w_garbage;
  // Made by a thread that exits at once: no stale copy of its address can
  // stay in this thread's stack or registers (a conservative root would keep
  // it, and the checks below expect it collected by this very cycle).
  std::thread maker([&] { w_garbage = make_gc<node>(&garbage_destroyed, id + length); });
  {
    tricolor::blocking_scope blocking;
    maker.join();
  }

  {
    held_cycle cycle(cycle_point::sweep_started);
    EXPECT_FALSE(hooks::marking_active());
    EXPECT_FALSE(alive(w_garbage))
        << "a weak reference to garbage outlived mark termination";
    EXPECT_EQ(garbage_destroyed.load(), 0) << "swept before sweep_started";
    isolated([&] {
      gc_ptr<node> head = make_gc<node>(&destroyed, id);
      node* tail = head.get();
      for (std::uint64_t i = 1; i < length; ++i) {
        tail->child = make_gc<node>(&destroyed, id + i);
        tail = tail->child.get();
      }
      keeper = head;
      gc_ptr<node_array> array = make_gc_array<gc_ptr<node>>(8192);
      (*array)[0] = make_gc<node>(&destroyed, id + length + 1);
      large = array;
    });
    churn(5000);
    cycle.finish();
  }
  EXPECT_EQ(garbage_destroyed.load(), 1) << "garbage from before the cycle was not freed";
  churn();
  EXPECT_EQ(destroyed.load(), 0)
      << "objects allocated while the sweep was pending were freed by it";
  if (destroyed.load() == 0) {
    EXPECT_TRUE(isolated([&] {
      const node* p = keeper.get().get();
      for (std::uint64_t i = 0; i < length; ++i, p = p->child.get())
        if (!is_node(p, id + i)) return false;
      return !p && is_node((*large)[0], id + length + 1);
    }));
  }
  keeper.reset();
  large.reset();
  collect_clean();
  EXPECT_EQ(destroyed.load(), static_cast<int>(length + 1));
}

}  // namespace
