// verify=1: checking each concurrent mark against a stop-the-world re-mark.
//
// TRICOLOR_DEBUG=verify=1 adds two stop-the-world traversals of the heap to
// every concurrent cycle, each with its own visited set (the mark bits are
// not touched):
//
//   1. In the mark-start pause, record S: every object reachable from the
//      roots at the snapshot (the set SATB promises to mark; see
//      tricolor/internal/write_barrier.hpp).
//   2. In the mark-termination pause, once marking has finished:
//      (a) every object of S must be marked;
//      (b) re-mark from the roots as they are now: every object reached
//          through a gc_root handle or a traced gc_ptr field of a reached
//          object must be marked (the tri-color invariant at the end of
//          marking: no black object points to a white one);
//      (c) every object reached in (b) is scanned for pointers its trace()
//          does not show the collector: the words of the object that trace()
//          does not visit (all of them when the type has no trace(): noscan)
//          are read, and a word equal to the payload start of another
//          allocated object is reported.
//
// Conservative roots are checked by (a), at the snapshot, where every word
// of the roots was shaded. In (b) a conservative word (stack, register,
// data segment, object under construction) that points to a white object
// outside S is not a failure: a word of a frame pushed after the snapshot
// may be stale (an old spill slot), and no mutator can hold a pointer to an
// object outside S that was not allocated during marking (those are black).
// Objects such a word reaches are not followed.
//
// A failure of (a) or (b) prints the object (address, type, span, slot), how
// the check reached it (the parent object's address and type, or the root's
// kind and name) and aborts.
//
// (c) reports, and does not abort:
//
//   tricolor: verify: object of type X at offset N holds a pointer to a
//   managed object of type Y that its trace() does not visit (K objects this
//   cycle[; the type has no trace(): noscan])
//
// once per (X, N) per process, counting the objects of X found so in the
// first cycle that found it. It catches a struct with a gc_ptr and no trace()
// that the compile-time checks cannot look into (a class with constructors or
// private members; tricolor/internal/type_checks.hpp), a trace() that forgets a member, and
// raw T* members pointing to managed objects. Such a pointer frees its target
// under the program's feet as soon as nothing else keeps the target alive,
// but until then the program runs correctly, and a word the program never
// uses as a pointer can look like one: hence a report, not an abort. False
// positives are kept out by:
//   * only words equal to the start of a payload count (no interior
//     pointers: an integer or a stale word rarely hits one exactly);
//   * a pointer of an object to itself does not count (std::list's sentinel);
//   * only objects reachable at the end of marking are scanned (not the
//     dead ones awaiting or past their destructor, gc/finalizer.hpp);
//   * with verify=1, make_gc clears each new object's whole slot before the
//     constructor runs (tricolor/make_gc.hpp), so padding, uninitialized members
//     and the slot's tail hold zeros, never a previous occupant's pointers.
// Left: an integer that holds an object's address on purpose (an identity,
// a pointer hash: std::hash of a pointer is the address) is reported; a
// pointer to a managed object kept in malloc'd memory an object points to
// (a std::vector<T*> member) is not seen; an untraced interior pointer is
// not reported. The scan reads every word of every reachable object, noscan
// ones included, once per cycle: verify=1 is a debugging mode.
#pragma once

#include <cstddef>

namespace tricolor::gc::verifier {

// World stopped, caches flushed, roots shaded: records S.
void record_snapshot();
// World stopped, marking finished, caches flushed: checks (a) and (b),
// reports (c). Returns the number of objects checked; aborts on a failure of
// (a) or (b).
std::size_t check_mark();

}  // namespace tricolor::gc::verifier
