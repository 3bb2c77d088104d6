// Pacer decisions, deterministically: goals from GOGC and the memory limit,
// which one wins, the trigger from cons/mark, the CPU limiter (with a fake
// clock), the retain targets, the assist ratio and the workers' credit.
#include <gtest/gtest.h>

#include "gc/marker.hpp"
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

// A concurrent cycle's outcome: `live` MiB marked (no roots, everything
// traced), `allocated` MiB allocated by the mutators while it marked.
cycle_outcome marked_cycle(std::uint64_t live, std::uint64_t allocated) {
  cycle_outcome o;
  o.live_bytes = live * MiB;
  o.heap_inuse = live * MiB + 10 * MiB;
  o.heap_alloc = live * MiB;
  o.scanned_bytes = live * MiB;
  o.allocated_during_mark = allocated * MiB;
  return o;
}

TEST(Pacer, GogcGoalCountsTheScannedRoots) {
  pacer p;
  p.initialize(100, none, fake_clock);
  cycle_outcome o = marked_cycle(100, 0);
  o.root_bytes = 20 * MiB;
  p.end_cycle(o);
  // As Go 1.18+: live + (live + roots) * GOGC / 100.
  EXPECT_EQ(p.gogc_goal(), 220 * MiB);
  p.set_gc_percent(50);
  EXPECT_EQ(p.gogc_goal(), 160 * MiB);
}

TEST(Pacer, TriggerLeavesTheRunwayTheMeasuredConsMarkRatioNeeds) {
  pacer p;
  p.initialize(100, none, fake_clock);
  // Goal 200 MiB over a live 100. Nothing measured yet: 70 % into the
  // headroom.
  p.end_cycle({100 * MiB, 110 * MiB, 100 * MiB});
  EXPECT_EQ(p.cons_mark(), 0.0);
  EXPECT_EQ(p.trigger(), 170 * MiB);
  EXPECT_FALSE(p.should_trigger_concurrent_cycle(170 * MiB - 1));
  EXPECT_TRUE(p.should_trigger_concurrent_cycle(170 * MiB));
  // A cycle allocated 40 MiB while it scanned 100: cons/mark 0.4, and the
  // next scan (100 MiB) needs 40 MiB of runway.
  p.end_cycle(marked_cycle(100, 40));
  EXPECT_DOUBLE_EQ(p.cons_mark(), 0.4);
  EXPECT_EQ(p.runway(), 40 * MiB);
  EXPECT_EQ(p.trigger(), 160 * MiB);
  // Then 80: the moving average (half weight to the newest) is 0.6.
  p.end_cycle(marked_cycle(100, 80));
  EXPECT_DOUBLE_EQ(p.cons_mark(), 0.6);
  EXPECT_EQ(p.trigger(), 140 * MiB);
  // The runway follows the scan work: half the live heap, half the runway.
  p.end_cycle(marked_cycle(50, 30));  // cons/mark 0.5 * 0.6 + 0.5 * 0.6
  EXPECT_DOUBLE_EQ(p.cons_mark(), 0.6);
  EXPECT_EQ(p.gogc_goal(), 100 * MiB);
  EXPECT_EQ(p.trigger(), 70 * MiB);
  // Never below the live heap, however fast the mutators allocate.
  p.end_cycle(marked_cycle(100, 1000));
  EXPECT_EQ(p.trigger(), 100 * MiB);
  EXPECT_TRUE(p.should_trigger_concurrent_cycle(100 * MiB));
  EXPECT_FALSE(p.should_trigger_concurrent_cycle(100 * MiB - 1));
}

