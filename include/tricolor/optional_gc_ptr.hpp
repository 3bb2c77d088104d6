// std::optional<gc_ptr<T>>: an optional whose every change goes through the
// write barrier, so that it may be a member of a managed object.
//
// The standard optional ends its value's life in place: reset(), emplace(),
// assigning nullopt and the destructor run the value's destructor and, for
// emplace, construct a new value over it. A gc_ptr's destructor is trivial
// and a constructor is not a store, so none of them passes the old pointer
// to the write barrier. While the collector marks, that old pointer may be
// the only path to an object the program still reaches through a copy it
// took earlier: the snapshot-at-the-beginning rule (write_barrier.hpp)
// needs every overwritten pointer shaded, and the standard optional would
// let the object be freed under the copy (issue 10, point 1: verify=1
// aborted on it).
//
// This specialization keeps the gc_ptr alive for the optional's whole life
// and changes it only by assignment: reset() stores null, emplace() and
// assignment store the new pointer, each a barriered gc_ptr store. The
// engaged flag is ordinary data: the marker never reads it, it traces the
// gc_ptr, which is null whenever the optional is empty. So the optional is
// traceable like a gc_ptr (`t(member)`), and the interface is std::optional's
// for a C++20 program (construction, assignment, observers, value_or, swap,
// comparisons and hashing through the standard's non-member templates).
//
// Not covered: ending the optional's own life with std::destroy_at or
// placement new over it, as for any member of a managed object.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <concepts>
#include <optional>
#include <type_traits>
#include <utility>

namespace tricolor {
template <class T>
class gc_ptr;
class tracer;
}  // namespace tricolor

template <class T>
class std::optional<tricolor::gc_ptr<T>> {
 public:
  using value_type = tricolor::gc_ptr<T>;

  constexpr optional() noexcept = default;
  constexpr optional(std::nullopt_t) noexcept {}
  optional(const optional&) noexcept = default;
  // A moved-from std::optional stays engaged; so does this one (a gc_ptr's
  // move is a copy).
  optional(optional&&) noexcept = default;
  template <class U = value_type>
    requires std::constructible_from<value_type, U &&> &&
             (!std::same_as<std::remove_cvref_t<U>, optional>) &&
             (!std::same_as<std::remove_cvref_t<U>, std::in_place_t>)
  constexpr explicit(!std::convertible_to<U&&, value_type>) optional(U&& value)
      : value_(std::forward<U>(value)), engaged_(true) {}
  template <class... Args>
    requires std::constructible_from<value_type, Args&&...>
  constexpr explicit optional(std::in_place_t, Args&&... args)
      : value_(std::forward<Args>(args)...), engaged_(true) {}
  template <class U>
    requires std::constructible_from<value_type, const U&>
  explicit(!std::convertible_to<const U&, value_type>) optional(const optional<U>& other)
      : value_(other ? value_type(*other) : value_type()), engaged_(other.has_value()) {}

  optional& operator=(std::nullopt_t) noexcept {
    reset();
    return *this;
  }
  optional& operator=(const optional& other) noexcept {
    value_ = other.value_;
    engaged_ = other.engaged_;
    return *this;
  }
  optional& operator=(optional&& other) noexcept { return *this = other; }
  template <class U = value_type>
    requires std::assignable_from<value_type&, U &&> &&
             (!std::same_as<std::remove_cvref_t<U>, optional>) &&
             (!std::same_as<std::remove_cvref_t<U>, std::nullopt_t>)
  optional& operator=(U&& value) {
    value_ = std::forward<U>(value);
    engaged_ = true;
    return *this;
  }

  template <class... Args>
  value_type& emplace(Args&&... args) {
    value_ = value_type(std::forward<Args>(args)...);
    engaged_ = true;
    return value_;
  }
  void reset() noexcept {
    value_ = nullptr;
    engaged_ = false;
  }
  void swap(optional& other) noexcept {
    optional mine = *this;
    *this = other;
    other = mine;
  }

  constexpr bool has_value() const noexcept { return engaged_; }
  constexpr explicit operator bool() const noexcept { return engaged_; }
  constexpr const value_type& operator*() const& noexcept { return value_; }
  constexpr value_type& operator*() & noexcept { return value_; }
  constexpr value_type operator*() && noexcept { return value_; }
  constexpr const value_type* operator->() const noexcept { return &value_; }
  constexpr value_type* operator->() noexcept { return &value_; }
  const value_type& value() const& {
    if (!engaged_) throw std::bad_optional_access();
    return value_;
  }
  value_type& value() & {
    if (!engaged_) throw std::bad_optional_access();
    return value_;
  }
  value_type value() && { return std::as_const(*this).value(); }
  template <class U>
  value_type value_or(U&& fallback) const {
    return engaged_ ? value_ : static_cast<value_type>(std::forward<U>(fallback));
  }

  // The marker's view: the gc_ptr, null whenever the optional is empty.
  void trace(tricolor::tracer& t) const { t(value_); }

 private:
  value_type value_;
  bool engaged_ = false;
};
