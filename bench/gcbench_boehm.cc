// GCBench on Boehm GC (bdwgc): nodes from GC_MALLOC, the array from
// GC_MALLOC_ATOMIC (never scanned), dropped trees reclaimed by the collector.
// Prints the collector's figures on stderr at the end; GC_MARKERS=N enables
// parallel marking (see bench/boehm_stats.hpp, bench/gcbench.hpp).
#include <cstddef>
#include <new>

#include "boehm_stats.hpp"
#include "gcbench.hpp"

namespace {

struct node {
  node* left;
  node* right;
  int i = 0, j = 0;
};

struct boehm_heap {
  using ptr = node*;
  using array = double*;
  static ptr make(ptr left, ptr right) {
    return ::new (GC_MALLOC(sizeof(node))) node{left, right};
  }
  static void release(ptr& tree) { tree = nullptr; }
  static array make_array(std::size_t n) {
    return static_cast<double*>(GC_MALLOC_ATOMIC(n * sizeof(double)));
  }
  static double* elements(array& a) { return a; }
  static void release_array(array& a) { a = nullptr; }
};

}  // namespace

int main() {
  bench::boehm_init();
  int status = bench::gcbench<boehm_heap>();
  bench::print_boehm_stats();
  return status;
}
