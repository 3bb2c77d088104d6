// The binary-trees Tree policy for explicit memory management: nodes from
// Allocator::allocate, and each dropped tree freed node by node (post-order)
// with Allocator::deallocate. See bench/binarytrees.hpp and
// bench/allocators.hpp.
#pragma once

#include <new>

namespace bench {

template <class Allocator>
struct explicit_tree {
  struct node {
    node* left;
    node* right;
  };
  using ptr = node*;

  static ptr make(ptr left, ptr right) {
    return ::new (Allocator::allocate(sizeof(node))) node{left, right};
  }
  static void release(ptr& tree) {
    free_tree(tree);
    tree = nullptr;
  }

 private:
  static void free_tree(node* n) {
    if (n->left) {
      free_tree(n->left);
      free_tree(n->right);
    }
    Allocator::deallocate(n);
  }
};

}  // namespace bench
