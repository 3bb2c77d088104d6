// A std::deque of gc_ptrs passed to the tracer.
// expect-error: hold them in a gc_vector<T> or gc_array<T>
#include <deque>

#include "tricolor/tricolor.hpp"

struct node {
  std::deque<tricolor::gc_ptr<node>> queue;
  void trace(tricolor::tracer& t) const { t(queue); }
};

int main() { tricolor::make_gc<node>(); }