TEST(Pacer, AssistsWidenTheNextRunway) {
  pacer p;
  p.initialize(100, none, fake_clock);
  // 30 MiB allocated while 100 were scanned, half of it by assists (20 ms
  // of the workers' CPU, 20 of the mutators'): the workers alone would have
  // needed twice as long, so the runway is twice the allocation.
  cycle_outcome o = marked_cycle(100, 30);
  o.assist_cpu_ns = 20'000'000;
  o.background_cpu_ns = 20'000'000;
  p.end_cycle(o);
  EXPECT_DOUBLE_EQ(p.cons_mark(), 0.3 * 2);
  EXPECT_NEAR(static_cast<double>(p.runway()), 60.0 * MiB, 1.0);
  EXPECT_NEAR(static_cast<double>(p.trigger()), 140.0 * MiB, 1.0);
}

TEST(Pacer, TriggerStaysBelowNinetyFivePercentOfTheHeadroom) {
  pacer p;
  p.initialize(100, none, fake_clock);
  // A mutator that hardly allocates while marking: cons/mark 0.01 asks for
  // 1 MiB of runway; the trigger still leaves 5 % of the headroom.
  p.end_cycle(marked_cycle(100, 1));
  EXPECT_EQ(p.runway(), 1 * MiB);
  EXPECT_EQ(p.trigger(), 195 * MiB);
}

TEST(Pacer, TheLimitGoalHasItsOwnTrigger) {
  pacer p;
  p.initialize(-1, 220 * MiB, fake_clock);
  // Limit goal 220 - 11 (headroom) - 10 (overhead) = 199 MiB over a live 100;
  // cons/mark 0.4: trigger 199 - 40.
  p.end_cycle(marked_cycle(100, 40));
  EXPECT_EQ(p.limit_goal(), 199 * MiB);
  EXPECT_EQ(p.trigger(), 159 * MiB);
}

TEST(AssistRatio, ExpectedWorkOverTheRunwayLeft) {
  assist_plan plan{/*expected*/ 1'000'000, /*worst*/ 4'000'000, 200 * MiB, 220 * MiB};
  // Nothing scanned, 100 MiB of runway: 1e6 objects per 100 MiB.
  EXPECT_DOUBLE_EQ(assist_ratio(plan, 0, 100 * MiB), 1e6 / (100.0 * MiB));
  // Half scanned, half the runway used: the same pace.
  EXPECT_DOUBLE_EQ(assist_ratio(plan, 500'000, 150 * MiB), 5e5 / (50.0 * MiB));
  // Behind (a tenth scanned, nine tenths of the runway used): nine times
  // as steep.
  EXPECT_DOUBLE_EQ(assist_ratio(plan, 100'000, 190 * MiB), 9e5 / (10.0 * MiB));
}

TEST(AssistRatio, MoreWorkThanExpectedTurnsToTheWorstCaseAndTheHardGoal) {
  assist_plan plan{1'000'000, 4'000'000, 200 * MiB, 220 * MiB};
  // Scanned what the last cycle did: now 3e6 left of the worst case, by
  // the hard goal.
  EXPECT_DOUBLE_EQ(assist_ratio(plan, 1'000'000, 200 * MiB), 3e6 / (20.0 * MiB));
  // At or past the (hard) goal, the runway counts as 64 KiB: steep, finite.
  EXPECT_DOUBLE_EQ(assist_ratio(plan, 2'000'000, 230 * MiB), 2e6 / (64.0 * 1024));
  // Everything of the worst case scanned: nothing left to charge.
  EXPECT_EQ(assist_ratio(plan, 4'000'000, 210 * MiB), 0.0);
}

TEST(AssistCredit, WorkersCreditIsDrawnOnceAndCountsAsScanned) {
  reset_mark_counters();
  add_background_credit(100);
  EXPECT_EQ(take_background_credit(30), 30);
  EXPECT_EQ(take_background_credit(100), 70) << "no more than what is left";
  EXPECT_EQ(take_background_credit(1), 0);
  EXPECT_EQ(objects_scanned_this_cycle(), 100u) << "taking credit does not unscan";
  reset_mark_counters();
  EXPECT_EQ(objects_scanned_this_cycle(), 0u);
  EXPECT_EQ(take_background_credit(1), 0);
}

}  // namespace
}  // namespace tricolor::gc
