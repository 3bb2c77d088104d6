// Torture test: five mutator threads (four workers plus main) build and mutate
// random object graphs while a sixth thread calls collect() in a loop and
// pacing starts cycles of its own. Every object carries its id and a checksum
// derived from the id, checked on every visit; after each round every object
// reachable from a thread's roots is verified, weak references must be null or
// point to an intact object with the expected id, and heap_inuse must stay
// bounded (the garbage is really freed).
//
// Shape of the graphs (why the live heap is bounded):
//
//   * Each mutator works in *generations*, one per round. A generation is a
//     gc_array of 256 slots held by a gc_root; the slots and the objects
//     reachable from them form the generation's graph: cycles, shared
//     subgraphs, arrays of gc_ptr (small, and now and then larger than
//     32 KiB), noscan payload arrays of random length.
//   * Strong edges only go to objects of the same generation or to the
//     *frozen pool*, an immutable graph built before the threads start and
//     shared by all of them (cross-thread sharing without data races).
//   * Weak references may also point into the previous generation.
//   * A mutator keeps two generations rooted: the one it mutates and the
//     previous one (verified again at the end of the round, after a round of
//     collections in which nothing touched it). The generation before is
//     dropped: its objects become garbage, and weak references into it must
//     be cleared, never left dangling.
//   * One object per round is held only by a gc_ptr on the mutator's stack.
//
// Only the owning thread mutates a generation; the frozen pool is never
// written after the threads start.
//
// Size: TRICOLOR_TORTURE_SCALE (default 1) multiplies the number of rounds;
// TRICOLOR_TORTURE_SEED picks another random seed. The test runs at least 200
// collection cycles while the mutators run.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::make_gc_array;
using tricolor::weak_gc_ptr;
using tricolor_test::counted;

constexpr std::uint64_t MiB = 1024 * 1024;
constexpr std::size_t slots_per_generation = 256;
constexpr std::size_t frozen_pool_size = 2000;
constexpr std::size_t steps_per_round = 20000;
// TRICOLOR_TORTURE_MIN_CYCLES lowers it for slow builds (ThreadSanitizer,
// AddressSanitizer: scripts/dev.sh).
const std::uint64_t min_cycles = [] {
  const char* v = std::getenv("TRICOLOR_TORTURE_MIN_CYCLES");
  return v && *v ? std::strtoull(v, nullptr, 10) : std::uint64_t{200};
}();
constexpr int worker_threads = 4;
constexpr std::int32_t frozen_owner = -1;
constexpr std::size_t max_errors_per_thread = 20;

struct tnode;
using node_array = gc_array<gc_ptr<tnode>>;
using word_array = gc_array<std::uint64_t>;

std::uint64_t checksum_of(std::uint64_t id) { return counted::mix(id); }
std::uint64_t data_word(std::uint64_t id, std::size_t k) {
  return counted::mix(id * 1000003 + k);
}

std::atomic<std::uint64_t> next_node_id{1};

struct tnode {
  tnode(std::int32_t owner, std::uint32_t generation)
      : id(next_node_id.fetch_add(1, std::memory_order_relaxed)),
        check(checksum_of(id)),
        owner(owner),
        generation(generation) {}

  std::uint64_t id;
  std::uint64_t check;
  std::int32_t owner;        // mutator index, or frozen_owner
  std::uint32_t generation;  // round of the owner that created it
  gc_ptr<tnode> edges[3];
  gc_ptr<node_array> array;  // length recorded in array_length
  std::uint32_t array_length = 0;
  std::uint32_t data_length = 0;
  gc_ptr<word_array> data;   // data[k] == data_word(id, k)
  weak_gc_ptr<tnode> weak;   // null, or an intact object with id weak_id
  std::uint64_t weak_id = 0;

  void trace(tricolor::tracer& t) const {
    t(edges[0], edges[1], edges[2], array, data, weak);
  }
};

// What each thread is doing, for the fatal-signal handler: a collector bug
// usually shows up as a checksum mismatch (reported in words by verify()),
// but following a pointer into freed-and-reused memory can also crash; the
// handler then says which thread, round and activity hit it.
struct activity {
  int thread = -1;
  std::uint32_t round = 0;
  const char* what = "idle";
  std::uint64_t node = 0;  // the node being looked at (or its parent), if any
};
thread_local activity current_activity;

