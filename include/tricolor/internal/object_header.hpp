// Object header and type descriptors.
//
// Every managed object is preceded by one 8-byte header word holding a pointer
// to the static type_descriptor of its type:
//
//     slot start                     payload (what gc_ptr<T> points at)
//     |                              |
//     v                              v
//     +------------------------------+------------------------------------+
//     | const type_descriptor* type  | T (sizeof(T) bytes, 8-aligned)     |
//     +------------------------------+------------------------------------+
//     <---------------------- size-class slot ---------------------------->
//
// The header is the only per-object metadata inside the object: mark bits and
// allocation bits live in side bitmaps of the span (heap/span.hpp).
//
// Invariants:
//   * make_gc stores a header of nullptr before it runs the constructor:
//     nullptr means "under construction", the constructor of T has not
//     returned yet. The marker scans such an object conservatively (every
//     word is a candidate pointer) because its gc_ptr members may already
//     hold the only reference to objects allocated by the constructor, while
//     precise tracing of a half-built object could read unconstructed
//     members. Slots are not zeroed (a recycled slot keeps its previous
//     bytes until the constructor overwrites them), so that scan may also
//     find stale words: they can only keep garbage alive until the next
//     cycle, never free anything (a word pointing to a free slot is
//     rejected by the allocation bits).
//   * The header is published with a release store after construction; the
//     collector reads it with an acquire load (it may run on another thread).
//   * A type_descriptor never changes and lives in static storage.
//   * After its object died, the header of an object with a destructor goes
//     through awaiting_finalizer and finalized_object before the slot is
//     freed (gc/finalizer.hpp).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace tricolor {

class tracer;

namespace heap {

enum class scan_kind : std::uint8_t {
  noscan,  // holds no managed pointers: marked black directly, never scanned
  object,  // scanned in one piece through trace()
  array,   // a gc_array: scanned in bounded chunks of elements
};

struct type_descriptor {
  const char* name;
  scan_kind kind;
  // scan_kind::object: visit every managed pointer of the payload.
  void (*trace)(const void* payload, tracer& t);
  // scan_kind::array: the element count and a visit of elements [begin, end).
  std::size_t (*array_length)(const void* payload);
  void (*trace_elements)(const void* payload, tracer& t, std::size_t begin,
                         std::size_t end);
  // nullptr when the type is trivially destructible: sweeping then frees the
  // slot without touching it.
  void (*destroy)(void* payload);
};

struct object_header {
  std::atomic<const type_descriptor*> type;
};

// The two header values of a dead object with a destructor (gc/finalizer.hpp):
// queued for the finalizer thread, and destroyed (free at the next sweep).
// Both are noscan and have no destructor of their own.
extern const type_descriptor awaiting_finalizer;
extern const type_descriptor finalized_object;

inline constexpr std::size_t header_size = sizeof(object_header);
static_assert(header_size == 8);

inline object_header* header_of(const void* payload) {
  return reinterpret_cast<object_header*>(
      const_cast<char*>(static_cast<const char*>(payload)) - header_size);
}

inline void* payload_of(void* slot) {
  return static_cast<char*>(slot) + header_size;
}

}  // namespace heap
}  // namespace tricolor
