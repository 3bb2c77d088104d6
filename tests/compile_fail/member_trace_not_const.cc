// An embedded struct whose trace() is not const, passed to the tracer by its
// owner's trace().
// expect-error: make trace() const
#include "tricolor/tricolor.hpp"

struct node;

struct edge {
  tricolor::gc_ptr<node> to;
  void trace(tricolor::tracer& t) { t(to); }
};

struct node {
  edge out;
  void trace(tricolor::tracer& t) const { t(out); }
};

int main() { tricolor::make_gc<node>(); }
