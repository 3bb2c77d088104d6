// Concurrency torture test: eight mutator threads share ONE object graph and
// mutate it while collection cycles run back to back (a collector thread
// calls collect() in a loop, and GC percent 25 makes pacing start cycles of
// its own). Around them: short-lived threads that allocate, publish into the
// shared graph and exit while cycles run; a thread that sleeps inside a
// blocking_scope holding a subtree only on its stack; and, once per round,
// every mutator holds a subtree only on its stack while its last heap
// reference is cut and a cycle runs, then stores it back into the (possibly
// already marked) graph.
//
// Shared structure (all reachable from gc_roots):
//
//   table     gc_array of 256 slots; slot i guarded by table_lock(i)
//   exchange  a managed object with 16 gc_ptr slots, guarded by exchange_lock:
//             threads swap subgraphs through it
//   handoff   std::vector<gc_root<cnode>> guarded by handoff_lock: threads
//             hand subgraphs (and their own gc_roots) to each other
//   anchors   one slot per mutator, for the stack-only episode
//
// Data-race freedom (the test must be clean under ThreadSanitizer): a
// mutator's gc_ptr reads are plain loads, so every mutable field of a shared
// node (kids, arr, arr_len, vec, weak, weak_id) is read and written only under
// the node's striped lock, lock_of(node). The immutable fields (id, check,
// epoch, inline bytes, the noscan payload) are written before the node is
// published under some lock, so every later reader is ordered after them.
// Nodes under construction are private to their thread. At most one lock is
// held at a time (two table locks are taken together, deadlock-free), and a
// lock that is not free at once is waited for inside a blocking_scope (unless
// TRICOLOR_TORTURE_BLOCKING_SCOPES=0), so a thread blocked on a lock never
// delays a stop-the-world (its holder may be parked at a safepoint while
// allocating).
//
// Checks: every node carries an id, bytes derived from the id and a checksum
// over both; a noscan payload holds words derived from the id; every visit
// checks them (a freed-and-reused or poisoned node fails), and the recorded
// array length, the vector's bound and the weak reference (null, or the
// expected intact target). After each round, while the mutators wait, the
// main thread verifies everything reachable from the roots and prunes strong
// edges to nodes older than `prune_age` rounds, which bounds the live heap;
// heap_inuse sampled after each round must not keep growing.
//
// Without blocking scopes: TRICOLOR_TORTURE_BLOCKING_SCOPES=0 runs every wait
// that the test otherwise wraps in a tricolor::blocking_scope (contended
// locks, the round barrier, joins, sleeps) without one, as a program that
// relies on the collector to stop threads blocked in the kernel writes it
// (SPEC §2.2: blocking_scope is an optional hint). All of them go through
// blocking(f) below. A collector that needs the scopes hangs in that mode.
//
// Environment: TRICOLOR_TORTURE_SECONDS (default 20) is the run time,
// multiplied by TRICOLOR_TORTURE_SECONDS_FACTOR (default 1; the verify=1 run
// uses a share); TRICOLOR_TORTURE_SCALE (default 1) multiplies the operations
// per round; TRICOLOR_TORTURE_SEED picks another seed;
// TRICOLOR_TORTURE_BLOCKING_SCOPES=0 leaves out the blocking scopes (default
// 1). At least 4 rounds and
// min_cycles collection cycles run (past the deadline if need be, up to a hard
// limit).
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
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
using tricolor::gc_vector;
using tricolor::make_gc;
using tricolor::make_gc_array;
using tricolor::weak_gc_ptr;
using clock_type = std::chrono::steady_clock;

constexpr std::uint64_t MiB = 1024 * 1024;
constexpr int num_mutators = 8;
constexpr std::size_t table_slots = 256;
constexpr std::size_t table_lock_count = 32;
constexpr std::size_t node_lock_count = 128;
constexpr std::size_t exchange_slots = 16;
constexpr std::size_t handoff_max = 48;
constexpr std::size_t vec_cap = 24;
constexpr std::size_t inline_bytes = 24;
// A new strong edge only goes to a node at most link_max_age rounds old; the
// verification after each round cuts edges to nodes older than prune_age.
constexpr std::uint32_t link_max_age = 1;
constexpr std::uint32_t prune_age = 3;
constexpr std::uint64_t min_cycles = 20;
constexpr int min_rounds = 4;
constexpr std::size_t large_payload_words = 4100;  // > 32 KiB: a large object
constexpr std::size_t large_array_elements = 4100;
constexpr std::uint32_t creator_main = 90;
constexpr std::uint32_t creator_sleeper = 91;
constexpr std::uint32_t creator_short_lived = 92;
constexpr std::uint32_t creator_spawner = 93;

// ---------------------------------------------------------------------------
// Nodes.

std::uint64_t mix(std::uint64_t x) { return tricolor_test::counted::mix(x); }
std::uint8_t inline_byte(std::uint64_t id, std::size_t k) {
  return std::uint8_t(mix(id * 31 + k) >> 19);
}
std::uint64_t data_word(std::uint64_t id, std::size_t k) {
  return mix(id * 1000003 + k);
}
std::uint64_t checksum_of(std::uint64_t id, const std::uint8_t* bytes) {
  std::uint64_t words[inline_bytes / 8];
  std::memcpy(words, bytes, inline_bytes);
  std::uint64_t h = mix(id);
  for (std::uint64_t w : words) h = mix(h ^ w);
  return h;
}

std::atomic<std::uint64_t> next_node_id{1};
std::atomic<std::uint32_t> current_round{0};
std::atomic<std::uint64_t> nodes_destroyed{0};  // destructors may run on any thread
constexpr std::uint64_t poison = 0xdeaddeaddeaddeadull;

struct cnode;
using node_array = gc_array<gc_ptr<cnode>>;
using word_array = gc_array<std::uint64_t>;
using node_vector = gc_vector<gc_ptr<cnode>>;

