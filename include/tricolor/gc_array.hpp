// gc_array<T>: a managed fixed-size array, allocated by make_gc_array<T>(n).
//
// Layout: one length word followed by the elements, in a single managed slot
// (a span of its own when it is larger than 32 KiB):
//
//     [ header ][ length ][ T0 ][ T1 ] ... [ Tn-1 ]
//
// Element stores of gc_ptr elements go through gc_ptr's store (and so through
// the write barrier). The collector scans a large array in chunks of
// heap::array_scan_chunk elements, so one huge array never makes one mark step
// long and never needs a large mark stack.
//
// Not a value type. A gc_array exists only inside the managed slot that
// make_gc_array made for it: its length word and its elements share that one
// slot, so an array anywhere else (a copy on the stack, the temporary of a
// std::swap) has no elements behind its length word, and assigning a longer
// array to a shorter one would write past the shorter one's slot. Copy and
// move construction and assignment (and so std::swap) are therefore refused
// at compile time, with the fix in the message: copy the elements into
// another array from make_gc_array, or swap the gc_ptrs. They are declared,
// not deleted, so that the compiler reaches the static_assert (a deleted move
// would make std::swap fail with "no matching function" and no advice); the
// type traits therefore say copyable, but every use fails to compile.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <cstddef>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <type_traits>

#include "tricolor/make_gc.hpp"

namespace tricolor {

namespace detail {
template <class T>
inline constexpr bool gc_array_is_not_a_value = false;
}  // namespace detail

// The message of every refused copy, move, assignment and swap of a gc_array.
#define TRICOLOR_GC_ARRAY_NOT_A_VALUE                                          \
  "tricolor::gc_array cannot be copied, moved, assigned or swapped: it "      \
  "exists only in the managed slot make_gc_array made for it. To copy an "    \
  "array, copy the elements with std::copy / std::ranges::copy into another " \
  "array from make_gc_array (auto b = make_gc_array<T>(a->size()); "         \
  "std::ranges::copy(*a, b->begin());). To exchange two arrays, swap the "    \
  "gc_ptrs that point to them (std::swap(a, b))."

template <class T>
class gc_array {
 public:
  using value_type = T;

  std::size_t size() const noexcept { return length_; }
  bool empty() const noexcept { return length_ == 0; }
  T* data() noexcept { return reinterpret_cast<T*>(this + 1); }
  const T* data() const noexcept { return reinterpret_cast<const T*>(this + 1); }
  T& operator[](std::size_t i) noexcept { return data()[i]; }
  const T& operator[](std::size_t i) const noexcept { return data()[i]; }
  T& at(std::size_t i) {
    if (i >= length_) throw std::out_of_range("tricolor::gc_array::at");
    return data()[i];
  }
  const T& at(std::size_t i) const {
    if (i >= length_) throw std::out_of_range("tricolor::gc_array::at");
    return data()[i];
  }
  T* begin() noexcept { return data(); }
  T* end() noexcept { return data() + length_; }
  const T* begin() const noexcept { return data(); }
  const T* end() const noexcept { return data() + length_; }

  ~gc_array() { std::destroy_n(data(), length_); }

  // Refused at compile time (see the top of this file): using one of these
  // fails with TRICOLOR_GC_ARRAY_NOT_A_VALUE's text.
  gc_array(const gc_array&) {
    static_assert(detail::gc_array_is_not_a_value<T>, TRICOLOR_GC_ARRAY_NOT_A_VALUE);
  }
  gc_array(gc_array&&) {
    static_assert(detail::gc_array_is_not_a_value<T>, TRICOLOR_GC_ARRAY_NOT_A_VALUE);
  }
  gc_array& operator=(const gc_array&) {
    static_assert(detail::gc_array_is_not_a_value<T>, TRICOLOR_GC_ARRAY_NOT_A_VALUE);
    return *this;
  }
  gc_array& operator=(gc_array&&) {
    static_assert(detail::gc_array_is_not_a_value<T>, TRICOLOR_GC_ARRAY_NOT_A_VALUE);
    return *this;
  }

 private:
  template <class U, class... Fill>
  friend gc_ptr<gc_array<U>> make_gc_array(std::size_t n, const Fill&... fill);

  explicit gc_array(std::size_t n) noexcept : length_(n) {}

  std::size_t length_;
};

namespace detail {
template <class T>
inline constexpr bool element_scanned = is_gc_ptr<T> || traceable<T>;

template <class T>
std::size_t array_length(const void* payload) {
  return static_cast<const gc_array<T>*>(payload)->size();
}

template <class T>
void trace_array_elements(const void* payload, tracer& t, std::size_t begin,
                          std::size_t end) {
  const auto* array = static_cast<const gc_array<T>*>(payload);
  for (std::size_t i = begin; i < end; ++i) t((*array)[i]);
}

template <class T>
constexpr heap::type_descriptor array_descriptor() {
  heap::type_descriptor d{type_name_storage<gc_array<T>>::chars.data(),
                          heap::scan_kind::noscan, nullptr, nullptr, nullptr,
                          nullptr};
  if constexpr (element_scanned<T>) {
    d.kind = heap::scan_kind::array;
    d.array_length = &array_length<T>;
    d.trace_elements = &trace_array_elements<T>;
  }
  if constexpr (!std::is_trivially_destructible_v<T>)
    d.destroy = &destroy_object<gc_array<T>>;
  return d;
}

template <class T>
inline constexpr heap::type_descriptor descriptor_of<gc_array<T>> =
    array_descriptor<T>();
}  // namespace detail

// Allocates a managed array of n elements, value-initialized (or copies of
// `fill` when given). Elements are constructed in order; if one throws, those
// already built are destroyed and the exception propagates.
template <class T, class... Fill>
gc_ptr<gc_array<T>> make_gc_array(std::size_t n, const Fill&... fill) {
  static_assert(sizeof...(Fill) <= 1, "make_gc_array(n) or make_gc_array(n, fill)");
  detail::check_managed_type<T>();
  if (n > (std::size_t{1} << 40) / sizeof(T)) throw std::bad_array_new_length();
  gc_array<T>* array = detail::allocate_managed<gc_array<T>>(
      sizeof(gc_array<T>) + n * sizeof(T), &detail::descriptor_of<gc_array<T>>,
      [&](void* payload) {
        auto* a = ::new (payload) gc_array<T>(0);
        T* elements = a->data();
        const std::size_t length = n;  // a local: stores through a char* would
                                       // make the loop reload a captured n
        if constexpr (sizeof...(Fill) == 0 && std::is_trivial_v<T>) {
          // Value-initializing a trivial type zeroes it: one memset.
          std::memset(static_cast<void*>(elements), 0, length * sizeof(T));
        } else {
          std::size_t built = 0;
          try {
            for (; built < length; ++built) ::new (elements + built) T(fill...);
          } catch (...) {
            std::destroy_n(elements, built);
            throw;
          }
        }
        a->length_ = length;
        return a;
      });
  return detail::adopt(array);
}

}  // namespace tricolor

#undef TRICOLOR_GC_ARRAY_NOT_A_VALUE
