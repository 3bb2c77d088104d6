// gc_vector<T>: a growable vector whose storage is managed.
//
// The elements live in a gc_array<T> owned through a gc_ptr, so the vector may
// be a member of a managed object, a local, or a managed object itself
// (make_gc<gc_vector<T>>()). Growing allocates a new array, copies the
// elements (each gc_ptr copy is a barriered store) and then swings the buffer
// pointer with one barriered store: a collector tracing the vector concurrently
// sees either the old buffer or the new one, both complete.
//
// gc_vector is not thread-safe for concurrent mutation by several mutators
// (like std::vector); it is safe against the collector.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <utility>

#include "gc/gc_array.hpp"

namespace tricolor {

template <class T>
class gc_vector {
 public:
  using value_type = T;

  gc_vector() = default;
  explicit gc_vector(std::size_t n) : buffer_(make_gc_array<T>(n)), size_(n) {}

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

  void grow(std::size_t new_capacity) {
    gc_ptr<gc_array<T>> bigger = make_gc_array<T>(new_capacity);
    for (std::size_t i = 0; i < size_; ++i) (*bigger)[i] = (*buffer_)[i];
    buffer_ = bigger;
  }

  gc_ptr<gc_array<T>> buffer_;
  std::size_t size_ = 0;
};

}  // namespace tricolor