void set_activity(const char* what, std::uint64_t node = 0) {
  current_activity.what = what;
  current_activity.node = node;
}

using tricolor_test::append;

extern "C" void on_fatal_signal(int signal_number) {
  // Async-signal-safe: formats by hand and writes with write(2).
  char buffer[512];
  char* out = buffer;
  const char* end = buffer + sizeof buffer - 1;
  append(out, end, "\ntorture: fatal signal ");
  append(out, end, std::uint64_t(signal_number));
  const activity& a = current_activity;
  if (a.thread >= 0) {
    append(out, end, " in mutator ");
    append(out, end, std::uint64_t(a.thread));
    append(out, end, ", round ");
    append(out, end, std::uint64_t(a.round));
  }
  append(out, end, ", while ");
  append(out, end, a.what);
  if (a.node) {
    append(out, end, " (node ");
    append(out, end, a.node);
    append(out, end, ")");
  }
  append(out, end,
         ": a reachable object was probably freed and its memory reused\n");
  *out = '\0';
  ssize_t ignored = write(2, buffer, std::size_t(out - buffer));
  (void)ignored;
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%016" PRIx64, value);
  return buffer;
}

// The frozen pool: built once, read by every thread, never written again.
[[gnu::noinline]] void build_frozen_pool(gc_root<node_array>* pool,
                                         std::mt19937_64& rng) {
  auto nodes = make_gc_array<gc_ptr<tnode>>(frozen_pool_size);
  for (auto& slot : *nodes) slot = make_gc<tnode>(frozen_owner, 0);
  for (auto& slot : *nodes) {
    for (auto& edge : slot->edges)
      if (rng() % 4 != 0) edge = (*nodes)[rng() % frozen_pool_size];
    if (rng() % 8 == 0) {
      std::size_t n = 1 + rng() % 16;
      slot->array = make_gc_array<gc_ptr<tnode>>(n);
      slot->array_length = std::uint32_t(n);
      for (auto& element : *slot->array)
        element = (*nodes)[rng() % frozen_pool_size];
    }
  }
  *pool = nodes;
}

struct shared_state {
  gc_root<node_array> frozen;
  std::uint64_t base_num_gc = 0;
  std::chrono::steady_clock::time_point deadline;
  int min_rounds = 0;
  int max_rounds = 0;
  std::atomic<bool> stop_collector{false};
};

std::uint64_t cycles_so_far(const shared_state& shared) {
  return tricolor::read_stats().num_gc - shared.base_num_gc;
}

class mutator {
 public:
  mutator(int index, std::uint64_t seed, shared_state& shared)
      : index_(index), rng_(seed), shared_(shared) {}

  // Runs rounds until the minimum is done and enough cycles have run (or the
  // safety deadline has passed). Records heap_inuse after each round when
  // `samples` is given.
  void run(std::vector<std::uint64_t>* samples) {
    current_activity.thread = index_;
    for (int round = 0; round < shared_.max_rounds; ++round) {
      if (round >= shared_.min_rounds &&
          (cycles_so_far(shared_) >= min_cycles ||
           std::chrono::steady_clock::now() > shared_.deadline))
        break;
      run_round();
      rounds_ = round + 1;
      if (samples) samples->push_back(tricolor::read_stats().heap_inuse);
      if (errors_.size() >= max_errors_per_thread) break;
    }
    // Leave nothing rooted behind.
    current_.reset();
    previous_.reset();
  }

  const std::vector<std::string>& errors() const { return errors_; }
  int rounds() const { return rounds_; }
  std::uint64_t nodes_verified() const { return verified_; }
  std::uint64_t weak_cleared_seen() const { return weak_cleared_; }

