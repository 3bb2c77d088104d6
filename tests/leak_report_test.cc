// Leak reports (include/tricolor/leak_report.hpp): the leaks a collected
// program still has, named by the root that keeps them.
//
// Run with TRICOLOR_DEBUG=leakreport=1,leakcycles=8 and TRICOLOR_GC_PERCENT=off
// (tests/meson.build), so that the only cycles are the tests' collect()
// calls and "the Nth cycle" is exact; again with gcstoptheworld=1 (the
// stop-the-world collector attributes the same way), and the expect_dead
// tests once more without leakreport (expectations need no tracking).
//
// The tracker is process-wide: every test grows its own roots, with names
// of its own, and looks only for those.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <list>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tests/test_support.hpp"
#include "tricolor/internal/size_classes.hpp"
#include "tricolor/tricolor.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::leak_suspect;
using tricolor::make_gc;
using tricolor::make_gc_array;
using tricolor::tracer;

bool tracking_on() {
  const char* debug = std::getenv("TRICOLOR_DEBUG");
  return debug != nullptr && std::string(debug).find("leakreport=1") != std::string::npos;
}

// The slot a managed object of `payload` bytes takes (header included), as
// the heap rounds it: the figure the tracker credits.
std::uint64_t slot_bytes(std::size_t payload) {
  std::size_t bytes = tricolor::heap::header_size + ((payload + 7) & ~std::size_t{7});
  if (bytes <= tricolor::heap::max_small_size)
    return tricolor::heap::size_class_bytes[tricolor::heap::size_class_of(bytes)];
  return (bytes + tricolor::heap::page_size - 1) & ~(tricolor::heap::page_size - 1);
}
std::uint64_t array_slot_bytes(std::size_t elements, std::size_t element_bytes) {
  return slot_bytes(sizeof(gc_array<char>) + elements * element_bytes);
}

const leak_suspect* find_suspect(const std::vector<leak_suspect>& all, const std::string& name_part,
                                 leak_suspect::reason why) {
  for (const leak_suspect& s : all)
    if (s.why == why && s.root.name.find(name_part) != std::string::npos) return &s;
  return nullptr;
}

std::string report_text(const std::vector<leak_suspect>& all) {
  std::string text;
  for (const leak_suspect& s : all)
    text += s.root.kind + " '" + s.root.name + "' " + std::to_string(s.bytes) + " B\n";
  return text;
}

constexpr std::size_t window = 8;  // leakcycles, as tests/meson.build sets it

// Cycles a control runs: 100, or TRICOLOR_LEAK_CONTROL_CYCLES (the
// ThreadSanitizer run of scripts/dev.sh asks for 20: a cycle takes about
// half a second there).
int control_cycles() {
  const char* set = std::getenv("TRICOLOR_LEAK_CONTROL_CYCLES");
  return set != nullptr ? std::atoi(set) : 100;
}

// --- 1. a static cache that only grows ----------------------------------------

struct cached_page {
  std::uint64_t key;
  gc_ptr<gc_array<std::uint64_t>> words;
  void trace(tracer& t) const { t(words); }
};
constexpr std::size_t page_words = 126;  // a 1 KiB slot with header and length

tricolor::gc_vector<gc_ptr<cached_page>>& page_cache() {
  static tricolor::gc_vector<gc_ptr<cached_page>> pages_by_key;  // never evicted
  return pages_by_key;
}

[[gnu::noinline]] void cache_more_pages(std::size_t count) {
  auto& cache = page_cache();
  for (std::size_t i = 0; i < count; ++i) {
    auto words = make_gc_array<std::uint64_t>(page_words, i);
    cache.push_back(make_gc<cached_page>(cache.size(), words));
  }
}

