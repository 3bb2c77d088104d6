// binary-trees (the Computer Language Benchmarks Game), one algorithm for
// every memory manager.
//
// `binarytrees_<variant> N` allocates, walks and drops many perfect binary
// trees, bottom-up, one node at a time, on one thread:
//
//   1. a stretch tree of depth N + 1, checked and dropped;
//   2. a long-lived tree of depth N, kept until the end;
//   3. for d = 4, 6, ..., N: 1 << (N - d + 4) trees of depth d, each checked
//      and dropped;
//   4. the long-lived tree is checked.
//
// A check counts nodes (2^(d+1) - 1 for depth d), so the output depends only
// on N and is the same for every variant; bench/run_macro.py compares it with
// the canonical lines it computes itself.
//
// A variant supplies a `Tree` policy:
//   Tree::ptr                      a nullable pointer to a node with members
//                                  `left` and `right` of type Tree::ptr;
//   Tree::make(left, right)        a new node (a leaf when both are null);
//   Tree::release(ptr&)            drops a whole tree: frees every node
//                                  (explicit memory management) or just the
//                                  reference (garbage collection,
//                                  reference counting);
//   Tree::phase_end() (optional)   called after each step above, where a
//                                  variant samples collector statistics;
//   Tree::poll() (optional)        called at every node a check visits: the
//                                  tricolor variant polls its safepoint there,
//                                  as the library asks of long loops that do
//                                  not allocate (a check of a depth-20 tree
//                                  reads 2 million nodes, ~10 ms, without
//                                  one allocation).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace bench {

template <class Tree>
typename Tree::ptr bottom_up_tree(int depth) {
  if (depth <= 0) return Tree::make(nullptr, nullptr);
  typename Tree::ptr left = bottom_up_tree<Tree>(depth - 1);
  typename Tree::ptr right = bottom_up_tree<Tree>(depth - 1);
  return Tree::make(std::move(left), std::move(right));
}

template <class Tree, class Ptr>
int node_count(const Ptr& node) {
  if constexpr (requires { Tree::poll(); }) Tree::poll();
  return node->left ? 1 + node_count<Tree>(node->left) + node_count<Tree>(node->right)
                    : 1;
}

template <class Tree>
void end_of_phase() {
  if constexpr (requires { Tree::phase_end(); }) Tree::phase_end();
}

// Parses the one argument N (the maximal depth); exits with a usage line when
// it is missing or not a number in [1, 26] (above 26 a check overflows int).
inline int binarytrees_depth(int argc, char** argv) {
  char* end = nullptr;
  long n = argc == 2 ? std::strtol(argv[1], &end, 10) : 0;
  if (argc != 2 || *end != '\0' || n < 1 || n > 26) {
    std::fprintf(stderr, "usage: %s N   (maximal tree depth, 1..26)\n", argv[0]);
    std::exit(2);
  }
  return static_cast<int>(n);
}

template <class Tree>
void binarytrees(int n) {
  constexpr int min_depth = 4;
  const int max_depth = n < min_depth + 2 ? min_depth + 2 : n;

  {
    typename Tree::ptr stretch = bottom_up_tree<Tree>(max_depth + 1);
    std::printf("stretch tree of depth %d\t check: %d\n", max_depth + 1,
                node_count<Tree>(stretch));
    Tree::release(stretch);
  }
  end_of_phase<Tree>();

  typename Tree::ptr long_lived = bottom_up_tree<Tree>(max_depth);
  end_of_phase<Tree>();

  for (int depth = min_depth; depth <= max_depth; depth += 2) {
    const int iterations = 1 << (max_depth - depth + min_depth);
    int check = 0;
    for (int i = 0; i < iterations; ++i) {
      typename Tree::ptr tree = bottom_up_tree<Tree>(depth);
      check += node_count<Tree>(tree);
      Tree::release(tree);
    }
    std::printf("%d\t trees of depth %d\t check: %d\n", iterations, depth,
                check);
    end_of_phase<Tree>();
  }

  std::printf("long lived tree of depth %d\t check: %d\n", max_depth,
              node_count<Tree>(long_lived));
  Tree::release(long_lived);
}

}  // namespace bench
