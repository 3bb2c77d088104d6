// A std::vector of gc_ptrs as a local: its buffer comes from operator new,
// which the collector does not scan, so the objects would be freed under it.
// expect-error: a std container's memory is not scanned by the collector
// expect-error: tricolor::root_allocator
#include <vector>

#include <tricolor/tricolor.hpp>

struct node {
  int value = 0;
};

int main() {
  std::vector<tricolor::gc_ptr<node>> nodes;
  nodes.push_back(tricolor::make_gc<node>());
  return nodes[0]->value;
}