TEST(LeakReport, GrowingStaticCacheIsNamedWithItsSizeAndPath) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  constexpr std::size_t per_cycle = 400;  // about 420 KiB a cycle
  std::size_t found_at = 0;
  std::vector<leak_suspect> report;
  for (std::size_t cycle = 1; cycle <= 2 * window + 4 && found_at == 0; ++cycle) {
    cache_more_pages(per_cycle);
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    if (find_suspect(report, "pages_by_key", leak_suspect::reason::growth)) found_at = cycle;
  }
  // Seen in 17 cycles (8 of warm-up), growing in each of the last 8 steps:
  // reported at the end of the 17th (leakcycles=8).
  ASSERT_EQ(found_at, 2 * window + 1) << report_text(report);
  const leak_suspect& s = *find_suspect(report, "pages_by_key", leak_suspect::reason::growth);
  EXPECT_EQ(s.root.kind, "global");
  EXPECT_NE(s.root.name.find("page_cache()::pages_by_key"), std::string::npos) << s.root.name;
  EXPECT_NE(s.root.file.find("leak_report_test"), std::string::npos) << s.root.file;
  // What the cache holds, slot by slot.
  auto& cache = page_cache();
  std::uint64_t expected =
      cache.size() * (slot_bytes(sizeof(cached_page)) + array_slot_bytes(page_words, 8)) +
      array_slot_bytes(cache.capacity(), sizeof(gc_ptr<cached_page>));
  EXPECT_GE(static_cast<double>(s.bytes), 0.9 * static_cast<double>(expected));
  EXPECT_LE(static_cast<double>(s.bytes), 1.1 * static_cast<double>(expected));
  EXPECT_EQ(s.objects, 2 * cache.size() + 1);
  EXPECT_NEAR(s.growth_bytes_per_cycle,
              per_cycle * (slot_bytes(sizeof(cached_page)) + array_slot_bytes(page_words, 8)),
              0.25 * per_cycle * (slot_bytes(sizeof(cached_page)) + array_slot_bytes(page_words, 8)));
  EXPECT_EQ(s.window_cycles, window);
  // root -> the vector's buffer -> [i] a page -> +8 its words (the sample
  // is a page or its words).
  ASSERT_GE(s.path.size(), 2u);
  EXPECT_NE(s.path[0].type.find("gc_array<tricolor::gc_ptr<"), std::string::npos) << s.path[0].type;
  EXPECT_EQ(s.path[0].offset, 0u);  // the vector's buffer pointer is its first word
  EXPECT_TRUE(s.path[1].index);
  EXPECT_NE(s.path[1].type.find("cached_page"), std::string::npos) << s.path[1].type;
  if (s.path.size() == 3) {
    EXPECT_FALSE(s.path[2].index);
    EXPECT_EQ(s.path[2].offset, offsetof(cached_page, words));
    EXPECT_NE(s.path[2].type.find("gc_array<long unsigned int>"), std::string::npos) << s.path[2].type;
  }
  ASSERT_FALSE(s.top_types.empty());
  EXPECT_NE(s.top_types[0].type.find("gc_array<long unsigned int>"), std::string::npos);
  // Heap profile sampling is on (one sample per 512 KiB on average): the
  // 7 MiB cached hold about 14 samples, all allocated in cache_more_pages.
  ASSERT_FALSE(s.top_sites.empty()) << "no sampled object among the cached pages";
  EXPECT_NE(s.top_sites[0].function.find("cache_more_pages"), std::string::npos)
      << s.top_sites[0].function;
  page_cache() = {};  // the leak fixed: later tests' cycles do not mark it
}

// A standard container on root_allocator that only grows: its buffer is
// named by the function that grows it.
std::vector<gc_ptr<cached_page>, tricolor::root_allocator<gc_ptr<cached_page>>> remembered_pages;

[[gnu::noinline]] void remember_pages(std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    remembered_pages.push_back(make_gc<cached_page>(i, make_gc_array<std::uint64_t>(page_words, i)));
}

TEST(LeakReport, AGrowingRootAllocatorContainerIsNamedByTheFunctionThatGrowsIt) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  std::vector<leak_suspect> report;
  const leak_suspect* s = nullptr;
  for (std::size_t cycle = 1; cycle <= 2 * window + 4 && s == nullptr; ++cycle) {
    tricolor_test::isolated([] { remember_pages(400); });
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    s = find_suspect(report, "remember_pages", leak_suspect::reason::growth);
  }
  ASSERT_NE(s, nullptr) << report_text(report);
  EXPECT_EQ(s->root.kind, "root_allocator block");
  std::uint64_t expected =
      remembered_pages.size() * (slot_bytes(sizeof(cached_page)) + array_slot_bytes(page_words, 8));
  EXPECT_GE(static_cast<double>(s->bytes), 0.9 * static_cast<double>(expected));
  EXPECT_LE(static_cast<double>(s->bytes), 1.1 * static_cast<double>(expected));
  ASSERT_FALSE(s->path.empty());
  EXPECT_NE(s->path[0].type.find("cached_page"), std::string::npos) << s->path[0].type;
  remembered_pages = {};
}

// --- 2. listeners registered and never removed ---------------------------------

struct listener {
  int id;
  gc_ptr<gc_array<char>> scratch;
  void trace(tracer& t) const { t(scratch); }
};

std::mutex listeners_lock;
std::vector<gc_root<listener>> registered_listeners;
unsigned subscribe_line = 0;

[[gnu::noinline]] void subscribe(gc_ptr<listener> l) {
  std::lock_guard guard(listeners_lock);
  subscribe_line = __LINE__ + 1;
  registered_listeners.push_back(gc_root<listener>(l, "event listeners"));
}

[[gnu::noinline]] void subscribe_new_listeners(int count) {
  for (int i = 0; i < count; ++i)
    subscribe(make_gc<listener>(i, make_gc_array<char>(2000)));
}

