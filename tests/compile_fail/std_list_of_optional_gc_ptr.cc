// A std::list of std::optional<gc_ptr>: the node holds the gc_ptr by value.
// expect-error: a std container's memory is not scanned by the collector
#include <list>
#include <optional>

#include <tricolor/tricolor.hpp>

struct item {
  int value = 0;
};

int main() {
  std::list<std::optional<tricolor::gc_ptr<item>>> pending;
  pending.emplace_back(tricolor::make_gc<item>());
  return static_cast<int>(pending.size());
}
