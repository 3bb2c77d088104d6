// Heap profile sampling, in-use accounting and write_heap_profile; the design
// is in heap_profile.hpp.
#include "gc/heap_profile.hpp"

#include <execinfo.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gc/config.hpp"
#include "gc/pprof_writer.hpp"
#include "heap/arena.hpp"
#include "heap/span.hpp"
#include "roots/thread_registry.hpp"
#include "tricolor/heap_profile.hpp"
#include "tricolor/internal/thread_cache.hpp"

namespace tricolor::gc::heap_profile {

struct sampled_totals {
  double objects = 0;  // summed weights
  double bytes = 0;    // summed weight x slot size
  void add(double weight, std::size_t slot_bytes) {
    objects += weight;
    bytes += weight * static_cast<double>(slot_bytes);
  }
  void add(const sampled_totals& other) {
    objects += other.objects;
    bytes += other.bytes;
  }
};

// A site's events of one snapshot not yet published (heap_profile.hpp, 3).
struct snapshot_events {
  sampled_totals allocated;
  sampled_totals freed;
};

struct allocation_site {
  sampled_totals allocated;   // before the mark of snapshot `published`
  sampled_totals freed;       // of those, found dead by marks 1..published
  snapshot_events pending[2];  // snapshots published + 1 and + 2, at [k % 2]
  std::uint64_t published = 0;
};

}  // namespace tricolor::gc::heap_profile

// A sampled object on its span's chain (heap/span.hpp).
struct tricolor::heap::span_sample {
  span_sample* next;
  std::uintptr_t disguised_object;
  gc::heap_profile::allocation_site* site;
  double weight;
  std::size_t slot_bytes;
};

