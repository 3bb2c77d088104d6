// make_gc<T>(args...): allocate and construct a managed object.
//
// Allocation writes the object header as "under construction" (nullptr), runs
// T's constructor in place, and then publishes T's type descriptor with a
// release store (see tricolor/internal/object_header.hpp for why the collector scans an
// object under construction conservatively). If the constructor throws, the
// slot is left unreachable and is reclaimed by the next cycle; no destructor
// runs for it.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <array>
#include <atomic>
#include <cstddef>
#include <new>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tricolor/gc_ptr.hpp"
#include "tricolor/tracer.hpp"
#include "tricolor/internal/card_table.hpp"
#include "tricolor/internal/object_header.hpp"
#include "tricolor/internal/thread_cache.hpp"

namespace tricolor {
namespace detail {

// Readable type name for diagnostics, taken from the compiler's signature of
// this function ("... [with T = node; ...]" on GCC, "[T = node]" on clang).
template <class T>
constexpr std::string_view type_name_view() {
  std::string_view signature = __PRETTY_FUNCTION__;
  std::size_t start = signature.find("T = ") + 4;
  std::size_t end = signature.find_first_of(";]", start);
  return signature.substr(start, end - start);
}

template <class T>
struct type_name_storage {
  static constexpr std::string_view view = type_name_view<T>();
  static constexpr auto chars = [] {
    std::array<char, view.size() + 1> out{};
    for (std::size_t i = 0; i < view.size(); ++i) out[i] = view[i];
    return out;
  }();
};

template <class T>
void trace_object(const void* payload, tracer& t) {
  static_cast<const T*>(payload)->trace(t);
}

template <class T>
void destroy_object(void* payload) {
  static_cast<T*>(payload)->~T();
}

template <class T>
constexpr auto destroy_function() -> void (*)(void*) {
  if constexpr (std::is_trivially_destructible_v<T>) return nullptr;
  else return &destroy_object<T>;
}

template <class T>
constexpr auto trace_function() -> void (*)(const void*, tracer&) {
  if constexpr (traceable<T>) return &trace_object<T>;
  else return nullptr;
}

// The descriptor of an ordinary managed type. gc_array<E> specializes it.
template <class T>
inline constexpr heap::type_descriptor descriptor_of = {
    type_name_storage<T>::chars.data(),
    traceable<T> ? heap::scan_kind::object : heap::scan_kind::noscan,
    trace_function<T>(),
    nullptr,
    nullptr,
    destroy_function<T>(),
};

// The compile-time checks of a managed type: of make_gc<T>'s T and of
// make_gc_array<T>'s element type T (so a gc_ptr is accepted here: it is a
// traced array element). The trace() checks are tricolor/internal/type_checks.hpp's.
template <class T>
constexpr void check_managed_type() {
  static_assert(!std::is_array_v<T>,
                "make_gc<T[]> is not supported: use make_gc_array<T>(n)");
  static_assert(alignof(T) <= 8,
                "tricolor: managed objects are 8-byte aligned; over-aligned "
                "types are not supported");
  check_trace_of_managed_type<T, /*element=*/true>();
}

// Allocates a slot for an object of `payload_bytes`, constructs it with
// `construct(payload)` and publishes `descriptor`.
template <class T, class Construct>
T* allocate_managed(std::size_t payload_bytes,
                    const heap::type_descriptor* descriptor,
                    Construct&& construct) {
  std::size_t bytes = (heap::header_size + payload_bytes + 7) & ~std::size_t{7};
  // A mark phase that begins or ends during the constructor may leave the
  // object old with young fields: tricolor/internal/card_table.hpp.
  const std::uint32_t epoch = heap::marking_epoch.load(std::memory_order_relaxed);
  void* slot = heap::allocate_slot(bytes);
  auto* header = static_cast<heap::object_header*>(slot);
  header->type.store(nullptr, std::memory_order_relaxed);
  T* object = construct(heap::payload_of(slot));
  if (heap::marking_epoch.load(std::memory_order_relaxed) != epoch) [[unlikely]]
    heap::remember_constructed(slot);
  if (descriptor->destroy != nullptr) heap::note_finalizable(slot);
  header->type.store(descriptor, std::memory_order_release);
  return object;
}

}  // namespace detail

template <class T, class... Args>
gc_ptr<T> make_gc(Args&&... args) {
  static_assert(!detail::is_gc_ptr<T>,
                "tricolor: make_gc<gc_ptr<T>> would make a managed object that "
                "holds a gc_ptr and has no trace(); allocate T itself, or a "
                "struct with the gc_ptr and a trace() member");
  detail::check_managed_type<T>();
  T* object = detail::allocate_managed<T>(
      sizeof(T), &detail::descriptor_of<T>, [&](void* payload) {
        return ::new (payload) T(std::forward<Args>(args)...);
      });
  return detail::adopt(object);
}

}  // namespace tricolor
