// A gc_array of std::pair<gc_ptr, int>: the pair has no trace(), so the array
// would be noscan.
// expect-error: T holds a gc_ptr but has no trace() member
#include <utility>

#include "tricolor/tricolor.hpp"

struct node {
  int value = 0;
};

int main() { tricolor::make_gc_array<std::pair<tricolor::gc_ptr<node>, int>>(8); }
