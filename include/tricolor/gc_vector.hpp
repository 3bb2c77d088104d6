// gc_vector<T>: a growable vector whose storage is managed.
//
// The elements live in a gc_array<T> owned through a gc_ptr, so the vector may
// be a member of a managed object, a local, or a managed object itself
// (make_gc<gc_vector<T>>()). Growing allocates a new array, copies the
// elements (each gc_ptr copy is a barriered store) and then swings the buffer
// pointer with one barriered store: a collector tracing the vector concurrently
// sees either the old buffer or the new one, both complete.
//
// Value semantics, as std::vector:
//   * a copy (construction or assignment) gets a new managed buffer of its
//     own, sized to the source's elements, filled by element assignment
//     (for gc_ptr elements a barriered store, as for any gc_ptr) before the
//     buffer is published with the same one barriered store as growth. The
//     source and the copy share nothing afterwards. Copy assignment builds
//     the new buffer first, so it is safe on itself and leaves the
//     destination unchanged if an allocation or an element copy throws.
//   * a move takes the source's buffer and leaves the source empty (no
//     buffer). The source's buffer field is cleared with a barriered store:
//     the source may be a field of a managed object the marker has not
//     scanned yet, and the deletion barrier shades the buffer it loses, so a
//     destination the marker has already scanned (a black object, or a stack
//     already snapshotted) still holds a marked buffer. Move-constructing
//     initializes the new field (no barrier: nothing is overwritten).
//   * Invariant kept by every operation: each element slot of the buffer at
//     index >= size() holds T() (pop_back and resize reset them), so the
//     collector, which traces the whole buffer, keeps no removed element
//     alive; and no two vectors ever share a buffer, so a mutation of one
//     (a pop_back resetting a slot) can never reach into another's elements.
//
// gc_vector is not thread-safe for concurrent mutation by several mutators
// (like std::vector); it is safe against the collector.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <cstddef>
#include <stdexcept>
#include <utility>

#include "tricolor/gc_array.hpp"

namespace tricolor {

template <class T>
class gc_vector {
 public:
  using value_type = T;

  gc_vector() = default;
  explicit gc_vector(std::size_t n) : buffer_(make_gc_array<T>(n)), size_(n) {}

  gc_vector(const gc_vector& other)
      : buffer_(other.copy_of_elements()), size_(other.size_) {}

  gc_vector(gc_vector&& other) noexcept : buffer_(other.buffer_), size_(other.size_) {
    other.buffer_ = nullptr;  // barriered: see the top of this file
    other.size_ = 0;
  }

  gc_vector& operator=(const gc_vector& other) {
    if (this == &other) return *this;
    gc_ptr<gc_array<T>> copy = other.copy_of_elements();  // may throw: *this intact
    buffer_ = copy;  // one barriered store publishes the complete copy
    size_ = other.size_;
    return *this;
  }

  gc_vector& operator=(gc_vector&& other) noexcept {
    if (this == &other) return *this;
    buffer_ = other.buffer_;   // barriered: shades the buffer this one drops
    size_ = other.size_;
    other.buffer_ = nullptr;   // barriered: shades the buffer taken
    other.size_ = 0;
    return *this;
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return buffer_ ? buffer_->size() : 0; }

  T& operator[](std::size_t i) noexcept { return (*buffer_)[i]; }
  const T& operator[](std::size_t i) const noexcept { return (*buffer_)[i]; }
  T& at(std::size_t i) {
    check(i);
    return (*buffer_)[i];
  }
  const T& at(std::size_t i) const {
    check(i);
    return (*buffer_)[i];
  }
  T& back() noexcept { return (*buffer_)[size_ - 1]; }
  T* begin() noexcept { return buffer_ ? buffer_->data() : nullptr; }
  T* end() noexcept { return begin() + size_; }
  const T* begin() const noexcept { return buffer_ ? buffer_->data() : nullptr; }
  const T* end() const noexcept { return begin() + size_; }

  void push_back(const T& value) {
    if (size_ == capacity()) grow(size_ == 0 ? 4 : size_ * 2);
    (*buffer_)[size_] = value;
    ++size_;
  }

  // Removes the last element and resets its slot, so the vector does not keep
  // the removed object alive.
  void pop_back() noexcept {
    --size_;
    (*buffer_)[size_] = T();
  }

  void clear() noexcept {
    while (size_ > 0) pop_back();
  }

  void reserve(std::size_t n) {
    if (n > capacity()) grow(n);
  }

  void resize(std::size_t n) {
    reserve(n);
    while (size_ > n) pop_back();
    size_ = n;
  }

  void trace(tracer& t) const { t(buffer_); }

 private:
  void check(std::size_t i) const {
    if (i >= size_) throw std::out_of_range("tricolor::gc_vector::at");
  }

  // A new buffer holding copies of the elements [0, size()); null when empty.
  gc_ptr<gc_array<T>> copy_of_elements() const {
    if (size_ == 0) return nullptr;
    gc_ptr<gc_array<T>> copy = make_gc_array<T>(size_);
    for (std::size_t i = 0; i < size_; ++i) (*copy)[i] = (*buffer_)[i];
    return copy;
  }

  void grow(std::size_t new_capacity) {
    gc_ptr<gc_array<T>> bigger = make_gc_array<T>(new_capacity);
    for (std::size_t i = 0; i < size_; ++i) (*bigger)[i] = (*buffer_)[i];
    buffer_ = bigger;
  }

  gc_ptr<gc_array<T>> buffer_;
  std::size_t size_ = 0;
};

}  // namespace tricolor
