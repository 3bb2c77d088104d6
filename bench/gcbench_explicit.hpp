// The GCBench Heap policy for explicit memory management: nodes and the array
// from Allocator::allocate, each dropped tree freed node by node (post-order)
// with Allocator::deallocate. See bench/gcbench.hpp and bench/allocators.hpp.
#pragma once

#include <cstddef>
#include <new>

namespace bench {

template <class Allocator>
struct explicit_gcbench_heap {
  struct node {
    node* left;
    node* right;
    int i = 0, j = 0;
  };
  using ptr = node*;
  using array = double*;

  static ptr make(ptr left, ptr right) {
    return ::new (Allocator::allocate(sizeof(node))) node{left, right};
  }
  static void release(ptr& tree) {
    free_tree(tree);
    tree = nullptr;
  }

  static array make_array(std::size_t n) {
    return static_cast<double*>(Allocator::allocate(n * sizeof(double)));
  }
  static double* elements(array& a) { return a; }
  static void release_array(array& a) {
    Allocator::deallocate(a);
    a = nullptr;
  }

 private:
  static void free_tree(node* n) {
    if (n->left) free_tree(n->left);
    if (n->right) free_tree(n->right);
    Allocator::deallocate(n);
  }
};

}  // namespace bench
