// gctrace: one line per cycle on stderr, in the field layout of Go's runtime
// (runtime/extern.go), so people and tools that read Go gctrace read these:
//
//   gc 7 @0.142s 4%: 0.015+2.4+0.021 ms clock, 0.015+0/2.4/0+0.021 ms cpu, 4->4->2 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P
//
//   gc 7          the cycle number
//   @0.142s       seconds since the program started
//   4%            share of the available CPU time used by the collector since start
//   a+b+c clock   wall ms of sweep termination (stop the world, flush caches),
//                 marking, and mark termination (weak refs, and in this
//                 stop-the-world collector the sweep too)
//   a+x/y/z+c cpu CPU ms of the same phases, marking split into assist /
//                 background / idle work (the stop-the-world collector marks
//                 on the collecting thread only: background)
//   s->e->l MB    heap_alloc at cycle start -> at mark end -> marked live
//   g MB goal     the heap goal this cycle ran against
//   stacks        bytes of thread stacks scanned
//   globals       bytes of data segments scanned
//   n P           mutator threads registered
//   (forced)      the cycle was started by collect()
//
// Written with one write(2) call, so lines from concurrent cycles or other
// threads' output never interleave within a line.
#pragma once

#include <string>

#include "gc/stats.hpp"

namespace tricolor::gc {

std::string format_gctrace(const cycle_record& record, double gc_cpu_fraction);
void print_gctrace(const cycle_record& record, double gc_cpu_fraction);

}  // namespace tricolor::gc
