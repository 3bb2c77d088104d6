// make_gc_array checks its element type as make_gc checks T: an element type
// that inherits trace() from its base is refused.
// expect-error: Derived inherits Base::trace()
// expect-error: derived_class_inherits_trace<leaf, node>
#include "tricolor/tricolor.hpp"

struct node {
  tricolor::gc_ptr<node> next;
  void trace(tricolor::tracer& t) const { t(next); }
};

struct leaf : node {
  tricolor::gc_ptr<node> extra;
};

int main() { tricolor::make_gc_array<leaf>(4); }
