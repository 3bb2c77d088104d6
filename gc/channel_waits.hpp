// Threads blocked on channels: which registered thread waits in which
// gc_chan's send or recv, and since when. The collector's report of threads
// leaked on channels (SPEC 2.6 point 3) reads it; tricolor/gc_chan.hpp
// writes it (detail::channel_wait_begin / channel_wait_end around each wait).
//
// Each thread has one record, in its thread-local storage (a thread waits in
// one channel operation at a time), linked into the registry's list while
// the thread waits. Invariants:
//   * A record is linked from the begin of a wait to its end, and written
//     only by its own thread before it is linked; the list and the links
//     are changed and read only under the registry lock.
//   * The registry never keeps a channel alive: the collector scans TLS
//     conservatively, so a record holds its channel's address disguised
//     (XOR channel_disguise). The disguised word has its top bits set: it
//     is not a canonical user-space address, let alone one in the heap.
//   * The registry lock is a leaf, and a mutator holds it only inside a
//     runtime_section (roots/thread_registry.hpp), where no pause stops it.
//     So with the world stopped no mutator holds it, and the collector may
//     call for_each_channel_wait in a pause as well as between pauses.
//   * fork(): the child starts with an empty registry (its one thread is in
//     fork(), not in a channel wait).
#pragma once

#include <cstdint>
#include <type_traits>

#include "tricolor/internal/object_header.hpp"

namespace tricolor::roots {
struct thread_state;
}

namespace tricolor::gc {

inline constexpr std::uintptr_t channel_disguise = 0xa5a5'a5a5'a5a5'a5a5u;

struct channel_wait {
  roots::thread_state* thread;                // the blocked thread
  const heap::type_descriptor* channel_type;  // the channel<T>'s (its name)
  std::uint64_t since_ns;                     // gc::monotonic_ns() at the begin
  bool sending;                               // in send (or recv)
  std::uintptr_t disguised_channel;           // the channel<T>'s payload ^ channel_disguise

  const void* channel() const noexcept {
    return reinterpret_cast<const void*>(disguised_channel ^ channel_disguise);
  }
};

// Calls visit(wait, context) for each thread blocked on a channel, under the
// registry lock: `visit` must not block, allocate managed memory or use a
// channel.
void for_each_channel_wait(void (*visit)(const channel_wait& wait, void* context),
                           void* context);

template <class F>
void for_each_channel_wait(F&& visit) {
  for_each_channel_wait(
      [](const channel_wait& wait, void* context) {
        (*static_cast<std::remove_reference_t<F>*>(context))(wait);
      },
      &visit);
}

}  // namespace tricolor::gc
