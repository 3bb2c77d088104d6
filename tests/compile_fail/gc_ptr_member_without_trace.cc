// A struct with a gc_ptr member and no trace(): without the check it would be
// noscan, and `next`'s target would be freed while the node points to it.
// expect-error: T holds a gc_ptr but has no trace() member; add void trace(tricolor::tracer& t) const { t(...); }
// expect-error: holds_gc_ptr_without_trace<node>
#include <string>

#include "tricolor/tricolor.hpp"

struct node {
  std::string label;
  tricolor::gc_ptr<node> next;
};

int main() { tricolor::make_gc<node>(); }
