// The collector as a whole: unreachable cycles are freed, statistics count
// cycles, pauses and live data, garbage is really reclaimed so the heap stays
// bounded, the pacing knob (set_gc_percent) works and can be turned off, and
// several threads may call collect() at once.
//
// This test is not run in parallel with the others (tests/meson.build): it
// checks heap sizes and timing-free but allocation-heavy behaviour.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
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
using tricolor_test::isolated;

constexpr std::uint64_t MiB = 1024 * 1024;

// Sets the GC percent for the lifetime of the object.
class scoped_gc_percent {
 public:
  explicit scoped_gc_percent(int percent)
      : previous_(tricolor::set_gc_percent(percent)) {}
  ~scoped_gc_percent() { tricolor::set_gc_percent(previous_); }

 private:
  int previous_;
};

std::uint64_t unix_now_ns() {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

// ---------------------------------------------------------------------------
// Cycles.

struct graph_node {
  graph_node(std::atomic<int>* counter, std::uint64_t id)
      : counter(counter), id(id), check(counted::mix(id)) {}
  ~graph_node() { counter->fetch_add(1, std::memory_order_relaxed); }
  std::atomic<int>* counter;
  std::uint64_t id, check;
  gc_ptr<graph_node> edges[3];
  void trace(tricolor::tracer& t) const { t(edges[0], edges[1], edges[2]); }
};

// Builds `count` rings of `length` nodes; returns the number of nodes.
[[gnu::noinline]] int make_rings(std::atomic<int>* counter, int count,
                                 int length, gc_root<graph_node>* keep = nullptr) {
  std::uint64_t id = 0;
  for (int r = 0; r < count; ++r) {
    auto head = make_gc<graph_node>(counter, id++);
    auto tail = head;
    for (int i = 1; i < length; ++i) {
      auto node = make_gc<graph_node>(counter, id++);
      tail->edges[0] = node;
      node->edges[1] = tail;  // doubly linked: cycles of length 2 as well
      tail = node;
    }
    tail->edges[0] = head;
    head->edges[1] = tail;
    if (keep) *keep = head;
  }
  return count * length;
}

// A complete directed graph with self loops.
[[gnu::noinline]] int make_clique(std::atomic<int>* counter, int n) {
  std::vector<gc_root<graph_node>> nodes;
  for (int i = 0; i < n; ++i) nodes.emplace_back(make_gc<graph_node>(counter, i));
  for (int i = 0; i < n; ++i) {
    // Three out-edges each, so every node is reachable from every other.
    nodes[i]->edges[0] = nodes[i].get();
    nodes[i]->edges[1] = nodes[(i + 1) % n].get();
    nodes[i]->edges[2] = nodes[(i * 7 + 3) % n].get();
  }
  return n;
}

TEST(Collector, UnreachableCyclesAreFreed) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  int made = make_rings(&destroyed, 500, 2);  // 500 two-node cycles
  made += make_rings(&destroyed, 200, 1);     // self loops
  made += make_rings(&destroyed, 1, 5000);    // one long ring
  made += make_clique(&destroyed, 300);
  collect_clean();
  EXPECT_EQ(destroyed.load(), made)
      << "unreachable cyclic garbage was not (all) freed by one full cycle";
  collect_clean();
  EXPECT_EQ(destroyed.load(), made) << "something was destroyed twice";
}

[[gnu::noinline]] bool ring_intact(const gc_root<graph_node>& head, int length) {
  gc_ptr<graph_node> node = head.get();
  for (int i = 0; i < length; ++i) {
    if (!node || node->check != counted::mix(node->id)) return false;
    if (node->edges[0]->edges[1] != node) return false;
    node = node->edges[0];
  }
  return node == head.get();
}

TEST(Collector, ReachableCycleSurvivesUntilCut) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<graph_node> head(nullptr, "collector_test.ring");
  make_rings(&destroyed, 1, 1000, &head);
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    churn();
    ASSERT_TRUE(ring_intact(head, 1000)) << "a rooted ring was damaged";
  }
  EXPECT_EQ(destroyed.load(), 0);
  head.reset();
  collect_clean();
  EXPECT_EQ(destroyed.load(), 1000);
}

// ---------------------------------------------------------------------------
// Statistics.

