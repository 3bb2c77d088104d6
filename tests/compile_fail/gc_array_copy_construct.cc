// Copy-constructing a gc_array: the copy would be a length word with no
// elements behind it (only make_gc_array's slot holds the elements), and its
// destructor would destroy "elements" that are not there.
// expect-error: tricolor::gc_array cannot be copied
// expect-error: copy the elements with std::copy / std::ranges::copy into another array from make_gc_array
#include <string>

#include "tricolor/tricolor.hpp"

int main() {
  auto a = tricolor::make_gc_array<std::string>(3, std::string("x"));
  tricolor::gc_array<std::string> copy = *a;
  return copy.size() == 3 ? 0 : 1;
}