TEST(LeakReport, ListenersNeverUnsubscribedAreNamedByTheirGcRoot) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  std::vector<leak_suspect> report;
  const leak_suspect* s = nullptr;
  for (std::size_t cycle = 1; cycle <= 2 * window + 4 && s == nullptr; ++cycle) {
    subscribe_new_listeners(200);
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    s = find_suspect(report, "event listeners", leak_suspect::reason::growth);
  }
  ASSERT_NE(s, nullptr) << report_text(report);
  EXPECT_EQ(s->root.kind, "gc_root");
  EXPECT_NE(s->root.file.find("leak_report_test.cc"), std::string::npos) << s->root.file;
  EXPECT_EQ(s->root.line, subscribe_line);
  std::uint64_t expected = registered_listeners.size() *
                           (slot_bytes(sizeof(listener)) + array_slot_bytes(2000, 1));
  EXPECT_GE(static_cast<double>(s->bytes), 0.9 * static_cast<double>(expected));
  EXPECT_LE(static_cast<double>(s->bytes), 1.1 * static_cast<double>(expected));
  ASSERT_FALSE(s->path.empty());
  EXPECT_NE(s->path[0].type.find("listener"), std::string::npos) << s->path[0].type;
  std::lock_guard guard(listeners_lock);
  registered_listeners = {};
}

// --- 3. expect_dead: an object that should have died ----------------------------

struct big_owner {
  gc_ptr<gc_array<char>> image;
  void trace(tracer& t) const { t(image); }
};
struct callback {
  gc_ptr<big_owner> owner;  // the capture that drags the owner along
  void trace(tracer& t) const { t(owner); }
};

// A long-lived registry of callbacks: a global gc_vector.
tricolor::gc_vector<gc_ptr<callback>> on_shutdown_callbacks;

[[gnu::noinline]] void open_window_and_forget_callback() {
  auto owner = make_gc<big_owner>(make_gc_array<char>(1 << 20));
  on_shutdown_callbacks.push_back(make_gc<callback>(owner));
  // "closing" the window: the program believes the owner is gone now.
  tricolor::expect_dead(owner, "window closed");
}

TEST(LeakReport, ExpectDeadNamesTheRootAndThePathOfAnObjectStillReachable) {
  tricolor_test::isolated(open_window_and_forget_callback);
  const leak_suspect* s = nullptr;
  std::vector<leak_suspect> report;
  int cycles = 0;
  for (; cycles < 4 && s == nullptr; ++cycles) {
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    for (const leak_suspect& x : report)
      if (x.why == leak_suspect::reason::expected_dead && x.expectation == "window closed") s = &x;
  }
  ASSERT_NE(s, nullptr) << report_text(report);
  EXPECT_LE(cycles, 3);  // the 2nd cycle begun after the call (one may be under way)
  EXPECT_NE(s->expected_at_file.find("leak_report_test.cc"), std::string::npos);
  EXPECT_EQ(s->root.kind, "global");
  EXPECT_NE(s->root.name.find("on_shutdown_callbacks"), std::string::npos) << s->root.name;
  // on_shutdown_callbacks -> its buffer -> [0] the callback -> +0 the owner.
  ASSERT_EQ(s->path.size(), 3u);
  EXPECT_TRUE(s->path[1].index);
  EXPECT_EQ(s->path[1].offset, 0u);
  EXPECT_NE(s->path[1].type.find("callback"), std::string::npos) << s->path[1].type;
  EXPECT_EQ(s->path[2].offset, offsetof(callback, owner));
  EXPECT_NE(s->path[2].type.find("big_owner"), std::string::npos) << s->path[2].type;
}

[[gnu::noinline]] void expect_a_temporary_to_die() {
  auto temporary = make_gc<big_owner>(make_gc_array<char>(4096));
  tricolor::expect_dead(temporary, "temporary dropped");
}

TEST(LeakReport, ExpectDeadOnAnObjectThatDiesReportsNothing) {
  tricolor_test::isolated(expect_a_temporary_to_die);
  for (int cycle = 0; cycle < 4; ++cycle) tricolor_test::collect_clean();
  for (const leak_suspect& s : tricolor::leak_report())
    EXPECT_NE(s.expectation, "temporary dropped") << "reported although it died";
}

// --- controls: steady programs stay quiet over 100 cycles -----------------------

// A bounded LRU cache at steady state: entries come and go, the size stays.
class lru_cache {
 public:
  explicit lru_cache(std::size_t capacity) : capacity_(capacity) {}
  void put(int key, gc_ptr<gc_array<char>> value) {
    auto found = index_.find(key);
    if (found != index_.end()) order_.erase(found->second);
    order_.push_front({key, gc_root<gc_array<char>>(value, "lru entries")});
    index_[key] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
  }

 private:
  using entry = std::pair<int, gc_root<gc_array<char>>>;
  std::size_t capacity_;
  std::list<entry> order_;
  std::unordered_map<int, std::list<entry>::iterator> index_;
};

std::vector<leak_suspect> growth_suspects_named(const std::string& part) {
  std::vector<leak_suspect> found;
  for (const leak_suspect& s : tricolor::leak_report())
    if (s.why == leak_suspect::reason::growth && s.root.name.find(part) != std::string::npos)
      found.push_back(s);
  return found;
}

