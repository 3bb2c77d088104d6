// Multi-threaded GCBench with holes on tricolor (bench/mt_gcbench.hpp):
// nodes from make_gc, holes gc_array<char>s dropped at once.
#include <cstddef>

#include "mt_gcbench.hpp"
#include "tricolor/tricolor.hpp"
#include "tricolor_stats.hpp"

namespace {

struct node {
  node(tricolor::gc_ptr<node> l, tricolor::gc_ptr<node> r) : left(l), right(r) {}
  tricolor::gc_ptr<node> left, right;
  int i = 0, j = 0;
  void trace(tricolor::tracer& t) const { t(left, right); }
};

struct gc_heap {
  using ptr = tricolor::gc_ptr<node>;
  using array = tricolor::gc_ptr<tricolor::gc_array<double>>;
  static ptr make(ptr left, ptr right) { return tricolor::make_gc<node>(left, right); }
  static void hole(std::size_t bytes) { (void)tricolor::make_gc_array<char>(bytes); }
  static void release(ptr& tree) { tree = nullptr; }
  static array make_array(std::size_t n) { return tricolor::make_gc_array<double>(n); }
  static double* elements(array& a) { return a->data(); }
  static void release_array(array& a) { a = nullptr; }
};

}  // namespace

int main(int argc, char** argv) {
  int status = bench::mt_gcbench<gc_heap>(argc, argv);
  bench::tricolor_pauses.print();
  return status;
}
