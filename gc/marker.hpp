// The marker: tri-color marking over the side mark bitmaps.
//
// Colors:
//     white  mark bit clear                      (not reached yet)
//     grey   mark bit set, item on the mark stack (reached, fields not scanned)
//     black  mark bit set, item popped and scanned (or noscan: black at once)
//
// shade(p) turns p's object grey: it sets the mark bit and pushes a
// mark_item. (This marker is the only one, running with the world stopped,
// so the bit is set with a plain read-modify-write; parallel markers will
// need an atomic fetch_or.) A noscan object is popped and dropped
// without being scanned, as black. drain() pops grey objects and scans them until the stack
// is empty; each scan shades the object's children. When drain() returns,
// there is no grey object: every object reachable from the shaded roots is
// black, and white objects are garbage (the invariant the sweeper relies on).
//
// How an object is scanned depends on its header (heap/object_header.hpp):
//   * a type with trace(): trace() visits each gc_ptr (precise);
//   * a gc_array: elements in chunks of array_scan_chunk, the rest re-pushed
//     as an item with next_element, so a huge array is never one long step;
//   * header nullptr (constructor still running): every word of the slot is
//     a candidate pointer (conservative), as for stacks.
#pragma once

#include <cstddef>
#include <cstdint>

#include "gc/mark_stack.hpp"
#include "gc/tracer.hpp"
#include "heap/heap.hpp"
#include "roots/root_set.hpp"

namespace tricolor::gc {

inline constexpr std::size_t array_scan_chunk = 512;

class marker final : public tracer, public roots::root_visitor {
 public:
  // tracer: a precise edge from a managed object.
  void visit(const void* target) override;
  // root_visitor: roots found by roots::enumerate_roots.
  void conservative_range(const roots::root_identity& root, const void* begin,
                          const void* end) override;
  void precise(const roots::root_identity& root, const void* target) override;

  // Scans grey objects until none is left.
  void drain();

 private:
  void shade(heap::span* s, std::uint32_t index);
  void scan(const mark_item& item);
  void scan_conservatively(const void* begin, const void* end);

  mark_stack stack_;
};

// True if the object containing p (a managed address) is marked.
bool is_marked(const void* p);

}  // namespace tricolor::gc