TEST(LeakReport, BoundedLruCacheAtSteadyStateStaysQuietFor100Cycles) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  static lru_cache cache(2000);
  unsigned seed = 7;
  auto fill = [&](int requests) {
    tricolor_test::isolated([&] {
      for (int i = 0; i < requests; ++i) {
        seed = seed * 1103515245 + 12345;
        cache.put(static_cast<int>(seed % 10'000), make_gc_array<char>(512));
      }
    });
  };
  fill(20'000);  // warm: full
  for (int cycle = 0; cycle < control_cycles(); ++cycle) {
    fill(500);
    tricolor_test::collect_clean();
    ASSERT_TRUE(growth_suspects_named("lru entries").empty()) << "cycle " << cycle;
  }
}

// Request-scoped allocation on a pool of worker threads: each request builds
// a tree, uses it and drops it.
struct tree_node {
  gc_ptr<tree_node> left, right;
  void trace(tracer& t) const { t(left, right); }
};
gc_ptr<tree_node> build(int depth) {
  if (depth == 0) return make_gc<tree_node>();
  return make_gc<tree_node>(build(depth - 1), build(depth - 1));
}
int count(const gc_ptr<tree_node>& n) { return n ? 1 + count(n->left) + count(n->right) : 0; }

TEST(LeakReport, RequestScopedWorkersStayQuietFor100Cycles) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  std::mutex lock;
  std::condition_variable work_ready;
  int pending = 0;
  bool done = false;
  std::vector<std::thread> workers;
  for (int w = 0; w < 3; ++w) {
    workers.emplace_back([&] {
      for (;;) {
        {
          std::unique_lock guard(lock);
          work_ready.wait(guard, [&] { return pending > 0 || done; });
          if (pending == 0) return;
          --pending;
        }
        gc_ptr<tree_node> request = build(10);
        EXPECT_EQ(count(request), 2047);
      }
    });
  }
  for (int cycle = 0; cycle < control_cycles(); ++cycle) {
    {
      std::lock_guard guard(lock);
      pending += 20;
    }
    work_ready.notify_all();
    tricolor::collect();
    for (const leak_suspect& s : tricolor::leak_report())
      ASSERT_FALSE((s.why == leak_suspect::reason::growth ||
                    s.why == leak_suspect::reason::blocked_thread) &&
                   s.root.kind == "thread stack")
          << "cycle " << cycle << ": " << report_text({s});
  }
  {
    std::lock_guard guard(lock);
    done = true;
  }
  work_ready.notify_all();
  for (auto& t : workers) t.join();
}

// binary-trees (the benchmark's program, bench/), smaller: a long-lived
// tree on the main thread's stack, a stretch tree, and many short-lived
// trees of every depth; a cycle is forced every 32768 nodes allocated (96
// cycles over the depths, then again from the smallest). The main thread
// runs throughout, its stack holding the trees in progress.
TEST(LeakReport, BinaryTreesStaysQuietFor100Cycles) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  std::set<std::string> before;
  for (const leak_suspect& s : tricolor::leak_report()) before.insert(report_text({s}));
  constexpr int max_depth = 14;
  EXPECT_EQ(count(build(max_depth + 1)), (1 << (max_depth + 2)) - 1);  // the stretch tree
  gc_ptr<tree_node> long_lived = build(max_depth);
  int cycles = 0;
  long nodes = 0;
  while (cycles < control_cycles()) {
    for (int depth = 4; depth <= max_depth && cycles < control_cycles(); depth += 2) {
      int iterations = 1 << (max_depth - depth + 4);
      for (int i = 0; i < iterations && cycles < control_cycles(); ++i) {
        ASSERT_EQ(count(build(depth)), (1 << (depth + 1)) - 1);
        long before_tree = nodes;
        nodes += (1 << (depth + 1)) - 1;
        if (nodes / 32768 == before_tree / 32768) continue;
        tricolor::collect();
        ++cycles;
        for (const leak_suspect& s : tricolor::leak_report())
          ASSERT_TRUE(before.count(report_text({s})) != 0 || s.why == leak_suspect::reason::expected_dead)
              << "cycle " << cycles << ": " << report_text({s});
      }
    }
  }
  EXPECT_EQ(count(long_lived), (1 << (max_depth + 1)) - 1);
}

// --- attribution -------------------------------------------------------------

// Two roots share one structure: its objects are credited once, to one of
// them, never to both. Each root also grows a part of its own (so that both
// become suspects and their figures are reported), much larger than the
// shared part, so whichever root the shared part goes to, both grow.
gc_ptr<gc_array<gc_ptr<cached_page>>> shared_left;
gc_ptr<gc_array<gc_ptr<cached_page>>> shared_right;

[[gnu::noinline]] void grow_by(gc_ptr<gc_array<gc_ptr<cached_page>>>& side, std::size_t more) {
  auto bigger = make_gc_array<gc_ptr<cached_page>>(side->size() + more);
  for (std::size_t i = 0; i < side->size(); ++i) (*bigger)[i] = (*side)[i];
  for (std::size_t i = side->size(); i < bigger->size(); ++i)
    (*bigger)[i] = make_gc<cached_page>(i, make_gc_array<std::uint64_t>(page_words));
  side = bigger;
}

