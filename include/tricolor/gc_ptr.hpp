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
// Why std::vector<gc_ptr<T>> does not compile: the vector's buffer lives in
// unmanaged memory (operator new), which the collector does not scan, and
// which its owner may reallocate while the concurrent marker would read it.
// std::allocator of gc_ptr elements is refused at the end of this file; hold
// objects from unmanaged memory with tricolor::root_allocator, gc_root<T> (a
// registered, named root), or the managed containers gc_array<T> /
// gc_vector<T> (the tracer refuses std containers at compile time:
// tricolor/tracer.hpp).
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <compare>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

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

// std containers of gc_ptr with the default allocator do not compile. Their
// memory comes from operator new, which the collector does not scan, so the
// gc_ptrs in a std::vector, std::deque, std::list, std::map, ... would not
// keep their objects alive: a silent use-after-free. Containers allocate
// through std::allocator<value_type>, so this specialization, chosen for
// every element type that is or pairs a gc_ptr (a map's
// std::pair<const K, V>), stops the program at the declaration and names the
// fix. (Making it a working root allocator instead is not possible from
// outside the library: libstdc++ destroys a std::allocator's elements
// without calling it, and root memory needs to see those destructions while
// the collector marks; see tricolor/root_allocator.hpp.)
namespace tricolor::detail {
// The element types refused: a gc_ptr, a pair or std::optional holding one
// (a map's value), and a one-parameter template over those (the node of a std::list, std::set
// or std::map, a std::optional) or a hash table's node (libstdc++'s
// _Hash_node<V, bool>). One level only: a gc_root<gc_array<gc_ptr<T>>> holds
// a handle, not a gc_ptr.
template <class T>
inline constexpr bool is_gc_ptr_value = false;
template <class T>
inline constexpr bool is_gc_ptr_value<const T> = is_gc_ptr_value<T>;
template <class T>
inline constexpr bool is_gc_ptr_value<gc_ptr<T>> = true;
template <class A, class B>
inline constexpr bool is_gc_ptr_value<std::pair<A, B>> = is_gc_ptr_value<A> || is_gc_ptr_value<B>;
template <class T>
inline constexpr bool is_gc_ptr_value<std::optional<T>> = is_gc_ptr_value<T>;

template <class T>
inline constexpr bool holds_gc_ptr_directly = is_gc_ptr_value<T>;
template <class T>
inline constexpr bool holds_gc_ptr_directly<gc_ptr<T>> = true;
template <template <class> class Node, class V>
inline constexpr bool holds_gc_ptr_directly<Node<V>> = is_gc_ptr_value<V>;
template <template <class, bool> class Node, class V, bool B>
inline constexpr bool holds_gc_ptr_directly<Node<V, B>> = is_gc_ptr_value<V>;
template <class T>
inline constexpr bool refuse_std_allocator = false;
}  // namespace tricolor::detail

template <class T>
  requires tricolor::detail::holds_gc_ptr_directly<T>
class std::allocator<T> {
  // In the constructors, not the class: overload resolution instantiates
  // the class while a container with root_allocator asks whether its
  // allocator converts to std::allocator (it does not).
#define TRICOLOR_REFUSE_STD_ALLOCATOR                                                          \
  static_assert(tricolor::detail::refuse_std_allocator<T>,                                     \
                "a std container's memory is not scanned by the collector: the gc_ptrs in it " \
                "would not keep their objects alive. Give the container "                      \
                "tricolor::root_allocator (#include <tricolor/root_allocator.hpp>): "          \
                "std::vector<gc_ptr<T>, tricolor::root_allocator<gc_ptr<T>>>, for a map "      \
                "tricolor::root_allocator<std::pair<const K, V>>; or use "                     \
                "tricolor::gc_vector<T> or a tricolor::gc_root<T> per element")

 public:
  using value_type = T;
  using size_type = std::size_t;
  using difference_type = std::ptrdiff_t;
  using propagate_on_container_move_assignment = std::true_type;
  allocator() noexcept { TRICOLOR_REFUSE_STD_ALLOCATOR; }
  allocator(const allocator&) noexcept { TRICOLOR_REFUSE_STD_ALLOCATOR; }
  template <class U>
  allocator(const allocator<U>&) noexcept {
    TRICOLOR_REFUSE_STD_ALLOCATOR;
  }
  T* allocate(std::size_t) { TRICOLOR_REFUSE_STD_ALLOCATOR; return nullptr; }
  void deallocate(T*, std::size_t) noexcept { TRICOLOR_REFUSE_STD_ALLOCATOR; }
  friend bool operator==(const allocator&, const allocator&) noexcept { return true; }
#undef TRICOLOR_REFUSE_STD_ALLOCATOR
};

// std::optional<gc_ptr<T>> changes its value only through the barrier.
#include "tricolor/optional_gc_ptr.hpp"
