// A trace() member that is not const: the collector calls
// `void trace(tricolor::tracer&) const`, so this one would never run and the
// node would be scanned as holding no gc_ptr.
// expect-error: make trace() const
#include "tricolor/tricolor.hpp"

struct node {
  tricolor::gc_ptr<node> next;
  void trace(tricolor::tracer& t) { t(next); }
};

int main() { tricolor::make_gc<node>(); }