 private:
  [[gnu::noinline]] void run_round() {
    ++generation_;
    current_activity.round = generation_;
    set_activity("starting a generation");
    previous_ = current_.get();
    current_ = make_gc_array<gc_ptr<tnode>>(slots_per_generation);
    gc_ptr<node_array> slots = current_.get();  // also a stack root

    // Held by this frame only (after its slot is overwritten).
    gc_ptr<tnode> anchor;
    set_activity("mutating its current generation");
    for (std::size_t step = 0; step < steps_per_round; ++step) {
      mutate(*slots);
      if (step == steps_per_round / 4) {
        std::size_t k = rng_() % slots_per_generation;
        anchor = (*slots)[k];
        (*slots)[k] = nullptr;
      }
      if (step % 512 == 0) tricolor::safepoint();
    }

    set_activity("verifying its current generation");
    verify_from_array(slots, generation_, "current generation");
    set_activity("verifying its previous generation");
    if (gc_ptr<node_array> previous = previous_.get())
      verify_from_array(previous, generation_ - 1, "previous generation");
    set_activity("verifying the object held by its stack");
    if (anchor) verify_from(anchor, generation_, "stack anchor", 0);
    set_activity("between rounds");
  }

  std::uint64_t random(std::uint64_t n) { return rng_() % n; }

  // A node of the current generation or of the frozen pool, possibly null:
  // a slot, then up to three random hops along edges and array elements.
  gc_ptr<tnode> pick(node_array& slots) {
    gc_ptr<tnode> node = slots[random(slots_per_generation)];
    for (std::uint64_t hops = random(4); node && hops > 0; --hops) {
      if (node->check != checksum_of(node->id)) {
        check_node(*node, 0, "a random pick");  // reports it
        return nullptr;
      }
      gc_ptr<tnode> next;
      std::uint64_t choice = random(4);
      if (choice < 3) {
        next = node->edges[choice];
      } else if (node->array && node->array->size() > 0) {
        next = (*node->array)[random(node->array->size())];
      }
      if (!next) break;
      node = next;
    }
    if (random(16) == 0)
      node = (*shared_.frozen)[random(frozen_pool_size)];
    if (node && node->check != checksum_of(node->id)) {
      check_node(*node, 0, "a random pick");  // reports it
      return nullptr;
    }
    return node;
  }

  // A node this thread may write: of its current generation, never frozen.
  gc_ptr<tnode> pick_mutable(node_array& slots) {
    gc_ptr<tnode> node = pick(slots);
    if (node && node->owner == index_ && node->generation == generation_)
      return node;
    return nullptr;
  }

  gc_ptr<tnode> new_node() {
    auto node = make_gc<tnode>(index_, generation_);
    std::uint64_t roll = random(1000);
    if (roll < 300) {
      // A noscan payload: usually small, now and then larger than 32 KiB.
      std::size_t n = roll < 3 ? 4100 + random(16000) : 1 + random(300);
      node->data = make_gc_array<std::uint64_t>(n);
      for (std::size_t k = 0; k < n; ++k) (*node->data)[k] = data_word(node->id, k);
      node->data_length = std::uint32_t(n);
    }
    return node;
  }

