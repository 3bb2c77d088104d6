// A std::vector of gc_ptrs inside a managed object, passed to the tracer: its
// buffer lives in malloc'd memory that the owner may reallocate while the
// marker reads it.
// expect-error: hold them in a gc_vector<T> or gc_array<T>
#include <vector>

#include "tricolor/tricolor.hpp"

struct node {
  std::vector<tricolor::gc_ptr<node>> children;
  void trace(tricolor::tracer& t) const { t(children); }
};

int main() { tricolor::make_gc<node>(); }