struct cnode {
  explicit cnode(std::uint32_t creator)
      : id(next_node_id.fetch_add(1, std::memory_order_relaxed)),
        epoch(current_round.load(std::memory_order_relaxed)),
        creator(creator) {
    for (std::size_t k = 0; k < inline_bytes; ++k) bytes[k] = inline_byte(id, k);
    check = checksum_of(id, bytes);
  }
  ~cnode() {
    // Poison, so that a use after the destructor is visible.
    check = poison;
    bytes[0] ^= 0xff;
    nodes_destroyed.fetch_add(1, std::memory_order_relaxed);
  }

  // Immutable once the node is published.
  std::uint64_t id;
  std::uint64_t check;
  std::uint32_t epoch;    // round in which it was allocated
  std::uint32_t creator;  // mutator index, or creator_*
  std::uint8_t bytes[inline_bytes];
  std::uint32_t payload_length = 0;
  gc_ptr<word_array> payload;  // noscan: payload[k] == data_word(id, k)

  // Mutable: guarded by lock_of(*this) once published.
  gc_ptr<cnode> kids[4];
  gc_ptr<node_array> arr;
  std::uint32_t arr_length = 0;
  node_vector vec;              // at most vec_cap elements
  weak_gc_ptr<cnode> weak;      // null, or an intact node with id weak_id
  std::uint64_t weak_id = 0;

  void trace(tricolor::tracer& t) const { t(kids, arr, payload, vec, weak); }
};

struct exchange_box {
  gc_ptr<cnode> slots[exchange_slots];
  void trace(tricolor::tracer& t) const { t(slots); }
};

// ---------------------------------------------------------------------------
// Blocking calls.

// TRICOLOR_TORTURE_BLOCKING_SCOPES: 1 (default) wraps every blocking call in
// a tricolor::blocking_scope, 0 makes none.
bool use_blocking_scopes() {
  static const bool use = [] {
    const char* value = std::getenv("TRICOLOR_TORTURE_BLOCKING_SCOPES");
    if (value == nullptr || *value == '\0' || std::strcmp(value, "1") == 0) return true;
    if (std::strcmp(value, "0") == 0) return false;
    std::fprintf(stderr,
                 "concurrent_torture: TRICOLOR_TORTURE_BLOCKING_SCOPES=%s is neither 0 nor 1; "
                 "using 1\n",
                 value);
    return true;
  }();
  return use;
}

// Runs f(), a call that may block, inside a blocking_scope unless
// TRICOLOR_TORTURE_BLOCKING_SCOPES=0.
template <class F>
void blocking(F&& f) {
  if (use_blocking_scopes()) {
    tricolor::blocking_scope scope;
    f();
  } else {
    f();
  }
}

// ---------------------------------------------------------------------------
// Locks.

struct alignas(64) padded_mutex {
  std::mutex m;
};
padded_mutex node_locks[node_lock_count];
padded_mutex table_locks[table_lock_count];
padded_mutex anchor_locks[num_mutators];
std::mutex exchange_lock;
std::mutex handoff_lock;

std::mutex& lock_of(const cnode& node) { return node_locks[node.id % node_lock_count].m; }
std::mutex& table_lock(std::size_t slot) { return table_locks[slot % table_lock_count].m; }

// Takes a mutex; waits for it, if it must, inside a blocking_scope.
class locked {
 public:
  explicit locked(std::mutex& m) : m_(m) {
    if (!m_.try_lock()) blocking([&] { m_.lock(); });
  }
  ~locked() { m_.unlock(); }
  locked(const locked&) = delete;
  locked& operator=(const locked&) = delete;

 private:
  std::mutex& m_;
};

class locked_pair {
 public:
  locked_pair(std::mutex& a, std::mutex& b) : a_(a), b_(&a == &b ? nullptr : &b) {
    if (b_ == nullptr) {
      if (!a_.try_lock()) blocking([&] { a_.lock(); });
    } else if (std::try_lock(a_, *b_) != -1) {
      blocking([&] { std::lock(a_, *b_); });
    }
  }
  ~locked_pair() {
    a_.unlock();
    if (b_) b_->unlock();
  }
  locked_pair(const locked_pair&) = delete;
  locked_pair& operator=(const locked_pair&) = delete;

 private:
  std::mutex& a_;
  std::mutex* b_;
};

// ---------------------------------------------------------------------------
// Errors and the fatal-signal reporter.

std::mutex error_lock;  // a leaf: nothing is locked or allocated under it
std::vector<std::string> error_messages;
std::atomic<std::uint64_t> error_count{0};

void report(std::string message) {
  error_count.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard guard(error_lock);
  if (error_messages.size() < 40) error_messages.push_back(std::move(message));
}

std::string hex(std::uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%016" PRIx64, value);
  return buffer;
}

thread_local const char* activity = "idle";
thread_local std::uint32_t activity_thread = 999;

using tricolor_test::append;

