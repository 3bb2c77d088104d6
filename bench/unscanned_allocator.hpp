// std::allocator's behaviour (::operator new and sized ::operator delete)
// under another name, for the benchmarks' anchors: std::allocator itself
// refuses gc_ptr elements (include/tricolor/gc_ptr.hpp), because the
// collector does not scan its memory. A container using this one is as
// unsafe as that refusal says; a benchmark uses it only as the speed of the
// std containers a program would otherwise write, never dereferencing what
// the collector may have freed.
#pragma once

#include <cstddef>
#include <new>

namespace bench {

template <class T>
struct unscanned_allocator {
  using value_type = T;
  unscanned_allocator() noexcept = default;
  template <class U>
  unscanned_allocator(const unscanned_allocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { ::operator delete(p, n * sizeof(T)); }
  template <class U>
  friend bool operator==(const unscanned_allocator&, const unscanned_allocator<U>&) noexcept {
    return true;
  }
};

}  // namespace bench
