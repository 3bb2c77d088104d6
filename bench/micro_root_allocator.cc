// What tricolor::root_allocator costs over std::allocator (Google Benchmark,
// same executable, same malloc underneath: both end in ::operator new), and
// today's alternative, a std::vector of gc_root handles:
//
//   vector_push_back/<alloc>       push_back 1000 gc_ptrs into an empty
//                                  std::vector (reallocations included),
//                                  then destroy it; per_op: one element
//   unordered_map_insert_erase/<alloc>  insert one key into a map of 1000
//                                  and erase it (one node allocated, one
//                                  freed); per_op: the pair
//   deque_push_pop/<alloc>         push_back one element and pop_front one
//                                  from a deque of 1000 (a 512-byte chunk
//                                  allocated and freed every 64); per_op: the pair
//   vector_push_back/gc_root       as vector_push_back, elements gc_root<T>
//
// <alloc> is std (std::allocator's ::operator new and delete, under another
// name: std::allocator refuses gc_ptr elements) or root
// (tricolor::root_allocator). The
// collector is idle (pacing off, nothing allocated in the loops): this is the
// registration and destroy-hook cost, not marking.
//
//   build/bench/micro_root_allocator --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include <benchmark/benchmark.h>

#include <deque>
#include <memory>
#include <unordered_map>
#include <vector>

#include "bench/unscanned_allocator.hpp"
#include "tricolor/tricolor.hpp"

namespace {

struct node {
  int value = 0;
};

tricolor::gc_ptr<node> target() {
  static tricolor::gc_ptr<node> object = [] {
    tricolor::set_gc_percent(-1);
    return tricolor::make_gc<node>();
  }();
  return object;
}

using element = tricolor::gc_ptr<node>;
// std::allocator's behaviour: std::allocator itself refuses gc_ptr elements.
template <class T>
using std_alloc = bench::unscanned_allocator<T>;
template <class T>
using root_alloc = tricolor::root_allocator<T>;

template <template <class> class Alloc>
void vector_push_back(benchmark::State& state) {
  element p = target();
  constexpr int n = 1000;
  for (auto _ : state) {
    std::vector<element, Alloc<element>> v;
    for (int i = 0; i < n; ++i) v.push_back(p);
    benchmark::DoNotOptimize(v.data());
  }
  state.counters["per_op"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void vector_push_back_gc_root(benchmark::State& state) {
  element p = target();
  constexpr int n = 1000;
  for (auto _ : state) {
    std::vector<tricolor::gc_root<node>> v;
    for (int i = 0; i < n; ++i) v.push_back(tricolor::gc_root<node>(p));
    benchmark::DoNotOptimize(v.data());
  }
  state.counters["per_op"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n,
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <template <class> class Alloc>
void unordered_map_insert_erase(benchmark::State& state) {
  element p = target();
  std::unordered_map<int, element, std::hash<int>, std::equal_to<int>,
                     Alloc<std::pair<const int, element>>>
      m;
  for (int i = 0; i < 1000; ++i) m.emplace(i, p);
  int key = 1000;
  for (auto _ : state) {
    m.emplace(key, p);
    m.erase(key - 1000);
    ++key;
  }
  state.counters["per_op"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

template <template <class> class Alloc>
void deque_push_pop(benchmark::State& state) {
  element p = target();
  std::deque<element, Alloc<element>> d(1000, p);
  for (auto _ : state) {
    d.push_back(p);
    d.pop_front();
  }
  benchmark::DoNotOptimize(d.size());
  state.counters["per_op"] = benchmark::Counter(
      static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

BENCHMARK(vector_push_back<std_alloc>)->Name("vector_push_back/std");
BENCHMARK(vector_push_back<root_alloc>)->Name("vector_push_back/root");
BENCHMARK(vector_push_back_gc_root)->Name("vector_push_back/gc_root");
BENCHMARK(unordered_map_insert_erase<std_alloc>)->Name("unordered_map_insert_erase/std");
BENCHMARK(unordered_map_insert_erase<root_alloc>)->Name("unordered_map_insert_erase/root");
BENCHMARK(deque_push_pop<std_alloc>)->Name("deque_push_pop/std");
BENCHMARK(deque_push_pop<root_alloc>)->Name("deque_push_pop/root");

}  // namespace

BENCHMARK_MAIN();
