// A derived class that adds no member still declares its own trace(): the
// rule has no exception, so a gc_ptr added to it later cannot go untraced.
// expect-error: Required even when Derived adds no gc_ptr
// expect-error: derived_class_inherits_trace<named_node, node>
#include <string>

#include "tricolor/tricolor.hpp"

struct node {
  tricolor::gc_ptr<node> next;
  void trace(tricolor::tracer& t) const { t(next); }
};

struct named_node : node {
  std::string name;
};

int main() { tricolor::make_gc<named_node>(); }
