// A std::deque of gc_ptrs (issue 10, point 9: was a silent use-after-free).
// expect-error: a std container's memory is not scanned by the collector
// expect-error: tricolor::root_allocator
#include <deque>

#include <tricolor/tricolor.hpp>

struct job {
  int id = 0;
};

int main() {
  std::deque<tricolor::gc_ptr<job>> queue;
  queue.push_back(tricolor::make_gc<job>());
  return queue.front()->id;
}
