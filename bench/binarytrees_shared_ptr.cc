// binary-trees with std::shared_ptr reference counting: nodes from
// std::make_shared (one allocation for node and count, from the global
// operator new, i.e. glibc malloc), a tree is freed when its root's count
// drops to zero. See bench/binarytrees.hpp.
#include <memory>
#include <utility>

#include "binarytrees.hpp"

namespace {

struct node {
  node(std::shared_ptr<node> l, std::shared_ptr<node> r)
      : left(std::move(l)), right(std::move(r)) {}
  std::shared_ptr<node> left, right;
};

struct shared_tree {
  using ptr = std::shared_ptr<node>;
  static ptr make(ptr left, ptr right) {
    return std::make_shared<node>(std::move(left), std::move(right));
  }
  static void release(ptr& tree) { tree.reset(); }
};

}  // namespace

int main(int argc, char** argv) {
  bench::binarytrees<shared_tree>(bench::binarytrees_depth(argc, argv));
}