  void mutate(node_array& slots) {
    std::uint64_t op = random(100);
    if (op < 30) {  // allocate into a slot (the old occupant may die)
      slots[random(slots_per_generation)] = new_node();
    } else if (op < 55) {  // link: cycles, shared subgraphs, edges to frozen
      if (gc_ptr<tnode> a = pick_mutable(slots)) {
        gc_ptr<tnode> b = random(20) == 0 ? nullptr : pick(slots);
        a->edges[random(3)] = b;
      }
    } else if (op < 63) {  // attach a fresh array of gc_ptr
      if (gc_ptr<tnode> a = pick_mutable(slots)) {
        std::size_t n = random(300) == 0 ? 4100 + random(5000) : random(40);
        auto array = make_gc_array<gc_ptr<tnode>>(n);
        for (auto& element : *array)
          element = random(3) == 0 ? new_node() : pick(slots);
        a->array = array;
        a->array_length = std::uint32_t(n);
      }
    } else if (op < 70) {  // store into an existing array
      if (gc_ptr<tnode> a = pick_mutable(slots)) {
        if (a->array && a->array->size() > 0)
          (*a->array)[random(a->array->size())] =
              random(2) == 0 ? new_node() : pick(slots);
      }
    } else if (op < 78) {  // weak reference, into this or the previous generation
      if (gc_ptr<tnode> a = pick_mutable(slots)) {
        gc_ptr<tnode> target;
        gc_ptr<node_array> previous = previous_.get();
        if (random(2) == 0 && previous) {
          target = (*previous)[random(slots_per_generation)];
          if (target && !check_node(*target, 0, "a slot of the previous generation"))
            target = nullptr;
        } else {
          target = pick(slots);
        }
        a->weak = target;
        a->weak_id = target ? target->id : 0;
      }
    } else if (op < 86) {  // drop a slot
      slots[random(slots_per_generation)] = nullptr;
    } else if (op < 93) {  // a random walk that verifies what it visits
      gc_ptr<tnode> node = slots[random(slots_per_generation)];
      for (int hop = 0; node && hop < 8; ++hop) {
        check_node(*node, 0, "random walk");
        node = node->edges[random(3)];
      }
    } else {  // a burst of short-lived garbage: a small cyclic chain
      gc_ptr<tnode> head = new_node(), tail = head;
      for (int i = 0; i < 20; ++i) {
        auto node = make_gc<tnode>(index_, generation_);
        tail->edges[0] = node;
        tail = node;
      }
      tail->edges[0] = head;
    }
  }

  void error(std::string message) {
    if (errors_.size() < max_errors_per_thread)
      errors_.push_back("thread " + std::to_string(index_) + ", round " +
                        std::to_string(generation_) + ": " + std::move(message));
  }

  // Checks one node's own fields. Returns false if it is corrupted (its
  // fields must then not be followed).
  bool check_node(const tnode& node, std::uint64_t parent_id, const char* how) {
    auto where = [&] {
      return " (reached from " +
             (parent_id ? "node " + std::to_string(parent_id) : std::string("a root")) +
             " via " + how + ", at " + hex(reinterpret_cast<std::uintptr_t>(&node)) + ")";
    };
    if (node.check != checksum_of(node.id)) {
      error("node " + std::to_string(node.id) + " is corrupted: checksum " +
            hex(node.check) + ", expected " + hex(checksum_of(node.id)) +
            where() + " - freed while reachable, or overwritten");
      return false;
    }
    if (node.owner != frozen_owner && node.owner != index_) {
      error("node " + std::to_string(node.id) + " belongs to thread " +
            std::to_string(node.owner) + " but was reached from thread " +
            std::to_string(index_) + "'s graph" + where() +
            " - a slot was reused for another thread's object");
      return false;
    }
    const std::size_t array_size = node.array ? node.array->size() : 0;
    if (array_size != node.array_length) {
      error("node " + std::to_string(node.id) + " has a gc_ptr array of " +
            std::to_string(array_size) + " elements, expected " +
            std::to_string(node.array_length) + where());
      return false;
    }
    const std::size_t data_size = node.data ? node.data->size() : 0;
    if (data_size != node.data_length) {
      error("node " + std::to_string(node.id) + " has a payload of " +
            std::to_string(data_size) + " words, expected " +
            std::to_string(node.data_length) + where());
      return false;
    }
    for (std::size_t k = 0; k < data_size; ++k) {
      if ((*node.data)[k] != data_word(node.id, k)) {
        error("payload word " + std::to_string(k) + " of node " +
              std::to_string(node.id) + " is " + hex((*node.data)[k]) +
              ", expected " + hex(data_word(node.id, k)) + where());
        return false;
      }
    }
    if (gc_ptr<tnode> target = node.weak.lock()) {
      if (target->id != node.weak_id || target->check != checksum_of(target->id)) {
        error("the weak reference of node " + std::to_string(node.id) +
              " points at an object with id " + std::to_string(target->id) +
              " and checksum " + hex(target->check) + ", expected object " +
              std::to_string(node.weak_id) + " with checksum " +
              hex(checksum_of(node.weak_id)) + where() +
              " - the target was freed but the weak reference not cleared");
        return false;
      }
    } else if (node.weak_id != 0) {
      ++weak_cleared_;
    }
    ++verified_;
    return true;
  }

