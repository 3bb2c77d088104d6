// Multi-threaded GCBench with holes on Boehm GC (bench/mt_gcbench.hpp):
// nodes from GC_MALLOC, holes from GC_MALLOC_ATOMIC dropped at once; each
// benchmark thread registers itself with the collector.
#include <cstddef>
#include <new>

#include "boehm_stats.hpp"
#include "mt_gcbench.hpp"

namespace {

struct node {
  node* left;
  node* right;
  int i = 0, j = 0;
};

struct boehm_heap {
  using ptr = node*;
  using array = double*;
  static ptr make(ptr left, ptr right) { return ::new (GC_MALLOC(sizeof(node))) node{left, right}; }
  static void hole(std::size_t bytes) { (void)GC_MALLOC_ATOMIC(bytes); }
  static void release(ptr& tree) { tree = nullptr; }
  static array make_array(std::size_t n) {
    return static_cast<double*>(GC_MALLOC_ATOMIC(n * sizeof(double)));
  }
  static double* elements(array& a) { return a; }
  static void release_array(array& a) { a = nullptr; }
  static void thread_start() {
    GC_stack_base base;
    GC_get_stack_base(&base);
    GC_register_my_thread(&base);
  }
  static void thread_end() { GC_unregister_my_thread(); }
};

}  // namespace

int main(int argc, char** argv) {
  bench::boehm_init();
  GC_allow_register_threads();
  int status = bench::mt_gcbench<boehm_heap>(argc, argv);
  bench::print_boehm_stats();
  return status;
}
