// tracer: how a managed type shows its managed pointers to the collector.
//
//     struct node {
//       gc_ptr<node> left, right;
//       std::string label;
//       void trace(tricolor::tracer& t) const { t(left, right); }
//     };
//
// trace() must visit every gc_ptr the object holds; a type without a trace()
// member is "noscan": the collector never looks inside it. The call operator
// accepts, in any number and mix:
//   * gc_ptr<T>                        (a strong edge),
//   * any value with a trace() member  (an embedded struct, gc_vector<T>;
//                                       weak_gc_ptr<T> traces as nothing),
//   * a std::pair, std::array or built-in array of the above.
//
// The collector calls trace() on its own threads while mutators run (the
// marker scans objects concurrently): trace() must only read the object's
// fields and visit them, and every gc_ptr it visits must lie inside the
// managed object itself. A container that keeps its elements in a separate
// buffer (std::vector, std::map, ...) is refused at compile time: its owner
// may reallocate or free that buffer while the marker reads it. Use
// gc_vector<T> / gc_array<T>, whose buffers are managed objects.
#pragma once

#include <array>
#include <cstddef>
#include <ranges>
#include <type_traits>
#include <utility>

#include "gc/gc_ptr.hpp"

namespace tricolor {

class tracer;

template <class T>
concept traceable = requires(const T& value, tracer& t) { value.trace(t); };

namespace detail {
template <class T>
inline constexpr bool is_gc_ptr = false;
template <class T>
inline constexpr bool is_gc_ptr<gc_ptr<T>> = true;
template <class T>
inline constexpr bool is_pair = false;
template <class A, class B>
inline constexpr bool is_pair<std::pair<A, B>> = true;
template <class T>
inline constexpr bool always_false = false;
template <class T>
inline constexpr bool is_std_array = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array<std::array<T, N>> = true;
}  // namespace detail

class tracer {
 public:
  template <class... Ts>
  void operator()(const Ts&... values) {
    (trace_value(values), ...);
  }

  // Visits one strong edge, given the address the gc_ptr holds (the payload
  // of a managed object, or an interior address of one).
  virtual void visit(const void* target) = 0;

 protected:
  tracer() = default;
  ~tracer() = default;

 private:
  template <class T>
  void trace_value(const T& value) {
    if constexpr (detail::is_gc_ptr<T>) {
      if (const void* target = value.load_for_collector()) visit(target);
    } else if constexpr (traceable<T>) {
      value.trace(*this);
    } else if constexpr (detail::is_pair<T>) {
      trace_value(value.first);
      trace_value(value.second);
    } else if constexpr (std::is_array_v<T> || detail::is_std_array<T>) {
      for (const auto& element : value) trace_value(element);
    } else if constexpr (std::ranges::range<const T>) {
      static_assert(detail::always_false<T>,
                    "tricolor::tracer: this container keeps its elements outside "
                    "the managed object, where the concurrent marker cannot read "
                    "them safely; hold them in a gc_vector<T> or gc_array<T>");
    } else {
      static_assert(detail::always_false<T>,
                    "tricolor::tracer: this type holds no gc_ptr; do not pass it "
                    "to the tracer, or give it a trace(tricolor::tracer&) const "
                    "member");
    }
  }
};

}  // namespace tricolor
