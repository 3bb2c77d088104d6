// verify=1: checking each concurrent mark against a stop-the-world re-mark.
//
// TRICOLOR_DEBUG=verify=1 adds two stop-the-world traversals of the heap to
// every concurrent cycle, each with its own visited set (the mark bits are
// not touched):
//
//   1. In the mark-start pause, record S: every object reachable from the
//      roots at the snapshot (the set SATB promises to mark; see
//      barriers/write_barrier.hpp).
//   2. In the mark-termination pause, once marking has finished:
//      (a) every object of S must be marked;
//      (b) re-mark from the roots as they are now: every object reached
//          through a gc_root handle or a traced gc_ptr field of a reached
//          object must be marked (the tri-color invariant at the end of
//          marking: no black object points to a white one).
//
// Conservative roots are checked by (a), at the snapshot, where every word
// of the roots was shaded. In (b) a conservative word (stack, register,
// data segment, object under construction) that points to a white object
// outside S is not a failure: a word of a frame pushed after the snapshot
// may be stale (an old spill slot), and no mutator can hold a pointer to an
// object outside S that was not allocated during marking (those are black).
// Objects such a word reaches are not followed.
//
// A failure prints the object (address, type, span, slot), how the check
// reached it (the parent object's address and type, or the root's kind and
// name) and aborts.
#pragma once

#include <cstddef>

namespace tricolor::gc::verifier {

// World stopped, caches flushed, roots shaded: records S.
void record_snapshot();
// World stopped, marking finished, caches flushed: checks (a) and (b).
// Returns the number of objects checked; aborts on a failure.
std::size_t check_mark();

}  // namespace tricolor::gc::verifier
