// The gc_ptr is two levels down, in a std::array inside a member struct; no
// type on the way has a trace().
// expect-error: T holds a gc_ptr but has no trace() member
// expect-error: holds_gc_ptr_without_trace<tree>
#include <array>

#include "tricolor/tricolor.hpp"

struct tree;

struct children {
  int count = 0;
  std::array<tricolor::gc_ptr<tree>, 2> slots;
};

struct tree {
  int key = 0;
  children kids;
  double weight = 0;
};

int main() { tricolor::make_gc<tree>(); }
