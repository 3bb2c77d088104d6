// A std::vector of gc_ptrs left out of trace(): its elements live in malloc'd
// memory that the collector never scans, whether trace() mentions it or not.
// expect-error: a std container of gc_ptrs inside a managed object keeps its elements outside the object
// expect-error: hold them in a gc_vector<T> or gc_array<T>
#include <vector>

#include "tricolor/tricolor.hpp"

struct node {
  tricolor::gc_ptr<node> parent;
  std::vector<tricolor::gc_ptr<node>> children;
  void trace(tricolor::tracer& t) const { t(parent); }
};

int main() { tricolor::make_gc<node>(); }
