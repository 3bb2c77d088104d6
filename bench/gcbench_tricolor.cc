// GCBench on tricolor: nodes from make_gc, the array a gc_array<double> (never
// scanned), dropped trees reclaimed by the collector. Prints the collector's
// figures (cycles, longest pause) on stderr at the end; see bench/gcbench.hpp.
#include <cstddef>

#include "tricolor/tricolor.hpp"
#include "gcbench.hpp"
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
  static ptr make(ptr left, ptr right) {
    return tricolor::make_gc<node>(left, right);
  }
  static void release(ptr& tree) { tree = nullptr; }
  static array make_array(std::size_t n) {
    return tricolor::make_gc_array<double>(n);
  }
  static double* elements(array& a) { return a->data(); }
  static void release_array(array& a) { a = nullptr; }
  static void phase_end() { bench::tricolor_pauses.sample(); }
};

}  // namespace

int main() {
  int status = bench::gcbench<gc_heap>();
  bench::tricolor_pauses.print();
  return status;
}