TEST(LeakReport, ASharedStructureIsCreditedToOneRootOnly) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  constexpr std::size_t common_pages = 30;
  tricolor_test::isolated([] {
    shared_left = make_gc_array<gc_ptr<cached_page>>(0);
    grow_by(shared_left, common_pages);
    shared_right = make_gc_array<gc_ptr<cached_page>>(common_pages);
    for (std::size_t i = 0; i < common_pages; ++i) (*shared_right)[i] = (*shared_left)[i];
  });
  std::vector<leak_suspect> report;
  const leak_suspect *left = nullptr, *right = nullptr;
  for (std::size_t cycle = 0; cycle < 2 * window + 4 && !(left && right); ++cycle) {
    tricolor_test::isolated([] {
      grow_by(shared_left, 300);
      grow_by(shared_right, 300);
    });
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    left = find_suspect(report, "shared_left", leak_suspect::reason::growth);
    right = find_suspect(report, "shared_right", leak_suspect::reason::growth);
  }
  ASSERT_TRUE(left && right) << report_text(report);
  std::uint64_t page_bytes = slot_bytes(sizeof(cached_page)) + array_slot_bytes(page_words, 8);
  std::uint64_t own_pages = shared_left->size() - common_pages;  // each side's
  std::uint64_t once = (2 * own_pages + common_pages) * page_bytes +
                       2 * array_slot_bytes(shared_left->size(), 8);
  EXPECT_EQ(left->bytes + right->bytes, once)
      << "the shared pages (" << common_pages * page_bytes << " B) counted "
      << (left->bytes + right->bytes > once ? "twice" : "not at all");
  EXPECT_EQ(left->objects + right->objects, 2 * (2 * own_pages + common_pages) + 2);
  shared_left = nullptr;
  shared_right = nullptr;
}

// A suspect's retained size: once a root is a suspect it is marked after
// the other roots, and its figure becomes what clearing it would free. The
// growing global below also holds a large set of pages that a gc_root
// holds too, at the end of a long chain: marked in the same group, the
// global reaches the pages first (before it is a suspect, it is credited
// with them); from the cycle after it became a suspect on, it is credited
// only with its own. The chain is long so that no other marker gets to the
// pages first: with 200 links one did in 1-4 runs of 30 under TSan, the
// global's figure dipped by the shared pages, and it never looked like
// growth within the loop's cycles.
gc_ptr<gc_array<gc_ptr<cached_page>>> retaining_cache;

struct chain_link {
  gc_ptr<chain_link> next;
  gc_ptr<gc_array<gc_ptr<cached_page>>> pages;
  void trace(tracer& t) const {
    t(next);
    t(pages);
  }
};

TEST(LeakReport, ASuspectsRetainedSizeLeavesOutWhatAnotherRootHolds) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  constexpr std::size_t shared_pages = 2000;  // about 2 MiB, more than the cache grows
  gc_root<chain_link> holder(nullptr, "pages also held elsewhere");
  tricolor_test::isolated([&] {
    retaining_cache = make_gc_array<gc_ptr<cached_page>>(0);
    grow_by(retaining_cache, shared_pages);
    auto end = make_gc<chain_link>();
    end->pages = make_gc_array<gc_ptr<cached_page>>(shared_pages);
    for (std::size_t i = 0; i < shared_pages; ++i) (*end->pages)[i] = (*retaining_cache)[i];
    for (int i = 0; i < 5000; ++i) end = make_gc<chain_link>(end, nullptr);
    holder = end;
  });
  std::vector<leak_suspect> report;
  const leak_suspect* found = nullptr;
  for (std::size_t cycle = 0; cycle < 2 * window + 4 && found == nullptr; ++cycle) {
    tricolor_test::isolated([] { grow_by(retaining_cache, 300); });
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    found = find_suspect(report, "retaining_cache", leak_suspect::reason::growth);
  }
  ASSERT_NE(found, nullptr) << report_text(report);
  const std::uint64_t page_bytes = slot_bytes(sizeof(cached_page)) + array_slot_bytes(page_words, 8);
  std::uint64_t own_pages = retaining_cache->size() - shared_pages;
  std::uint64_t array_bytes = array_slot_bytes(retaining_cache->size(), 8);
  EXPECT_FALSE(found->retained);
  // One cycle later: its retained size, without the shared pages.
  tricolor_test::isolated([] { grow_by(retaining_cache, 300); });
  own_pages += 300;
  array_bytes = array_slot_bytes(retaining_cache->size(), 8);
  tricolor_test::collect_clean();
  report = tricolor::leak_report();
  found = find_suspect(report, "retaining_cache", leak_suspect::reason::growth);
  ASSERT_NE(found, nullptr) << report_text(report);
  EXPECT_TRUE(found->retained);
  std::uint64_t retained = own_pages * page_bytes + array_bytes;
  EXPECT_GE(static_cast<double>(found->bytes), 0.9 * static_cast<double>(retained));
  EXPECT_LE(static_cast<double>(found->bytes), 1.1 * static_cast<double>(retained))
      << "the " << shared_pages * page_bytes << " B of pages the gc_root holds too were counted";
  EXPECT_EQ(found->objects, 2 * own_pages + 1);
  retaining_cache = nullptr;
}

