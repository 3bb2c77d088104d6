// Leak reports: which root keeps memory alive that should have died.
//
// A tracing collector frees what is unreachable, so the leaks left in a
// collected program are objects that stay reachable from a root that lives
// longer than the program expects. With TRICOLOR_DEBUG=leakreport=1 the
// collector credits every object it marks to the root it was first reached
// from, keeps each root's history across cycles, and reports:
//
//   * growth: a root whose credited bytes grew in most of the last
//     `leakcycles` cycles (TRICOLOR_DEBUG=leakcycles=N, default 16) by at
//     least growth_threshold_bytes and 10 %, after a warm-up of as many
//     cycles (the rule is in gc/leak_tracker.hpp);
//   * expectation: an object given to expect_dead() that is still reachable
//     at the end of the second cycle that began after the call (with or
//     without leakreport=1);
//   * threads leaked on channels: a thread blocked in a gc_chan operation on
//     a channel that nothing but such blocked threads can reach (it can
//     never be woken; gc/channel_leaks.hpp), with or without leakreport=1;
//   * blocked threads: a thread blocked in one wait (any blocking call) at
//     the start of more than `leakcycles` cycles in a row, whose stack
//     retains at least blocked_thread_threshold_bytes (leakreport=1).
//
// Each suspect is printed on stderr when it is found (leakreport=1) and in a
// summary at exit, and is returned by leak_report() and written as JSON by
// write_leak_report_json().
//
//     tricolor::expect_dead(session, "session closed");
//     for (const tricolor::leak_suspect& s : tricolor::leak_report())
//       std::cerr << s.root.name << " retains " << s.bytes << " bytes\n";
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "tricolor/gc_ptr.hpp"
#include "tricolor/internal/source_location.hpp"

namespace tricolor {

// Bytes a root must have gained over the growth window to be a suspect.
inline constexpr std::uint64_t growth_threshold_bytes = 256 * 1024;
// Bytes a blocked thread's stack must retain to be a suspect.
inline constexpr std::uint64_t blocked_thread_threshold_bytes = 1024 * 1024;

// Says that the object `object` points into should become garbage soon. If
// it is still reachable at the end of the marking of the second cycle that
// began after this call, it is reported as a suspect, with the root it is
// reached from and the path. Costs a lock and a vector entry; holds no
// reference (the object is freed as usual if it is garbage).
void expect_dead(const void* object, std::string_view why,
                 source_location where = source_location::current());

template <class T>
void expect_dead(const gc_ptr<T>& object, std::string_view why,
                 source_location where = source_location::current()) {
  expect_dead(static_cast<const void*>(object.get()), why, where);
}

// One hop of a retention path: from a root to the first object, then from
// object to object.
struct leak_path_hop {
  std::string type;        // the object's type (demangled)
  std::uint64_t bytes = 0;  // its slot size
  // How the previous hop refers to this object: the byte offset of the
  // gc_ptr within the previous object's payload, or the index of the
  // element when the previous object is a gc_array (`index` set); for the
  // first hop, the byte offset of the word within the root (a variable; a
  // stack's range from the stack pointer upwards; 0 for a gc_root).
  std::uint64_t offset = 0;
  bool index = false;
};

struct leak_root {
  std::string kind;    // "gc_root", "global", "thread stack", "thread_local"
                       // (a variable), "thread_local storage" (a TLS block's
                       // words no symbol covers), "root_allocator block",
                       // "coroutine frame", "exception object", "module data"
  std::string name;    // gc_root name, variable (global or thread_local),
                       // thread name, or for
                       // root_allocator blocks (leakreport=1) the function
                       // that allocated them (grew the container)
  std::string file;    // gc_root: where it was created; global, thread_local:
                       // the module
  unsigned line = 0;   // gc_root: the line
  int thread = 0;      // thread stack / thread_local: the thread's id
};

struct leak_type_share {
  std::string type;
  std::uint64_t objects = 0;
  std::uint64_t bytes = 0;
};

// Where sampled objects were allocated (heap profile sampling on,
// memprofilerate): the function that called make_gc, the samples found
// among the objects reachable from the root, and the bytes they stand for
// (each sample weighs as in the heap profile).
struct leak_site_share {
  std::string function;
  std::uint64_t samples = 0;
  std::uint64_t bytes = 0;
};

struct leak_suspect {
  enum class reason { growth, expected_dead, leaked_thread, blocked_thread };
  reason why = reason::growth;
  leak_root root;
  // The cycles this root has been seen in, and for how long.
  std::uint64_t first_seen_cycle = 0;
  std::uint64_t age_cycles = 0;
  double age_seconds = 0;
  // growth: what the last cycle credited to the root. From the cycle after
  // the root became a suspect on (`retained` set), it is marked after the
  // other roots, and this is its retained size: what clearing the root
  // would free, as of that cycle's start, leaving out the thread stacks'
  // references into a variable's or gc_root's structure (transient: the
  // code using it; gc/leak_tracker.hpp, "Retained size").
  // Before that, the objects marked first from this root (shared objects go
  // to whichever root reached them first). Objects allocated during that
  // cycle's marking are counted by the next. expected_dead: `objects` expected dead (from one
  // call site, for one reason, held by this root) and still reachable, and
  // the bytes reachable from them (what they keep alive, shared memory
  // included).
  std::uint64_t bytes = 0;
  std::uint64_t objects = 0;
  bool retained = false;
  // Growth over the window (growth suspects).
  double growth_bytes_per_cycle = 0;
  double growth_bytes_per_second = 0;
  std::uint64_t window_cycles = 0;
  // The types reachable from the root (expected_dead: from the objects),
  // largest first (at most 5; counted over at most path_search_limit
  // objects).
  std::vector<leak_type_share> top_types;
  // The allocation sites of the sampled objects among them, most bytes
  // first (at most 5; empty with memprofilerate=0).
  std::vector<leak_site_share> top_sites;
  // The shortest path from the root to a sample object (growth,
  // blocked_thread: an object the root was credited with; expected_dead:
  // that object).
  std::vector<leak_path_hop> path;
  // A path from a thread's stack: the function whose frame holds its first
  // word, as far as it can be told without unwinding (the one the nearest
  // return address below the word returns into); "(a register of F, saved
  // by the call it is blocked in)" for a word of the innermost frame;
  // "(a callee-saved register)" for one of the thread's saved registers;
  // empty if none was found.
  std::string frame;
  // expected_dead: the reason given and where expect_dead was called.
  std::string expectation;
  std::string expected_at_file;
  unsigned expected_at_line = 0;
  // leaked_thread: a thread (root) blocked for good in a gc_chan operation,
  // on a channel nothing that runs can reach; the channel's type, the
  // operation, how long it had been blocked, and the functions found on
  // its stack (return addresses, innermost first). blocked_thread: a thread
  // blocked in one wait at the start of more than `leakcycles` cycles in a
  // row whose stack retains at least blocked_thread_threshold_bytes (its
  // retained size: `bytes`, `objects`); `age_cycles` counts those cycles,
  // `blocked_seconds` the time between the first and the last; its stack's
  // functions, as for leaked_thread.
  std::string channel_type;
  bool sending = false;
  double blocked_seconds = 0;
  std::vector<std::string> stack;
};

inline constexpr std::uint64_t path_search_limit = 4'000'000;

// The suspects found by the last completed cycle (none without
// leakreport=1 or expect_dead).
std::vector<leak_suspect> leak_report();

// The same, as one JSON object: {"cycle": N, "suspects": [...]}.
void write_leak_report_json(std::ostream& out);

}  // namespace tricolor
