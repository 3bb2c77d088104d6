// gctrace: one line per cycle on stderr, in the field layout of Go's runtime
// (runtime/extern.go), so people and tools that read Go gctrace read these:
//
//   gc 7 @0.142s 4%: 0.015+2.4+0.021 ms clock, 0.015+0/2.4/0+0.021 ms cpu, 4->4->2 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P
//
//   gc 7          the cycle number
//   @0.142s       seconds since the program started
//   4%            share of the available CPU time used by the collector since start
//   a+b+c clock   wall ms of the mark-start pause (stop the world, flush
//                 caches, shade the roots), of concurrent marking (including
//                 any termination pause that found work left), and of the
//                 mark-termination pause (weak refs, queue the sweep); with
//                 gcstoptheworld=1 all three are one pause, the sweep in c
//   a+x/y/z+c cpu CPU ms of the same phases, marking split into assist /
//                 background / idle work: assist is the CPU of mutators
//                 helping the marker, background the mark workers' within
//                 their 25 % budget plus the collector thread's root scan,
//                 idle the mark workers' on otherwise idle CPUs
//                 (gc/mark_workers.hpp)
//   s->e->l MB    heap_alloc at cycle start -> at mark end -> marked live
//   g MB goal     the heap goal this cycle ran against
//   stacks        bytes of thread stacks scanned
//   globals       bytes of data segments scanned
//   n P           mutator threads registered
//   (forced)      the cycle was started by collect()
//   (minor)       a minor cycle (TRICOLOR_DEBUG=generational=1,
//                 gc/generations.hpp): its live figure counts the old
//                 objects it did not look at, dead or not
//
// gctrace=2 adds, after each such line, one line of sweep and root detail:
//
//   gc 7 detail: 0.004 ms to safepoint, 120 spans swept (3 freed), 51234 objects freed (1 MB), 0 MB released, 2 weak refs cleared, 17 gc_roots, 5 MB in use, 0 termination retries, 0 objects verified, 1 mark workers, 4718592 B at mark end, 5033164 B goal
//
//   to safepoint  longest wait, over the cycle's pauses, from the stop
//                 request until every thread was safe
//   spans swept   spans the sweep visited (freed: returned to the page heap)
//   objects freed dead objects the sweep reclaimed, and their slot bytes
//   released      free pages returned to the OS (madvise) after this sweep
//   weak refs     weak_gc_ptr cells cleared because their target died
//   gc_roots      gc_root handles scanned
//   in use        bytes of spans holding objects after the sweep
//   termination retries  termination pauses that found barrier-buffered work
//                 and restarted the world to mark it
//   verified      objects checked by verify=1 (gc/verifier.hpp), else 0
//   mark workers  threads that scanned objects during the concurrent mark
//                 (gc/mark_workers.hpp)
//   at mark end, goal   the heap at mark end and the goal of the line
//                 above, in bytes: the pacer's accuracy without MB rounding
//
// gcpacertrace=1 prints the pacer's inputs and decision after each cycle:
//
//   pacer: gc 7 live 2 MB, in use 5 MB; GOGC 100% goal 4 MB; limit 64 MB goal 58 MB; next goal 4 MB (GOGC); cons/mark 0.412, runway 0 MB, trigger 3 MB; limit-triggered cycles wait 0.21 ms
//
// cons/mark is the bytes allocated per byte scanned while marking, runway
// and trigger what it makes of the next cycle (gc/pacer.hpp); the last
// clause, present with a memory limit, is the CPU limiter's rule.
//
// Every line is written with one write(2) call, so lines from concurrent
// cycles or other threads' output never interleave within a line.
#pragma once

#include <string>

#include "gc/stats.hpp"

namespace tricolor::gc {

class pacer;

std::string format_gctrace(const cycle_record& record, double gc_cpu_fraction);
std::string format_gctrace_detail(const cycle_record& record);
std::string format_pacer_trace(const cycle_record& record, const pacer& p);

// level 1: the Go-layout line; level 2: and the detail line.
void print_gctrace(const cycle_record& record, double gc_cpu_fraction, int level);
void print_pacer_trace(const cycle_record& record, const pacer& p);

}  // namespace tricolor::gc