TEST(Collector, CollectCountsCyclesAndPauses) {
  scoped_gc_percent no_pacing(-1);  // no other cycle can interleave
  const std::uint64_t wall_before = unix_now_ns();
  const auto before = tricolor::read_stats();
  tricolor::collect();
  const auto after_one = tricolor::read_stats();
  tricolor::collect();
  tricolor::collect();
  const auto after = tricolor::read_stats();
  const std::uint64_t wall_after = unix_now_ns();

  EXPECT_EQ(after_one.num_gc, before.num_gc + 1);
  EXPECT_EQ(after_one.num_forced_gc, before.num_forced_gc + 1);
  EXPECT_EQ(after.num_gc, before.num_gc + 3);
  EXPECT_EQ(after.num_forced_gc, before.num_forced_gc + 3);
  EXPECT_LE(after.num_forced_gc, after.num_gc);

  EXPECT_GT(after.pause_total_ns, before.pause_total_ns)
      << "three stop-the-world cycles added no pause time";
  const std::uint64_t last = after.pause_ns[(after.num_gc - 1) % after.pause_history];
  EXPECT_GT(last, 0u) << "the most recent pause is not recorded";
  EXPECT_LE(last, after.pause_total_ns - before.pause_total_ns);
  EXPECT_GE(after.last_gc_unix_ns, wall_before);
  EXPECT_LE(after.last_gc_unix_ns, wall_after);
  const std::uint64_t last_end =
      after.pause_end_unix_ns[(after.num_gc - 1) % after.pause_history];
  EXPECT_GE(last_end, wall_before);
  EXPECT_LE(last_end, wall_after);
  EXPECT_GE(after.threads, 1u) << "the collecting thread is a mutator too";
  EXPECT_EQ(after.gc_percent, -1);
  EXPECT_GE(after.gc_cpu_fraction, 0.0);
  EXPECT_LE(after.gc_cpu_fraction, 1.0);
  EXPECT_GT(after.globals_bytes, 0u) << "no data segment was scanned";
  EXPECT_GT(after.stacks_bytes, 0u) << "no stack was scanned";
}

[[gnu::noinline]] void make_rooted_objects(std::vector<gc_root<counted>>* roots,
                                           int n) {
  for (int i = 0; i < n; ++i) roots->emplace_back(make_gc<counted>(nullptr, i));
}

[[gnu::noinline]] void make_garbage_objects(int n) {
  for (int i = 0; i < n; ++i) {
    auto p = make_gc<counted>(nullptr, i);
    asm volatile("" : : "r"(p.get()) : "memory");
  }
}

TEST(Collector, LiveAndFreedStatistics) {
  scoped_gc_percent no_pacing(-1);
  collect_clean();
  const auto base = tricolor::read_stats();

  constexpr int n = 20000;
  std::vector<gc_root<counted>> roots;
  make_rooted_objects(&roots, n);
  make_garbage_objects(n);
  const auto allocated = tricolor::read_stats();
  EXPECT_GE(allocated.total_alloc_bytes - base.total_alloc_bytes,
            std::uint64_t(2 * n) * sizeof(counted))
      << "total_alloc_bytes did not count the allocations";
  EXPECT_GE(allocated.heap_alloc, base.heap_alloc + n * sizeof(counted));

  collect_clean();
  const auto live = tricolor::read_stats();
  EXPECT_EQ(live.live_objects, base.live_objects + n)
      << "live_objects after a cycle must count exactly the rooted objects";
  EXPECT_GE(live.live_bytes, base.live_bytes + n * sizeof(counted));
  // counted has a destructor: the cycle that finds it dead hands it to the
  // finalizer thread, and the next one frees its slot (gc/finalizer.hpp).
  collect_clean();
  const auto swept = tricolor::read_stats();
  EXPECT_EQ(swept.live_objects, live.live_objects);
  EXPECT_GE(swept.objects_freed - base.objects_freed, std::uint64_t(n));
  EXPECT_GE(swept.bytes_freed - base.bytes_freed, n * sizeof(counted));
  EXPECT_GE(live.heap_inuse, live.live_bytes);
  EXPECT_GE(live.handle_roots, std::uint64_t(n))
      << "the " << n << " gc_roots were not counted as handle roots";
  EXPECT_GT(live.heap_goal, 0u);

  roots.clear();
  collect_clean();
  const auto dropped = tricolor::read_stats();
  EXPECT_EQ(dropped.live_objects, base.live_objects);
  EXPECT_LE(dropped.handle_roots, live.handle_roots - n);
  EXPECT_GE(dropped.objects_freed - live.objects_freed, std::uint64_t(n));
}

// ---------------------------------------------------------------------------
// Memory is reclaimed.

