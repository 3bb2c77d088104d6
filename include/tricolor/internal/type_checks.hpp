// Compile-time checks of managed types and of what trace() shows the tracer.
//
// A mistake in trace() does not crash where it is made: the collector frees
// an object that a field still points to, cycles later. So every mistake the
// type system can see is refused when the program is compiled, with a message
// that names the fix. make_gc<T> and make_gc_array<T> (check_managed_type,
// tricolor/make_gc.hpp) and the tracer's call operator (tricolor/tracer.hpp) run these
// checks:
//
//   1. A trace() that is not const. The collector calls
//      `void trace(tricolor::tracer&) const`; a non-const one is never called
//      and the type would silently be noscan. -> "make trace() const".
//   2. An inherited trace(). `&T::trace` names the class that declares it; if
//      that is a base class of T, the derived class's own gc_ptrs are never
//      visited. Refused even when the derived class adds no member: the rule
//      stays simple, and a member added later cannot be forgotten.
//   3. A type that holds a gc_ptr but has no trace(). Only an aggregate (a
//      struct with public fields and no constructors) can be looked into;
//      see "Looking into an aggregate" below. A class with constructors or
//      private fields cannot: the verifier reports those at run time
//      (TRICOLOR_DEBUG=verify=1, gc/verifier.hpp).
//   4. A std container of gc_ptrs as a field of an aggregate managed type,
//      traced or not: its elements live in memory that the collector never
//      scans, and the tracer refuses it. (With std::allocator such a
//      container does not compile at all: the end of gc_ptr.hpp.)
//   5. (tracer) std::variant / std::any / a union / std::optional of
//      anything but a gc_ptr: a gc_ptr inside one dies without the write
//      barrier's deletion shade when it is reset or reassigned
//      (std::optional<gc_ptr<T>> is traceable: optional_gc_ptr.hpp). Containers with their own buffer: refused when
//      their elements can hold a gc_ptr (use gc_vector / gc_array), "holds no
//      gc_ptr" otherwise (std::string, std::vector<int>). Raw pointers.
//
// "Holds a gc_ptr" (holds_gc_ptr<T>) means: T is a gc_ptr, or has a trace()
// member (const or not, other than weak_gc_ptr's), or is a std::pair,
// std::array, built-in array, std::optional or std::variant of such, or a
// std range whose elements hold one, or an aggregate with such a field.
//
// Looking into an aggregate (the technique of Boost.PFR, written here anew):
// T{f0, f1, ..., fN-1} is valid for the N fields of T when every fi is a
// `any_field`, a type that converts to any type. N is the largest count,
// up to max_probed_fields, for which that compiles. Field i holds a gc_ptr
// when replacing fi by a `probe_field`, which converts to every type except
// the ones that hold a gc_ptr, makes the initialization fail -- or makes one
// more initializer acceptable: a probe refused by a nested aggregate field
// is taken by that field's first member instead (brace elision), which
// shifts the rest. Everything happens inside requires-expressions, so a
// type the technique cannot decompose is never an error, only unchecked.
// Limits (each one a missed check, never a wrong rejection):
//   * fields after one that cannot be copy-initialized from a converting
//     type (a reference member, for one) are not looked at (with GCC 12,
//     std::optional, std::function, std::unique_ptr and std::atomic fields
//     are decomposed fine);
//   * only the first max_probed_fields initializers are probed (a built-in
//     array field counts as one initializer per element);
//   * unions are not looked into.
#pragma once

#include <any>
#include <array>
#include <cstddef>
#include <memory>
#include <optional>
#include <ranges>
#include <type_traits>
#include <utility>
#include <variant>

#include "tricolor/gc_ptr.hpp"

