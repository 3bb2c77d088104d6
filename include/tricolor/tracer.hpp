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
// managed object itself. Refused at compile time, each with the fix in the
// message (tricolor/internal/type_checks.hpp states what each check sees and its limits):
//   * a container that keeps its elements in a separate buffer (std::vector,
//     std::deque, std::map, ...) of gc_ptrs: its owner may reallocate or free
//     that buffer while the marker reads it. Use gc_vector<T> / gc_array<T>,
//     whose buffers are managed objects;
//   * std::variant, std::any, unions, and std::optional of anything but a
//     gc_ptr: a gc_ptr in one ends its life (reset, emplace, reassignment)
//     without the write barrier. (std::optional<gc_ptr<T>> has a trace() of
//     its own and changes only through the barrier: optional_gc_ptr.hpp.)
//   * a member whose trace() is not const, or inherited from a base class;
//   * a struct holding a gc_ptr but without trace();
//   * a raw pointer, and anything else that holds no gc_ptr (std::string,
//     std::vector<int>, an int): there is nothing to trace.
//
// Every gc_ptr given to the tracer is one word; a tracer may ask to see the
// address of each (field_hook_, set only by the verifier, gc/verifier.hpp, to
// find the words of an object that its trace() does not visit, and by the
// leak reports' path search, gc/leak_path.hpp, for field offsets). The marker
// leaves it null: one predictable branch per gc_ptr.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <any>
#include <array>
#include <cstddef>
#include <ranges>
#include <type_traits>
#include <utility>

#include "tricolor/gc_ptr.hpp"
#include "tricolor/internal/type_checks.hpp"

namespace tricolor {

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

  // Called, when set, with the address of every gc_ptr given to the tracer,
  // null or not, before visit(). Only the verifier, the leak reports' path
  // search and, with generations, the marker (gc/generations.hpp) set it.
  void (*field_hook_)(tracer& self, const void* field) = nullptr;

 private:
  template <class T>
  void trace_value(const T& value) {
    if constexpr (detail::is_gc_ptr<T>) {
      if (field_hook_ != nullptr) [[unlikely]] field_hook_(*this, &value);
      if (const void* target = value.load_for_collector()) visit(target);
    } else if constexpr (detail::has_non_const_trace<T>) {
      (void)detail::trace_is_not_const<T>{};
    } else if constexpr (traceable<T>) {
      if constexpr (detail::trace_declared_in_a_base<T>)
        (void)detail::derived_class_inherits_trace<T, decltype(detail::trace_owner(&T::trace))>{};
      value.trace(*this);
    } else if constexpr (detail::is_pair<T>) {
      trace_value(value.first);
      trace_value(value.second);
    } else if constexpr (std::is_array_v<T> || detail::is_std_array<T>) {
      for (const auto& element : value) trace_value(element);
    } else if constexpr ((detail::is_optional<T> || detail::is_variant<T>) &&
                         detail::holds_gc_ptr<T>) {
      static_assert(detail::always_false<T>,
                    "tricolor::tracer: a gc_ptr inside std::optional/std::variant "
                    "escapes the write barrier when reset or reassigned; a gc_ptr "
                    "is nullable already: use gc_ptr<T> and nullptr (for variant: "
                    "one gc_ptr field per alternative, or a gc_ptr to a managed "
                    "base class)");
    } else if constexpr (std::is_same_v<T, std::any> || std::is_union_v<T>) {
      static_assert(detail::always_false<T>,
                    "tricolor::tracer: a gc_ptr inside std::any or a union cannot "
                    "be traced and escapes the write barrier when reset or "
                    "reassigned; a gc_ptr is nullable already: use gc_ptr<T> and "
                    "nullptr, one gc_ptr field per alternative, or a gc_ptr to a "
                    "managed base class");
    } else if constexpr (std::is_pointer_v<T>) {
      static_assert(detail::always_false<T>,
                    "tricolor::tracer: a raw pointer is not traced and does not "
                    "keep its target alive; hold a managed object in a gc_ptr<T>");
    } else if constexpr (std::ranges::range<const T> &&
                         detail::holds_gc_ptr<std::ranges::range_value_t<const T>>) {
      static_assert(detail::always_false<T>,
                    "tricolor::tracer: this container keeps its elements outside "
                    "the managed object, where the concurrent marker cannot read "
                    "them safely; hold them in a gc_vector<T> or gc_array<T>");
    } else if constexpr (detail::holds_gc_ptr<T>) {
      (void)detail::holds_gc_ptr_without_trace<T>{};
    } else {
      static_assert(detail::always_false<T>,
                    "tricolor::tracer: this type holds no gc_ptr; do not pass it "
                    "to the tracer, or give it a trace(tricolor::tracer&) const "
                    "member if it should hold one");
    }
  }
};

}  // namespace tricolor
