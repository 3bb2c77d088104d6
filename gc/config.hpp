// Configuration from the environment, read once at first use of the heap.
//
//     TRICOLOR_GC_PERCENT   heap growth percent before the next cycle, or
//                           "off" (the GOGC analogue); default 100
//     TRICOLOR_MEMORY_LIMIT soft limit on the memory the heap keeps: bytes,
//                           with an optional suffix B, KiB, MiB, GiB or TiB
//                           (case as written), or "off" (the GOMEMLIMIT
//                           analogue); default off
//     TRICOLOR_DEBUG        comma-separated key=value list (the GODEBUG
//                           analogue): gctrace=N (0, 1 or 2),
//                           gcpacertrace=N (0 or 1), gcstoptheworld=N
//                           (1: every cycle runs with the world stopped, the
//                           reference collector), verify=N (1: after each
//                           concurrent mark, re-mark stop-the-world and abort
//                           on any reachable object left white, and report
//                           pointers to managed objects that trace() does
//                           not visit; new objects' slots are cleared;
//                           gc/verifier.hpp), leakreport=N (1: attribute
//                           marked memory to roots and report leak suspects
//                           on stderr; gc/leak_tracker.hpp), leakcycles=N
//                           (cycles of growth that make a suspect, 2 to 64;
//                           default 16), safepointwarn=MS (how long a pause
//                           waits for a thread before naming it),
//                           memprofilerate=N (heap profile: one sampled
//                           allocation per N bytes on average, 0 off;
//                           default 524288, Go's; gc/heap_profile.hpp),
//                           generational=N (1: minor cycles that mark only
//                           young objects, sticky mark bits; off by default,
//                           ignored with gcstoptheworld=1; gc/generations.hpp)
//     TRICOLOR_MARK_WORKERS upper bound on background marking threads: a
//                           whole number from 1 to 1024; default (unset) one
//                           per CPU (gc/mark_workers.hpp: how many mark, and
//                           when)
//
// A malformed value never stops the program and is never silently accepted:
// one line on stderr names the variable, the value, and what is used instead.
// Values are taken exactly as written: surrounding whitespace makes a value
// malformed (it usually means a quoting mistake), it is not trimmed.
// The parsers below are pure functions so tests can feed them every form.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tricolor::gc {

inline constexpr int default_gc_percent = 100;
inline constexpr std::int64_t no_memory_limit = INT64_MAX;
// Go's runtime.MemProfileRate: one sample per 512 KiB allocated, on by
// default. Its cost is out of the pauses (gc/heap_profile.hpp: the sweep
// moves dead samples out of in-use; bench/README.md has the figures).
inline constexpr int default_mem_profile_rate = 512 * 1024;

struct config {
  int gc_percent = default_gc_percent;  // < 0: pacing-triggered cycles off
  std::int64_t memory_limit = no_memory_limit;
  int gctrace = 0;
  bool gcpacertrace = false;
  bool gcstoptheworld = false;
  bool verify = false;
  bool generational = false;  // gc/generations.hpp
  // 0: not set, the collector uses its default, one per CPU. Otherwise the
  // upper bound on background marking threads, >= 1.
  int mark_workers = 0;
  // How long a pause waits for a thread before naming it on stderr (and
  // again each such interval): TRICOLOR_DEBUG=safepointwarn=MS.
  int safepoint_warn_ms = 1000;
  // Leak tracking (gc/leak_tracker.hpp): TRICOLOR_DEBUG=leakreport=1 and
  // leakcycles=N.
  bool leakreport = false;
  int leak_cycles = 16;
  // Heap profile sampling: one sampled allocation per this many bytes
  // allocated, on average; 0 turns sampling off (gc/heap_profile.hpp).
  // TRICOLOR_DEBUG=memprofilerate=N, Go's runtime.MemProfileRate.
  int mem_profile_rate = default_mem_profile_rate;
};

inline constexpr int max_leak_cycles = 64;

// Parses a TRICOLOR_GC_PERCENT value: a decimal integer >= 0, or "off"
// (any case), which yields -1. On a malformed value returns the default and
// sets *diagnostic to the one-line message to print.
int parse_gc_percent(std::string_view value, std::string* diagnostic);

// Parses a TRICOLOR_MEMORY_LIMIT value: a decimal byte count >= 0 with an
// optional unit (B, KiB, MiB, GiB, TiB; "16MiB" or "16 MiB" is not accepted
// with the space), or "off" (any case), which yields no_memory_limit. On a
// malformed or overflowing value returns no_memory_limit and sets
// *diagnostic.
std::int64_t parse_memory_limit(std::string_view value, std::string* diagnostic);

// Parses a TRICOLOR_MARK_WORKERS value: a decimal integer from 1 to 1024
// (leading zeros allowed; no sign, whitespace or suffix). On a malformed or
// out-of-range value ("0" included) returns 0, meaning "use the default", and
// sets *diagnostic to the one-line message to print.
int parse_mark_workers(std::string_view value, std::string* diagnostic);

// Parses a TRICOLOR_DEBUG value into `out`; every malformed or unknown item
// appends one line (ending in '\n') to *diagnostics and leaves that setting
// unchanged.
void parse_debug(std::string_view value, config& out, std::string* diagnostics);

// Reads the environment (once; later calls return the same object) and prints
// any diagnostics to stderr.
const config& environment_config();

}  // namespace tricolor::gc
