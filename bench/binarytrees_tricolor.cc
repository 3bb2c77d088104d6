// binary-trees on tricolor: nodes from make_gc, edges are gc_ptr, dropped trees
// are reclaimed by the collector. Prints the collector's figures (cycles,
// longest pause) on stderr at the end; see bench/binarytrees.hpp.
#include "binarytrees.hpp"
#include "tricolor_stats.hpp"
#include "tricolor/tricolor.hpp"

namespace {

struct node {
  node(tricolor::gc_ptr<node> l, tricolor::gc_ptr<node> r) : left(l), right(r) {}
  tricolor::gc_ptr<node> left, right;
  void trace(tricolor::tracer& t) const { t(left, right); }
};

struct gc_tree {
  using ptr = tricolor::gc_ptr<node>;
  static ptr make(ptr left, ptr right) {
    return tricolor::make_gc<node>(left, right);
  }
  static void release(ptr& tree) { tree = nullptr; }
  static void phase_end() { bench::tricolor_pauses.sample(); }
  static void poll() { tricolor::safepoint(); }
};

}  // namespace

int main(int argc, char** argv) {
  bench::binarytrees<gc_tree>(bench::binarytrees_depth(argc, argv));
  bench::tricolor_pauses.print();
}