namespace tricolor::gc::heap_profile {
namespace {

constexpr int max_stack_depth = 64;

// A stack: call-site addresses, innermost first.
using call_stack = std::vector<std::uintptr_t>;

struct call_stack_hash {
  std::size_t operator()(const call_stack& stack) const {
    std::uint64_t h = 0xcbf29ce484222325;  // FNV-1a over the addresses
    for (std::uintptr_t address : stack) h = (h ^ address) * 0x100000001b3;
    return static_cast<std::size_t>(h);
  }
};

// The object's address complemented: no pointer to it is stored.
std::uintptr_t disguise(const void* object) { return ~reinterpret_cast<std::uintptr_t>(object); }
const void* undisguise(std::uintptr_t hidden) { return reinterpret_cast<const void*>(~hidden); }

struct profile_state {
  std::mutex lock;  // profile_lock of heap_profile.hpp: guards all below
                    // and every span's sample chain
  // Node-based: a site's address is stable, samples point at it.
  std::unordered_map<call_stack, allocation_site, call_stack_hash> sites;
  std::uint64_t completed_marks = 0;  // M of heap_profile.hpp, 3
  std::uint64_t published = 0;        // the snapshot a profile shows
  // The samples' nodes, in blocks that are never freed (a node a sweep
  // frees goes on free_samples for the next sample): the sweep frees no
  // memory, and every node stays reachable from here, not only from span
  // records (which LeakSanitizer does not scan: they come from mimalloc).
  std::vector<std::unique_ptr<heap::span_sample[]>> sample_blocks;
  heap::span_sample* free_samples = nullptr;
};

// Never destroyed: threads may allocate while the program exits.
profile_state& state() {
  static profile_state* const s = new profile_state;
  return *s;
}

// A node for a new sample. With the lock held.
heap::span_sample* new_sample_node(profile_state& s) {
  if (s.free_samples == nullptr) {
    constexpr std::size_t block_nodes = 256;
    auto& block = s.sample_blocks.emplace_back(new heap::span_sample[block_nodes]);
    for (std::size_t i = 0; i < block_nodes; ++i) {
      block[i].next = s.free_samples;
      s.free_samples = &block[i];
    }
  }
  heap::span_sample* node = s.free_samples;
  s.free_samples = node->next;
  return node;
}

// Folds the pending snapshots that are now published into the site's
// published totals (heap_profile.hpp, invariants: they are the two after
// site.published). With the lock held.
void catch_up(allocation_site& site, std::uint64_t published) {
  for (std::uint64_t k = site.published + 1; k <= published && k <= site.published + 2; ++k) {
    snapshot_events& events = site.pending[k % 2];
    site.allocated.add(events.allocated);
    site.freed.add(events.freed);
    events = {};
  }
  site.published = published;
}

// glibc loads the unwinder (libgcc_s) on the first backtrace(), under the
// loader's lock. That happens here, at load, outside any runtime_section: a
// thread in a runtime_section must not wait for a lock that a thread
// stopped by the stop signal could hold (roots/stop_signal.hpp).
[[maybe_unused]] const bool unwinder_loaded = [] {
  void* frame;
  backtrace(&frame, 1);
  return true;
}();

// xorshift64*: the thread's generator behind its sampling distances.
std::uint64_t next_random(std::uint64_t& state) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1d;
}

// Seeds a thread's generator (never 0: xorshift's fixed point, and the
// cache's "no distance drawn yet").
void seed_random(heap::thread_cache& cache) {
  std::uint64_t seed =
      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      reinterpret_cast<std::uintptr_t>(&cache);
  seed = (seed ^ (seed >> 30)) * 0xbf58476d1ce4e5b9;  // splitmix64's finalizer
  seed = (seed ^ (seed >> 27)) * 0x94d049bb133111eb;
  seed ^= seed >> 31;
  cache.sample_random_state = seed != 0 ? seed : 1;
}

// An exponentially distributed distance with mean `rate` bytes: -ln(u) x
// rate for u uniform in (0, 1] (53 random bits: at most 37 x rate).
// Sampling off: never reached.
std::int64_t next_sample_distance(heap::thread_cache& cache, int rate) {
  if (rate == 0) return INT64_MAX;
  double u = (static_cast<double>(next_random(cache.sample_random_state) >> 11) + 1.0) * 0x1p-53;
  return static_cast<std::int64_t>(-std::log(u) * rate);
}

// Records a sampled allocation. In a runtime_section.
void record(const void* slot, std::size_t slot_bytes, int rate) {
  void* frames[max_stack_depth];
  int depth = backtrace(frames, max_stack_depth);
  call_stack stack;
  stack.reserve(static_cast<std::size_t>(std::max(depth, 0)));
  for (int i = 0; i < depth; ++i)
    stack.push_back(reinterpret_cast<std::uintptr_t>(frames[i]) - 1);
  // 1 / p(s), p(s) = 1 - exp(-s/N).
  double weight = 1.0 / -std::expm1(-static_cast<double>(slot_bytes) / rate);
  heap::span* owner = heap::find_span(slot);

  profile_state& s = state();
  std::lock_guard guard(s.lock);
  allocation_site& site = s.sites.try_emplace(std::move(stack)).first->second;
  catch_up(site, s.published);
  site.pending[(s.completed_marks + 1) % 2].allocated.add(weight, slot_bytes);
  heap::span_sample* sample = new_sample_node(s);
  *sample = {owner->samples.load(std::memory_order_relaxed), disguise(slot), &site, weight,
             slot_bytes};
  owner->samples.store(sample, std::memory_order_relaxed);
}

// True for a symbol of the library's namespace (Itanium mangling: "_Z",
// "Z" for a local entity such as make_gc's lambda, "N" for a nested name,
// cv and ref qualifiers, then the first component "8tricolor").
bool in_library_namespace(std::string_view symbol) {
  if (!symbol.starts_with("_Z")) return false;
  symbol.remove_prefix(2);
  if (symbol.starts_with('Z')) symbol.remove_prefix(1);
  if (!symbol.starts_with('N')) return false;
  symbol.remove_prefix(1);
  while (!symbol.empty() && std::string_view("rVKRO").find(symbol.front()) != std::string_view::npos)
    symbol.remove_prefix(1);
  return symbol.starts_with("8tricolor");
}

std::int64_t rounded_count(double value) { return std::llround(std::max(value, 0.0)); }

constexpr std::size_t num_sample_types = 4;
using sample_values = std::array<std::int64_t, num_sample_types>;

struct site_snapshot {
  call_stack stack;
  sample_values values;  // alloc objects, alloc bytes, inuse objects, inuse bytes
};

// What the profile shows of each site (heap_profile.hpp, 3), under the lock
// (in a runtime_section).
std::vector<site_snapshot> snapshot_sites() {
  std::vector<site_snapshot> out;
  profile_state& s = state();
  std::lock_guard guard(s.lock);
  const bool before_first_sweep = s.published == 0;
  for (auto& [stack, site] : s.sites) {
    catch_up(site, s.published);
    sampled_totals allocated = site.allocated;
    sampled_totals freed = site.freed;
    if (before_first_sweep)  // everything sampled, in use
      for (const snapshot_events& events : site.pending) allocated.add(events.allocated);
    sample_values values = {
        rounded_count(allocated.objects), rounded_count(allocated.bytes),
        rounded_count(allocated.objects - freed.objects),
        rounded_count(allocated.bytes - freed.bytes)};
    if (std::any_of(values.begin(), values.end(), [](std::int64_t v) { return v != 0; }))
      out.push_back({stack, values});
  }
  return out;
}

}  // namespace

