// The memory limit end to end: with pacing off (GC_PERCENT=off) and a limit,
// the heap collects only near the limit and the memory it keeps resident
// (spans in use plus free pages not yet returned to the OS) stays within it;
// with a live heap above the limit, the CPU limiter spaces the cycles so the
// program runs at least as long as it collects, instead of thrashing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "tricolor/tricolor.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_root;

constexpr std::int64_t MiB = 1 << 20;

struct node {
  gc_ptr<node> next;
  std::uint64_t payload[5];
  void trace(tricolor::tracer& t) const { t(next); }
};

std::uint64_t resident(const tricolor::gc_stats& s) {
  return s.heap_inuse + s.heap_idle - s.heap_released;
}

// Restores the process-wide knobs whatever a test does.
class MemoryLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tricolor::collect();
    percent_ = tricolor::set_gc_percent(-1);
    limit_ = tricolor::set_memory_limit(-1);
  }
  void TearDown() override {
    tricolor::set_memory_limit(limit_);
    tricolor::set_gc_percent(percent_);
    tricolor::collect();
  }

 private:
  int percent_ = 0;
  std::int64_t limit_ = 0;
};

// Keeps `bytes` of 16 KiB arrays alive from a gc_root.
gc_root<gc_array<gc_ptr<gc_array<double>>>> live_set(std::int64_t bytes) {
  std::size_t count = static_cast<std::size_t>(bytes / (16 * 1024));
  gc_root<gc_array<gc_ptr<gc_array<double>>>> root(
      tricolor::make_gc_array<gc_ptr<gc_array<double>>>(count), "live set");
  for (std::size_t i = 0; i < count; ++i)
    (*root)[i] = tricolor::make_gc_array<double>(2048 - 2, static_cast<double>(i));
  return root;
}

TEST_F(MemoryLimitTest, ResidentHeapStaysWithinTheLimit) {
  constexpr std::int64_t limit = 64 * MiB;
  auto live = live_set(16 * MiB);
  tricolor::set_memory_limit(limit);
  std::uint64_t cycles_before = tricolor::read_stats().num_gc;
  std::uint64_t worst = 0;
  // 1 GiB of garbage in short lists; sample the resident heap as we go.
  gc_ptr<node> list;
  for (int i = 0; i < (1 << 30) / 64; ++i) {
    auto n = tricolor::make_gc<node>();
    n->next = (i % 64 == 0) ? nullptr : list;
    list = n;
    if (i % 4096 == 0) worst = std::max(worst, resident(tricolor::read_stats()));
  }
  tricolor::gc_stats after = tricolor::read_stats();
  EXPECT_GT(after.num_gc, cycles_before + 5) << "the limit should have started cycles";
  EXPECT_LE(worst, static_cast<std::uint64_t>(limit + limit / 20))
      << "resident heap " << worst / MiB << " MiB exceeded the " << limit / MiB
      << " MiB limit by more than 5 %";
  for (std::size_t i = 0; i < live->size(); i += 97)
    ASSERT_EQ((*(*live)[i])[0], static_cast<double>(i)) << "live set corrupted at " << i;
}

// A pointer-dense live list of `bytes` (each node is scanned, so marking it
// takes milliseconds, unlike the noscan arrays of live_set).
gc_root<node> live_list(std::int64_t bytes) {
  gc_root<node> head(tricolor::make_gc<node>(), "live list");
  gc_ptr<node> tail = head.get();
  for (std::int64_t i = 0; i < bytes / 64; ++i) {
    tail->next = tricolor::make_gc<node>();
    tail = tail->next;
    tail->payload[0] = static_cast<std::uint64_t>(i);
  }
  return head;
}

TEST_F(MemoryLimitTest, CpuLimiterSpacesCyclesWhenTheLiveHeapExceedsTheLimit) {
  auto live = live_list(40 * MiB);
  tricolor::set_memory_limit(24 * MiB);  // below the live heap: every cycle is futile
  std::uint64_t first = tricolor::read_stats().num_gc;
  gc_ptr<node> list;
  // 256 MiB of garbage, or 40 cycles, whichever comes first (without the
  // limiter the cycles would run back to back, each a futile full mark).
  for (int i = 0; i < (256 << 20) / 64; ++i) {
    auto n = tricolor::make_gc<node>();
    n->next = (i % 64 == 0) ? nullptr : list;
    list = n;
    if (i % 4096 == 0 && tricolor::read_stats().num_gc > first + 40) break;
  }
  tricolor::gc_stats s = tricolor::read_stats();
  ASSERT_GT(s.num_gc, first + 2) << "cycles were expected near the limit";
  // Between two consecutive cycles the mutators ran at least as long as the
  // earlier cycle paused (marking 40 MiB of nodes takes milliseconds; 50 us
  // of slack for the work done after the pacer's clock reading).
  std::uint64_t checked = 0;
  for (std::uint64_t k = first + 2; k <= s.num_gc && k - first < 200; ++k) {
    std::size_t earlier = (k - 2) % tricolor::gc_stats::pause_history;
    std::size_t later = (k - 1) % tricolor::gc_stats::pause_history;
    std::uint64_t later_start = s.pause_end_unix_ns[later] - s.pause_ns[later];
    std::uint64_t gap = later_start - s.pause_end_unix_ns[earlier];
    EXPECT_GE(gap + 50'000, s.pause_ns[earlier])
        << "cycle " << k << " started " << gap << " ns after cycle " << k - 1
        << ", which paused " << s.pause_ns[earlier] << " ns";
    ++checked;
  }
  EXPECT_GT(checked, 0u);
  std::uint64_t expected = 0;
  for (gc_ptr<node> n = live->next; n; n = n->next)
    ASSERT_EQ(n->payload[0], expected++) << "live list corrupted";
}

}  // namespace