namespace tricolor {

class tracer;
template <class T>
class weak_gc_ptr;

// A type the collector can trace: `void trace(tricolor::tracer&) const`.
template <class T>
concept traceable = requires(const T& value, tracer& t) { value.trace(t); };

namespace detail {

template <class T>
inline constexpr bool always_false = false;

template <class T>
inline constexpr bool is_gc_ptr = false;
template <class T>
inline constexpr bool is_gc_ptr<gc_ptr<T>> = true;
template <class T>
inline constexpr bool is_weak_gc_ptr = false;
template <class T>
inline constexpr bool is_weak_gc_ptr<weak_gc_ptr<T>> = true;
template <class T>
inline constexpr bool is_pair = false;
template <class A, class B>
inline constexpr bool is_pair<std::pair<A, B>> = true;
template <class T>
inline constexpr bool is_std_array = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array<std::array<T, N>> = true;
template <class T>
inline constexpr bool is_optional = false;
template <class T>
inline constexpr bool is_optional<std::optional<T>> = true;
template <class T>
inline constexpr bool is_variant = false;
template <class... Ts>
inline constexpr bool is_variant<std::variant<Ts...>> = true;

// 1. A trace member callable only on a non-const object.
template <class T>
concept has_non_const_trace =
    !traceable<T> && requires(T& value, tracer& t) { value.trace(t); };

// 2. The class that declares T::trace (not deducible when trace is
// overloaded or a template: those are not checked).
template <class F, class C>
C trace_owner(F C::*);
template <class T>
concept trace_declared_in_a_base =
    requires { trace_owner(&T::trace); } &&
    !std::is_same_v<decltype(trace_owner(&T::trace)), std::remove_cv_t<T>>;

// Ranges whose buffer comes from std::allocator (the standard containers).
template <class T>
concept std_allocated = requires { typename T::allocator_type; } &&
    std::is_same_v<typename T::allocator_type,
                   std::allocator<typename T::allocator_type::value_type>>;

// 3. Looking into aggregates (see the top of this file).
inline constexpr std::size_t max_probed_fields = 32;

struct any_field {
  template <class U>
  operator U() const noexcept;  // never defined: unevaluated use only
};

template <class T>
consteval bool holds_gc_ptr_f();
template <class T>
inline constexpr bool holds_gc_ptr = holds_gc_ptr_f<T>();

template <class U>
struct refuses_gc_ptr_holders : std::bool_constant<holds_gc_ptr<U>> {};
template <class U>
consteval bool is_std_container_of_gc_ptrs() {
  if constexpr (std::ranges::range<const U> && std_allocated<U>)
    return holds_gc_ptr<std::ranges::range_value_t<const U>>;
  else
    return false;
}
template <class U>
struct refuses_std_containers_of_gc_ptrs
    : std::bool_constant<is_std_container_of_gc_ptrs<U>()> {};

// Converts to any type that Refused<U>::value does not refuse.
template <template <class> class Refused>
struct probe_field {
  template <class U>
    requires(!Refused<U>::value)
  operator U() const noexcept;
};

template <bool Probe, class ProbeType>
using field_at = std::conditional_t<Probe, ProbeType, any_field>;

// T{f0, ..., fCount-1}, with the probe at `Position` (none if out of range).
template <class T, class Probe, std::size_t Position, std::size_t... I>
consteval bool initializable(std::index_sequence<I...>) {
  return requires { T{field_at<I == Position, Probe>{}...}; };
}

template <class T, std::size_t N = max_probed_fields>
consteval std::size_t field_count() {
  if constexpr (N == 0) return 0;
  else if constexpr (initializable<T, any_field, N>(std::make_index_sequence<N>{})) return N;
  else return field_count<T, N - 1>();
}

template <class T, class Probe, std::size_t N, std::size_t... P>
consteval bool some_field_refuses(std::index_sequence<P...>) {
  return ((!initializable<T, Probe, P>(std::make_index_sequence<N>{}) ||
           initializable<T, Probe, P>(std::make_index_sequence<N + 1>{})) ||
          ...);
}

// Whether a field of aggregate T is of a type Refused<U> refuses.
template <class T, template <class> class Refused>
consteval bool aggregate_has_field() {
  if constexpr (!std::is_aggregate_v<T> || std::is_union_v<T> || std::is_array_v<T>) {
    return false;
  } else {
    constexpr std::size_t n = field_count<T>();
    return some_field_refuses<T, probe_field<Refused>, n>(std::make_index_sequence<n>{});
  }
}

template <class T>
consteval bool holds_gc_ptr_f() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_reference_v<U> || std::is_pointer_v<U> || std::is_scalar_v<U> ||
                std::is_void_v<U>) {
    return false;
  } else if constexpr (is_weak_gc_ptr<U>) {
    return false;
  } else if constexpr (is_gc_ptr<U> || traceable<U> || has_non_const_trace<U>) {
    return true;
  } else if constexpr (is_pair<U>) {
    return holds_gc_ptr<typename U::first_type> || holds_gc_ptr<typename U::second_type>;
  } else if constexpr (std::is_array_v<U>) {
    return holds_gc_ptr<std::remove_extent_t<U>>;
  } else if constexpr (is_std_array<U> || is_optional<U>) {
    return holds_gc_ptr<typename U::value_type>;
  } else if constexpr (is_variant<U>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (holds_gc_ptr<std::variant_alternative_t<I, U>> || ...);
    }(std::make_index_sequence<std::variant_size_v<U>>{});
  } else if constexpr (std::ranges::range<const U>) {
    return holds_gc_ptr<std::ranges::range_value_t<const U>>;
  } else {
    return aggregate_has_field<U, refuses_gc_ptr_holders>();
  }
}

