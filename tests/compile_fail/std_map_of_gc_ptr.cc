// A std::map with gc_ptr values: its nodes come from operator new.
// expect-error: a std container's memory is not scanned by the collector
// expect-error: tricolor::root_allocator<std::pair<const K, V>>
#include <map>

#include <tricolor/tricolor.hpp>

struct entry {
  int value = 0;
};

int main() {
  std::map<int, tricolor::gc_ptr<entry>> by_key;
  by_key[1] = tricolor::make_gc<entry>();
  return by_key[1]->value;
}