extern "C" void on_fatal_signal(int signal_number) {
  char buffer[400];
  char* out = buffer;
  const char* end = buffer + sizeof buffer - 1;
  append(out, end, "\nconcurrent_torture: fatal signal ");
  append(out, end, std::uint64_t(signal_number));
  append(out, end, " in thread ");
  append(out, end, std::uint64_t(activity_thread));
  append(out, end, " (0-7 mutators, 90 main, 91 sleeper, 92 short-lived, 93 spawner, "
                   "94 collector), round ");
  append(out, end, std::uint64_t(current_round.load(std::memory_order_relaxed)));
  append(out, end, ", while ");
  append(out, end, activity);
  append(out, end, "\n");
  ssize_t ignored = write(2, buffer, std::size_t(out - buffer));
  (void)ignored;
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

// ---------------------------------------------------------------------------
// Shared state.

struct shared_state {
  gc_root<node_array> table{nullptr, "concurrent_torture.table"};
  gc_root<node_array> anchors{nullptr, "concurrent_torture.anchors"};
  gc_root<exchange_box> exchange{nullptr, "concurrent_torture.exchange"};
  std::vector<gc_root<cnode>> handoff;  // guarded by handoff_lock
  std::size_t ops_per_round = 0;
  std::atomic<bool> stop_mutators{false};
  std::atomic<bool> stop_helpers{false};
  std::barrier<> round_barrier{num_mutators + 1};

  // Counters, summed over all threads.
  std::atomic<std::uint64_t> visits{0};
  std::atomic<std::uint64_t> weak_live{0};
  std::atomic<std::uint64_t> weak_cleared{0};
  std::atomic<std::uint64_t> stack_only_episodes{0};
  std::atomic<std::uint64_t> stack_only_with_cycles{0};
  std::atomic<std::uint64_t> naps{0};
  std::atomic<std::uint64_t> sleeper_naps_with_cycles{0};
  std::atomic<std::uint64_t> short_lived_threads{0};
  std::atomic<std::uint64_t> exchanges{0};
  std::atomic<std::uint64_t> handoffs{0};
  std::atomic<std::uint64_t> large_objects{0};
  std::atomic<std::uint64_t> pruned{0};
};

std::uint64_t num_gc() { return tricolor::read_stats().num_gc; }

void arrive_and_wait(std::barrier<>& barrier) {
  blocking([&] { barrier.arrive_and_wait(); });
}

// ---------------------------------------------------------------------------
// What every thread that touches the graph can do.

class actor {
 public:
  actor(std::uint32_t creator, std::uint64_t seed, shared_state& shared)
      : creator_(creator), rng_(seed), shared_(shared) {
    activity_thread = creator;
  }

  ~actor() {
    shared_.visits.fetch_add(visits_, std::memory_order_relaxed);
    shared_.weak_live.fetch_add(weak_live_, std::memory_order_relaxed);
    shared_.weak_cleared.fetch_add(weak_cleared_, std::memory_order_relaxed);
  }

 protected:
  std::uint64_t random(std::uint64_t n) { return rng_() % n; }
  static std::uint32_t round() { return current_round.load(std::memory_order_relaxed); }
  static bool fresh(const cnode& node) { return node.epoch + link_max_age >= round(); }

  void error(const cnode* node, const char* how, const std::string& what) {
    report("thread " + std::to_string(creator_) + ", round " + std::to_string(round()) +
           ": node " + (node ? std::to_string(node->id) : std::string("?")) + " at " +
           hex(reinterpret_cast<std::uintptr_t>(node)) + ", reached via " + how + ": " +
           what);
  }

  // The immutable part of a node; needs no lock. False if the node is
  // damaged (its fields must then not be followed).
  bool check_node(const cnode& node, const char* how) {
    ++visits_;
    if (node.check != checksum_of(node.id, node.bytes)) {
      error(&node, how,
            "checksum " + hex(node.check) + " does not match its id and bytes (expected " +
                hex(checksum_of(node.id, node.bytes)) +
                ") - freed while reachable, or overwritten");
      return false;
    }
    for (std::size_t k = 0; k < inline_bytes; ++k) {
      if (node.bytes[k] != inline_byte(node.id, k)) {
        error(&node, how, "inline byte " + std::to_string(k) + " is damaged");
        return false;
      }
    }
    if (node.epoch > round()) {
      error(&node, how, "epoch " + std::to_string(node.epoch) + " is in the future");
      return false;
    }
    const std::size_t payload_size = node.payload ? node.payload->size() : 0;
    if (payload_size != node.payload_length) {
      error(&node, how,
            "payload of " + std::to_string(payload_size) + " words, expected " +
                std::to_string(node.payload_length));
      return false;
    }
    for (std::size_t k = 0; k < payload_size; ++k) {
      if ((*node.payload)[k] != data_word(node.id, k)) {
        error(&node, how,
              "payload word " + std::to_string(k) + " is " + hex((*node.payload)[k]) +
                  ", expected " + hex(data_word(node.id, k)));
        return false;
      }
    }
    return true;
  }

  // The mutable part; the caller holds lock_of(node) (or the node is private).
  bool check_mutable(const cnode& node, const char* how) {
    const std::size_t arr_size = node.arr ? node.arr->size() : 0;
    if (arr_size != node.arr_length) {
      error(&node, how,
            "gc_ptr array of " + std::to_string(arr_size) + " elements, expected " +
                std::to_string(node.arr_length));
      return false;
    }
    if (node.vec.size() > vec_cap || node.vec.capacity() < node.vec.size()) {
      error(&node, how,
            "gc_vector of size " + std::to_string(node.vec.size()) + " and capacity " +
                std::to_string(node.vec.capacity()));
      return false;
    }
    if (gc_ptr<cnode> target = node.weak.lock()) {
      if (target->id != node.weak_id || target->check != checksum_of(target->id, target->bytes)) {
        error(&node, how,
              "weak reference to an object with id " + std::to_string(target->id) +
                  " and checksum " + hex(target->check) + ", expected intact node " +
                  std::to_string(node.weak_id) +
                  " - its target was freed but the weak reference not cleared");
        return false;
      }
      ++weak_live_;
    } else if (node.weak_id != 0) {
      ++weak_cleared_;
    }
    return true;
  }

  gc_ptr<cnode> read_table(std::size_t slot) {
    locked guard(table_lock(slot));
    return (*shared_.table)[slot];
  }
  void write_table(std::size_t slot, const gc_ptr<cnode>& node) {
    locked guard(table_lock(slot));
    (*shared_.table)[slot] = node;
  }

  gc_ptr<cnode> new_node(bool with_payload = true) {
    auto node = make_gc<cnode>(creator_);
    if (with_payload) {
      std::uint64_t roll = random(1000);
      if (roll < 300) {
        // Noscan payload: usually small, now and then larger than 32 KiB.
        std::size_t n = roll < 3 ? large_payload_words + random(4000) : 1 + random(120);
        if (n >= large_payload_words) ++large_;
        auto payload = make_gc_array<std::uint64_t>(n);
        for (std::size_t k = 0; k < n; ++k) (*payload)[k] = data_word(node->id, k);
        node->payload = payload;
        node->payload_length = std::uint32_t(n);
      }
    }
    return node;
  }

  // A random walk through the shared graph from a table slot; every node on
  // the way is checked. Null, or the (intact) node where it stopped.
  gc_ptr<cnode> walk(int max_hops = 6) {
    gc_ptr<cnode> node = read_table(random(table_slots));
    for (std::uint64_t hops = random(std::uint64_t(max_hops) + 1); node && hops > 0; --hops) {
      if (!check_node(*node, "a random walk")) return nullptr;
      gc_ptr<cnode> next;
      {
        locked guard(lock_of(*node));
        if (!check_mutable(*node, "a random walk")) return nullptr;
        std::uint64_t choice = random(6);
        if (choice < 4) {
          next = node->kids[choice];
        } else if (choice == 4) {
          if (node->arr && node->arr->size() > 0)
            next = (*node->arr)[random(node->arr->size())];
        } else if (node->vec.size() > 0) {
          next = node->vec[random(node->vec.size())];
        }
      }
      if (!next) break;
      node = next;
    }
    if (node && !check_node(*node, "the end of a random walk")) return nullptr;
    return node;
  }

  // A target for a new strong edge: a fresh node of the graph, a new node, or
  // null.
  gc_ptr<cnode> pick_target() {
    std::uint64_t roll = random(10);
    if (roll == 0) return nullptr;
    if (roll < 3) return new_node();
    gc_ptr<cnode> node = walk();
    if (node && !fresh(*node)) return nullptr;
    return node;
  }

  // A private subtree: tree edges, cycles back to its root, edges into the
  // shared graph, small gc_ptr arrays, a gc_vector, weak references.
  gc_ptr<cnode> build_subtree(int depth) {
    gc_ptr<cnode> root = new_node();
    if (depth <= 0) return root;
    const int kids = int(random(4));
    for (int k = 0; k < kids; ++k) {
      std::uint64_t roll = random(12);
      if (roll == 0) root->kids[k] = pick_target();
      else if (roll == 1) root->kids[k] = root;  // a cycle
      else root->kids[k] = build_subtree(depth - 1 - int(random(2)));
    }
    if (random(8) == 0) {
      std::size_t n = 1 + random(12);
      auto array = make_gc_array<gc_ptr<cnode>>(n);
      for (auto& element : *array)
        if (random(3) != 0) element = random(4) == 0 ? root : new_node(false);
      root->arr = array;
      root->arr_length = std::uint32_t(n);
    }
    if (random(8) == 0)
      for (std::uint64_t i = random(6); i > 0; --i) root->vec.push_back(new_node(false));
    if (random(6) == 0 && root->kids[0]) {
      root->weak = root->kids[0];
      root->weak_id = root->kids[0]->id;
    }
    return root;
  }

  // Checks everything reachable from `work` (consumed), taking each node's
  // lock to read its edges; with `prune`, cuts strong edges to nodes older
  // than prune_age rounds. Stops after `limit` nodes. The work list is a
  // managed vector (a local whose buffer the stack scan finds), so a node in
  // it stays alive even if another thread cuts it from the graph meanwhile.
  std::size_t verify_reachable(node_vector& work, std::size_t limit, bool prune,
                               const char* how) {
    std::unordered_set<const cnode*> seen;  // addresses only, never followed
    const std::uint32_t now = round();
    auto old = [&](const gc_ptr<cnode>& p) { return p && p->epoch + prune_age < now; };
    std::size_t checked = 0;
    while (!work.empty() && checked < limit) {
      gc_ptr<cnode> node = work.back();
      work.pop_back();
      if (!node || !seen.insert(node.get()).second) continue;
      ++checked;
      if (checked % 512 == 0) tricolor::safepoint();
      if (!check_node(*node, how)) continue;
      locked guard(lock_of(*node));
      if (!check_mutable(*node, how)) continue;
      for (auto& kid : node->kids) {
        if (prune && old(kid)) {
          kid = nullptr;
          ++pruned_;
        } else if (kid) {
          work.push_back(kid);
        }
      }
      if (node->arr) {
        for (auto& element : *node->arr) {
          if (prune && old(element)) {
            element = nullptr;
            ++pruned_;
          } else if (element) {
            work.push_back(element);
          }
        }
      }
      for (std::size_t i = 0; i < node->vec.size(); ++i) {
        if (prune && old(node->vec[i])) {
          node->vec[i] = nullptr;
          ++pruned_;
        } else if (node->vec[i]) {
          work.push_back(node->vec[i]);
        }
      }
    }
    work.clear();
    return checked;
  }

  std::size_t verify_from(const gc_ptr<cnode>& root, std::size_t limit, const char* how) {
    node_vector work;
    work.push_back(root);
    return verify_reachable(work, limit, false, how);
  }

  // Allocates garbage (to reuse freed memory) until `target` cycles have run
  // or `cap` has passed; true if the cycles ran.
  [[gnu::noinline]] bool churn_until_cycles(std::uint64_t target,
                                            clock_type::duration cap) {
    const auto until = clock_type::now() + cap;
    while (num_gc() < target) {
      if (clock_type::now() > until || shared_.stop_helpers.load()) return false;
      for (int i = 0; i < 64; ++i) {
        auto junk = new_node(i % 8 == 0);
        junk->kids[0] = junk;
        asm volatile("" : : "r"(junk.get()) : "memory");
      }
      tricolor::safepoint();
      std::this_thread::yield();
    }
    return true;
  }

  // Stores `node` somewhere in the shared graph: a table slot, or an edge of
  // a node found by a walk (which a concurrent marker may have blackened).
  void publish(const gc_ptr<cnode>& node) {
    if (random(2) == 0) {
      if (gc_ptr<cnode> parent = walk()) {
        locked guard(lock_of(*parent));
        parent->kids[random(4)] = node;
        return;
      }
    }
    write_table(random(table_slots), node);
  }

  const std::uint32_t creator_;
  std::mt19937_64 rng_;
  shared_state& shared_;
  std::uint64_t visits_ = 0;
  std::uint64_t weak_live_ = 0;
  std::uint64_t weak_cleared_ = 0;
  std::uint64_t pruned_ = 0;
  std::uint64_t large_ = 0;
};

// ---------------------------------------------------------------------------
// The mutators.

class mutator : public actor {
 public:
  mutator(int index, std::uint64_t seed, shared_state& shared)
      : actor(std::uint32_t(index), seed, shared), index_(index) {}

  ~mutator() { shared_.large_objects.fetch_add(large_, std::memory_order_relaxed); }

  void run() {
    for (;;) {
      activity = "waiting for a round";
      arrive_and_wait(shared_.round_barrier);
      if (shared_.stop_mutators.load()) break;
      const std::size_t episode_at = random(shared_.ops_per_round);
      for (std::size_t op = 0; op < shared_.ops_per_round; ++op) {
        if (op == episode_at) stack_only_episode();
        step();
        if (error_count.load(std::memory_order_relaxed) > 100) break;
      }
      activity = "waiting for the round's verification";
      arrive_and_wait(shared_.round_barrier);
    }
    activity = "exiting";
    private_.reset();
  }

 private:
  void step() {
    std::uint64_t op = random(100);
    if (op < 20) {
      activity = "walking";
      walk(8);
    } else if (op < 36) {
      activity = "relinking an edge";
      gc_ptr<cnode> target = pick_target();
      if (gc_ptr<cnode> node = walk()) {
        locked guard(lock_of(*node));
        node->kids[random(4)] = target;
      }
    } else if (op < 44) {
      activity = "cutting a subtree";
      if (random(5) == 0) {
        write_table(random(table_slots), nullptr);
      } else if (gc_ptr<cnode> node = walk()) {
        locked guard(lock_of(*node));
        std::uint64_t what = random(4);
        if (what < 2) node->kids[random(4)] = nullptr;
        else if (what == 2 && node->arr && node->arr->size() > 0)
          (*node->arr)[random(node->arr->size())] = nullptr;
        else if (node->vec.size() > 0)
          node->vec.pop_back();
      }
    } else if (op < 56) {
      activity = "rebuilding a subtree";
      gc_ptr<cnode> subtree = build_subtree(1 + int(random(3)));
      publish(subtree);
    } else if (op < 64) {
      activity = "attaching or writing a gc_ptr array";
      array_op();
    } else if (op < 71) {
      activity = "pushing to a gc_vector";
      gc_ptr<cnode> target = random(2) ? pick_target() : new_node();
      if (gc_ptr<cnode> node = walk()) {
        locked guard(lock_of(*node));
        if (node->vec.size() >= vec_cap) node->vec.clear();
        else node->vec.push_back(target);
      }
    } else if (op < 78) {
      activity = "setting a weak reference";
      gc_ptr<cnode> target = walk();  // any age: old targets die and get cleared
      weak_gc_ptr<cnode> weak(target);
      const std::uint64_t target_id = target ? target->id : 0;
      if (gc_ptr<cnode> node = walk()) {
        locked guard(lock_of(*node));
        node->weak = std::move(weak);
        node->weak_id = target_id;
      }
    } else if (op < 84) {
      activity = "swapping a subgraph through the exchange object";
      exchange_op();
    } else if (op < 90) {
      activity = "handing a subgraph over through a gc_root";
      handoff_op();
    } else if (op < 95) {
      activity = "making cyclic garbage";
      gc_ptr<cnode> head = new_node(), tail = head;
      for (int i = 0; i < 20; ++i) {
        auto node = new_node(i % 4 == 0);
        tail->kids[0] = node;
        tail = node;
      }
      tail->kids[0] = head;
    } else if (op < 99) {
      activity = "swapping two table slots";
      const std::size_t i = random(table_slots), j = random(table_slots);
      locked_pair guard(table_lock(i), table_lock(j));
      gc_ptr<cnode> a = (*shared_.table)[i];
      (*shared_.table)[i] = (*shared_.table)[j];
      (*shared_.table)[j] = a;
    } else {
      activity = "napping in a blocking_scope with a subtree on the stack";
      gc_ptr<cnode> subtree = build_subtree(2);
      const auto nap = std::chrono::microseconds(random(1500));
      blocking([&] { std::this_thread::sleep_for(nap); });
      verify_from(subtree, 200, "a subtree held on the stack across a nap");
      if (random(2) == 0) publish(subtree);
      shared_.naps.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void array_op() {
    if (random(2) == 0) {
      // A fresh array: small, or now and then larger than 32 KiB.
      const bool large = random(150) == 0;
      std::size_t n = large ? large_array_elements + random(2000) : random(40);
      if (large) ++large_;
      auto array = make_gc_array<gc_ptr<cnode>>(n);
      for (auto& element : *array) {
        std::uint64_t roll = random(large ? 16 : 3);
        if (roll == 0) element = new_node(false);
        else if (roll == 1) element = pick_target();
      }
      if (gc_ptr<cnode> node = walk()) {
        locked guard(lock_of(*node));
        node->arr = array;
        node->arr_length = std::uint32_t(n);
      }
    } else {
      gc_ptr<cnode> target = pick_target();
      if (gc_ptr<cnode> node = walk()) {
        locked guard(lock_of(*node));
        if (node->arr && node->arr->size() > 0)
          (*node->arr)[random(node->arr->size())] = target;
      }
    }
  }

  void exchange_op() {
    // Offer this thread's private subgraph, a table slot's or a fresh one;
    // take whatever another thread left in the slot.
    gc_ptr<cnode> offer;
    std::uint64_t source = random(3);
    if (source == 0) offer = private_.get();
    else if (source == 1) offer = read_table(random(table_slots));
    else offer = build_subtree(2);
    if (offer && !fresh(*offer)) offer = nullptr;
    gc_ptr<cnode> got;
    {
      locked guard(exchange_lock);
      gc_ptr<cnode>& slot = shared_.exchange->slots[random(exchange_slots)];
      got = slot;
      slot = offer;
    }
    shared_.exchanges.fetch_add(1, std::memory_order_relaxed);
    if (!got) return;
    verify_from(got, 300, "a subgraph taken from the exchange object");
    if (!fresh(*got)) return;  // too old to link: let it die
    if (random(2) == 0) private_ = got;
    else publish(got);
  }

  void handoff_op() {
    if (random(2) == 0) {
      // Give: this thread's own gc_root (moved), or a new one.
      gc_root<cnode> give;
      if (private_ && random(2) == 0) {
        give = std::move(private_);  // private_ now holds nothing
      } else {
        give = gc_root<cnode>(build_subtree(2), "concurrent_torture.handoff");
      }
      locked guard(handoff_lock);
      if (shared_.handoff.size() < handoff_max) shared_.handoff.push_back(std::move(give));
    } else {
      // Take one another thread gave, and keep or publish it.
      gc_root<cnode> taken;
      {
        locked guard(handoff_lock);
        if (shared_.handoff.empty()) return;
        std::swap(shared_.handoff[random(shared_.handoff.size())], shared_.handoff.back());
        taken = std::move(shared_.handoff.back());
        shared_.handoff.pop_back();
      }
      shared_.handoffs.fetch_add(1, std::memory_order_relaxed);
      gc_ptr<cnode> got = taken.get();
      if (!got) return;
      verify_from(got, 300, "a subgraph handed over through a gc_root");
      if (!fresh(*got)) return;
      if (random(2) == 0) private_ = std::move(taken);
      else publish(got);
    }
  }

  // (a) A subtree held only on this thread's stack while its last heap
  // reference is cut and a cycle runs, then stored back into the graph.
  [[gnu::noinline]] void stack_only_episode() {
    activity = "stack-only episode: anchoring a subtree";
    gc_ptr<cnode> subtree = build_subtree(3);
    {
      locked guard(anchor_locks[index_].m);
      (*shared_.anchors)[std::size_t(index_)] = subtree;
    }
    // A cycle marks it through the anchor (a concurrent marker may blacken it).
    // The waits are bounded generously: under ThreadSanitizer with verify=1 a
    // cycle takes about 2 s (21 cycles in 41 s on the 2-core CI machine), and
    // with 3 s bounds no episode of a whole run saw its cycles.
    constexpr auto cycle_wait = std::chrono::seconds(10);
    bool cycles = churn_until_cycles(num_gc() + 1, cycle_wait);
    {
      locked guard(anchor_locks[index_].m);
      (*shared_.anchors)[std::size_t(index_)] = nullptr;  // the last heap reference
    }
    activity = "stack-only episode: holding a subtree only on the stack";
    // A whole cycle starts and ends while only this stack holds it.
    cycles = churn_until_cycles(num_gc() + 2, cycle_wait) && cycles;
    verify_from(subtree, 1000, "a subtree held only on the stack across cycles");
    activity = "stack-only episode: storing the subtree back";
    publish(subtree);
    shared_.stack_only_episodes.fetch_add(1, std::memory_order_relaxed);
    if (cycles) shared_.stack_only_with_cycles.fetch_add(1, std::memory_order_relaxed);
  }

  const int index_;
  gc_root<cnode> private_{nullptr, "concurrent_torture.private"};
};

// ---------------------------------------------------------------------------
// The helper threads.

// (b) A thread that starts, allocates, publishes into the shared graph (or
// the exchange object, or the handoff roots, or nowhere) and exits.
class short_lived : public actor {
 public:
  using actor::actor;
  void run() {
    activity = "short-lived thread";
    gc_ptr<cnode> subtree = build_subtree(1 + int(random(3)));
    for (int i = 0; i < 4; ++i) walk();
    verify_from(subtree, 200, "a short-lived thread's subtree");
    std::uint64_t where = random(8);
    if (where < 4) {
      publish(subtree);
    } else if (where == 4) {
      locked guard(exchange_lock);
      shared_.exchange->slots[random(exchange_slots)] = subtree;
    } else if (where == 5) {
      gc_root<cnode> root(subtree, "concurrent_torture.short_lived");
      locked guard(handoff_lock);
      if (shared_.handoff.size() < handoff_max) shared_.handoff.push_back(std::move(root));
    }  // else: all garbage once the thread is gone
  }
};

void spawner_main(shared_state& shared, std::uint64_t seed) {
  activity_thread = creator_spawner;
  activity = "spawning short-lived threads";
  std::mt19937_64 rng(seed);
  while (!shared.stop_helpers.load()) {
    std::vector<std::thread> threads;
    const int n = 1 + int(rng() % 3);
    for (int i = 0; i < n; ++i) {
      const std::uint64_t s = rng();
      threads.emplace_back([&shared, s] {
        short_lived(creator_short_lived, s, shared).run();
      });
    }
    blocking([&] {
      for (auto& t : threads) t.join();
    });
    shared.short_lived_threads.fetch_add(std::uint64_t(n), std::memory_order_relaxed);
    const auto pause = std::chrono::microseconds(rng() % 3000);
    blocking([&] { std::this_thread::sleep_for(pause); });
  }
}

// (c) A thread that sleeps in a blocking_scope while cycles run, holding a
// subtree only on its stack, then verifies it and sometimes publishes it.
class sleeper : public actor {
 public:
  using actor::actor;
  ~sleeper() { shared_.large_objects.fetch_add(large_, std::memory_order_relaxed); }

  void run() {
    while (!shared_.stop_helpers.load()) nap();
  }

 private:
  [[gnu::noinline]] void nap() {
    activity = "sleeper: building";
    gc_ptr<cnode> subtree = build_subtree(3);
    gc_ptr<cnode> extra = new_node();
    auto big = make_gc_array<gc_ptr<cnode>>(large_array_elements + random(100));
    (*big)[random(big->size())] = subtree;
    (*big)[0] = extra;
    ++large_;
    const std::uint64_t start = num_gc();
    const auto until = clock_type::now() + std::chrono::seconds(3);
    activity = "sleeper: sleeping in a blocking_scope";
    while (num_gc() < start + 2 && clock_type::now() < until &&
           !shared_.stop_helpers.load()) {
      const auto nap = std::chrono::milliseconds(2 + random(20));
      blocking([&] { std::this_thread::sleep_for(nap); });
    }
    if (num_gc() >= start + 2)
      shared_.sleeper_naps_with_cycles.fetch_add(1, std::memory_order_relaxed);
    activity = "sleeper: verifying";
    verify_from(subtree, 2000, "the sleeper's subtree, held on its stack while it slept");
    verify_from(extra, 100, "the sleeper's extra node");
    if (big->size() < large_array_elements || (*big)[0] != extra)
      error(extra.get(), "the sleeper's large array", "the large array was damaged");
    if (random(2) == 0) publish(subtree);
  }
};

// ---------------------------------------------------------------------------
// The main thread: sets up, runs rounds, verifies and prunes between rounds.

class coordinator : public actor {
 public:
  using actor::actor;

  [[gnu::noinline]] void setup() {
    activity = "setting up";
    shared_.table = make_gc_array<gc_ptr<cnode>>(table_slots);
    shared_.anchors = make_gc_array<gc_ptr<cnode>>(num_mutators);
    shared_.exchange = make_gc<exchange_box>();
    for (std::size_t i = 0; i < table_slots; ++i)
      (*shared_.table)[i] = build_subtree(2);
  }

  // Everything reachable from the roots, checked; old edges and roots cut.
  [[gnu::noinline]] std::size_t verify_all() {
    activity = "verifying the whole graph";
    const std::uint32_t now = round();
    auto old = [&](const gc_ptr<cnode>& p) { return p && p->epoch + prune_age < now; };
    node_vector work;
    for (std::size_t i = 0; i < table_slots; ++i) {
      locked guard(table_lock(i));
      gc_ptr<cnode>& slot = (*shared_.table)[i];
      if (old(slot)) slot = nullptr;
      else if (slot) work.push_back(slot);
    }
    {
      locked guard(exchange_lock);
      for (auto& slot : shared_.exchange->slots) {
        if (old(slot)) slot = nullptr;
        else if (slot) work.push_back(slot);
      }
    }
    {
      locked guard(handoff_lock);
      std::erase_if(shared_.handoff, [&](const gc_root<cnode>& r) { return old(r.get()); });
      for (const auto& r : shared_.handoff)
        if (r) work.push_back(r.get());
    }
    for (int t = 0; t < num_mutators; ++t) {
      locked guard(anchor_locks[t].m);
      if (gc_ptr<cnode> a = (*shared_.anchors)[std::size_t(t)]) work.push_back(a);
    }
    std::size_t checked = verify_reachable(work, SIZE_MAX, true, "the verification pass");
    shared_.pruned.fetch_add(pruned_, std::memory_order_relaxed);
    pruned_ = 0;
    return checked;
  }

  void drop_everything() {
    shared_.table.reset();
    shared_.anchors.reset();
    shared_.exchange.reset();
    locked guard(handoff_lock);
    shared_.handoff.clear();
  }
};

struct run_result {
  std::uint64_t cycles = 0;
  std::uint64_t forced = 0;
  int rounds = 0;
  std::vector<std::uint64_t> samples;  // heap_inuse after each round
  std::uint64_t max_checked = 0;
  double seconds = 0;
};

[[gnu::noinline]] run_result run_torture(std::uint64_t seed, double seconds, double scale) {
  run_result result;
  shared_state shared;
  shared.ops_per_round = std::size_t(std::max(100.0, 4000 * scale));
  coordinator main_actor(creator_main, seed, shared);
  current_round.store(1);
  main_actor.setup();

  const auto start = clock_type::now();
  const auto deadline = start + std::chrono::milliseconds(std::int64_t(seconds * 1000));
  const auto hard_deadline =
      deadline + std::chrono::milliseconds(std::int64_t(std::max(60.0, seconds) * 1000));
  const std::uint64_t base_gc = num_gc();

  std::atomic<std::uint64_t> forced{0};
  std::thread collector([&] {
    activity_thread = 94;
    activity = "calling collect() in a loop (the collector thread)";
    std::mt19937_64 rng(seed ^ 0xc011ec7);
    while (!shared.stop_helpers.load()) {
      tricolor::collect();
      forced.fetch_add(1);
      const auto pause = std::chrono::microseconds(rng() % 500);
      blocking([&] { std::this_thread::sleep_for(pause); });
    }
  });
  std::thread spawner(spawner_main, std::ref(shared), seed ^ 0x5ba1);
  std::thread sleeping([&] { sleeper(creator_sleeper, seed ^ 0x51ee, shared).run(); });
  std::vector<std::thread> mutators;
  for (int i = 0; i < num_mutators; ++i)
    mutators.emplace_back([&, i] { mutator(i, seed + 7919 * (i + 1), shared).run(); });

  for (std::uint32_t round = 1;; ++round) {
    const auto now = clock_type::now();
    const bool enough = result.rounds >= min_rounds && num_gc() - base_gc >= min_cycles;
    if ((now >= deadline && enough) || now >= hard_deadline ||
        error_count.load() > 100) {
      shared.stop_mutators.store(true);
      arrive_and_wait(shared.round_barrier);  // releases them to exit
      break;
    }
    current_round.store(round);
    arrive_and_wait(shared.round_barrier);  // the round starts
    arrive_and_wait(shared.round_barrier);  // every mutator finished it
    result.max_checked = std::max<std::uint64_t>(result.max_checked, main_actor.verify_all());
    result.samples.push_back(tricolor::read_stats().heap_inuse);
    ++result.rounds;
  }
  blocking([&] {
    for (auto& t : mutators) t.join();
  });
  // One more pass with the mutators gone (helpers still running).
  main_actor.verify_all();
  result.cycles = num_gc() - base_gc;
  shared.stop_helpers.store(true);
  blocking([&] {
    spawner.join();
    sleeping.join();
    collector.join();
  });
  result.forced = forced.load();
  result.seconds = std::chrono::duration<double>(clock_type::now() - start).count();
  main_actor.drop_everything();

  std::printf(
      "concurrent_torture: %" PRIu64 " cycles (%" PRIu64 " from the collector thread) in %.1f s, "
      "%d rounds of %zu ops x %d mutators, %" PRIu64 " node visits checked, "
      "largest verification pass %" PRIu64 " nodes, %" PRIu64 " edges pruned\n"
      "concurrent_torture: stack-only episodes %" PRIu64 " (%" PRIu64 " saw their cycles), "
      "mutator naps %" PRIu64 ", sleeper naps across 2+ cycles %" PRIu64
      ", short-lived threads %" PRIu64 ", exchanges %" PRIu64 ", gc_root handoffs %" PRIu64
      ", large objects %" PRIu64 ", weak refs seen live %" PRIu64 " / cleared %" PRIu64
      ", destructors run %" PRIu64 "\n",
      result.cycles, result.forced, result.seconds, result.rounds, shared.ops_per_round,
      num_mutators, shared.visits.load(), result.max_checked, shared.pruned.load(),
      shared.stack_only_episodes.load(), shared.stack_only_with_cycles.load(),
      shared.naps.load(), shared.sleeper_naps_with_cycles.load(),
      shared.short_lived_threads.load(), shared.exchanges.load(), shared.handoffs.load(),
      shared.large_objects.load(), shared.weak_live.load(), shared.weak_cleared.load(),
      nodes_destroyed.load());
  std::fflush(stdout);

  EXPECT_GT(shared.visits.load(), 0u);
  EXPECT_GT(shared.weak_cleared.load(), 0u)
      << "no weak reference to a collected node was ever seen cleared";
  EXPECT_GT(shared.stack_only_with_cycles.load(), 0u)
      << "no stack-only episode saw a collection cycle while it held its subtree";
  EXPECT_GT(shared.short_lived_threads.load(), 0u);
  EXPECT_GT(shared.exchanges.load(), 0u);
  EXPECT_GT(shared.handoffs.load(), 0u);
  return result;
}

double env_seconds(const char* name, double fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  char* end = nullptr;
  double seconds = std::strtod(value, &end);
  if (end == value || *end != '\0' || !(seconds > 0) || seconds > 36000) {
    std::fprintf(stderr, "concurrent_torture: %s=%s is not a number of seconds; using %g\n",
                 name, value, fallback);
    return fallback;
  }
  return seconds;
}

TEST(ConcurrentTorture, EightMutatorsShareOneGraphWhileCyclesRun) {
  const double seconds = env_seconds("TRICOLOR_TORTURE_SECONDS", 20) *
                         tricolor_test::env_scale("TRICOLOR_TORTURE_SECONDS_FACTOR");
  const double scale = tricolor_test::env_scale("TRICOLOR_TORTURE_SCALE");
  std::uint64_t seed = 20261127;
  if (const char* s = std::getenv("TRICOLOR_TORTURE_SEED")) seed = std::strtoull(s, nullptr, 10);
  SCOPED_TRACE("TRICOLOR_TORTURE_SEED=" + std::to_string(seed) +
               " TRICOLOR_TORTURE_SECONDS(effective)=" + std::to_string(seconds) +
               " TRICOLOR_TORTURE_SCALE=" + std::to_string(scale));

  tricolor_test::fatal_signal_reporter reporter(on_fatal_signal);
  activity_thread = creator_main;
  const int previous_percent = tricolor::set_gc_percent(25);
  tricolor_test::collect_clean();
  const auto base = tricolor::read_stats();
  const std::uint64_t destroyed_before = nodes_destroyed.load();

  run_result result = run_torture(seed, seconds, scale);

  {
    std::lock_guard guard(error_lock);
    for (const auto& e : error_messages) ADD_FAILURE() << e;
  }
  EXPECT_EQ(error_count.load(), 0u) << "the shared object graph was damaged (see above)";
  EXPECT_GE(result.cycles, min_cycles)
      << "only " << result.cycles << " collection cycles ran while the mutators worked";
  EXPECT_GT(nodes_destroyed.load(), destroyed_before) << "no destructor ran";

  // Memory stays bounded: pruning bounds the live graph, so heap_inuse after
  // the later rounds must not keep growing. Slack: 2x plus 32 MiB, for pacing
  // phase (a sample may land just before or after a cycle).
  ASSERT_GE(result.samples.size(), std::size_t(min_rounds));
  const std::size_t half = result.samples.size() / 2;
  const std::uint64_t first_max =
      *std::max_element(result.samples.begin(), result.samples.begin() + half);
  const std::uint64_t second_max =
      *std::max_element(result.samples.begin() + half, result.samples.end());
  std::printf("concurrent_torture: heap_inuse after rounds: max %" PRIu64
              " MiB in the first half, %" PRIu64 " MiB in the second\n",
              first_max / MiB, second_max / MiB);
  EXPECT_LE(second_max, 2 * first_max + 32 * MiB)
      << "heap_inuse grew from at most " << first_max / MiB << " MiB to " << second_max / MiB
      << " MiB: garbage is not being freed";

  // Everything of the run is garbage now (threads gone, roots dropped). Two
  // cycles: a concurrent collector may keep floating garbage for one.
  tricolor_test::collect_clean();
  tricolor_test::collect_clean();
  const auto after = tricolor::read_stats();
  tricolor::set_gc_percent(previous_percent);
  EXPECT_LE(after.live_objects, base.live_objects + 20000)
      << "objects of the finished run are still live: " << after.live_objects
      << " (before the run: " << base.live_objects << ")";
}

}  // namespace