// A root that dies stops being reported.
std::vector<gc_root<listener>> short_lived_roots;

TEST(LeakReport, ARootThatIsClearedIsNoLongerASuspect) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  const leak_suspect* s = nullptr;
  std::vector<leak_suspect> report;
  for (std::size_t cycle = 0; cycle < 2 * window + 4 && s == nullptr; ++cycle) {
    tricolor_test::isolated([] {
      for (int i = 0; i < 200; ++i)
        short_lived_roots.push_back(
            gc_root<listener>(make_gc<listener>(i, make_gc_array<char>(2000)), "short-lived roots"));
    });
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    s = find_suspect(report, "short-lived roots", leak_suspect::reason::growth);
  }
  ASSERT_NE(s, nullptr) << report_text(report);
  short_lived_roots.clear();
  short_lived_roots.shrink_to_fit();
  tricolor_test::collect_clean();
  EXPECT_TRUE(growth_suspects_named("short-lived roots").empty());
}

// A thread_local that only grows, on a thread that waits between steps: named
// by its symbol and the thread.
thread_local gc_ptr<gc_array<gc_ptr<cached_page>>> per_thread_cache;

TEST(LeakReport, AGrowingThreadLocalIsNamedBySymbolAndThread) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  std::mutex lock;
  std::condition_variable changed;
  int step = 0;  // main: odd = the thread may grow; the thread: even = grown
  bool stop = false;
  pid_t grower_id = 0;
  std::thread grower([&] {
    grower_id = gettid();
    tricolor_test::isolated([] { per_thread_cache = make_gc_array<gc_ptr<cached_page>>(0); });
    for (;;) {
      std::unique_lock guard(lock);
      changed.wait(guard, [&] { return step % 2 == 1 || stop; });
      if (stop) break;
      tricolor_test::isolated([] { grow_by(per_thread_cache, 300); });
      ++step;
      changed.notify_all();
    }
    per_thread_cache = nullptr;
  });
  const leak_suspect* seen = nullptr;
  std::vector<leak_suspect> report;
  for (std::size_t cycle = 0; cycle < 2 * window + 4 && !seen; ++cycle) {
    {
      std::unique_lock guard(lock);
      ++step;
      changed.notify_all();
      changed.wait(guard, [&] { return step % 2 == 0; });
    }
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    seen = find_suspect(report, "per_thread_cache", leak_suspect::reason::growth);
  }
  EXPECT_NE(seen, nullptr) << report_text(report);
  if (seen != nullptr) {
    EXPECT_EQ(seen->root.kind, "thread_local");
    EXPECT_EQ(seen->root.thread, grower_id);
    EXPECT_NE(seen->root.file.find("leak_report_test"), std::string::npos) << seen->root.file;
    ASSERT_FALSE(seen->path.empty());
    EXPECT_EQ(seen->path[0].offset, 0u);  // the variable's only word
    EXPECT_NE(seen->path[0].type.find("gc_array<tricolor::gc_ptr<"), std::string::npos);
  }
  {
    std::lock_guard guard(lock);
    stop = true;
  }
  changed.notify_all();
  grower.join();
}

// A thread that grows a cache in a local variable and exits: while it runs
// its stack is the root; after it exits nothing is reported for it.
TEST(LeakReport, AThreadThatExitsTakesItsRootsWithIt) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  std::mutex lock;
  std::condition_variable changed;
  int step = 0;  // main: odd = thread may grow; thread: even = grown
  bool stop = false;
  pid_t grower_id = 0;
  std::thread grower([&] {
    grower_id = gettid();
    gc_ptr<gc_array<gc_ptr<cached_page>>> local_cache = make_gc_array<gc_ptr<cached_page>>(0);
    for (;;) {
      std::unique_lock guard(lock);
      changed.wait(guard, [&] { return step % 2 == 1 || stop; });
      if (stop) return;
      auto bigger = make_gc_array<gc_ptr<cached_page>>(local_cache->size() + 300);
      for (std::size_t i = 0; i < local_cache->size(); ++i) (*bigger)[i] = (*local_cache)[i];
      for (std::size_t i = local_cache->size(); i < bigger->size(); ++i)
        (*bigger)[i] = make_gc<cached_page>(i, make_gc_array<std::uint64_t>(page_words));
      local_cache = bigger;
      ++step;
      changed.notify_all();
    }
  });
  const leak_suspect* seen = nullptr;
  std::vector<leak_suspect> report;
  for (std::size_t cycle = 0; cycle < 2 * window + 4 && !seen; ++cycle) {
    {
      std::unique_lock guard(lock);
      ++step;
      changed.notify_all();
      changed.wait(guard, [&] { return step % 2 == 0; });
    }
    tricolor::collect();
    report = tricolor::leak_report();
    for (const leak_suspect& s : report)
      if (s.why == leak_suspect::reason::growth && s.root.kind == "thread stack") seen = &s;
  }
  EXPECT_NE(seen, nullptr) << "the growing thread's stack was not reported\n" << report_text(report);
  if (seen != nullptr) {
    EXPECT_EQ(seen->root.thread, grower_id);
    EXPECT_FALSE(seen->frame.empty()) << "no frame found for the path's first word";
    // stack -> the array -> [i] a page (-> its words).
    EXPECT_GE(seen->path.size(), 2u);
    if (seen->path.size() >= 2) {
      EXPECT_NE(seen->path[0].type.find("gc_array<tricolor::gc_ptr<"), std::string::npos);
      EXPECT_TRUE(seen->path[1].index);
    }
  }
  {
    std::lock_guard guard(lock);
    stop = true;
  }
  changed.notify_all();
  grower.join();
  tricolor::collect();
  for (const leak_suspect& s : tricolor::leak_report())
    EXPECT_FALSE(s.why == leak_suspect::reason::growth && s.root.kind == "thread stack")
        << "a thread that exited is still reported";
}

