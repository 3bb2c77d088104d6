// A raw pointer passed to the tracer: it is not an edge the collector follows.
// expect-error: a raw pointer is not traced and does not keep its target alive; hold a managed object in a gc_ptr<T>
#include "tricolor/tricolor.hpp"

struct node {
  node* next = nullptr;
  void trace(tricolor::tracer& t) const { t(next); }
};

int main() { tricolor::make_gc<node>(); }
