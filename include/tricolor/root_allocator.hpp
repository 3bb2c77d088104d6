// root_allocator<T>: a std-compatible allocator whose memory is a root.
//
//     std::vector<gc_ptr<node>, tricolor::root_allocator<gc_ptr<node>>> live;
//     std::unordered_map<int, gc_ptr<node>, std::hash<int>, std::equal_to<int>,
//                        tricolor::root_allocator<std::pair<const int, gc_ptr<node>>>>
//         by_id;
//     std::deque<gc_ptr<node>, tricolor::root_allocator<gc_ptr<node>>> queue;
//
// The counterpart of bdwgc's traceable_allocator: every block it hands out
// (a vector's whole capacity, a deque's chunks and map, a hash table's nodes
// and buckets) is scanned conservatively as a root while it is allocated,
// and stays safe while the collector marks concurrently: elements destroyed
// (pop_back, erase, clear, a reallocation's old buffer) and blocks given
// back are shaded first while marking (roots/root_ranges.hpp has the
// protocol and why it is sound). Hold gc_ptr<T> in it, not raw T*: a raw
// pointer overwritten while the collector marks is not seen by the barrier.
//
// Costs over std::allocator: each allocation registers its block (a
// 48-byte header and an uncontended lock), each element destruction checks
// one flag (bench/micro_root_allocator.cc).
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <atomic>
#include <cstddef>
#include <cstring>
#include <limits>
#include <new>

#include "tricolor/internal/write_barrier.hpp"

namespace tricolor {
namespace detail {
// roots/root_ranges.cc
void* allocate_root_block(std::size_t bytes, bool frame);
void free_root_block(void* payload) noexcept;
void shade_destroyed(const void* object, std::size_t bytes) noexcept;
}  // namespace detail

template <class T>
class root_allocator {
 public:
  using value_type = T;
  using propagate_on_container_move_assignment = std::true_type;
  using is_always_equal = std::true_type;

  static_assert(alignof(T) <= 16,
                "root_allocator: blocks are 16-byte aligned; over-aligned types are not supported");

  constexpr root_allocator() noexcept = default;
  template <class U>
  constexpr root_allocator(const root_allocator<U>&) noexcept {}

  [[nodiscard]] T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    return static_cast<T*>(detail::allocate_root_block(n * sizeof(T), /*frame=*/false));
  }
  void deallocate(T* p, std::size_t) noexcept { detail::free_root_block(p); }

  // Element destruction is a deletion: while the collector marks, the
  // element's words are shaded before its bytes may be reused (a gc_ptr's
  // destructor is trivial and has no barrier). The dead bytes are then
  // zeroed, so that a vector's unused capacity retains nothing.
  template <class U>
  void destroy(U* p) noexcept {
    if (barriers::marking.load(std::memory_order_relaxed)) [[unlikely]]
      detail::shade_destroyed(p, sizeof(U));
    p->~U();
    std::memset(static_cast<void*>(p), 0, sizeof(U));
  }

  template <class U>
  friend constexpr bool operator==(const root_allocator&, const root_allocator<U>&) noexcept {
    return true;
  }
};

}  // namespace tricolor