  struct pending {
    const tnode* node;
    std::uint64_t parent_id;
    const char* how;
  };

  void verify_from_array(const gc_ptr<node_array>& slots,
                         std::uint32_t generation, const char* label) {
    if (slots->size() != slots_per_generation) {
      error(std::string(label) + ": the slot array has " +
            std::to_string(slots->size()) + " slots, expected " +
            std::to_string(slots_per_generation));
      return;
    }
    std::vector<pending> work;
    for (const auto& slot : *slots)
      if (slot) work.push_back({slot.get(), 0, label});
    verify(work, generation);
  }

  void verify_from(const gc_ptr<tnode>& root, std::uint32_t generation,
                   const char* label, std::uint64_t parent) {
    std::vector<pending> work{{root.get(), parent, label}};
    verify(work, generation);
  }

  // Depth-first over everything reachable; every node is checked once.
  void verify(std::vector<pending>& work, std::uint32_t generation) {
    std::unordered_set<const tnode*> seen;
    std::size_t visits = 0;
    while (!work.empty()) {
      pending item = work.back();
      work.pop_back();
      if (!seen.insert(item.node).second) continue;
      if (++visits % 256 == 0) tricolor::safepoint();
      current_activity.node = item.parent_id;
      const tnode& node = *item.node;
      if (!check_node(node, item.parent_id, item.how)) continue;
      if (node.owner == index_ && node.generation != generation) {
        error("node " + std::to_string(node.id) + " of generation " +
              std::to_string(node.generation) +
              " was found in the graph of generation " +
              std::to_string(generation) +
              " (strong edges never cross generations)");
        continue;
      }
      static const char* edge_names[3] = {"edge 0", "edge 1", "edge 2"};
      for (int e = 0; e < 3; ++e)
        if (const tnode* next = node.edges[e].get())
          work.push_back({next, node.id, edge_names[e]});
      if (node.array)
        for (const auto& element : *node.array)
          if (element) work.push_back({element.get(), node.id, "an array element"});
    }
  }

  const int index_;
  std::mt19937_64 rng_;
  shared_state& shared_;
  gc_root<node_array> current_{nullptr, "torture.current_generation"};
  gc_root<node_array> previous_{nullptr, "torture.previous_generation"};
  std::uint32_t generation_ = 0;
  int rounds_ = 0;
  std::uint64_t verified_ = 0;
  std::uint64_t weak_cleared_ = 0;
  std::vector<std::string> errors_;
};

[[gnu::noinline]] void run_in_frame(mutator& m, std::vector<std::uint64_t>* samples) {
  m.run(samples);
}

