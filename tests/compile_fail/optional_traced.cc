// std::optional<gc_ptr<T>> passed to the tracer: reset() and emplace() end the
// old pointer's life without the write barrier's deletion shade.
// expect-error: a gc_ptr inside std::optional/std::variant escapes the write barrier when reset or reassigned; a gc_ptr is nullable already: use gc_ptr<T> and nullptr
#include <optional>

#include "tricolor/tricolor.hpp"

struct node {
  std::optional<tricolor::gc_ptr<node>> next;
  void trace(tricolor::tracer& t) const { t(next); }
};

int main() { tricolor::make_gc<node>(); }