// Allocates `total` bytes of garbage in objects of mixed sizes while keeping a
// small live set; returns the largest heap_inuse seen.
[[gnu::noinline]] std::uint64_t allocate_garbage(std::uint64_t total,
                                                 std::size_t max_array) {
  gc_root<gc_array<gc_ptr<counted>>> live(
      make_gc_array<gc_ptr<counted>>(1024), "collector_test.live_window");
  std::uint64_t allocated = 0, max_inuse = 0, next_sample = 0;
  for (std::uint64_t i = 0; allocated < total; ++i) {
    // A sliding window of 1024 recent objects stays live.
    (*live)[i % 1024] = make_gc<counted>(nullptr, i);
    allocated += sizeof(counted);
    std::size_t n = 1 + (i * 2654435761u) % max_array;
    auto array = make_gc_array<std::uint64_t>(n);
    (*array)[0] = i;
    allocated += n * sizeof(std::uint64_t);
    if (allocated >= next_sample) {
      max_inuse = std::max(max_inuse, tricolor::read_stats().heap_inuse);
      next_sample = allocated + MiB;
    }
  }
  return max_inuse;
}

// The bound on heap_inuse while allocating garbage: 64 MiB, plus twice the
// scanned roots, which the heap goal counts (live + (live + roots) * GOGC /
// 100, as Go 1.18+): data segments are about 47 MB under ThreadSanitizer,
// under 1 MB in a release build.
std::uint64_t reclaim_bound(const tricolor::gc_stats& s) {
  return 64 * MiB + 2 * (s.globals_bytes + s.stacks_bytes);
}

TEST(Collector, SmallGarbageIsReclaimed) {
  scoped_gc_percent pacing(100);
  collect_clean();
  const auto before = tricolor::read_stats();
  const std::uint64_t max_inuse = allocate_garbage(200 * MiB, 64);
  const auto after = tricolor::read_stats();
  EXPECT_LT(max_inuse, reclaim_bound(before))
      << "200 MB of short-lived small objects drove heap_inuse to "
      << max_inuse / MiB << " MiB: garbage is not being reclaimed";
  EXPECT_GE(after.num_gc - before.num_gc, 3u)
      << "pacing started too few cycles while 200 MB were allocated";
  EXPECT_EQ(after.num_forced_gc, before.num_forced_gc);
}

TEST(Collector, LargeGarbageIsReclaimed) {
  scoped_gc_percent pacing(100);
  collect_clean();
  const auto before = tricolor::read_stats();
  // Arrays of up to 256 KiB: most of them are large objects.
  const std::uint64_t max_inuse = allocate_garbage(400 * MiB, 32768);
  const auto after = tricolor::read_stats();
  EXPECT_LT(max_inuse, reclaim_bound(before))
      << "400 MB of short-lived large arrays drove heap_inuse to "
      << max_inuse / MiB << " MiB";
  EXPECT_GE(after.num_gc - before.num_gc, 3u);
}

// ---------------------------------------------------------------------------
// Pacing knob.

TEST(Collector, SetGcPercentReturnsPrevious) {
  const int original = tricolor::set_gc_percent(50);
  EXPECT_EQ(tricolor::read_stats().gc_percent, 50);
  EXPECT_EQ(tricolor::set_gc_percent(200), 50);
  EXPECT_EQ(tricolor::read_stats().gc_percent, 200);
  EXPECT_EQ(tricolor::set_gc_percent(-1), 200);
  EXPECT_EQ(tricolor::set_gc_percent(0), -1);
  EXPECT_EQ(tricolor::set_gc_percent(original), 0);
  EXPECT_EQ(tricolor::read_stats().gc_percent, original);
}

TEST(Collector, PacingOffMeansNoAutomaticCycles) {
  collect_clean();
  std::uint64_t heap_before_off = tricolor::read_stats().heap_inuse;
  std::uint64_t cycles_while_off = 0, heap_while_off = 0;
  {
    scoped_gc_percent off(-1);
    const auto before = tricolor::read_stats();
    allocate_garbage(150 * MiB, 64);
    const auto after = tricolor::read_stats();
    cycles_while_off = after.num_gc - before.num_gc;
    heap_while_off = after.heap_inuse;

    // collect() still works with pacing off, and frees the garbage.
    tricolor::collect();
    const auto collected = tricolor::read_stats();
    EXPECT_EQ(collected.num_gc, after.num_gc + 1);
    EXPECT_LT(collected.heap_inuse, heap_while_off / 2)
        << "collect() with pacing off did not free the garbage";
  }
  EXPECT_EQ(cycles_while_off, 0u)
      << "set_gc_percent(-1) must stop pacing-triggered cycles";
  EXPECT_GE(heap_while_off, heap_before_off + 100 * MiB)
      << "with pacing off, 150 MB of garbage should have accumulated";

  // Back on: allocation triggers cycles again.
  scoped_gc_percent on(100);
  const auto before = tricolor::read_stats();
  allocate_garbage(100 * MiB, 64);
  const auto after = tricolor::read_stats();
  EXPECT_GE(after.num_gc - before.num_gc, 1u)
      << "pacing did not resume after set_gc_percent(100)";
}

