// A std::map whose values are gc_ptrs, passed to the tracer: the same advice
// as for std::vector (its nodes are malloc'd).
// expect-error: hold them in a gc_vector<T> or gc_array<T>
#include <map>

#include "tricolor/tricolor.hpp"

struct node {
  std::map<int, tricolor::gc_ptr<node>> by_key;
  void trace(tricolor::tracer& t) const { t(by_key); }
};

int main() { tricolor::make_gc<node>(); }
