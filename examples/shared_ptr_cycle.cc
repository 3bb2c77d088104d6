// A cycle std::shared_ptr leaks and tricolor frees. A parent holds its
// children and each child holds its parent: with shared_ptr the pair keeps
// each other's count above zero forever; with gc_ptr the collector finds
// both unreachable and frees them. expect_dead() on every dropped family
// confirms it: the report stays empty, and the live heap stays flat. (The
// families are made on a thread of their own, which exits: a conservative
// collector keeps what a stale stack word of a living frame points to.)
//
//     build/examples/shared_ptr_cycle
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include <tricolor/tricolor.hpp>

namespace {

struct shared_parent;
struct shared_child {
  std::shared_ptr<shared_parent> parent;  // the back edge that leaks
  std::vector<char> data = std::vector<char>(4096);
};
struct shared_parent {
  std::vector<std::shared_ptr<shared_child>> children;
};

struct gc_parent;
struct gc_child {
  tricolor::gc_ptr<gc_parent> parent;
  tricolor::gc_ptr<tricolor::gc_array<char>> data = tricolor::make_gc_array<char>(4096);
  void trace(tricolor::tracer& t) const { t(parent, data); }
};
struct gc_parent {
  tricolor::gc_vector<tricolor::gc_ptr<gc_child>> children;
  void trace(tricolor::tracer& t) const { t(children); }
};

long shared_families_alive = 0;

void shared_ptr_family() {
  auto parent = std::make_shared<shared_parent>();
  for (int i = 0; i < 4; ++i) {
    auto child = std::make_shared<shared_child>();
    child->parent = parent;
    parent->children.push_back(child);
  }
  ++shared_families_alive;  // never destroyed: the cycle keeps it
}

void gc_family() {
  auto parent = tricolor::make_gc<gc_parent>();
  for (int i = 0; i < 4; ++i) {
    auto child = tricolor::make_gc<gc_child>();
    child->parent = parent;
    parent->children.push_back(child);
  }
  tricolor::expect_dead(parent, "family dropped");
}

}  // namespace

int main() {
  std::thread([] {
    for (int i = 0; i < 20'000; ++i) {
      shared_ptr_family();
      gc_family();
    }
  }).join();
  for (int i = 0; i < 3; ++i) tricolor::collect();
  tricolor::gc_stats stats = tricolor::read_stats();
  std::vector<tricolor::leak_suspect> suspects = tricolor::leak_report();
  std::printf("std::shared_ptr: %ld families (%.1f MiB of children's data) leaked by their cycles\n",
              shared_families_alive, shared_families_alive * 4 * 4096 / 1048576.0);
  std::printf("tricolor: live heap after collect(): %.1f MiB; leak_report(): %zu suspect(s)\n",
              static_cast<double>(stats.live_bytes) / 1048576.0, suspects.size());
  return suspects.empty() ? 0 : 1;
}
