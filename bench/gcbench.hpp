// GCBench (John Ellis and Pete Kovac; Hans Boehm's C/C++ version), one
// algorithm for every memory manager.
//
// It builds binary trees of 24-byte nodes (two pointers, two ints) in the
// two orders that stress a collector differently:
//
//   1. stretch: a bottom-up tree of depth 18, dropped at once;
//   2. a long-lived tree of depth 16, built top-down, and a long-lived array
//      of 500000 doubles, half of it filled with 1.0 / i; both stay live to
//      the end (about 2.6 MB + 4 MB);
//   3. for d = 4, 6, ..., 16: NumIters(d) = 2 * TreeSize(18) / TreeSize(d)
//      trees of depth d built top-down (each new child stored into an older
//      node: the write barrier's case) and as many bottom-up (each node
//      made after its children), every tree dropped after it is built;
//   4. the long-lived tree (every node present) and the array (every filled
//      element) are verified: "Failed" on stderr and exit code 1 if not.
//
// A variant supplies a `Heap` policy:
//   Heap::ptr, Heap::make(left, right), Heap::release(ptr&)
//                         as in bench/binarytrees.hpp (a node also has
//                         int members i and j);
//   Heap::array           an owner of n doubles: Heap::make_array(n),
//                         Heap::elements(array&) -> double*,
//                         Heap::release_array(array&);
//   Heap::phase_end()     optional, called after each step above.
#pragma once

#include <chrono>
#include <cstdio>
#include <utility>

namespace bench {

namespace gcbench_params {
constexpr int stretch_tree_depth = 18;
constexpr int long_lived_tree_depth = 16;
constexpr int array_size = 500000;
constexpr int min_tree_depth = 4;
constexpr int max_tree_depth = 16;
}  // namespace gcbench_params

// Nodes of a tree of depth `depth`.
constexpr int tree_size(int depth) { return (1 << (depth + 1)) - 1; }

constexpr int num_iters(int depth) {
  return 2 * tree_size(gcbench_params::stretch_tree_depth) / tree_size(depth);
}

// Builds the tree below `node` top-down: children are made and stored into
// their (older) parent before their own subtrees.
template <class Heap>
void populate(int depth, const typename Heap::ptr& node) {
  if (depth <= 0) return;
  --depth;
  node->left = Heap::make(nullptr, nullptr);
  node->right = Heap::make(nullptr, nullptr);
  populate<Heap>(depth, node->left);
  populate<Heap>(depth, node->right);
}

template <class Heap>
typename Heap::ptr make_tree(int depth) {
  if (depth <= 0) return Heap::make(nullptr, nullptr);
  typename Heap::ptr left = make_tree<Heap>(depth - 1);
  typename Heap::ptr right = make_tree<Heap>(depth - 1);
  return Heap::make(std::move(left), std::move(right));
}

template <class Ptr>
int gcbench_node_count(const Ptr& node) {
  if (!node) return 0;
  return 1 + gcbench_node_count(node->left) + gcbench_node_count(node->right);
}

template <class Heap>
void gcbench_phase_end() {
  if constexpr (requires { Heap::phase_end(); }) Heap::phase_end();
}

inline long long elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now() - start)
      .count();
}

template <class Heap>
void time_construction(int depth) {
  const int iterations = num_iters(depth);
  std::printf("Creating %d trees of depth %d\n", iterations, depth);

  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    typename Heap::ptr temp = Heap::make(nullptr, nullptr);
    populate<Heap>(depth, temp);
    Heap::release(temp);
  }
  std::printf("\tTop down construction took %lld msec\n", elapsed_ms(start));

  start = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    typename Heap::ptr temp = make_tree<Heap>(depth);
    Heap::release(temp);
  }
  std::printf("\tBottom up construction took %lld msec\n", elapsed_ms(start));
}

// Runs the benchmark; returns the process exit code (0, or 1 after "Failed").
template <class Heap>
int gcbench() {
  using namespace gcbench_params;
  std::printf("Garbage Collector Test\n");
  std::printf(" Stretching memory with a binary tree of depth %d\n",
              stretch_tree_depth);
  auto start = std::chrono::steady_clock::now();
  {
    typename Heap::ptr stretch = make_tree<Heap>(stretch_tree_depth);
    Heap::release(stretch);
  }
  gcbench_phase_end<Heap>();

  std::printf(" Creating a long-lived binary tree of depth %d\n",
              long_lived_tree_depth);
  typename Heap::ptr long_lived = Heap::make(nullptr, nullptr);
  populate<Heap>(long_lived_tree_depth, long_lived);

  std::printf(" Creating a long-lived array of %d doubles\n", array_size);
  typename Heap::array array = Heap::make_array(array_size);
  {
    double* elements = Heap::elements(array);
    for (int i = 0; i < array_size / 2; ++i) elements[i] = 1.0 / i;
  }
  gcbench_phase_end<Heap>();

  for (int depth = min_tree_depth; depth <= max_tree_depth; depth += 2) {
    time_construction<Heap>(depth);
    gcbench_phase_end<Heap>();
  }

  bool ok = gcbench_node_count(long_lived) == tree_size(long_lived_tree_depth);
  const double* elements = Heap::elements(array);
  for (int i = 0; i < array_size / 2; ++i) ok = ok && elements[i] == 1.0 / i;
  if (!ok) std::fprintf(stderr, "Failed\n");
  Heap::release(long_lived);
  Heap::release_array(array);

  std::printf("Completed in %lld msec\n", elapsed_ms(start));
  return ok ? 0 : 1;
}

}  // namespace bench
