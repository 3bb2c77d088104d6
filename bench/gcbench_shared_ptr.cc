// GCBench with std::shared_ptr reference counting: nodes from
// std::make_shared, the array from std::make_shared<double[]>, a tree freed
// when its root's count drops to zero. See bench/gcbench.hpp.
#include <cstddef>
#include <memory>
#include <utility>

#include "gcbench.hpp"

namespace {

struct node {
  node(std::shared_ptr<node> l, std::shared_ptr<node> r)
      : left(std::move(l)), right(std::move(r)) {}
  std::shared_ptr<node> left, right;
  int i = 0, j = 0;
};

struct shared_heap {
  using ptr = std::shared_ptr<node>;
  using array = std::shared_ptr<double[]>;
  static ptr make(ptr left, ptr right) {
    return std::make_shared<node>(std::move(left), std::move(right));
  }
  static void release(ptr& tree) { tree.reset(); }
  static array make_array(std::size_t n) {
    return std::make_shared<double[]>(n);
  }
  static double* elements(array& a) { return a.get(); }
  static void release_array(array& a) { a.reset(); }
};

}  // namespace

int main() { return bench::gcbench<shared_heap>(); }
