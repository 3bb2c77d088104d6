// gc_ptr<T>: the one pointer type to a managed object.
//
// The same type is used on the stack, in static storage, in thread-local
// storage and inside managed objects. It is found by the collector in two ways:
//   * inside managed objects, precisely, through the owner's trace();
//   * everywhere else (stacks, registers, data segments, TLS), conservatively:
//     any word that points into a managed object keeps it alive.
//
// A gc_ptr is one machine word. Stores go through tricolor/internal/write_barrier.hpp
// and are relaxed atomic stores, and the collector reads fields with relaxed
// atomic loads (load_for_collector), so a marker may read a field while its
// owner writes it without a data race in the C++ memory model. The mutator's
// own reads (get(), ->, *) are plain loads: they race only with other
// mutators' writes, which the program must order itself, as for any pointer;
// plain loads let the compiler keep a gc_ptr local in a register.
//
// Why not std::vector<gc_ptr<T>>: the vector's buffer lives in unmanaged
// memory (malloc), which the collector does not scan, and which its owner may
// reallocate while the concurrent marker would read it. Hold objects from
// unmanaged memory with gc_root<T> (a registered, named root), or use the
// managed containers gc_array<T> / gc_vector<T> (the tracer refuses
// std::vector members at compile time: tricolor/tracer.hpp).
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <compare>
#include <concepts>
#include <cstddef>
#include <functional>

#include "tricolor/internal/write_barrier.hpp"

namespace tricolor {

template <class T>
class gc_ptr;
class tracer;

namespace detail {
// Wraps a raw payload pointer; only the allocator and the library's own
// handles create gc_ptrs from raw pointers.
template <class T>
gc_ptr<T> adopt(T* raw) noexcept;
}  // namespace detail

template <class T>
class gc_ptr {
 public:
  using element_type = T;

  constexpr gc_ptr() noexcept = default;
  constexpr gc_ptr(std::nullptr_t) noexcept {}

  // Trivial, so that a gc_ptr passed or returned by value travels in a
  // register (the Itanium C++ ABI passes a class in memory only when its copy
  // or move constructor or its destructor is non-trivial). Initializing a
  // gc_ptr is not a store into an existing field: no barrier is involved.
  gc_ptr(const gc_ptr& other) noexcept = default;
  template <class U>
    requires std::convertible_to<U*, T*>
  gc_ptr(const gc_ptr<U>& other) noexcept : ptr_(other.get()) {}

  gc_ptr& operator=(const gc_ptr& other) noexcept {
    barriers::store_pointer(&ptr_, other.get());
    return *this;
  }
  template <class U>
    requires std::convertible_to<U*, T*>
  gc_ptr& operator=(const gc_ptr<U>& other) noexcept {
    barriers::store_pointer(&ptr_, static_cast<T*>(other.get()));
    return *this;
  }
  gc_ptr& operator=(std::nullptr_t) noexcept {
    barriers::store_pointer(&ptr_, static_cast<T*>(nullptr));
    return *this;
  }

  T* get() const noexcept { return ptr_; }
  T* operator->() const noexcept { return get(); }
  T& operator*() const noexcept { return *get(); }
  explicit operator bool() const noexcept { return get() != nullptr; }

  void reset() noexcept { *this = nullptr; }

  template <class U>
  bool operator==(const gc_ptr<U>& other) const noexcept {
    return get() == other.get();
  }
  bool operator==(std::nullptr_t) const noexcept { return get() == nullptr; }
  template <class U>
  std::strong_ordering operator<=>(const gc_ptr<U>& other) const noexcept {
    return std::compare_three_way{}(get(), other.get());
  }

 private:
  template <class U>
  friend gc_ptr<U> detail::adopt(U* raw) noexcept;
  friend class tracer;
  explicit gc_ptr(T* raw) noexcept : ptr_(raw) {}

  T* load_for_collector() const noexcept { return barriers::load_pointer(&ptr_); }

  T* ptr_ = nullptr;
};

static_assert(sizeof(gc_ptr<int>) == sizeof(void*));

namespace detail {
template <class T>
gc_ptr<T> adopt(T* raw) noexcept {
  return gc_ptr<T>(raw);
}
}  // namespace detail

// Casts between managed pointer types (the gc_ptr analogue of
// std::static_pointer_cast / std::dynamic_pointer_cast).
template <class T, class U>
gc_ptr<T> static_gc_cast(const gc_ptr<U>& p) noexcept {
  return detail::adopt(static_cast<T*>(p.get()));
}
template <class T, class U>
gc_ptr<T> dynamic_gc_cast(const gc_ptr<U>& p) noexcept {
  return detail::adopt(dynamic_cast<T*>(p.get()));
}

}  // namespace tricolor

template <class T>
struct std::hash<tricolor::gc_ptr<T>> {
  std::size_t operator()(const tricolor::gc_ptr<T>& p) const noexcept {
    return std::hash<T*>{}(p.get());
  }
};
