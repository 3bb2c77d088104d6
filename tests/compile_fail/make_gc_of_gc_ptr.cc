// make_gc<gc_ptr<T>>: a managed box around one gc_ptr, with no trace().
// expect-error: make_gc<gc_ptr<T>> would make a managed object that holds a gc_ptr and has no trace()
#include "tricolor/tricolor.hpp"

struct node {
  int value = 0;
};

int main() { tricolor::make_gc<tricolor::gc_ptr<node>>(); }
