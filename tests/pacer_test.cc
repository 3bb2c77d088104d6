// Pacer decisions, deterministically: goals from GOGC and the memory limit,
// which one wins, the CPU limiter (with a fake clock) and the retain targets.
#include <gtest/gtest.h>

#include "gc/pacer.hpp"

namespace tricolor::gc {
namespace {

constexpr std::uint64_t MiB = std::uint64_t{1} << 20;
constexpr std::int64_t none = INT64_MAX;

std::uint64_t fake_now = 0;
std::uint64_t fake_clock() { return fake_now; }

TEST(Pacer, GogcGoalIsLiveTimesGrowthWithAFloor) {
  pacer p;
  p.initialize(100, none, fake_clock);
  EXPECT_EQ(p.heap_goal(), minimum_heap_goal) << "before any cycle";
  p.end_cycle({100 * MiB, 110 * MiB});
  EXPECT_EQ(p.heap_goal(), 200 * MiB);
  p.set_gc_percent(50);
  EXPECT_EQ(p.heap_goal(), 150 * MiB);
  p.end_cycle({1 * MiB, 2 * MiB});
  EXPECT_EQ(p.heap_goal(), minimum_heap_goal) << "4 MiB floor";
  EXPECT_EQ(p.set_gc_percent(-1), 50);
  EXPECT_EQ(p.heap_goal(), unlimited) << "off: no pacing-triggered cycles";
  EXPECT_FALSE(p.should_start_cycle(UINT64_MAX / 4));
}

TEST(Pacer, MemoryLimitCapsTheGoalBelowItMinusHeadroomAndOverhead) {
  pacer p;
  p.initialize(100, 200 * static_cast<std::int64_t>(MiB), fake_clock);
  p.end_cycle({100 * MiB, 120 * MiB});  // 20 MiB of overhead
  // GOGC would allow 200 MiB; the limit allows 200 - 10 (5 %) - 20 = 170.
  EXPECT_EQ(p.gogc_goal(), 200 * MiB);
  EXPECT_EQ(p.limit_goal(), 170 * MiB);
  EXPECT_EQ(p.heap_goal(), 170 * MiB);
  EXPECT_EQ(p.set_memory_limit(-1), 200 * static_cast<std::int64_t>(MiB)) << "negative only reads";
  EXPECT_EQ(p.set_memory_limit(none), 200 * static_cast<std::int64_t>(MiB));
  EXPECT_EQ(p.heap_goal(), 200 * MiB) << "limit removed";
}

TEST(Pacer, GogcOffWithALimitCollectsOnlyNearTheLimit) {
  pacer p;
  p.initialize(-1, 64 * static_cast<std::int64_t>(MiB), fake_clock);
  p.end_cycle({10 * MiB, 12 * MiB});
  EXPECT_EQ(p.gogc_goal(), unlimited);
  EXPECT_EQ(p.heap_goal(), 64 * MiB - 64 * MiB / 20 - 2 * MiB);
  EXPECT_FALSE(p.should_start_cycle(30 * MiB));
  EXPECT_TRUE(p.should_start_cycle(p.heap_goal()));
}

TEST(Pacer, LimitGoalNeverFallsBelowTheLiveHeap) {
  pacer p;
  p.initialize(100, 64 * static_cast<std::int64_t>(MiB), fake_clock);
  p.end_cycle({80 * MiB, 90 * MiB});  // live already above the limit
  EXPECT_EQ(p.limit_goal(), 80 * MiB);
}

TEST(Pacer, CpuLimiterHoldsBackLimitCyclesButNotGogcCycles) {
  pacer p;
  p.initialize(100, 64 * static_cast<std::int64_t>(MiB), fake_clock);
  // A cycle that paused 40 ms and ended at t = 1 s; live 60 MiB, so the limit
  // goal (live) is reached at once and the GOGC goal (120 MiB) is far.
  p.end_cycle({60 * MiB, 62 * MiB});
  p.end_pause(1'000'000'000, 40'000'000);
  fake_now = 1'000'000'000 + 10'000'000;  // 10 ms of mutator time since
  EXPECT_TRUE(p.cpu_limited());
  EXPECT_FALSE(p.should_start_cycle(61 * MiB)) << "would give the GC > 50 % of the time";
  EXPECT_TRUE(p.should_start_cycle(120 * MiB)) << "GOGC-triggered cycles are never held back";
  fake_now = 1'000'000'000 + 40'000'000;  // as long as the pause: allowed again
  EXPECT_FALSE(p.cpu_limited());
  EXPECT_TRUE(p.should_start_cycle(61 * MiB));
}

TEST(Pacer, RetainTargetsFollowTheGoalAndTheLimit) {
  pacer p;
  p.initialize(100, none, fake_clock);
  p.end_cycle({50 * MiB, 55 * MiB});
  EXPECT_EQ(p.retain().soft, 110 * MiB) << "goal + 10 %";
  EXPECT_EQ(p.retain().hard, unlimited);
  p.set_memory_limit(80 * static_cast<std::int64_t>(MiB));
  EXPECT_EQ(p.retain().hard, 76 * MiB) << "limit - 5 %";
  EXPECT_LE(p.retain().soft, p.retain().hard);
}

TEST(Pacer, CpuLimiterLeavesLimitCyclesWithRunwayAlone) {
  pacer p;
  p.initialize(-1, 64 * static_cast<std::int64_t>(MiB), fake_clock);
  // Live 16 MiB of a 58 MiB limit goal: the next limit cycle is far off, so
  // a long last pause is no sign of thrashing.
  p.end_cycle({16 * MiB, 18 * MiB});
  p.end_pause(1'000'000'000, 40'000'000);
  fake_now = 1'000'000'000 + 1'000'000;
  EXPECT_FALSE(p.cpu_limited());
  EXPECT_TRUE(p.should_start_cycle(p.heap_goal()));
}

TEST(Pacer, ConcurrentTriggerLeavesRoomForTheAllocationDuringACycle) {
  pacer p;
  p.initialize(100, none, fake_clock);
  // Goal 200 MiB over a live 100: without measured allocation the trigger is
  // 70 % into the runway.
  p.end_cycle({100 * MiB, 110 * MiB, 0, 100 * MiB});
  EXPECT_FALSE(p.should_trigger_concurrent_cycle(170 * MiB - 1));
  EXPECT_TRUE(p.should_trigger_concurrent_cycle(170 * MiB));
  // Cycles that saw 60 and then 80 MiB allocated while they ran: the moving
  // average (half weight to the newest) is 0.5 * 30 + 0.5 * 80 = 55 MiB, so
  // the trigger moves to 200 - 55 = 145 MiB.
  p.end_cycle({100 * MiB, 110 * MiB, 60 * MiB, 100 * MiB});
  p.end_cycle({100 * MiB, 110 * MiB, 80 * MiB, 100 * MiB});
  EXPECT_FALSE(p.should_trigger_concurrent_cycle(145 * MiB - 1));
  EXPECT_TRUE(p.should_trigger_concurrent_cycle(145 * MiB));
  // Never below the live heap, however fast the mutators allocate.
  p.end_cycle({100 * MiB, 110 * MiB, 1000 * MiB, 100 * MiB});
  EXPECT_TRUE(p.should_trigger_concurrent_cycle(100 * MiB));
  EXPECT_FALSE(p.should_trigger_concurrent_cycle(100 * MiB - 1));
}

}  // namespace
}  // namespace tricolor::gc
