// std::swap of two gc_arrays: the temporary would be a gc_array on the stack
// without elements, and the arrays' lengths would be exchanged without their
// elements. The gc_ptrs are what to swap.
// expect-error: tricolor::gc_array cannot be copied, moved, assigned or swapped
// expect-error: To exchange two arrays, swap the gc_ptrs that point to them (std::swap(a, b))
#include <utility>

#include "tricolor/tricolor.hpp"

int main() {
  auto a = tricolor::make_gc_array<int>(3);
  auto b = tricolor::make_gc_array<int>(5);
  std::swap(*a, *b);
  return 0;
}
