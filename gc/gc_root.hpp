// gc_root<T>: a named, precise root for a managed object held from unmanaged
// memory (a std::vector<gc_root<T>>, a malloc'd struct, a callback registry).
//
//     std::vector<tricolor::gc_root<session>> open_sessions;
//     open_sessions.push_back(tricolor::gc_root<session>(s, "open_sessions"));
//
// Construct the gc_root where it is written, as above: the source location is
// a default argument, so emplace_back(s, "name") would record the line inside
// the standard library that constructs the element, not the caller's.
//
// Each gc_root owns a node in the root registry (roots/handles.cc) holding the
// target, the name and the source location where the root was created; the
// collector marks every registered target and attributes what it retains to
// that name and location (leak reports). Copies get their own node with the
// same name and location; moves transfer the node (a move assignment
// unregisters the destination's node first).
#pragma once

#include <atomic>
#include <utility>

#include "gc/gc_ptr.hpp"
#include "roots/source_location.hpp"

namespace tricolor {
namespace detail {
struct root_node;
root_node* register_root(void* target, const char* name,
                         const source_location& where);
root_node* copy_root(const root_node* other);
void unregister_root(root_node* node);
void* root_target(const root_node* node) noexcept;
void set_root_target(root_node* node, void* target) noexcept;
const char* root_name(const root_node* node) noexcept;
const source_location& root_location(const root_node* node) noexcept;
}  // namespace detail

template <class T>
class gc_root {
 public:
  gc_root(gc_ptr<T> target = nullptr, const char* name = nullptr,
          source_location where = source_location::current())
      : node_(detail::register_root(as_void(target), name, where)) {}
  gc_root(const gc_root& other) : node_(detail::copy_root(other.node_)) {}
  gc_root(gc_root&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  gc_root& operator=(const gc_root& other) {
    if (this != &other) set(other.get());
    return *this;
  }
  // Takes over other's node (target, name and location); the node this root
  // held is unregistered, so its old target is no longer kept alive by it.
  gc_root& operator=(gc_root&& other) noexcept {
    if (this != &other) {
      if (node_) detail::unregister_root(node_);
      node_ = std::exchange(other.node_, nullptr);
    }
    return *this;
  }
  gc_root& operator=(gc_ptr<T> target) {
    set(target);
    return *this;
  }
  ~gc_root() {
    if (node_) detail::unregister_root(node_);
  }

  // A moved-from gc_root holds nothing and reads as null.
  gc_ptr<T> get() const noexcept {
    return node_ ? detail::adopt(static_cast<T*>(detail::root_target(node_)))
                 : nullptr;
  }
  void set(gc_ptr<T> target) {
    if (!node_) node_ = detail::register_root(nullptr, nullptr, source_location::current());
    detail::set_root_target(node_, as_void(target));
  }
  void reset() { set(nullptr); }

  // Dereferencing requires a target (as for any pointer), so these do not
  // test for a moved-from root.
  T* operator->() const noexcept { return static_cast<T*>(detail::root_target(node_)); }
  T& operator*() const noexcept { return *operator->(); }
  explicit operator bool() const noexcept { return static_cast<bool>(get()); }
  operator gc_ptr<T>() const noexcept { return get(); }

  const char* name() const noexcept {
    return node_ ? detail::root_name(node_) : "";
  }
  source_location where() const noexcept {
    return node_ ? detail::root_location(node_) : source_location{};
  }

 private:
  static void* as_void(const gc_ptr<T>& p) noexcept {
    return const_cast<void*>(static_cast<const void*>(p.get()));
  }

  detail::root_node* node_;
};

}  // namespace tricolor
