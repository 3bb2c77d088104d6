// Root ranges: unmanaged memory (malloc, operator new) scanned as a root.
//
// Three ordinary C++ shapes keep gc_ptrs in memory the collector does not
// own: a std:: container's buffer (tricolor::root_allocator,
// tricolor/root_allocator.hpp), a coroutine frame (tricolor::scanned_coroutine_frame,
// tricolor/coroutine.hpp) and a thrown exception object (allocated by the C++
// runtime with __cxa_allocate_exception, interposed in
// roots/exception_roots.cc). Each such block is registered here while it
// exists, as [begin, end), and is scanned conservatively (every word that
// points into an allocated object keeps it alive), as a stack is.
//
// Two kinds of range
// ------------------
//     kind       scanned                    who writes its words
//     ----       -------                    --------------------
//     scanned    after the mark-start       std:: containers, through the
//                pause, concurrently        allocator (assignments of gc_ptr
//                (like gc_root handles)     elements are barriered; element
//                                           destruction calls the allocator's
//                                           destroy, which shades)
//     snapshot   copied in the mark-start   compiler-generated code (frames),
//                pause (like a stack)       the C++ runtime (exceptions)
//
// Why two. The SATB barrier (tricolor/internal/write_barrier.hpp) keeps a root that is
// scanned after the snapshot sound only if every word of it that holds a
// snapshot pointer is either still there when the marker reads it, or shaded
// when it leaves. A container keeps that promise through its allocator: a
// gc_ptr element overwritten by assignment goes through the gc_ptr barrier;
// an element destroyed (pop_back, erase, clear, the old buffer of a
// reallocation) goes through root_allocator::destroy, which shades its words
// while marking; a buffer given back goes through deallocate (below). A
// coroutine frame does not: the compiler reuses a frame slot of a dead local
// for a later one (a gc_ptr's destructor is trivial, no barrier), and a
// generator's consumer may hold the dead local's value on its own stack,
// which was snapshot before it got it. So frames and exception objects are
// copied in the pause, as a piece of a thread's stack: their values at the
// snapshot are exactly the ones shaded, whatever writes them afterwards. The
// price is a pause that grows with their bytes (a few hundred bytes per
// suspended coroutine, a few in-flight exceptions); containers, whose
// buffers may be megabytes, stay out of the pause.
//
// The protocol of a scanned range
// -------------------------------
//   register     links the block; while marking it is stamped "scanned this
//                cycle" at once: it holds only pointers the program could
//                reach after the snapshot (objects of the snapshot, or
//                allocated black), like a stack frame pushed during marking.
//   mark start   (pause) the epoch is bumped: every range registered before
//                is unscanned for this cycle.
//   marker       (collector thread, after the pause) walks each stripe's
//                list; scans each unscanned range in chunks of 64 KiB, holding
//                the stripe's lock for one chunk at a time; stamps it when
//                its last chunk is scanned. The stripe's cursor (range and
//                offset) survives between chunks.
//   unregister   (deallocate) under the stripe's lock: unlinks the range, and
//                moves the cursor past it if the marker stood on it. Then, if
//                marking and the range was not stamped, shades every word of
//                it (conservatively) before the memory goes back to malloc:
//                a buffer freed or abandoned before the marker read it (the
//                old buffer of a std::vector reallocation, a node of an
//                unordered_map erase) loses nothing.
// Soundness, with the write barrier's claim (every object reachable at the
// snapshot is marked when marking ends): take a word w of a scanned range at
// the snapshot. Either the marker reads it (w shaded), or before that it is
// overwritten by a gc_ptr assignment (the barrier shades w), destroyed as an
// element (destroy shades w), or its range unregistered (shaded). Words
// stored after the snapshot need nothing (SATB). Raw T* words are kept alive
// only if nothing overwrites them during marking: hold gc_ptr<T>, not T*, in
// a root_allocator container.
//
// Locks. Ranges are spread over 64 stripes by address; each stripe's lock
// (a spin lock that yields; roots/root_ranges.cc) guards its lists, its cursor and the scanned stamps of its ranges, and is
// held by the marker while it reads one chunk of a range of the stripe, so a
// range is never freed while it is read. Registration and unregistration run
// inside a runtime_section (roots/thread_registry.hpp): the stop signal does
// not stop a thread there, and a mutex wait there does not make it SAFE, so
// no thread is ever stopped for a pause holding or waiting for a stripe lock.
// The collector thread takes them to scan (it requests no pause while it
// holds one, and scanning waits for nothing else), and in the mark-start
// pause to copy the snapshot ranges (no stopped thread holds one then). A
// thread not registered with the collector (one throwing before the library
// is loaded) takes a stripe lock outside any runtime_section; it is never
// stopped, so at worst the pause waits for its short critical section.
//
// Cost. Register and unregister: an uncontended lock and an O(1) link or
// unlink of an intrusive header in front of the block (48 bytes; for
// exceptions, behind the object, in the same block). root_allocator::destroy
// adds one relaxed load, a predicted branch and the zeroing of the element
// (unused capacity then retains nothing). Measured in
// bench/micro_root_allocator.cc: an unordered_map insert+erase 26 ns against
// 10 ns with std::allocator. The marker reads the scanned ranges on the
// collector thread before the mark workers are released (as the gc_root
// handles): megabytes of container buffers delay the workers' start by the
// time it takes to judge their words.
#pragma once

#include <cstddef>
#include <cstdint>

#include "roots/root_set.hpp"

namespace tricolor::roots {

struct block_site;

enum class range_kind : std::uint8_t { scanned, frame, exception };
inline constexpr int range_kinds = 3;

// In front of (or, for exceptions, behind) each registered block.
struct alignas(16) range_header {
  range_header* prev;
  range_header* next;
  std::uintptr_t begin;  // the words scanned: [begin, end)
  std::uintptr_t end;
  std::uint32_t scanned_epoch;  // under the stripe's lock
  range_kind kind;
  // A root_allocator block's allocation site, with leak tracking on
  // (roots/block_sites.hpp); else null.
  const block_site* site;
};
static_assert(sizeof(range_header) == 48);

// Links and unlinks a range (see the protocol above). `header` must stay
// valid until unregister_range returns.
void register_range(range_header* header, const void* begin, std::size_t bytes,
                    range_kind kind, const block_site* site = nullptr) noexcept;
void unregister_range(range_header* header) noexcept;

// The exception object registered at `begin`, unlinked; nullptr if none.
range_header* unregister_exception(const void* begin) noexcept;

// Shades every word of [begin, begin + bytes) that points into an allocated
// object (through the calling thread's barrier buffer). While marking only.
void shade_words(const void* begin, std::size_t bytes) noexcept;

// With the world stopped (roots/root_set.cc: enumerate_roots): starts a new
// scan epoch, and visits every snapshot range (frames, exceptions); with
// `scanned`, the scanned ranges too, without touching their stamps (the
// stop-the-world collector and the verifier). Returns the bytes visited.
std::uint64_t visit_snapshot_ranges(root_visitor& visitor, bool scanned);

// After the mark-start pause, on the collector thread: the marker's walk
// over the scanned ranges (see the protocol above). Returns the bytes read.
std::uint64_t visit_root_ranges(root_visitor& visitor);

// With the world running, outside any mark (the leak reports' path search):
// every range of every kind, each read under its stripe's lock (so none is
// freed meanwhile), stamps and epoch untouched.
void visit_every_range(root_visitor& visitor);

// For tests: ranges registered now, of one kind.
std::size_t registered_ranges(range_kind kind) noexcept;

}  // namespace tricolor::roots
