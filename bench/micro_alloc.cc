// Micro-benchmarks (Google Benchmark) of tricolor's hot paths, each beside the
// anchor SPEC §4 judges it against:
//
//   alloc_per_op/<allocator>/<bytes>  allocate one object of <bytes> (16, 24,
//                                     32, 64) and drop it: freed at once
//                                     (mimalloc, glibc) or left to the
//                                     collector (tricolor, boehm)
//   alloc_batch/<allocator>/<bytes>   allocate 1000 objects and keep them,
//                                     then free all 1000 (mimalloc, glibc) or
//                                     drop them by overwriting them with the
//                                     next batch (tricolor, boehm)
//   store/gc_ptr_field  store/raw_field  one pointer store into a field of a
//                                     heap object, collector idle
//   load/gc_ptr_field   load/raw_field   one pointer load from such a field
//   barrier/gc_ptr/idle  barrier/raw/idle  one pointer store into a field of
//                                     one of 256 heap objects, the stored
//                                     pointer one of 61 targets (both rotate
//                                     every store), collector idle
//   barrier/gc_ptr/marking  barrier/raw/marking  the same while the
//                                     collector is marking (held at
//                                     marking_started through
//                                     gc/test_hooks.hpp, so the barrier is
//                                     on and the marker takes no CPU)
//   stats/read_stats                  one tricolor::read_stats() (issue 4:
//                                     cheap enough to call every millisecond)
//   stats/mi_process_info             mimalloc's process statistics call,
//                                     the anchor
//
// The per_op counter is the time of one operation (one object in a batch).
// Garbage-collected allocation includes its amortized collection cost: at
// most two batches are live at a time, so every cycle can reclaim the rest.
// A tricolor object of <bytes> takes a slot of <bytes> + 8 (its header).
// glibc is called through __libc_malloc / __libc_free because this
// executable links libmimalloc.so, whose malloc would otherwise interpose.
//
//   build/bench/micro_bench --benchmark_filter='alloc_batch/.*/24'
#include <gc.h>
#include <mimalloc.h>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <string>

#include "allocators.hpp"
#include "gc/config.hpp"
#include "gc/test_hooks.hpp"
#include "tricolor/tricolor.hpp"

