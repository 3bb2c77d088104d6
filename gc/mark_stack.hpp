// The mark work list: grey objects waiting to be scanned.
//
// A stack of fixed-size segments allocated from mimalloc and chained, so it
// grows with the heap's shape, never with the C++ call stack: marking a list
// of ten million nodes pushes and pops one item at a time and recursion never
// happens. One empty segment is kept spare so that a stack oscillating
// around a segment boundary does not allocate on every push.
//
//     top segment           older segments
//     [ items 0..count )  -> [ full ] -> [ full ] -> nullptr
//
// An item is a payload address plus, for an array being scanned in chunks,
// the index of the next element to scan, and the root it was reached from.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tricolor::gc {

// Two plain words, not bit-fields: GCC copies a struct with bit-fields as
// one 16-byte load, which cannot be forwarded from the two 8-byte stores of
// the push just before it (the marker pops what it pushed a moment ago);
// that stall cost 10 % of marking CPU at 1 GiB live (bench/README.md,
// "Leak tracking's cost").
struct mark_item {
  const void* payload;
  // Arrays: the index to resume at (other objects: 0), in the low 44 bits:
  // 16 Ti elements, more than an address space of 8-byte pointers holds.
  // Above them, for leak tracking, the id of the root this object was
  // first reached from (gc/leak_tracker.hpp); 0 without tracking.
  std::uint64_t packed;

  static constexpr int root_shift = 44;
  static mark_item make(const void* payload, std::uint64_t next_element, std::uint32_t root) {
    return {payload, next_element | std::uint64_t{root} << root_shift};
  }
  std::uint64_t next_element() const { return packed & ((std::uint64_t{1} << root_shift) - 1); }
  std::uint32_t root() const { return static_cast<std::uint32_t>(packed >> root_shift); }
};
static_assert(sizeof(mark_item) == 16);

class mark_stack {
 public:
  mark_stack() = default;
  mark_stack(const mark_stack&) = delete;
  mark_stack& operator=(const mark_stack&) = delete;
  ~mark_stack();

  void push(mark_item item) {
    if (top_ == nullptr || top_->count == segment_capacity) [[unlikely]]
      add_segment();
    top_->items[top_->count++] = item;
  }

  bool pop(mark_item& out) {
    if (top_ == nullptr || top_->count == 0) [[unlikely]] {
      if (!drop_segment()) return false;
    }
    out = top_->items[--top_->count];
    return true;
  }

  bool empty() const { return top_ == nullptr || (top_->count == 0 && top_->below == nullptr); }

  // A lower bound on the items held, exact below one segment's worth (cheap:
  // for deciding how much to give away).
  std::size_t size_at_least() const {
    if (top_ == nullptr) return 0;
    return top_->below != nullptr ? segment_capacity : top_->count;
  }

 private:
  static constexpr std::size_t segment_capacity = 4096;
  struct segment {
    segment* below;
    std::size_t count;
    mark_item items[segment_capacity];
  };

  void add_segment();
  bool drop_segment();  // false when no items remain

  segment* top_ = nullptr;
  segment* spare_ = nullptr;
};

}  // namespace tricolor::gc
