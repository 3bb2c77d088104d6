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
// The name is not copied: pass a string literal, or any string that stays
// valid and unchanged until the process exits (the collector may read the
// name of a root while it is being destroyed). For a name built at run time,
// tricolor::intern_root_name(s) returns such a copy (one per distinct name;
// it takes a lock, so make it once, not per root).
//
// Each gc_root owns a node in the root registry (roots/handles.cc) holding the
// target, the name and the source location where the root was created; the
// collector marks every registered target and attributes what it retains to
// that name and location (leak reports). Copies get their own node with the
// same name and location; moves transfer the node, and a move assignment
// releases the destination's node first (its old target is no longer kept
// alive). Creating and destroying a root takes no lock: nodes come from and
// go back to a per-thread free list, so a root may be destroyed on another
// thread than the one that created it.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <string_view>
#include <utility>

#include "tricolor/gc_ptr.hpp"
#include "tricolor/internal/handle_nodes.hpp"
#include "tricolor/internal/source_location.hpp"

namespace tricolor {

// A copy of `name` that lives until the process exits, for gc_root names
// built at run time. The same name gives the same pointer.
const char* intern_root_name(std::string_view name);

template <class T>
class gc_root {
 public:
  gc_root(gc_ptr<T> target = nullptr, const char* name = nullptr,
          source_location where = source_location::current())
      : node_(roots::acquire_handle(as_void(target), name, where)) {}
  gc_root(const gc_root& other)
      : node_(other.node_ ? roots::acquire_handle(other.node_->target.load(std::memory_order_relaxed),
                                                  other.node_->name.load(std::memory_order_relaxed),
                                                  other.where())
                          : nullptr) {}
  gc_root(gc_root&& other) noexcept : node_(std::exchange(other.node_, nullptr)) {}
  gc_root& operator=(const gc_root& other) {
    if (this != &other) set(other.get());
    return *this;
  }
  // Takes over other's node (target, name and location); the node this root
  // held is released, so its old target is no longer kept alive by it.
  gc_root& operator=(gc_root&& other) noexcept {
    if (this != &other) {
      if (node_) roots::release_handle(node_);
      node_ = std::exchange(other.node_, nullptr);
    }
    return *this;
  }
  gc_root& operator=(gc_ptr<T> target) {
    set(target);
    return *this;
  }
  ~gc_root() {
    if (node_) roots::release_handle(node_);
  }

  // A moved-from gc_root holds nothing and reads as null.
  gc_ptr<T> get() const noexcept {
    return node_ ? detail::adopt(static_cast<T*>(
                       node_->target.load(std::memory_order_relaxed)))
                 : nullptr;
  }
  void set(gc_ptr<T> target) {
    if (!node_) node_ = roots::acquire_handle(nullptr, nullptr, source_location::current());
    roots::set_handle_target(node_, as_void(target));
  }
  void reset() { set(nullptr); }

  // Dereferencing requires a target (as for any pointer), so these do not
  // test for a moved-from root.
  T* operator->() const noexcept {
    return static_cast<T*>(node_->target.load(std::memory_order_relaxed));
  }
  T& operator*() const noexcept { return *operator->(); }
  explicit operator bool() const noexcept { return static_cast<bool>(get()); }
  operator gc_ptr<T>() const noexcept { return get(); }

  const char* name() const noexcept {
    return node_ ? node_->name.load(std::memory_order_relaxed) : "";
  }
  source_location where() const noexcept {
    if (!node_) return source_location{};
    return {node_->file.load(std::memory_order_relaxed),
            node_->function.load(std::memory_order_relaxed),
            node_->line.load(std::memory_order_relaxed)};
  }

 private:
  static void* as_void(const gc_ptr<T>& p) noexcept {
    return const_cast<void*>(static_cast<const void*>(p.get()));
  }

  roots::handle_node* node_;
};

}  // namespace tricolor
