// Marker; see marker.hpp for the color invariant.
#include "gc/marker.hpp"

#include <cstdio>
#include <cstdlib>

#include "heap/object_header.hpp"

namespace tricolor::gc {

using heap::object_header;
using heap::scan_kind;
using heap::span;
using heap::type_descriptor;

void marker::shade(span* s, std::uint32_t index) {
  if (!s->try_mark(index)) return;  // already grey or black
  char* slot = s->slot_address(index);
  ++marked_objects_;
  marked_bytes_ += s->state.load(std::memory_order_relaxed) == heap::span_state::large
                       ? s->bytes()
                       : s->slot_size;
  const type_descriptor* type =
      reinterpret_cast<object_header*>(slot)->type.load(std::memory_order_acquire);
  if (type != nullptr && type->kind == scan_kind::noscan) return;  // black at once
  stack_.push({heap::payload_of(slot), 0});
}

void marker::visit(const void* target) {
  span* s = heap::find_span(target);
  if (s == nullptr) [[unlikely]] {
    std::fprintf(stderr,
                 "tricolor: a traced gc_ptr holds %p, which is not a managed "
                 "object (heap corrupted, or a trace() visited a dangling "
                 "pointer)\n",
                 target);
    std::abort();
  }
  shade(s, s->slot_index(target));
}

void marker::precise(const roots::root_identity&, const void* target) {
  visit(target);
}

// Reads every word of [begin, end): stacks and data segments contain
// sanitizer redzones and other threads' frames, which are read on purpose.
[[gnu::no_sanitize_address, gnu::no_sanitize("thread")]]
void marker::scan_conservatively(const void* begin, const void* end) {
  auto word = reinterpret_cast<std::uintptr_t>(begin) & ~std::uintptr_t{7};
  auto stop = reinterpret_cast<std::uintptr_t>(end);
  for (; word + sizeof(void*) <= stop; word += sizeof(void*)) {
    const void* candidate = *reinterpret_cast<void* const*>(word);
    heap::object_ref ref;
    if (heap::find_object(candidate, ref)) shade(ref.owner, ref.index);
  }
}

void marker::conservative_range(const roots::root_identity&, const void* begin,
                                const void* end) {
  scan_conservatively(begin, end);
}

void marker::scan(const mark_item& item) {
  const type_descriptor* type =
      heap::header_of(item.payload)->type.load(std::memory_order_acquire);
  if (type == nullptr) {
    // Under construction: the slot's extent comes from its span.
    span* s = heap::find_span(item.payload);
    const char* slot = s->slot_address(s->slot_index(item.payload));
    std::size_t slot_bytes = s->state.load(std::memory_order_relaxed) ==
                                     heap::span_state::large
                                 ? s->bytes()
                                 : s->slot_size;
    scan_conservatively(item.payload, slot + slot_bytes);
    return;
  }
  switch (type->kind) {
    case scan_kind::noscan:
      return;
    case scan_kind::object:
      type->trace(item.payload, *this);
      return;
    case scan_kind::array: {
      std::size_t length = type->array_length(item.payload);
      std::size_t end = item.next_element + array_scan_chunk;
      if (end < length) stack_.push({item.payload, end});
      else end = length;
      type->trace_elements(item.payload, *this, item.next_element, end);
      return;
    }
  }
}

void marker::drain() {
  mark_item item;
  while (stack_.pop(item)) scan(item);
}

bool is_marked(const void* p) {
  span* s = heap::find_span(p);
  return s != nullptr && s->is_marked(s->slot_index(p));
}

}  // namespace tricolor::gc
