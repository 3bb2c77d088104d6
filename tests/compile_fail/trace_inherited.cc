// A derived class that adds a gc_ptr but inherits the base's trace(): the
// collector would call node::trace and never visit leaf::extra.
// expect-error: Derived inherits Base::trace(); declare trace() in Derived too (call Base::trace(t) and visit Derived's own gc_ptrs)
// expect-error: derived_class_inherits_trace<leaf, node>
#include "tricolor/tricolor.hpp"

struct node {
  tricolor::gc_ptr<node> next;
  void trace(tricolor::tracer& t) const { t(next); }
};

struct leaf : node {
  tricolor::gc_ptr<node> extra;
};

int main() { tricolor::make_gc<leaf>(); }
