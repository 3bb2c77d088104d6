// The heap profile: sampled allocations, their call stacks, and which of them
// are still in use (Go's memory profile, runtime/mprof.go, on tricolor's
// heap). The public call is tricolor::write_heap_profile
// (tricolor/heap_profile.hpp); the pprof encoding is gc/pprof_writer.hpp.
//
// 1. Sampling
// -----------
// Each thread cache counts down the bytes to its next sample
// (tricolor/internal/thread_cache.hpp: one subtraction and one branch per
// allocation, on the fast and the slow path alike). The distance is drawn
// from an exponential distribution with mean N, TRICOLOR_DEBUG=
// memprofilerate (default 512 KiB; 0: the distance is INT64_MAX, never
// reached). Sample points then form a Poisson process over the bytes a
// thread allocates, so an allocation of s bytes (its slot: header and size
// class included; a large object's pages) is sampled with probability
//
//     p(s) = 1 - exp(-s/N)
//
// whatever came before it, and a sample stands for w(s) = 1/p(s)
// allocations of s bytes (Go's scaleHeapSample). Summed weights estimate
// the objects and bytes allocated without bias; with n samples the relative
// error is about 1/sqrt(n). A thread's first allocation draws its first
// distance (sample_random_state is 0 until then) and is counted against it.
//
// A sample records (sample_allocation, out of line, in a runtime_section):
//   * its call stack: up to 64 return addresses from backtrace(), kept as
//     call-site addresses (return address - 1, inside the call
//     instruction). The library's own frames above the caller of make_gc
//     (and whatever backtrace() adds above them, such as a sanitizer's
//     interceptor) are dropped when the profile is written, by symbol name
//     (they are in namespace tricolor), since how many there are depends on
//     inlining;
//   * the slot's address, disguised (bitwise complement) so that the record
//     could never keep the object alive were it ever scanned conservatively;
//   * the slot's size and the weight w(s).
//
// 2. Sites and in-use accounting
// ------------------------------
// Samples with the same stack share an allocation_site, which sums their
// weights (objects) and weights x sizes (bytes). The sample itself goes on
// its span's chain (heap::span::samples, Go's profile "special" record)
// until the sweep that frees its object: sweeping a span whose chain is not
// empty (heap/sweeper.cc, before it touches the bitmaps) calls
// sweep_samples, which asks the span's mark bits about each sample of the
// chain and moves every unmarked one to its site's freed totals. Spans
// without samples, nearly all of them, pay one load of the chain's head.
// The mark-termination pause does only after_mark(): one increment under
// an uncontended lock, whatever the number of live samples. (A 1 GiB live
// heap at the default rate holds about 2,100 of them, a 64 MiB one at
// memprofilerate=4096 about 17,000. The walk of them that after_mark made
// in the pause until this design took mark termination to 210 and 170 us
// on the 2-core development machine; without it, 9 and 7 us, as with
// sampling off: bench/README.md, "Heap profiles on by default".) The sweep
// pays the profile lock once per span with samples and a mark-bit load per
// sample, about 18 ns a sample, concurrently with the mutators.
//
// Why the sweep and not a walk of the samples after the pause: the
// mark bits a concurrent walk would read are cleared, and their slots
// reused, by whichever thread sweeps the span, and allocating threads
// start sweeping the moment the pause ends (take_span, lazy sweeping). A
// walk would have to finish before the first span is swept, that is, in
// the pause. The span's sweeper is the one reader that provably sees the
// bits of the mark just completed (heap/sweeper.hpp: mark bits are read
// and written only by the span's one sweeper while it is unswept).
//
// Sites are never removed (as Go's buckets): the profile's memory grows
// with the number of distinct allocation stacks and with the most samples
// ever live at once (one 40-byte node each, in blocks that are kept and
// reused), not with time.
//
// 3. What a profile shows
// -----------------------
// As Go's: a consistent snapshot, the heap as of the last mark whose sweep
// has finished (published at the end of that sweep: after collect()
// returns, the mark of that collection). Snapshot k is: every sample
// allocated before mark k completed, less those that marks 1..k found
// dead. Events are filed under the snapshot they belong to, with
// M = marks completed so far (after_mark counts them):
//
//     allocation (record)         -> snapshot M + 1 (it precedes mark M + 1)
//     free (sweep_samples)        -> snapshot M     (the sweep of mark M)
//     end of the sweep of mark M  -> snapshot M published (after_sweep)
//
// Each site holds its published totals (allocated, freed: snapshots up to
// `published`) and the events of the two snapshots after it (pending),
// folded in lazily: whoever next touches the site, under the lock, sees the
// published snapshot moved on (catch_up). So the in-use figures are the
// sampled live heap that mark found, not that plus the garbage allocated
// since, which would make the sites that allocate the most garbage look
// like the biggest holders, nor a mix of two marks while a sweep is half
// done. During the concurrent sweep of mark M the profile still shows mark
// M - 1 (the walk in the pause that this replaced showed mark M from the
// end of that pause; Go shows it later still, from the next mark
// termination or the end of runtime.GC). Before the first sweep finishes,
// everything sampled is shown, as in use.
//
// Invariants
// ----------
//  * A sample's object is allocated from the moment it is recorded until
//    the sweep that finds it unmarked, and the sample is on its span's
//    chain throughout: slots are freed only by sweeping, and
//    sweep_samples runs on the span before the sweep frees its slots (or
//    makes the span free: a span's chain is empty whenever it is free).
//    Objects allocated while marking are black, so they count as live at
//    that mark. An unmarked object with a destructor leaves in-use at that
//    sweep, though its slot is freed by a later one.
//  * record() never meets the sweep of its span: the sampled slot comes
//    from a thread cache's span or a new large span (never an unswept
//    one), and record() runs in a runtime_section, so no pause (which
//    queues spans for sweeping) separates the slot's allocation from its
//    sample's insertion.
//  * published is M - 1 or M: the collector thread, the only one that
//    counts marks and finishes sweeps, publishes each mark's snapshot
//    before the next mark starts. So an allocation's snapshot (M + 1) and
//    a free's (M, and only while the sweep of M runs, when published is
//    M - 1) are always published + 1 or published + 2: two pending
//    entries, indexed by snapshot % 2, never collide.
//  * freed <= allocated, sample by sample: a sample is freed in a snapshot
//    no earlier than the one of its allocation.
//
// Thread safety
// -------------
// Mutators record samples concurrently, sweepers (the collector thread and
// allocating threads) move samples out of in-use, and write_heap_profile
// reads. One mutex, profile_lock (gc/heap_profile.cc), guards the sites,
// the spans' sample chains and the mark and snapshot counters. A mutator
// holds it only inside a runtime_section (record and write_heap_profile
// take one; a mutator sweeps only inside allocate_slow's), so the stop
// signal never stops a holder, and no holder waits for the collector:
// when the world is stopped no registered thread holds it and after_mark's
// lock is uncontended. The stack is captured before the lock is taken;
// write_heap_profile copies what it needs under the lock and symbolizes
// and writes without it.
// sample_allocation must run in a runtime_section as a whole: it runs
// between the fast path's slot pop and the object's header store, where a
// pause must not find the thread.
#pragma once

#include <cstdint>
#include <vector>

namespace tricolor::heap {
struct span;
}

namespace tricolor::gc::heap_profile {

// The collector's hook in the mark-termination pause (both cycles), after
// marking and before the sweep is queued: one more mark completed. O(1).
void after_mark();

// The sweeper's hook, for a span whose sample chain is not empty, before
// the sweep changes its bitmaps: the span's sampled objects that the mark
// left unmarked are no longer in use (filed under that mark's snapshot).
void sweep_samples(heap::span& s);

// The sweeper's hook when every span of the last mark's sweep has been
// swept (heap::finish_sweep, collector thread): that mark's snapshot is
// published.
void after_sweep();

// For the leak reports (gc/leak_path.hpp): if the object in slot `index` of
// span `s` was sampled, its allocation stack (call-site addresses,
// innermost first) and the bytes the sample stands for (weight x slot
// size). The collector thread only (it takes the profile lock outside a
// runtime_section); `s` must be in use and the slot allocated (no sweep
// runs meanwhile, as during the path search).
bool sampled_allocation(heap::span& s, std::uint32_t index, std::vector<std::uintptr_t>& stack,
                        double& bytes);

}  // namespace tricolor::gc::heap_profile