void after_mark() {
  profile_state& s = state();
  std::lock_guard guard(s.lock);
  ++s.completed_marks;
}

void sweep_samples(heap::span& span) {
  profile_state& s = state();
  std::lock_guard guard(s.lock);
  heap::span_sample* kept = nullptr;
  heap::span_sample* next;
  for (heap::span_sample* sample = span.samples.load(std::memory_order_relaxed);
       sample != nullptr; sample = next) {
    next = sample->next;
    // The slot is allocated (heap_profile.hpp, invariants): its mark bit
    // says whether the object lives.
    if (span.is_marked(span.slot_index(undisguise(sample->disguised_object)))) {
      sample->next = kept;
      kept = sample;
      continue;
    }
    catch_up(*sample->site, s.published);
    sample->site->pending[s.completed_marks % 2].freed.add(sample->weight, sample->slot_bytes);
    sample->next = s.free_samples;
    s.free_samples = sample;
  }
  span.samples.store(kept, std::memory_order_relaxed);
}

void after_sweep() {
  profile_state& s = state();
  std::lock_guard guard(s.lock);
  s.published = s.completed_marks;
}

bool sampled_allocation(heap::span& s, std::uint32_t index, std::vector<std::uintptr_t>& stack,
                        double& bytes) {
  if (s.samples.load(std::memory_order_relaxed) == nullptr) return false;
  profile_state& state_now = state();
  std::lock_guard guard(state_now.lock);  // the collector thread: never stopped
  const std::uintptr_t wanted = disguise(s.slot_address(index));
  for (heap::span_sample* sample = s.samples.load(std::memory_order_relaxed); sample != nullptr;
       sample = sample->next) {
    if (sample->disguised_object != wanted) continue;
    for (const auto& [site_stack, site] : state_now.sites) {
      if (&site != sample->site) continue;
      stack = site_stack;
      bytes = sample->weight * static_cast<double>(sample->slot_bytes);
      return true;
    }
  }
  return false;
}

}  // namespace tricolor::gc::heap_profile

namespace tricolor {

void* heap::sample_allocation(thread_cache& cache, void* slot, std::size_t slot_bytes) {
  roots::runtime_section runtime;
  const int rate = gc::environment_config().mem_profile_rate;
  if (cache.sample_random_state == 0) {
    // The thread's first allocation: its first distance counts it too.
    gc::heap_profile::seed_random(cache);
    cache.bytes_until_sample = gc::heap_profile::next_sample_distance(cache, rate);
    if (!cache.reaches_sample(slot_bytes)) return slot;
  }
  cache.bytes_until_sample = gc::heap_profile::next_sample_distance(cache, rate);
  if (rate > 0) gc::heap_profile::record(slot, slot_bytes, rate);
  return slot;
}

void write_heap_profile(std::ostream& out) {
  using namespace gc::heap_profile;
  std::vector<site_snapshot> sites;
  {
    roots::runtime_section runtime;
    sites = snapshot_sites();
  }

  // The library's frames at the top of each stack go (their number depends
  // on inlining), with whatever backtrace() put above them (a sanitizer's
  // interceptor); stacks that become equal are added together.
  gc::pprof::code_map code;
  auto in_library = [&](std::uintptr_t address) {
    const gc::pprof::function_symbol* f = code.function_at(address);
    return f != nullptr && in_library_namespace(f->system_name);
  };
  std::map<call_stack, sample_values> by_stack;
  for (const site_snapshot& site : sites) {
    auto library = std::find_if(site.stack.begin(), site.stack.end(), in_library);
    auto first_caller = library == site.stack.end()
                            ? site.stack.begin()
                            : std::find_if_not(library, site.stack.end(), in_library);
    sample_values& values = by_stack[call_stack(first_caller, site.stack.end())];
    for (std::size_t i = 0; i < num_sample_types; ++i) values[i] += site.values[i];
  }

  gc::pprof::profile p;
  p.sample_types = {{"alloc_objects", "count"}, {"alloc_space", "bytes"},
                    {"inuse_objects", "count"}, {"inuse_space", "bytes"}};
  p.default_sample_type = "inuse_space";
  p.period_type = {"space", "bytes"};
  p.period = gc::environment_config().mem_profile_rate;
  p.time_nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  for (const auto& [stack, values] : by_stack)
    p.samples.push_back({stack, std::vector<std::int64_t>(values.begin(), values.end())});
  gc::pprof::write_profile(p, code, out);
}

}  // namespace tricolor
