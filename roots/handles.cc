// gc_root handles: the registry of precise, named roots.
//
// Nodes live in one doubly linked list under a mutex. Creating, copying and
// destroying a gc_root takes the mutex; reading and writing its target does
// not (an atomic word). The collector walks the list with the mutex held, so
// a node cannot be unlinked while it is visited, even by a thread that is not
// registered with the collector.
//
// Handles are scanned after the mark-start pause, concurrently with the
// mutators (a program may hold thousands of them: scanning them in the pause
// would make the pause grow with the heap). That is sound under the SATB
// barrier's rule (barriers/write_barrier.hpp): while marking, a handle's
// overwritten target and the target of a handle being destroyed are shaded,
// so each handle's value at the snapshot is either still there when the
// collector visits it or was shaded when it left. A handle created during
// marking holds an object the program could reach, hence one of the
// snapshot or one allocated black.

#include <atomic>
#include <mutex>
#include <new>
#include <string>

#include "barriers/write_barrier.hpp"
#include "gc/gc_root.hpp"
#include "roots/root_set.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::detail {

struct root_node {
  std::atomic<void*> target;
  std::string name;
  source_location where;
  root_node* prev = nullptr;
  root_node* next = nullptr;
};

namespace {
struct handle_registry {
  std::mutex lock;
  root_node* head = nullptr;
};

handle_registry& handles() {
  static auto* registry = new handle_registry();  // leaked: roots may die at exit
  return *registry;
}

root_node* link(root_node* node) {
  handle_registry& r = handles();
  std::lock_guard guard(r.lock);
  node->next = r.head;
  if (r.head) r.head->prev = node;
  r.head = node;
  return node;
}
}  // namespace

root_node* register_root(void* target, const char* name,
                         const source_location& where) {
  roots::runtime_section runtime;
  auto* node = new root_node{{target}, name ? name : "", where};
  return link(node);
}

root_node* copy_root(const root_node* other) {
  if (other == nullptr) return nullptr;
  roots::runtime_section runtime;
  auto* node = new root_node{{other->target.load(std::memory_order_relaxed)},
                             other->name, other->where};
  return link(node);
}

void unregister_root(root_node* node) {
  roots::runtime_section runtime;
  handle_registry& r = handles();
  if (barriers::marking.load(std::memory_order_relaxed)) [[unlikely]] {
    if (void* target = node->target.load(std::memory_order_relaxed))
      barriers::record_for_shading(target);
  }
  {
    std::lock_guard guard(r.lock);
    if (node->prev) node->prev->next = node->next;
    else r.head = node->next;
    if (node->next) node->next->prev = node->prev;
  }
  delete node;
}

void* root_target(const root_node* node) noexcept {
  return node->target.load(std::memory_order_relaxed);
}

void set_root_target(root_node* node, void* target) noexcept {
  void* old = node->target.exchange(target, std::memory_order_relaxed);
  if (old != nullptr && barriers::marking.load(std::memory_order_relaxed)) [[unlikely]]
    barriers::record_for_shading(old);
}

const char* root_name(const root_node* node) noexcept { return node->name.c_str(); }

const source_location& root_location(const root_node* node) noexcept {
  return node->where;
}

}  // namespace tricolor::detail

namespace tricolor::roots {

std::uint64_t visit_handles(root_visitor& visitor) {
  detail::handle_registry& r = detail::handles();
  std::lock_guard guard(r.lock);
  std::uint64_t count = 0;
  for (detail::root_node* node = r.head; node; node = node->next) {
    ++count;
    void* target = node->target.load(std::memory_order_relaxed);
    if (target == nullptr) continue;
    root_identity identity{root_kind::handle, node->name.c_str(),
                           node->where.file, node->where.line, 0};
    visitor.precise(identity, target);
  }
  return count;
}

}  // namespace tricolor::roots
