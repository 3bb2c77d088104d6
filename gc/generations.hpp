// Generations by sticky mark bits (TRICOLOR_DEBUG=generational=1; off by
// default while it is measured).
//
// A program like binary-trees keeps a large structure alive for its whole
// run and allocates short-lived ones beside it; a full mark retraces the
// long-lived one every cycle. With generations, the sweep keeps the marks of
// the objects it keeps (heap/sweeper.hpp, sticky_marks): after a cycle the
// marked objects are the old generation, and objects allocated since are
// young (unmarked). A minor cycle marks without clearing the marks first,
// so it scans young objects only, plus the old objects that may point at
// young ones:
//   (a) old objects in a dirty card (tricolor/internal/card_table.hpp): a
//       gc_ptr store into them since the last card pass, or a constructor
//       that initialized their fields across a mark phase. The card pass
//       (scan_dirty_cards) clears each dirty card, then pushes the old
//       objects that overlap it for scanning (their mark bit stays set);
//   (b) old objects under construction (header null) that a root word of
//       the mark-start snapshot points at (marker::trace_constructing_roots):
//       a constructor still running has dirtied no card yet, and the
//       constructing thread's stack holds the object's address. The roots
//       are judged before the card pass: an object whose header the root
//       check reads as published finished its constructor, and dirtied
//       its cards (remember_constructed) before publishing it, so the card
//       pass, which comes after, sees those cards dirty.
// A major cycle clears every mark bit first (choose_minor, before its
// mark-start pause) and marks everything, as without generations.
//
// Aging. An object is promoted (its mark kept) only from its second
// surviving cycle on: a short-lived structure that a cycle happens to find
// live is then freed by the next one, instead of staying until a major.
// The sweep keeps a second bitmap, aged (span::aged_bits): marked := marked
// & aged, aged := marked. Between cycles an object is old (marked, aged), a
// young survivor (aged only) or new (neither). A survivor is young: it is
// traced when reachable, and promoted by the next cycle that reaches it.
// Because a survivor is not marked, an aged object (old, or promoted by
// this sweep) that points at an object that is not aged (which this sweep
// makes a young survivor) must have a dirty card afterwards, or the next
// minor would not see the edge: the marker dirties the field's card when it
// scans such an edge (marker::note_edge; an object is scanned by every
// cycle that reaches it while it is young, and by a minor's card pass
// while old). A field written after its object was scanned goes through the
// barrier, which dirties the card itself.
//
// Why a minor is sound. Claim: at a minor's mark start, every old object
// X that points at a young object Y has a dirty card over that field, or is
// under construction. At the end of the previous marking every reachable
// object was marked and no marked object pointed at an unmarked one (the
// write barrier's argument; values stored while marking are marked too),
// and each aged object scanned with an edge to an object that was not aged
// had that field's card dirtied (Aging); the sweep then kept marked exactly
// the marked aged objects, so an old object's edges lead to old objects or
// through dirty cards. Since then, a young pointer got into an old object
// only by a barriered store (card dirtied) or by its constructor
// (remember_constructed, or (b) while it runs). The card pass scans X after
// clearing the card; a field changed since the snapshot was changed by a
// barriered store, which shaded the snapshot value (SATB), so the
// snapshot's edge X -> Y is traced either way. With every old-to-young edge
// of the snapshot traced and every old object marked, the write barrier's
// argument (every object reachable from the snapshot is marked) holds for
// the young objects too. A card cleared by the pass and dirtied again during
// marking stays dirty for the next minor.
//
// Which marked slots are old. A minor's card pass runs after the mark-start
// pause, beside allocation. Slots that a cache refill made black during
// this mark are marked but may be free, with a previous occupant's stale
// header: they must not be scanned. A span records its last black refill
// (span::black_refill, black_free); allocated_before_marking() leaves out
// that word's refilled slots. Earlier refilled words of the span were used
// up by the cursor before the refill recorded, so their objects have their
// header stored (null or a descriptor), which the release-acquire pair on
// black_refill makes visible to the pass.
//
// What a minor does not do. Old objects that died stay allocated (and
// counted as live) until the next major: a major runs when live bytes reach
// twice those the last major found, after 16 minors in a row, for collect(), for an allocation that
// found the heap full, near the memory limit, and always with leak
// tracking, whose retained sizes need a full mark. Weak references to dead
// old objects and their destructors wait for that major too, the heap
// profile counts such objects in use until then, and expect_dead judges an
// object only in majors (gc/leak_tracker.cc: a minor finds every old object
// marked).
#pragma once

#include <cstdint>

#include "gc/collector.hpp"
#include "heap/span.hpp"

namespace tricolor::gc {

class marker;

namespace generations {

// Turns generations on (TRICOLOR_DEBUG=generational=1), before the first
// allocation: reserves the card table, makes the sweep keep marks.
void enable();
bool enabled();

// Before a cycle, on the collector thread with the previous sweep finished:
// true if it may be a minor. If not, and marks were kept, clears them.
bool choose_minor(cycle_trigger trigger);

// In the mark-start and mark-termination pauses of every cycle.
void begin_marking(bool minor);
void end_marking();
// True from the mark-start pause of a minor cycle to the start of the next
// cycle: its marks say "reachable or old", not "reachable".
bool minor_marking();

// A minor's card pass: pushes the old objects of every dirty card onto `m`.
// Returns the number of cards it found dirty.
std::uint64_t scan_dirty_cards(marker& m);

// True if slot `index` of `s` is marked and is no slot a cache refill made
// black in the current mark (see above): an old object.
bool allocated_before_marking(const heap::span* s, std::uint32_t index);

// After the sweep: the cycle was a minor or a major, and the live bytes
// its sweep counted.
void end_cycle(bool minor, std::uint64_t live_bytes);

}  // namespace generations
}  // namespace tricolor::gc
