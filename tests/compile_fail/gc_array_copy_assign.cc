// Assigning one gc_array to another: only the length word would be copied,
// and writes through the shorter array would then run over its neighbour.
// expect-error: tricolor::gc_array cannot be copied, moved, assigned or swapped
// expect-error: copy the elements with std::copy / std::ranges::copy into another array from make_gc_array
#include "tricolor/tricolor.hpp"

int main() {
  auto small = tricolor::make_gc_array<long>(2);
  auto big = tricolor::make_gc_array<long>(100);
  *small = *big;
  return 0;
}
