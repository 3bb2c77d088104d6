// A std::string passed to the tracer: it holds no gc_ptr. The message must not
// be the container advice (gc_vector) meant for containers of gc_ptrs.
// expect-error: this type holds no gc_ptr; do not pass it to the tracer
#include <string>

#include "tricolor/tricolor.hpp"

struct node {
  tricolor::gc_ptr<node> next;
  std::string label;
  void trace(tricolor::tracer& t) const { t(next, label); }
};

int main() { tricolor::make_gc<node>(); }