// --- threads blocked for long with memory ------------------------------------

// A thread that takes a buffer and then waits, on a condition variable
// nobody will signal for a long time; `shared` also goes to a global when
// set (the buffer is then not the stack's alone).
struct parked_thread {
  std::mutex lock;
  std::condition_variable wake;
  bool go = false;
  std::atomic<pid_t> id{0};
  std::thread thread;

  parked_thread(std::size_t buffer_bytes, gc_ptr<gc_array<char>>* shared) {
    thread = std::thread([this, buffer_bytes, shared] {
      gc_ptr<gc_array<char>> buffer = make_gc_array<char>(buffer_bytes, 'b');
      if (shared != nullptr) *shared = buffer;
      id = gettid();
      std::unique_lock guard(lock);
      wake.wait(guard, [&] { return go; });
      EXPECT_EQ((*buffer)[buffer_bytes - 1], 'b');
    });
    while (id.load() == 0) std::this_thread::yield();
  }
  ~parked_thread() {
    {
      std::lock_guard guard(lock);
      go = true;
    }
    wake.notify_all();
    thread.join();
  }
};

const leak_suspect* blocked_thread(const std::vector<leak_suspect>& report, pid_t thread) {
  for (const leak_suspect& s : report)
    if (s.why == leak_suspect::reason::blocked_thread && s.root.thread == thread) return &s;
  return nullptr;
}

TEST(BlockedThread, AThreadParkedWithABufferIsReportedWithItsRetainedSize) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  constexpr std::size_t buffer_bytes = 3 << 20;
  parked_thread parked(buffer_bytes, nullptr);
  std::vector<leak_suspect> report;
  const leak_suspect* s = nullptr;
  std::size_t found_at = 0;
  for (std::size_t cycle = 1; cycle <= window + 6 && s == nullptr; ++cycle) {
    tricolor::collect();
    report = tricolor::leak_report();
    s = blocked_thread(report, parked.id);
    if (s != nullptr) found_at = cycle;
  }
  ASSERT_NE(s, nullptr) << "not reported\n" << report_text(report);
  // Blocked at the start of window + 1 cycles (the first one it was seen
  // blocked in may be the first or the second), then one more to measure.
  EXPECT_GE(found_at, window + 2);
  EXPECT_LE(found_at, window + 3);
  EXPECT_EQ(s->root.kind, "thread stack");
  EXPECT_GE(s->age_cycles, window);
  EXPECT_GT(s->blocked_seconds, 0);
  std::uint64_t buffer_slot = array_slot_bytes(buffer_bytes, 1);
  EXPECT_GE(static_cast<double>(s->bytes), 0.9 * static_cast<double>(buffer_slot));
  EXPECT_LE(static_cast<double>(s->bytes), 1.1 * static_cast<double>(buffer_slot));
  ASSERT_FALSE(s->path.empty());
  EXPECT_NE(s->path[0].type.find("gc_array<char>"), std::string::npos) << s->path[0].type;
  EXPECT_FALSE(s->stack.empty());
  EXPECT_FALSE(s->frame.empty());  // a register, saved by the wait or by the signal
}

// The same thread, but a global holds its buffer too: its stack retains
// nothing of its own, so it is no suspect.
gc_ptr<gc_array<char>> parked_buffer_also_held;

TEST(BlockedThread, AThreadParkedOnMemoryAGlobalAlsoHoldsIsNotReported) {
  if (!tracking_on()) GTEST_SKIP() << "needs TRICOLOR_DEBUG=leakreport=1";
  parked_thread parked(3 << 20, &parked_buffer_also_held);
  for (std::size_t cycle = 0; cycle < window + 6; ++cycle) {
    tricolor::collect();
    std::vector<leak_suspect> report = tricolor::leak_report();
    ASSERT_EQ(blocked_thread(report, parked.id), nullptr) << "cycle " << cycle << "\n"
                                                          << report_text(report);
  }
  parked_buffer_also_held = nullptr;
}

// --- threads leaked on channels ----------------------------------------------

using job_chan = tricolor::gc_chan<gc_ptr<gc_array<char>>>;