TEST(Collector, LowerGcPercentMeansMoreCycles) {
  std::uint64_t cycles[2];
  const int percents[2] = {400, 25};
  for (int k = 0; k < 2; ++k) {
    scoped_gc_percent pacing(percents[k]);
    collect_clean();
    const auto before = tricolor::read_stats();
    // A live set of ~16 MB so that the heap goal is not the minimum heap.
    gc_root<gc_array<std::uint64_t>> ballast(make_gc_array<std::uint64_t>(2 * MiB));
    allocate_garbage(200 * MiB, 64);
    cycles[k] = tricolor::read_stats().num_gc - before.num_gc;
  }
  EXPECT_GT(cycles[1], cycles[0])
      << "GC percent 25 ran " << cycles[1] << " cycles, 400 ran " << cycles[0];
}

// ---------------------------------------------------------------------------
// Threads.

TEST(Collector, ConcurrentCollectCalls) {
  constexpr int threads = 4, calls = 25;
  const auto before = tricolor::read_stats();
  std::atomic<int> failures{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      gc_root<gc_array<gc_ptr<counted>>> mine(make_gc_array<gc_ptr<counted>>(100));
      for (int i = 0; i < 100; ++i) (*mine)[i] = make_gc<counted>(nullptr, t * 1000 + i);
      for (int c = 0; c < calls; ++c) {
        make_garbage_objects(1000);
        tricolor::collect();
        for (int i = 0; i < 100; ++i) {
          const auto& p = (*mine)[i];
          if (!p || p->id != std::uint64_t(t * 1000 + i) || !p->intact())
            failures.fetch_add(1);
        }
      }
    });
  }
  {
    tricolor::blocking_scope blocking;
    for (auto& w : workers) w.join();
  }
  const auto after = tricolor::read_stats();
  EXPECT_EQ(failures.load(), 0) << "objects rooted by a thread were damaged";
  EXPECT_GE(after.num_forced_gc - before.num_forced_gc, std::uint64_t(calls));
  EXPECT_LE(after.num_forced_gc - before.num_forced_gc,
            std::uint64_t(threads * calls));
}

TEST(Collector, ThreadsUnregisterAtExit) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  std::vector<weak_gc_ptr<counted>> weaks(8);
  for (int round = 0; round < 2; ++round) {
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
      workers.emplace_back([&, t, round] {
        // Registers the thread; the object lives only on this stack.
        gc_ptr<counted> local = make_gc<counted>(&destroyed, t);
        weaks[round * 4 + t] = local;
        make_garbage_objects(5000);
      });
    }
    tricolor::blocking_scope blocking;
    for (auto& w : workers) w.join();
  }
  collect_clean();
  const auto stats = tricolor::read_stats();
  EXPECT_EQ(stats.threads, 1u)
      << "threads that exited are still registered (or counted)";
  EXPECT_EQ(destroyed.load(), 8)
      << "objects held only by the stacks of exited threads were not freed";
  for (const auto& w : weaks) EXPECT_FALSE(alive(w));
}

TEST(Collector, ThreadWhoseFirstHeapUseIsCollect) {
  const auto before = tricolor::read_stats();
  std::thread fresh([] { tricolor::collect(); });
  {
    tricolor::blocking_scope blocking;
    fresh.join();
  }
  EXPECT_GE(tricolor::read_stats().num_forced_gc, before.num_forced_gc + 1);
}

TEST(Collector, ParkedThreadsAreCounted) {
  // Four threads parked in blocking scopes while main collects.
  std::atomic<int> registered{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < 4; ++t) {
    workers.emplace_back([&] {
      auto p = make_gc<counted>(nullptr, 1);  // registers the thread
      asm volatile("" : : "r"(p.get()) : "memory");
      registered.fetch_add(1);
      tricolor::blocking_scope blocking;
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    });
  }
  while (registered.load() < 4) {
    tricolor::safepoint();
    std::this_thread::yield();
  }
  tricolor::collect();
  EXPECT_GE(tricolor::read_stats().threads, 5u);
  release.store(true);
  tricolor::blocking_scope blocking;
  for (auto& w : workers) w.join();
}

}  // namespace
