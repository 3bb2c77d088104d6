// The root set: everything the collector starts marking from, each root with
// an identity (what it is and which name it answers to), so that marked
// memory can be attributed to the root that reached it.
//
//     kind        scanned        identity
//     ----        -------        --------
//     global      conservatively module path (data and bss segments of the
//                                executable and every loaded shared object)
//     stack       conservatively thread name and id ([saved sp, stack top))
//     registers   conservatively thread name and id (callee-saved registers)
//     tls         conservatively thread name and id (static TLS blocks)
//     handle      precisely      gc_root name and source location
//     range       conservatively its kind (root_allocator block, coroutine
//                                frame, exception object: root_ranges.hpp)
//
// Conservative ranges are scanned word by word: a word that points into an
// allocated object (interior pointers included) keeps it alive.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>

namespace tricolor::roots {

struct thread_state;

enum class root_kind : std::uint8_t { global, stack, registers, tls, handle, range };

struct root_identity {
  root_kind kind;
  const char* name;      // module path, thread name or gc_root name ("" if none)
  const char* file;      // gc_root: where it was created; tls: the module; else ""
  unsigned line;
  pid_t thread;          // stack, registers, tls: the thread's id; else 0
  std::uintptr_t load_bias = 0;  // global: the module's (dlpi_addr); tls: the
                                 // block's start (its variables' offsets are from there)
  bool blocked = false;          // stack, registers, tls: the thread was
                                 // blocked (SAFE) when the pause began
  // Blocked: which wait. Equal in two pauses when the thread did not wake
  // between them: its count of waits when SAFE; when stopped by the signal
  // in a system call, its stack pointer (the same call from the same frame
  // then; a loop that wakes and calls again from there looks the same).
  std::uint64_t wait = 0;
  // range: a root_allocator block's allocation site (roots/block_sites.hpp),
  // or null.
  const void* site = nullptr;
};

class root_visitor {
 public:
  virtual void conservative_range(const root_identity& root, const void* begin,
                                  const void* end) = 0;
  virtual void precise(const root_identity& root, const void* target) = 0;

 protected:
  ~root_visitor() = default;
};

struct root_scan_totals {
  std::uint64_t globals_bytes = 0;
  std::uint64_t stacks_bytes = 0;
  std::uint64_t handles = 0;
  std::uint64_t threads = 0;
};

// Visits every root. The world must be stopped, by `self` (whose own stack is
// scanned from this call's frame upwards) or, with self == nullptr, by a
// thread that is not registered (the collector thread).
// Without `handles`, gc_root handles are left out (the concurrent collector
// visits them after the pause with visit_handles). With `defer_blocked`,
// the threads that were SAFE when the stop began are not visited: their
// stack scans are marked pending, for scan_deferred_stacks once the world
// runs again (thread_registry.hpp says why that is sound).
root_scan_totals enumerate_roots(thread_state* self, root_visitor& visitor,
                                 bool handles = true, bool defer_blocked = false);

// Visits the threads whose scan enumerate_roots deferred (those for which
// `now` is true, when given; the others stay deferred), and lets each leave
// SAFE. The world running, before marking can end (every deferred stack
// must be scanned by then). Returns the stack bytes.
std::uint64_t scan_deferred_stacks(root_visitor& visitor,
                                   const std::function<bool(const thread_state&)>& now = {});
bool deferred_stacks_left();

// Parts of the root set, used by enumerate_roots (roots/data_segments.cc,
// roots/handles.cc).
std::uint64_t visit_data_segments(root_visitor& visitor);
std::uint64_t visit_handles(root_visitor& visitor);

}  // namespace tricolor::roots
