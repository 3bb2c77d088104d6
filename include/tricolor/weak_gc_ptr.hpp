// weak_gc_ptr<T>: a reference that does not keep its target alive.
//
// A weak_gc_ptr points at a weak cell, an unmanaged record shared by its
// copies (reference counted) and registered with the collector
// (gc/weak_refs.cc). After marking, and before anything is swept, the
// collector clears every cell whose target was not marked. lock() returns the
// target as a gc_ptr, or null once it has been collected.
//
// Invariant: a cell's target is either null or a live managed object; it is
// cleared in the mark-termination pause, before the target's span is swept.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <atomic>
#include <cstdint>
#include <utility>

#include "tricolor/gc_ptr.hpp"
#include "tricolor/tracer.hpp"

namespace tricolor {
namespace detail {
struct weak_cell {
  std::atomic<void*> target;
  std::atomic<std::int64_t> references;
  weak_cell* next;  // registry list, owned by the collector
};
weak_cell* new_weak_cell(void* target);
inline void retain_weak_cell(weak_cell* cell) {
  cell->references.fetch_add(1, std::memory_order_relaxed);
}
// The collector frees cells whose count reached zero at its next cycle.
inline void release_weak_cell(weak_cell* cell) {
  cell->references.fetch_sub(1, std::memory_order_release);
}
}  // namespace detail

template <class T>
class weak_gc_ptr {
 public:
  weak_gc_ptr() noexcept = default;
  weak_gc_ptr(const gc_ptr<T>& target)
      : cell_(target ? detail::new_weak_cell(const_cast<void*>(
                           static_cast<const void*>(target.get())))
                     : nullptr) {}
  weak_gc_ptr(const weak_gc_ptr& other) noexcept : cell_(other.cell_) {
    if (cell_) detail::retain_weak_cell(cell_);
  }
  weak_gc_ptr(weak_gc_ptr&& other) noexcept
      : cell_(std::exchange(other.cell_, nullptr)) {}
  weak_gc_ptr& operator=(weak_gc_ptr other) noexcept {
    std::swap(cell_, other.cell_);
    return *this;
  }
  ~weak_gc_ptr() {
    if (cell_) detail::release_weak_cell(cell_);
  }

  // The target, or null once it has been collected (or if never set).
  // While the collector marks, the target is shaded before it is returned:
  // an object reachable only weakly at the mark snapshot would otherwise be
  // resurrected behind the marker (tricolor/internal/write_barrier.hpp, point (c)).
  gc_ptr<T> lock() const noexcept {
    if (!cell_) return nullptr;
    void* target = cell_->target.load(std::memory_order_acquire);
    if (target != nullptr && barriers::marking.load(std::memory_order_relaxed)) [[unlikely]]
      barriers::record_for_shading(target);
    return detail::adopt(static_cast<T*>(target));
  }
  bool expired() const noexcept { return !lock(); }
  void reset() noexcept { weak_gc_ptr().swap(*this); }
  void swap(weak_gc_ptr& other) noexcept { std::swap(cell_, other.cell_); }

  // A weak edge is not traced: tracing a weak_gc_ptr visits nothing.
  void trace(tracer&) const noexcept {}

 private:
  detail::weak_cell* cell_ = nullptr;
};

}  // namespace tricolor
