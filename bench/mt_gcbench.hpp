// Multi-threaded GCBench with holes, one algorithm for every memory manager
// (issue 12), written from the published description of Whippet's
// mt-gcbench: each of N threads runs a whole GCBench (bench/gcbench.hpp:
// stretch tree, long-lived tree and array, trees of depth 4..16 built top-down
// and bottom-up), and every tree node is preceded by a "hole": an object of
// power-law size that is dropped at once, so that live nodes are spread
// among garbage as in real heaps instead of packed together.
//
// Hole sizes: the k-th hole of a thread takes 16 << min(ctz(k), 6) bytes,
// so half are 16 bytes, a quarter 32, ... 1/64 and less 1 KiB: P(size >= s)
// falls as 1/s, a power law with exponent 1, and a hole averages about
// 112 bytes (the node itself is 24).
//
// A variant supplies, besides bench/gcbench.hpp's `Heap` policy:
//   Heap::hole(bytes)       allocate `bytes` and drop them (a collector's
//                           garbage; explicit managers free it at once);
//   Heap::thread_start(), Heap::thread_end()
//                           optional, run on each benchmark thread (Boehm's
//                           thread registration).
//
// Usage: mt_gcbench_<variant> [threads]. Prints one line on stdout,
//   mt_gcbench: threads=N wall_ms=X
// and "Failed" on stderr (exit code 1) if a thread's long-lived tree or
// array lost an element.
#pragma once

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "gcbench.hpp"

namespace bench {

inline std::size_t next_hole_bytes() {
  thread_local std::uint64_t count = 0;
  return std::size_t{16} << std::min(std::countr_zero(++count), 6);
}

// The variant's heap with a hole before every node.
template <class Heap>
struct holey_heap : Heap {
  static typename Heap::ptr make(typename Heap::ptr left, typename Heap::ptr right) {
    Heap::hole(next_hole_bytes());
    return Heap::make(std::move(left), std::move(right));
  }
};

// One thread's GCBench, quiet; true if its long-lived data survived intact.
template <class Heap>
bool gcbench_quietly() {
  using namespace gcbench_params;
  using H = holey_heap<Heap>;
  {
    typename H::ptr stretch = make_tree<H>(stretch_tree_depth);
    H::release(stretch);
  }
  typename H::ptr long_lived = H::make(nullptr, nullptr);
  populate<H>(long_lived_tree_depth, long_lived);
  typename H::array array = H::make_array(array_size);
  {
    double* elements = H::elements(array);
    for (int i = 0; i < array_size / 2; ++i) elements[i] = 1.0 / i;
  }
  for (int depth = min_tree_depth; depth <= max_tree_depth; depth += 2) {
    for (int i = 0; i < num_iters(depth); ++i) {
      typename H::ptr temp = H::make(nullptr, nullptr);
      populate<H>(depth, temp);
      H::release(temp);
    }
    for (int i = 0; i < num_iters(depth); ++i) {
      typename H::ptr temp = make_tree<H>(depth);
      H::release(temp);
    }
  }
  bool ok = gcbench_node_count(long_lived) == tree_size(long_lived_tree_depth);
  const double* elements = H::elements(array);
  for (int i = 0; i < array_size / 2; ++i) ok = ok && elements[i] == 1.0 / i;
  H::release(long_lived);
  H::release_array(array);
  return ok;
}

template <class Heap>
int mt_gcbench(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  std::atomic<bool> ok{true};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&ok] {
      if constexpr (requires { Heap::thread_start(); }) Heap::thread_start();
      if (!gcbench_quietly<Heap>()) ok = false;
      if constexpr (requires { Heap::thread_end(); }) Heap::thread_end();
    });
  }
  for (std::thread& w : workers) w.join();
  std::printf("mt_gcbench: threads=%d wall_ms=%lld\n", threads, elapsed_ms(start));
  if (!ok) std::fprintf(stderr, "Failed\n");
  return ok ? 0 : 1;
}

}  // namespace bench
