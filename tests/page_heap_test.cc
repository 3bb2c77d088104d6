// Page heap: runs are handed out without overlap, freed runs coalesce with
// their free neighbours, and fitting requests reuse freed pages before the
// arena frontier advances.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "heap/arena.hpp"
#include "heap/page_heap.hpp"

namespace tricolor::heap {
namespace {

class PageHeapTest : public ::testing::Test {
 protected:
  void SetUp() override { reserve_arena(); }

  // Gives a run the state an in-use span has before it is freed.
  span* take(std::uint32_t npages) {
    span* s = pages_.allocate(npages);
    EXPECT_NE(s, nullptr);
    s->state.store(span_state::large);
    return s;
  }

  // One page heap for all tests: page heaps share the arena's page table, so
  // a second instance would find the first one's free runs as neighbours.
  static inline page_heap& pages_ = *new page_heap();
};

TEST_F(PageHeapTest, RunsDoNotOverlapAndMapEveryPage) {
  std::vector<span*> runs;
  for (std::uint32_t n : {1u, 3u, 7u, 128u, 2u, 300u}) runs.push_back(take(n));
  std::sort(runs.begin(), runs.end(), [](span* a, span* b) { return a->start < b->start; });
  for (std::size_t i = 1; i < runs.size(); ++i)
    EXPECT_LE(runs[i - 1]->start + runs[i - 1]->bytes(), runs[i]->start) << "runs overlap";
  for (span* s : runs) {
    for (std::size_t p = 0; p < s->npages; ++p) {
      const char* address = s->start + p * page_size + 17;
      EXPECT_EQ(find_span(address), s) << "page " << p << " of a " << s->npages << "-page run";
    }
  }
  for (span* s : runs) pages_.free(s);
}

TEST_F(PageHeapTest, FreedNeighboursCoalesceAndAreReused) {
  span* left_guard = take(1);  // stays in use: nothing merges past it
  span* a = take(4);
  span* b = take(4);
  span* c = take(4);
  span* right_guard = take(1);
  ASSERT_EQ(a->start + a->bytes(), b->start);
  ASSERT_EQ(b->start + b->bytes(), c->start);
  char* first = a->start;
  std::size_t free_before = pages_.free_bytes();
  pages_.free(a);
  pages_.free(c);
  pages_.free(b);  // joins a and c into one 12-page run
  EXPECT_EQ(pages_.free_bytes(), free_before + 12 * page_size);
  span* run = the_arena.page_table[page_index(first)].load();
  ASSERT_NE(run, nullptr);
  EXPECT_EQ(run->start, first);
  EXPECT_EQ(run->npages, 12u) << "the three freed neighbours did not coalesce";
  std::size_t frontier = the_arena.frontier.load();
  span* whole = pages_.allocate(12);
  ASSERT_NE(whole, nullptr);
  EXPECT_EQ(whole->start, first) << "a 12-page request should take the coalesced run";
  EXPECT_EQ(the_arena.frontier.load(), frontier) << "the frontier advanced needlessly";
  whole->state.store(span_state::large);
  pages_.free(whole);
  pages_.free(left_guard);
  pages_.free(right_guard);
}

TEST_F(PageHeapTest, ResidentRunsAreTakenBeforeReleasedOnes) {
  span* a = take(20);
  span* guard1 = take(1);
  span* b = take(20);
  span* guard2 = take(1);
  char* b_start = b->start;
  pages_.release_idle(0, 0, 0);  // earlier tests' free runs: all released
  pages_.free(b);
  pages_.free(a);  // freed last: first on the 20-page list
  // Keep 20 pages resident: exactly one of the two runs is released, the
  // first one found, a.
  pages_.release_idle(0, 0, 20 * page_size);
  ASSERT_EQ(pages_.free_bytes() - pages_.released_bytes(), 20 * page_size);
  span* again = pages_.allocate(20);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->start, b_start)
      << "a released run was taken while a resident one of the same size was free";
  again->state.store(span_state::large);
  for (span* s : {again, guard1, guard2}) pages_.free(s);
}

// The taker of a run faults its pages in only when some may not be resident
// (heap.cc): a run fresh from the arena or released, or a resident one that
// absorbed a released neighbour when it was coalesced.
TEST_F(PageHeapTest, RunsSayWhetherTheirPagesMayNotBeResident) {
  span* left_guard = take(1);
  span* a = take(6);
  span* b = take(6);
  span* right_guard = take(1);
  pages_.free(b);  // held objects: resident through and through
  span* again = pages_.allocate(6);
  ASSERT_EQ(again, b) << "the 6-page run just freed should be taken first";
  EXPECT_FALSE(again->released);
  EXPECT_FALSE(again->partly_released) << "a run that only held objects was marked for fault-in";
  again->state.store(span_state::large);
  pages_.free(again);
  pages_.release_idle(0, 0, 0);  // b's pages go back to the OS
  char* a_start = a->start;
  pages_.free(a);  // resident, coalesces with released b
  span* merged = the_arena.page_table[page_index(a_start)].load();
  ASSERT_NE(merged, nullptr);
  ASSERT_EQ(merged->npages, 12u);
  EXPECT_FALSE(merged->released) << "a run with resident pages was counted as released";
  EXPECT_TRUE(merged->partly_released) << "released pages joined a run without a mark";
  // Split: both parts may hold released pages.
  span* part = pages_.allocate(6);
  ASSERT_EQ(part, merged);
  ASSERT_EQ(part->start, a_start);
  EXPECT_TRUE(part->partly_released);
  span* rest = the_arena.page_table[page_index(a_start) + 6].load();
  ASSERT_NE(rest, nullptr);
  EXPECT_EQ(rest->npages, 6u);
  EXPECT_FALSE(rest->released);
  EXPECT_TRUE(rest->partly_released);
  part->state.store(span_state::large);
  for (span* s : {part, left_guard, right_guard}) pages_.free(s);
}

TEST_F(PageHeapTest, FreedPagesAreNotFoundAsObjects) {
  span* s = take(2);
  const char* inside = s->start + 100;
  ASSERT_EQ(find_span(inside), s);
  pages_.free(s);
  EXPECT_EQ(find_span(inside), nullptr) << "a free run still looks like an in-use span";
}

TEST_F(PageHeapTest, RandomAllocateFreeKeepsAccountsStraight) {
  std::mt19937 random(42);
  std::vector<span*> live;
  for (int step = 0; step < 5000; ++step) {
    if (live.empty() || random() % 3 != 0) {
      live.push_back(take(1 + random() % 40));
    } else {
      std::size_t victim = random() % live.size();
      pages_.free(live[victim]);
      live[victim] = live.back();
      live.pop_back();
    }
  }
  std::sort(live.begin(), live.end(), [](span* a, span* b) { return a->start < b->start; });
  for (std::size_t i = 1; i < live.size(); ++i)
    ASSERT_LE(live[i - 1]->start + live[i - 1]->bytes(), live[i]->start) << "runs overlap";
  for (span* s : live) pages_.free(s);
  // Everything this heap handed out is free again and coalesced: one request
  // for all of it fits without moving the frontier.
  std::size_t frontier = the_arena.frontier.load();
  span* all = pages_.allocate(static_cast<std::uint32_t>(pages_.free_bytes() / page_size));
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(the_arena.frontier.load(), frontier);
  EXPECT_EQ(pages_.free_bytes(), 0u) << "free runs were left uncoalesced";
}

}  // namespace
}  // namespace tricolor::heap
