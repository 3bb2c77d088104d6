// Weak cell registry; see weak_refs.hpp.
#include "gc/weak_refs.hpp"

#include <mimalloc.h>

#include <mutex>
#include <new>

#include "gc/marker.hpp"
#include "tricolor/weak_gc_ptr.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor {
namespace {
struct weak_registry {
  std::mutex lock;
  detail::weak_cell* head = nullptr;
};

weak_registry& registry() {
  static auto* r = new weak_registry();  // leaked: cells may die at exit
  return *r;
}
}  // namespace

detail::weak_cell* detail::new_weak_cell(void* target) {
  // The mark-termination pause takes the registry's lock.
  roots::runtime_section runtime;
  void* memory = mi_malloc(sizeof(weak_cell));
  if (memory == nullptr) throw std::bad_alloc();
  auto* cell = new (memory) weak_cell{{target}, {1}, nullptr};
  weak_registry& r = registry();
  std::lock_guard guard(r.lock);
  cell->next = r.head;
  r.head = cell;
  return cell;
}

gc::weak_sweep_result gc::clear_dead_weak_refs() {
  weak_sweep_result result;
  weak_registry& r = registry();
  std::lock_guard guard(r.lock);
  detail::weak_cell** link = &r.head;
  while (detail::weak_cell* cell = *link) {
    if (cell->references.load(std::memory_order_acquire) == 0) {
      *link = cell->next;
      cell->~weak_cell();
      mi_free(cell);
      ++result.cells_freed;
      continue;
    }
    void* target = cell->target.load(std::memory_order_relaxed);
    if (target != nullptr && !is_marked(target)) {
      cell->target.store(nullptr, std::memory_order_release);
      ++result.cleared;
    }
    ++result.cells_live;
    link = &cell->next;
  }
  return result;
}

}  // namespace tricolor
