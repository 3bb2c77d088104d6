// std::optional of a struct holding a gc_ptr, passed to the tracer: reset()
// and emplace() end the old pointer's life without the write barrier's
// deletion shade. (std::optional<gc_ptr<T>> itself is barrier-aware:
// tricolor/optional_gc_ptr.hpp.)
// expect-error: a gc_ptr inside std::optional/std::variant escapes the write barrier when reset or reassigned
#include <optional>

#include "tricolor/tricolor.hpp"

struct node;
struct edge {
  tricolor::gc_ptr<node> to;
  void trace(tricolor::tracer& t) const { t(to); }
};
struct node {
  std::optional<edge> next;
  void trace(tricolor::tracer& t) const { t(next); }
};

int main() { tricolor::make_gc<node>(); }
