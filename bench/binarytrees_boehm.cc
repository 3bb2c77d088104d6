// binary-trees on Boehm GC (bdwgc): nodes from GC_MALLOC, edges are raw
// pointers, dropped trees are reclaimed by the conservative collector.
// Prints the collector's figures on stderr at the end; GC_MARKERS=N enables
// parallel marking (see bench/boehm_stats.hpp, bench/binarytrees.hpp).
#include <new>

#include "binarytrees.hpp"
#include "boehm_stats.hpp"

namespace {

struct node {
  node* left;
  node* right;
};

struct boehm_tree {
  using ptr = node*;
  static ptr make(ptr left, ptr right) {
    return ::new (GC_MALLOC(sizeof(node))) node{left, right};
  }
  static void release(ptr& tree) { tree = nullptr; }
};

}  // namespace

int main(int argc, char** argv) {
  int depth = bench::binarytrees_depth(argc, argv);
  bench::boehm_init();
  bench::binarytrees<boehm_tree>(depth);
  bench::print_boehm_stats();
}
