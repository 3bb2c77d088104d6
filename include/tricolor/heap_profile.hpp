// Heap profiles: sampled allocation sites in pprof's format (Go's
// runtime/pprof heap profile for tricolor's heap).
//
//     std::ofstream out("heap.pb.gz", std::ios::binary);
//     tricolor::collect();                // optional: the state of now
//     tricolor::write_heap_profile(out);
//
//     $ go tool pprof -top heap.pb.gz     # or -http=:8080, -sample_index=...
//
// make_gc samples one allocation per TRICOLOR_DEBUG=memprofilerate=N bytes
// on average (default 524288, 512 KiB, as Go; 0 turns sampling off) and
// records its call stack. The profile has Go's four sample types:
// alloc_objects, alloc_space (every sampled allocation, scaled to an
// estimate of all allocations), inuse_objects, inuse_space (those not yet
// found dead by the collector; the default view). Sizes are those of the
// heap's slots (object, 8-byte header and size-class rounding; a large
// object's whole pages), as read_stats() counts the heap.
//
// As in Go, the profile shows the heap as of the mark of the last completed
// cycle (one whose sweep has finished; while a cycle sweeps, the one
// before): allocations since that mark appear after the next cycle, so a
// site that only makes garbage does not look in use. Before the first
// cycle every sampled allocation is shown as in use. Call collect() first
// for the heap of now.
//
// Cost: one subtraction and branch per allocation, a call stack recorded
// per sample (1.3-5 us); the collector's share is in its concurrent sweep,
// none in its pauses.
//
// Function names come from the program's own symbol tables, so the profile
// reads without the binary (functions in a stripped module show as
// addresses). Frames of the library's own functions (namespace tricolor) at
// the top of a stack are left out: the top frame is the function that
// called make_gc.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <iosfwd>

namespace tricolor {

// Writes the heap profile to `out` as a gzip-compressed pprof profile.proto
// (github.com/google/pprof/proto/profile.proto). May be called from any
// thread at any time; it copies the samples under a short lock and reads
// symbols and writes without it. A write error sets the stream's badbit.
void write_heap_profile(std::ostream& out);

}  // namespace tricolor
