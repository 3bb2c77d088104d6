// scanned_coroutine_frame: coroutine frames that are roots.
//
// A coroutine's frame (its locals and temporaries that live across a
// co_await or co_yield, its parameters, its promise) comes from operator new,
// which the collector does not scan: a gc_ptr held there across a suspension
// would not keep its target alive. Derive the promise type from
// scanned_coroutine_frame and the frame comes from the collector's root
// ranges instead, scanned as a root for as long as the coroutine exists,
// whichever thread resumes or destroys it:
//
//     template <class T>
//     struct generator {
//       struct promise_type : tricolor::scanned_coroutine_frame {
//         ...
//       };
//     };
//
// Frames are copied in the collector's mark-start pause, like a thread's
// stack (roots/root_ranges.hpp says why: the compiler reuses a frame's slots
// without a barrier), so each suspended coroutine adds its frame's bytes to
// that pause. A promise type that defines its own operator new does not get
// this (its frame is then invisible to the collector, as before).
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <cstddef>

namespace tricolor {
namespace detail {
// roots/root_ranges.cc
void* allocate_root_block(std::size_t bytes, bool frame);
void free_root_block(void* payload) noexcept;
}  // namespace detail

struct scanned_coroutine_frame {
  static void* operator new(std::size_t bytes) {
    return detail::allocate_root_block(bytes, /*frame=*/true);
  }
  static void operator delete(void* frame) noexcept { detail::free_root_block(frame); }
  static void operator delete(void* frame, std::size_t) noexcept {
    detail::free_root_block(frame);
  }
};

}  // namespace tricolor
