// Micro-benchmarks (Google Benchmark) of gc_root, the named precise root
// (tricolor/gc_root.hpp, roots/handles.cc), issue 10 point 9:
//
//   gc_root/create_destroy      construct a gc_root on a live object and
//                               destroy it (target: <= 5 ns per pair)
//   gc_root/copy                copy-construct a gc_root from another and
//                               destroy the copy
//   gc_root/assign              assign a gc_ptr to an existing gc_root
//   gc_root/cross_thread        this thread creates roots in std::vectors of
//                               256 and hands them through a mutex-guarded
//                               std::deque to another thread, which destroys
//                               them (per root, both threads' work; on 2
//                               cores the two threads run in parallel)
//   cross_thread/gc_ptr         the same hand-off with gc_ptrs: the cost of
//                               the vectors and the queue alone
//   lru/gc_root, lru/gc_ptr     an LRU cache of 10 000 entries: a
//                               std::unordered_map<int, entry> where entry
//                               holds the value (a gc_root<node> or a
//                               gc_ptr<node>) and its place in a std::list of
//                               keys by recency; each operation is a get or a
//                               put (half each) of a key drawn uniformly from
//                               20 000, a put allocating a new node and
//                               evicting the least recently used entry when
//                               full. The gc_ptr map is NOT safe (a
//                               std::unordered_map's memory is not scanned:
//                               the collector frees nodes still in it); it is
//                               only the speed anchor, and neither variant
//                               dereferences a value so that it stays
//                               harmless.
//
// The collector runs as usual (GOGC 100); the LRU's puts allocate, so its
// figures include their share of collections.
//
//   build/bench/micro_gc_root --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/unscanned_allocator.hpp"
#include "tricolor/tricolor.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;

struct node {
  std::uint64_t value;
};

void create_destroy(benchmark::State& state) {
  gc_root<node> keep(make_gc<node>(node{1}), "bench.keep");
  gc_ptr<node> target = keep.get();
  for (auto _ : state) {
    gc_root<node> root(target, "bench.create_destroy");
    benchmark::DoNotOptimize(&root);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(create_destroy)->Name("gc_root/create_destroy");

void copy(benchmark::State& state) {
  gc_root<node> original(make_gc<node>(node{1}), "bench.original");
  for (auto _ : state) {
    gc_root<node> copied(original);
    benchmark::DoNotOptimize(&copied);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(copy)->Name("gc_root/copy");

void assign(benchmark::State& state) {
  gc_root<node> a(make_gc<node>(node{1}), "bench.a");
  gc_root<node> b(make_gc<node>(node{2}), "bench.b");
  gc_ptr<node> targets[2] = {a.get(), b.get()};
  unsigned i = 0;
  for (auto _ : state) {
    a = targets[++i & 1];
    benchmark::DoNotOptimize(&a);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(assign)->Name("gc_root/assign");

// The vectors of the hand-off: std::allocator's behaviour under another name
// (std::allocator refuses gc_ptr elements; the gc_ptr variant is the
// unsafe anchor described at the top).
template <class T>
using holder_allocator = bench::unscanned_allocator<T>;

// Creates on this thread, destroys on a consumer thread.
template <class Holder>
void cross_thread(benchmark::State& state) {
  constexpr std::size_t batch = 256;
  gc_root<node> keep(make_gc<node>(node{1}), "bench.keep");
  gc_ptr<node> target = keep.get();
  std::mutex lock;
  std::condition_variable changed;
  std::deque<std::vector<Holder, holder_allocator<Holder>>> queue;
  bool done = false;
  std::thread consumer([&] {
    std::unique_lock guard(lock);
    for (;;) {
      changed.wait(guard, [&] { return done || !queue.empty(); });
      if (queue.empty()) return;
      std::vector<Holder, holder_allocator<Holder>> taken = std::move(queue.front());
      queue.pop_front();
      guard.unlock();
      taken.clear();  // the roots are destroyed here, on the consumer
      guard.lock();
    }
  });
  std::vector<Holder, holder_allocator<Holder>> filling;
  filling.reserve(batch);
  for (auto _ : state) {
    filling.push_back(Holder(target));
    if (filling.size() == batch) {
      std::vector<Holder, holder_allocator<Holder>> full = std::move(filling);
      filling = std::vector<Holder, holder_allocator<Holder>>();
      filling.reserve(batch);
      std::lock_guard guard(lock);
      queue.push_back(std::move(full));
      changed.notify_one();
    }
  }
  {
    std::lock_guard guard(lock);
    done = true;
    changed.notify_one();
  }
  consumer.join();  // inside the timed region: every root destroyed
  filling.clear();
}
BENCHMARK(cross_thread<gc_root<node>>)->Name("gc_root/cross_thread");
BENCHMARK(cross_thread<gc_ptr<node>>)->Name("cross_thread/gc_ptr");

template <class Holder>
class lru_cache {
 public:
  explicit lru_cache(std::size_t capacity) : capacity_(capacity) {
    index_.reserve(capacity * 2);
  }

  gc_ptr<node> get(int key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    recency_.splice(recency_.begin(), recency_, it->second.place);
    return it->second.value;
  }

  void put(int key, gc_ptr<node> value) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      it->second.value = value;
      recency_.splice(recency_.begin(), recency_, it->second.place);
      return;
    }
    if (index_.size() == capacity_) {
      index_.erase(recency_.back());
      recency_.pop_back();
    }
    recency_.push_front(key);
    index_.emplace(key, entry{Holder(value), recency_.begin()});
  }

 private:
  struct entry {
    Holder value;
    std::list<int>::iterator place;
  };
  std::size_t capacity_;
  std::list<int> recency_;
  std::unordered_map<int, entry> index_;
};

template <class Holder>
void lru(benchmark::State& state) {
  constexpr int capacity = 10000, keys = 2 * capacity;
  lru_cache<Holder> cache(capacity);
  std::uint64_t rng = 88172645463325252ull;
  auto random = [&] {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
  };
  for (int k = 0; k < capacity; ++k) cache.put(k, make_gc<node>(node{std::uint64_t(k)}));
  for (auto _ : state) {
    std::uint64_t r = random();
    int key = static_cast<int>((r >> 1) % keys);
    if (r & 1) {
      benchmark::DoNotOptimize(cache.get(key));
    } else {
      cache.put(key, make_gc<node>(node{r}));
    }
  }
}
BENCHMARK(lru<gc_root<node>>)->Name("lru/gc_root");
BENCHMARK(lru<gc_ptr<node>>)->Name("lru/gc_ptr");

}  // namespace

BENCHMARK_MAIN();