const leak_suspect* leaked_thread(const std::vector<leak_suspect>& report, pid_t thread) {
  for (const leak_suspect& s : report)
    if (s.why == leak_suspect::reason::leaked_thread && s.root.thread == thread) return &s;
  return nullptr;
}

// A worker started with the only handle to its job channel: once this
// function returns, nothing but the worker's own stack reaches the channel,
// and no one can ever send to it or close it.
[[gnu::noinline]] pid_t start_orphaned_worker() {
  std::atomic<pid_t> id{0};
  job_chan jobs = tricolor::make_chan<gc_ptr<gc_array<char>>>(0);
  std::thread([jobs, &id] {
    auto scratch = make_gc_array<char>(1 << 16);  // what it holds meanwhile
    id = gettid();
    while (auto job = jobs.recv()) (*scratch)[0] = (**job)[0];
  }).detach();
  while (id.load() == 0) std::this_thread::yield();
  return id.load();
}

TEST(LeakedThread, AWorkerBlockedOnAChannelNothingElseReachesIsReported) {
  pid_t worker = tricolor_test::isolated(start_orphaned_worker);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // into recv()
  const leak_suspect* s = nullptr;
  std::vector<leak_suspect> report;
  for (int cycle = 0; cycle < 3 && s == nullptr; ++cycle) {
    tricolor_test::collect_clean();
    report = tricolor::leak_report();
    s = leaked_thread(report, worker);
  }
  ASSERT_NE(s, nullptr) << report_text(report);
  EXPECT_EQ(s->root.kind, "thread stack");
  EXPECT_FALSE(s->sending);
  EXPECT_NE(s->channel_type.find("channel<tricolor::gc_ptr<tricolor::gc_array<char> > >"),
            std::string::npos)
      << s->channel_type;
  EXPECT_GT(s->blocked_seconds, 0.0);
  // The channel's own code (recv, or block_in when recv is inlined into the
  // worker, as under AddressSanitizer's build) is on its stack.
  bool in_channel = false;
  for (const std::string& frame : s->stack)
    in_channel |= frame.find("tricolor::channel<") != std::string::npos;
  EXPECT_TRUE(in_channel) << "its stack should show the channel's code";
}

job_chan wake_up_calls;  // a global: threads blocked on it can be woken

TEST(LeakedThread, AWorkerOnAChannelAGlobalHoldsIsNotReported) {
  wake_up_calls = tricolor::make_chan<gc_ptr<gc_array<char>>>(0);
  std::atomic<pid_t> id{0};
  std::thread worker([&id] {
    id = gettid();
    while (wake_up_calls.recv()) {
    }
  });
  while (id.load() == 0) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int cycle = 0; cycle < 3; ++cycle) tricolor_test::collect_clean();
  EXPECT_EQ(leaked_thread(tricolor::leak_report(), id.load()), nullptr)
      << report_text(tricolor::leak_report());
  wake_up_calls.close();
  worker.join();
}

// A waits on a channel a global holds, and alone holds the channel B waits
// on: A can be woken, and then wake B, so neither is leaked (the search
// releases A's stack first, which marks B's channel).
job_chan first_link;

TEST(LeakedThread, AThreadReachableOnlyThroughAnotherBlockedThreadIsNotReported) {
  first_link = tricolor::make_chan<gc_ptr<gc_array<char>>>(0);
  std::atomic<pid_t> a_id{0}, b_id{0};
  std::thread a, b;
  tricolor_test::isolated([&] {
    job_chan second_link = tricolor::make_chan<gc_ptr<gc_array<char>>>(0);
    b = std::thread([second_link, &b_id] {
      b_id = gettid();
      while (second_link.recv()) {
      }
    });
    a = std::thread([second_link, &a_id] {
      a_id = gettid();
      first_link.recv();   // until main sends
      second_link.close();  // then lets B go
    });
  });
  while (a_id.load() == 0 || b_id.load() == 0) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int cycle = 0; cycle < 3; ++cycle) tricolor_test::collect_clean();
  std::vector<leak_suspect> report = tricolor::leak_report();
  EXPECT_EQ(leaked_thread(report, a_id.load()), nullptr) << report_text(report);
  EXPECT_EQ(leaked_thread(report, b_id.load()), nullptr) << report_text(report);
  first_link.send(make_gc_array<char>(1));
  a.join();
  b.join();
}

// --- outputs -----------------------------------------------------------------

TEST(LeakReport, JsonHasEverySuspect) {
  std::ostringstream json;
  tricolor::write_leak_report_json(json);
  std::string text = json.str();
  std::vector<leak_suspect> report = tricolor::leak_report();
  EXPECT_EQ(text.rfind("{\"cycle\": ", 0), 0u) << text;
  std::size_t reasons = 0;
  for (std::size_t at = 0; (at = text.find("\"reason\": ", at)) != std::string::npos; ++at) ++reasons;
  EXPECT_EQ(reasons, report.size());
  for (const leak_suspect& s : report)
    EXPECT_NE(text.find(s.root.name), std::string::npos) << s.root.name;
}

}  // namespace