namespace {

constexpr std::size_t batch_size = 1000;

// An object of exactly Bytes bytes whose constructor, like malloc, leaves the
// memory as it finds it.
template <std::size_t Bytes>
struct blob {
  blob() {}
  std::byte bytes[Bytes];
};

// Makes the compiler produce `p` in a register and assume that all memory,
// including whatever `p` points to, is read and written here. (Google
// Benchmark 1.7's DoNotOptimize offers GCC a memory operand as well, and GCC
// then hands over the field itself instead of loading it.)
template <class T>
[[gnu::always_inline]] inline void use_pointer(T* p) {
  asm volatile("" : : "r"(p) : "memory");
}

void count_ops(benchmark::State& state, std::size_t ops_per_iteration) {
  state.counters["per_op"] = benchmark::Counter(
      static_cast<double>(state.iterations() * ops_per_iteration),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// --- allocation, one object at a time ------------------------------------

template <std::size_t Bytes>
void alloc_per_op_tricolor(benchmark::State& state) {
  for (auto _ : state) {
    tricolor::gc_ptr<blob<Bytes>> p = tricolor::make_gc<blob<Bytes>>();
    use_pointer(p.get());
  }
  count_ops(state, 1);
}

template <std::size_t Bytes>
void alloc_per_op_boehm(benchmark::State& state) {
  for (auto _ : state) {
    void* p = GC_MALLOC(Bytes);
    use_pointer(p);
  }
  count_ops(state, 1);
}

template <class Allocator, std::size_t Bytes>
void alloc_per_op_explicit(benchmark::State& state) {
  for (auto _ : state) {
    void* p = Allocator::allocate(Bytes);
    use_pointer(p);
    Allocator::deallocate(p);
  }
  count_ops(state, 1);
}

// --- allocation, 1000 at a time ------------------------------------------

template <std::size_t Bytes>
void alloc_batch_tricolor(benchmark::State& state) {
  std::array<tricolor::gc_ptr<blob<Bytes>>, batch_size> batch;  // on the stack
  for (auto _ : state) {
    for (auto& p : batch) p = tricolor::make_gc<blob<Bytes>>();
    use_pointer(batch.data());
  }
  count_ops(state, batch_size);
}

template <std::size_t Bytes>
void alloc_batch_boehm(benchmark::State& state) {
  std::array<void*, batch_size> batch;  // on the stack
  for (auto _ : state) {
    for (void*& p : batch) p = GC_MALLOC(Bytes);
    use_pointer(batch.data());
  }
  count_ops(state, batch_size);
}

template <class Allocator, std::size_t Bytes>
void alloc_batch_explicit(benchmark::State& state) {
  std::array<void*, batch_size> batch;
  for (auto _ : state) {
    for (void*& p : batch) p = Allocator::allocate(Bytes);
    use_pointer(batch.data());
    for (void* p : batch) Allocator::deallocate(p);
  }
  count_ops(state, batch_size);
}

// --- pointer stores and loads, collector idle ------------------------------

struct leaf {
  int value = 0;
};

struct gc_holder {
  tricolor::gc_ptr<leaf> field;
  void trace(tricolor::tracer& t) const { t(field); }
};

struct raw_holder {
  leaf* field = nullptr;
};

// The holder escapes (use_pointer), so the compiler cannot keep its field in
// a register; ClobberMemory after each store makes every store reach memory.
void store_gc_ptr_field(benchmark::State& state) {
  tricolor::gc_ptr<gc_holder> holder = tricolor::make_gc<gc_holder>();
  tricolor::gc_ptr<leaf> target = tricolor::make_gc<leaf>();
  use_pointer(holder.get());
  for (auto _ : state) {
    holder->field = target;
    benchmark::ClobberMemory();
  }
  count_ops(state, 1);
}

void store_raw_field(benchmark::State& state) {
  auto* holder = new raw_holder;
  auto* target = new leaf;
  use_pointer(holder);
  for (auto _ : state) {
    holder->field = target;
    benchmark::ClobberMemory();
  }
  count_ops(state, 1);
  delete target;
  delete holder;
}

// The holder escapes, and use_pointer makes each iteration load the field
// afresh into a register.
void load_gc_ptr_field(benchmark::State& state) {
  tricolor::gc_ptr<gc_holder> holder = tricolor::make_gc<gc_holder>();
  holder->field = tricolor::make_gc<leaf>();
  use_pointer(holder.get());
  for (auto _ : state) {
    leaf* value = holder->field.get();
    use_pointer(value);
  }
  count_ops(state, 1);
}

void load_raw_field(benchmark::State& state) {
  auto* holder = new raw_holder;
  holder->field = new leaf;
  use_pointer(holder);
  for (auto _ : state) {
    leaf* value = holder->field;
    use_pointer(value);
  }
  count_ops(state, 1);
  delete holder->field;
  delete holder;
}

// --- the write barrier: stores of varying pointers into varying objects -----
//
// The store/ benchmarks above store one pointer into one field, so the stored
// value never changes. Here each iteration stores targets[j] into
// holders[i]->field, i rotating over 256 holders and j over 61 targets (61 is
// prime: a holder gets a different target on each visit), with the holders
// and targets allocated before the measurement (old objects: the barrier's
// case). The gc_ptr and raw loops are the same code on different types: load
// a holder pointer and a target pointer from arrays, store, ClobberMemory.
// While marking, the SATB barrier appends each overwritten pointer to the
// thread's barrier buffer and shades a full buffer (256 entries) in a batch:
// that amortized cost is part of the per-store figure.

constexpr std::size_t barrier_holders = 256;  // a power of two
constexpr std::size_t barrier_targets = 61;

template <class HolderPtr, class TargetPtr>
[[gnu::always_inline]] inline void store_loop(benchmark::State& state,
                                              HolderPtr* holders,
                                              TargetPtr* targets) {
  use_pointer(holders);
  use_pointer(targets);
  std::size_t i = 0, j = 0;
  for (auto _ : state) {
    holders[i]->field = targets[j];
    benchmark::ClobberMemory();
    i = (i + 1) & (barrier_holders - 1);
    if (++j == barrier_targets) j = 0;
  }
  count_ops(state, 1);
}

// Managed holders and targets, held in managed arrays that this struct keeps
// (on the benchmark's stack: a conservative root).
struct gc_store_fixture {
  tricolor::gc_ptr<tricolor::gc_array<tricolor::gc_ptr<gc_holder>>> holders =
      tricolor::make_gc_array<tricolor::gc_ptr<gc_holder>>(barrier_holders);
  tricolor::gc_ptr<tricolor::gc_array<tricolor::gc_ptr<leaf>>> targets =
      tricolor::make_gc_array<tricolor::gc_ptr<leaf>>(barrier_targets);
  gc_store_fixture() {
    for (auto& h : *holders) h = tricolor::make_gc<gc_holder>();
    for (auto& t : *targets) t = tricolor::make_gc<leaf>();
  }
};

struct raw_store_fixture {
  std::array<raw_holder*, barrier_holders> holders;
  std::array<leaf*, barrier_targets> targets;
  raw_store_fixture() {
    for (auto& h : holders) h = new raw_holder;
    for (auto& t : targets) t = new leaf;
  }
  ~raw_store_fixture() {
    for (auto* h : holders) delete h;
    for (auto* t : targets) delete t;
  }
  raw_store_fixture(const raw_store_fixture&) = delete;
  raw_store_fixture& operator=(const raw_store_fixture&) = delete;
};

namespace hooks = tricolor::gc::test_hooks;

// Keeps a concurrent cycle held just after its mark-start pause for the
// scope's lifetime: the barrier is on, the marker has scanned nothing and
// waits. Set up before the timed loop, torn down after it.
class marking_scope {
 public:
  marking_scope() {
    if (tricolor::gc::environment_config().gcstoptheworld) return;
    tricolor::collect();  // no cycle in progress: the next one is held
    hooks::hold_collector_at(hooks::cycle_point::marking_started);
    hooks::start_cycle_async();
    hooks::wait_until_held();
    held_ = true;
  }
  ~marking_scope() {
    if (!held_) return;
    hooks::release_collector();
    tricolor::collect();  // returns after the held cycle and one more
  }
  // Null when marking is on, else why not.
  const char* error() const {
    if (!held_) return "TRICOLOR_DEBUG=gcstoptheworld=1: no concurrent marking";
    if (!hooks::marking_active()) return "the held collector is not marking";
    return nullptr;
  }
  marking_scope(const marking_scope&) = delete;
  marking_scope& operator=(const marking_scope&) = delete;

 private:
  bool held_ = false;
};

void barrier_gc_ptr_idle(benchmark::State& state) {
  gc_store_fixture f;
  store_loop(state, f.holders->data(), f.targets->data());
}

void barrier_raw_idle(benchmark::State& state) {
  raw_store_fixture f;
  store_loop(state, f.holders.data(), f.targets.data());
}

void barrier_gc_ptr_marking(benchmark::State& state) {
  gc_store_fixture f;  // allocated before the cycle starts
  marking_scope marking;
  if (const char* why = marking.error()) {
    state.SkipWithError(why);
    for (auto _ : state) {
    }
    return;
  }
  store_loop(state, f.holders->data(), f.targets->data());
}

// The raw store with the collector held in the same state, for a like-for-
// like baseline (the marker thread is parked, as in the gc_ptr case).
void barrier_raw_marking(benchmark::State& state) {
  raw_store_fixture f;
  marking_scope marking;
  if (const char* why = marking.error()) {
    state.SkipWithError(why);
    for (auto _ : state) {
    }
    return;
  }
  store_loop(state, f.holders.data(), f.targets.data());
}

void stats_read_stats(benchmark::State& state) {
  tricolor::collect();  // a cycle on record
  for (auto _ : state) benchmark::DoNotOptimize(tricolor::read_stats());
}

void stats_mi_process_info(benchmark::State& state) {
  std::size_t elapsed, user, system, rss, peak_rss, commit, peak_commit, faults;
  for (auto _ : state) {
    mi_process_info(&elapsed, &user, &system, &rss, &peak_rss, &commit, &peak_commit, &faults);
    benchmark::DoNotOptimize(rss);
  }
}

template <std::size_t Bytes>
void register_allocation() {
  const std::string size = "/" + std::to_string(Bytes);
  auto add = [&](const std::string& name, void (*fn)(benchmark::State&)) {
    benchmark::RegisterBenchmark((name + size).c_str(), fn);
  };
  add("alloc_per_op/tricolor", alloc_per_op_tricolor<Bytes>);
  add("alloc_per_op/mimalloc",
      alloc_per_op_explicit<bench::mimalloc_allocator, Bytes>);
  add("alloc_per_op/glibc", alloc_per_op_explicit<bench::glibc_allocator, Bytes>);
  add("alloc_per_op/boehm", alloc_per_op_boehm<Bytes>);
  add("alloc_batch/tricolor", alloc_batch_tricolor<Bytes>);
  add("alloc_batch/mimalloc",
      alloc_batch_explicit<bench::mimalloc_allocator, Bytes>);
  add("alloc_batch/glibc", alloc_batch_explicit<bench::glibc_allocator, Bytes>);
  add("alloc_batch/boehm", alloc_batch_boehm<Bytes>);
}

}  // namespace

int main(int argc, char** argv) {
  GC_INIT();
  register_allocation<16>();
  register_allocation<24>();
  register_allocation<32>();
  register_allocation<64>();
  benchmark::RegisterBenchmark("store/gc_ptr_field", store_gc_ptr_field);
  benchmark::RegisterBenchmark("store/raw_field", store_raw_field);
  benchmark::RegisterBenchmark("load/gc_ptr_field", load_gc_ptr_field);
  benchmark::RegisterBenchmark("load/raw_field", load_raw_field);
  benchmark::RegisterBenchmark("barrier/gc_ptr/idle", barrier_gc_ptr_idle);
  benchmark::RegisterBenchmark("barrier/raw/idle", barrier_raw_idle);
  benchmark::RegisterBenchmark("barrier/gc_ptr/marking", barrier_gc_ptr_marking);
  benchmark::RegisterBenchmark("barrier/raw/marking", barrier_raw_marking);
  benchmark::RegisterBenchmark("stats/read_stats", stats_read_stats);
  benchmark::RegisterBenchmark("stats/mi_process_info", stats_mi_process_info);

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
