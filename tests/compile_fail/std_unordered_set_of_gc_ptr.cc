// A std::unordered_set of gc_ptrs: its nodes come from operator new.
// expect-error: a std container's memory is not scanned by the collector
#include <unordered_set>

#include <tricolor/tricolor.hpp>

struct item {
  int value = 0;
};

int main() {
  std::unordered_set<tricolor::gc_ptr<item>> seen;
  seen.insert(tricolor::make_gc<item>());
  return static_cast<int>(seen.size());
}
