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
// weights (objects) and weights x sizes (bytes). Each sample also goes on
// the live list until a mark finds its object dead: after_mark(), called by
// the collector after marking and before sweeping with the world stopped
// (gc/collector.cc, both cycles), walks the live list, asks the mark bitmap
// (gc::is_marked) for each sample, and moves every unmarked one to its
// site's freed totals. The walk costs one mark-bit lookup per live sample,
// in the mark-termination pause: about 12 ns each on the 2-core development
// machine (16384 live samples, a 64 MiB live heap at memprofilerate=4096,
// took the pause from 6 us to 0.20-0.32 ms); a 1 GiB live heap at the
// default rate holds about 2000, some 25 us. Sites are never removed (as Go's buckets): the
// profile's memory grows with the number of distinct allocation stacks and
// with the live samples, not with time.
//
// 3. What a profile shows
// -----------------------
// As Go's: the heap as of the last completed mark. A site's allocations
// since that mark are held apart (allocated_since) and join its published
// totals when the next mark completes (lazily: whoever next touches the
// site, under the lock, sees completed_marks moved on). So the in-use
// figures are the sampled live heap that mark found, not that plus the
// garbage allocated since, which would make the sites that allocate the most
// garbage look like the biggest holders. Before the first mark completes,
// everything sampled is shown, as in use.
//
// Invariants
// ----------
//  * A sample's object is allocated from the moment it is recorded until
//    the after_mark that finds it unmarked: slots are freed only by
//    sweeping, which follows after_mark, and an object found marked is
//    checked again at the next mark. Objects allocated while marking are
//    black, so they count as live at that mark.
//  * allocated_since holds allocations made after mark number since_mark
//    completed; when completed_marks has moved past since_mark they precede
//    a completed mark and are folded into allocated (catch_up) before the
//    site is read or freed from.
//  * freed <= allocated, sample by sample: a sample is freed only after its
//    allocation is published.
//
// Thread safety
// -------------
// Mutators record samples concurrently, the collector moves samples out of
// in-use with the world stopped, and write_heap_profile reads. One mutex,
// profile_lock (gc/heap_profile.cc), guards the sites, the live list and
// completed_marks. A mutator holds it only inside a runtime_section (the
// stop signal never stops it there, roots/stop_signal.hpp) and never waits
// for the collector while holding it, so when the world is stopped no
// registered thread holds it and after_mark's lock is uncontended. The
// stack is captured before the lock is taken; write_heap_profile copies
// what it needs under the lock and symbolizes and writes without it.
// sample_allocation must run in a runtime_section as a whole: it runs
// between the fast path's slot pop and the object's header store, where a
// pause must not find the thread.
#pragma once

namespace tricolor::gc::heap_profile {

// The collector's hook, after marking and before sweeping, with the world
// stopped: every sampled object that is not marked is no longer in use.
void after_mark();

}  // namespace tricolor::gc::heap_profile
