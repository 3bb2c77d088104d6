// std::variant with a gc_ptr alternative passed to the tracer: assigning the
// other alternative destroys the gc_ptr without the write barrier.
// expect-error: escapes the write barrier when reset or reassigned
// expect-error: for variant: one gc_ptr field per alternative, or a gc_ptr to a managed base class
#include <string>
#include <variant>

#include "tricolor/tricolor.hpp"

struct node {
  std::variant<std::string, tricolor::gc_ptr<node>> value;
  void trace(tricolor::tracer& t) const { t(value); }
};

int main() { tricolor::make_gc<node>(); }
