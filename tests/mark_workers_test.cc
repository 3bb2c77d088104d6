// Mark workers (gc/mark_workers.hpp): the CPU budget each machine size gets,
// and marking by several threads at once keeping a large graph intact.
#include <cstdint>
#include <thread>

#include <gtest/gtest.h>

#include "gc/mark_workers.hpp"
#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::gc::plan_mark_workers;
using tricolor::gc::worker_plan;

void expect_plan(unsigned cpus, unsigned bound, unsigned dedicated, double fractional,
                 unsigned threads) {
  SCOPED_TRACE(testing::Message() << cpus << " CPUs, at most " << bound << " workers");
  worker_plan plan = plan_mark_workers(cpus, bound);
  EXPECT_EQ(plan.dedicated, dedicated);
  EXPECT_DOUBLE_EQ(plan.fractional, fractional);
  EXPECT_EQ(plan.threads, threads);
}

TEST(MarkWorkerPlan, AQuarterOfTheCpusAsGoDealsIt) {
  // 25 % of the CPUs: whole workers when rounding is within 30 %, else one
  // fewer and a fractional worker for the rest; idle workers up to a thread
  // per CPU.
  expect_plan(1, 1, 0, 0.25, 1);
  expect_plan(2, 2, 0, 0.5, 2);
  expect_plan(3, 3, 0, 0.75, 3);
  expect_plan(4, 4, 1, 0, 4);
  expect_plan(5, 5, 1, 0, 5);  // 1.25: one dedicated is 20 % off, no fraction
  expect_plan(6, 6, 1, 0.5, 6);
  expect_plan(8, 8, 2, 0, 8);
  expect_plan(64, 64, 16, 0, 64);
}

TEST(MarkWorkerPlan, TheBoundCapsEveryKindDedicatedFirst) {
  expect_plan(8, 1, 1, 0, 1);
  expect_plan(8, 3, 2, 0, 3);
  expect_plan(6, 1, 1, 0, 1);  // the dedicated worker, not the fraction
  expect_plan(2, 1, 0, 0.5, 1);
  expect_plan(6, 2, 1, 0.5, 2);
}

struct tree_node {
  gc_ptr<tree_node> left, right;
  std::uint64_t value;
  void trace(tricolor::tracer& t) const {
    t(left);
    t(right);
  }
};

gc_ptr<tree_node> build(int depth, std::uint64_t& next) {
  auto node = make_gc<tree_node>();
  node->value = tricolor_test::counted::mix(next++);
  if (depth > 0) {
    node->left = build(depth - 1, next);
    node->right = build(depth - 1, next);
  }
  return node;
}

// Every node in depth-first order holds mix of its position.
bool intact(const tree_node* node, int depth, std::uint64_t& next) {
  if (node == nullptr || node->value != tricolor_test::counted::mix(next++)) return false;
  if (depth == 0) return node->left.get() == nullptr && node->right.get() == nullptr;
  return intact(node->left.get(), depth - 1, next) && intact(node->right.get(), depth - 1, next);
}

TEST(MarkWorkers, SeveralMarkAtOnceAndLoseNothing) {
  if (std::thread::hardware_concurrency() < 2)
    GTEST_SKIP() << "one CPU: a single mark worker, nothing to share";
  constexpr int depth = 19;  // a million nodes
  std::uint64_t next = 0;
  gc_root<tree_node> root(build(depth, next), "mark_workers_test.tree");
  // The only registered thread waits in collect(): every CPU is idle, so
  // idle workers join the fractional one and share the tree through the
  // pool.
  std::uint64_t most_workers = 0;
  for (int i = 0; i < 5; ++i) {
    tricolor::collect();
    tricolor::gc_stats stats = tricolor::read_stats();
    most_workers = std::max(most_workers, stats.last_cycle.mark_workers);
    EXPECT_GE(stats.live_objects, (std::uint64_t{1} << (depth + 1)) - 1);
  }
  EXPECT_GE(most_workers, 2u) << "no cycle marked with more than one worker";
  std::uint64_t check = 0;
  EXPECT_TRUE(intact(root.get().get(), depth, check)) << "a node was freed or overwritten";
}

}  // namespace