// The checks of a managed type T (make_gc<T>, and the element type of
// make_gc_array<T>). Each failing check is a class template instantiation,
// so the compiler's error names the types involved, e.g.
// "required from 'struct tricolor::detail::derived_class_inherits_trace<leaf, node>'".

template <class T>
struct trace_is_not_const {
  static_assert(always_false<T>,
                "tricolor: trace() is not const, so the collector never calls it "
                "and the object is scanned as holding no gc_ptr; make trace() const: "
                "void trace(tricolor::tracer& t) const { t(...); }");
};

template <class Derived, class Base>
struct derived_class_inherits_trace {
  static_assert(always_false<Derived>,
                "tricolor: Derived inherits Base::trace(); declare trace() in "
                "Derived too (call Base::trace(t) and visit Derived's own gc_ptrs). "
                "Required even when Derived adds no gc_ptr: a member added later "
                "must not go untraced (Derived and Base: the two types of "
                "derived_class_inherits_trace<Derived, Base> in the error's "
                "instantiation context)");
};

template <class T>
struct holds_gc_ptr_without_trace {
  static_assert(always_false<T>,
                "tricolor: T holds a gc_ptr but has no trace() member; add "
                "void trace(tricolor::tracer& t) const { t(...); } (without it "
                "the collector never looks inside T, and frees what its gc_ptrs "
                "point to)");
};

template <class T>
struct std_container_of_gc_ptrs_in_managed_object {
  static_assert(always_false<T>,
                "tricolor: a std container of gc_ptrs inside a managed object keeps "
                "its elements outside the object, where the collector never looks; "
                "hold them in a gc_vector<T> or gc_array<T>");
};

// Runs checks 1-4 on T; `element` is set for make_gc_array's element type,
// where a gc_ptr itself is a traced element.
template <class T, bool element = false>
constexpr void check_trace_of_managed_type() {
  if constexpr (has_non_const_trace<T>) {
    (void)trace_is_not_const<T>{};
  } else if constexpr (traceable<T>) {
    if constexpr (trace_declared_in_a_base<T>)
      (void)derived_class_inherits_trace<T, decltype(trace_owner(&T::trace))>{};
    else if constexpr (aggregate_has_field<T, refuses_std_containers_of_gc_ptrs>())
      (void)std_container_of_gc_ptrs_in_managed_object<T>{};
  } else if constexpr (element && is_gc_ptr<T>) {
    // a gc_array<gc_ptr<U>> traces its elements
  } else if constexpr (is_weak_gc_ptr<T>) {
    // traceable; unreachable
  } else if constexpr (holds_gc_ptr<T>) {
    (void)holds_gc_ptr_without_trace<T>{};
  }
}

}  // namespace detail
}  // namespace tricolor
