// mark_tricolor: what marking a large live heap costs, cycle by cycle, with
// nothing else running: the figure leak tracking must not raise by more
// than 10 % (issue 11; TRICOLOR_DEBUG=leakreport=1 turns it on).
//
//     mark_tricolor [--live MIB] [--cycles N]
//
// Builds a live heap of about MIB MiB (default 1024) held from a handful of
// roots, as leak reports see a program: a global vector of binary trees of
// depth 14 (2 pointers and a payload a node), a gc_root'ed vector of
// pointer arrays each holding 4096 small leaves, and a local (stack-held)
// list of noscan 64 KiB buffers; then runs N (default 10) forced cycles
// and prints the median of each cycle's marking: wall clock from mark start
// to mark termination, and the CPU the mark workers, assists and collector
// thread spent marking (gctrace's assist + background + idle), plus the
// pauses. One line, "mark_tricolor: live=... mark_ms=... mark_cpu_ms=...".
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tricolor/tricolor.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::make_gc;
using tricolor::make_gc_array;

struct node {
  gc_ptr<node> left, right;
  std::uint64_t payload;
  void trace(tricolor::tracer& t) const { t(left, right); }
};

gc_ptr<node> build_tree(int depth) {
  if (depth == 0) return make_gc<node>(nullptr, nullptr, 1);
  return make_gc<node>(build_tree(depth - 1), build_tree(depth - 1), static_cast<std::uint64_t>(depth));
}

tricolor::gc_vector<gc_ptr<node>> trees;  // a global root

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t live_mib = 1024;
  int cycles = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--live") live_mib = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--cycles") cycles = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: %s [--live MIB] [--cycles N]\n", argv[0]);
      return 2;
    }
  }
  const std::size_t live = live_mib << 20;
  // 50 % trees (a depth-14 tree: 32767 nodes of a 32-byte slot, 1 MiB),
  // 30 % pointer arrays of leaves, 20 % noscan buffers.
  for (std::size_t bytes = 0; bytes < live / 2; bytes += 32767 * 32) trees.push_back(build_tree(14));
  tricolor::gc_root<tricolor::gc_vector<gc_ptr<gc_array<gc_ptr<node>>>>> arrays(
      make_gc<tricolor::gc_vector<gc_ptr<gc_array<gc_ptr<node>>>>>(), "leaf arrays");
  for (std::size_t bytes = 0; bytes < live * 3 / 10; bytes += 4096 * (8 + 32)) {
    auto a = make_gc_array<gc_ptr<node>>(4096);
    for (auto& leaf : *a) leaf = make_gc<node>(nullptr, nullptr, 7);
    arrays->push_back(a);
  }
  tricolor::gc_vector<gc_ptr<gc_array<char>>> buffers;  // on the stack
  for (std::size_t bytes = 0; bytes < live / 5; bytes += 65536)
    buffers.push_back(make_gc_array<char>(65536));

  tricolor::collect();  // the heap settles: sweeps done, goal set
  std::vector<double> mark_ms, mark_cpu_ms, pause_ms;
  tricolor::gc_stats s{};
  for (int c = 0; c < cycles; ++c) {
    tricolor::collect();
    s = tricolor::read_stats();
    const tricolor::gc_cycle_stats& last = s.last_cycle;
    mark_ms.push_back(static_cast<double>(last.mark_ns) / 1e6);
    mark_cpu_ms.push_back(static_cast<double>(last.assist_cpu_ns + last.background_cpu_ns +
                                              last.idle_cpu_ns) / 1e6);
    pause_ms.push_back(static_cast<double>(last.mark_start_ns + last.mark_termination_ns) / 1e6);
  }
  const char* debug = std::getenv("TRICOLOR_DEBUG");
  std::printf("mark_tricolor: TRICOLOR_DEBUG=%s live=%.0fMiB objects=%llu cycles=%d "
              "mark_ms=%.1f mark_cpu_ms=%.1f pause_ms=%.2f (medians)\n",
              debug ? debug : "", static_cast<double>(s.live_bytes) / 1048576.0,
              static_cast<unsigned long long>(s.live_objects), cycles, median(mark_ms),
              median(mark_cpu_ms), median(pause_ms));
  return trees.size() > 0 && buffers.size() > 0 ? 0 : 1;
}