TEST(Torture, ConcurrentMutatorsAndContinuousCollection) {
  const double scale = tricolor_test::env_scale("TRICOLOR_TORTURE_SCALE");
  std::uint64_t seed = 20240611;
  if (const char* s = std::getenv("TRICOLOR_TORTURE_SEED"))
    seed = std::strtoull(s, nullptr, 10);
  SCOPED_TRACE("TRICOLOR_TORTURE_SEED=" + std::to_string(seed) +
               " TRICOLOR_TORTURE_SCALE=" + std::to_string(scale));

  tricolor_test::fatal_signal_reporter reporter(on_fatal_signal);
  tricolor_test::collect_clean();
  const auto base = tricolor::read_stats();

  shared_state shared;
  std::mt19937_64 rng(seed);
  build_frozen_pool(&shared.frozen, rng);
  shared.base_num_gc = tricolor::read_stats().num_gc;
  shared.min_rounds = std::max(4, int(50 * scale));
  shared.max_rounds = shared.min_rounds * 20;
  // The deadline only stops a stalled run; a healthy one stops at
  // min_cycles. TRICOLOR_TORTURE_DEADLINE_SECONDS gives slow builds
  // (sanitizers) more time instead of fewer cycles.
  int deadline_seconds = std::max(20, int(90 * scale));
  if (const char* d = std::getenv("TRICOLOR_TORTURE_DEADLINE_SECONDS"); d && *d)
    deadline_seconds = std::atoi(d);
  shared.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(deadline_seconds);

  // The collector thread: back-to-back full cycles with short pauses.
  std::atomic<std::uint64_t> forced{0};
  std::thread collector([&] {
    std::mt19937_64 local(seed ^ 0xc011ec7);
    set_activity("running collect() in a loop (the collector thread)");
    while (!shared.stop_collector.load()) {
      tricolor::collect();
      forced.fetch_add(1);
      tricolor::blocking_scope blocking;
      std::this_thread::sleep_for(std::chrono::microseconds(local() % 2000));
    }
  });

  std::vector<std::unique_ptr<mutator>> mutators;
  for (int i = 0; i <= worker_threads; ++i)
    mutators.push_back(std::make_unique<mutator>(i, seed + 7919 * (i + 1), shared));
  std::vector<std::thread> workers;
  for (int i = 0; i < worker_threads; ++i)
    workers.emplace_back([&, i] { run_in_frame(*mutators[i], nullptr); });

  // Main is the fifth mutator, and samples heap_inuse after its rounds.
  std::vector<std::uint64_t> samples;
  run_in_frame(*mutators[worker_threads], &samples);
  {
    tricolor::blocking_scope blocking;
    for (auto& w : workers) w.join();
  }
  const std::uint64_t cycles = cycles_so_far(shared);
  shared.stop_collector.store(true);
  {
    tricolor::blocking_scope blocking;
    collector.join();
  }

  // Verdict.
  std::size_t error_count = 0;
  for (const auto& m : mutators)
    for (const auto& e : m->errors()) {
      ADD_FAILURE() << e;
      ++error_count;
    }
  std::uint64_t verified = 0, cleared = 0;
  std::string rounds;
  for (const auto& m : mutators) {
    verified += m->nodes_verified();
    cleared += m->weak_cleared_seen();
    rounds += std::to_string(m->rounds()) + " ";
  }
  std::uint64_t peak = samples.empty() ? 0 : *std::max_element(samples.begin(), samples.end());
  std::printf("torture: %" PRIu64 " cycles (%" PRIu64
              " from the collector thread), rounds per mutator: %s, %" PRIu64
              " node visits verified, %" PRIu64
              " cleared weak refs seen, peak heap_inuse at round end %" PRIu64
              " MiB\n",
              cycles, forced.load(), rounds.c_str(), verified, cleared, peak / MiB);
  EXPECT_EQ(error_count, 0u) << "the object graphs were damaged (see above)";
  EXPECT_GE(cycles, min_cycles)
      << "only " << cycles << " collection cycles ran while the mutators "
      << "worked (deadline reached): the collector is too slow or stalled";
  EXPECT_GT(verified, 0u);
  EXPECT_GT(cleared, 0u)
      << "no weak reference into a dropped generation was ever seen cleared";

  // Memory stays bounded: the live set is bounded by construction, so the
  // heap at the end of the later rounds must not keep growing. Slack: 2x plus
  // 16 MiB, for pacing phase (a sample may land just before or after a cycle).
  ASSERT_GE(samples.size(), 4u);
  const std::size_t half = samples.size() / 2;
  const std::uint64_t first_max =
      *std::max_element(samples.begin(), samples.begin() + half);
  const std::uint64_t second_max =
      *std::max_element(samples.begin() + half, samples.end());
  EXPECT_LE(second_max, 2 * first_max + 16 * MiB)
      << "heap_inuse grew from at most " << first_max / MiB
      << " MiB in the first half of the rounds to " << second_max / MiB
      << " MiB in the second: garbage is not being freed";

  // Everything is garbage now (threads exited, roots reset) except the frozen
  // pool; drop that too.
  shared.frozen.reset();
  mutators.clear();
  tricolor_test::collect_clean();
  const auto after = tricolor::read_stats();
  // Slack: main's own dead frames are zeroed by collect_clean(), but a stale
  // word in a callee-saved register of main may still retain one generation's
  // subgraph (a few thousand objects); a leak of the run would be millions.
  EXPECT_LE(after.live_objects, base.live_objects + 20000)
      << "objects of the finished run are still live: " << after.live_objects
      << " (before the run: " << base.live_objects << ")";
}

}  // namespace
