// A std::vector<int> passed to the tracer: a container, but of values that
// hold no gc_ptr.
// expect-error: this type holds no gc_ptr; do not pass it to the tracer
#include <vector>

#include "tricolor/tricolor.hpp"

struct node {
  tricolor::gc_ptr<node> next;
  std::vector<int> weights;
  void trace(tricolor::tracer& t) const { t(next, weights); }
};

int main() { tricolor::make_gc<node>(); }
