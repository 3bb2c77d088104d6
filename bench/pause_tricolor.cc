// pause_tricolor: stop-the-world pauses and time-to-safepoint under a steady
// load, 4 mutator threads over a live heap of a given size (SPEC §4: longest
// pause < 250 us and 99th percentile < 100 us at 1 GiB live, 4 mutators,
// flat in heap size).
//
//     pause_tricolor [--live MIB] [--seconds S] [--threads N] [--poll-ms MS]
//                    [--rate MIB_PER_S] [--seed N] [--warmup-cycles N]
//                    [--warmup-max S] [--json] [--no-verify]
//                    [--list-pauses-over US]
//     TRICOLOR_DEBUG=gcstoptheworld=1 pause_tricolor --live 1024   (reference)
//
// The workload (bench/go/pause.go runs the same one on Go):
//
//   1. Build. The mutators build the live heap together, each a share of it:
//      nodes of 2 pointers + an 8-byte payload (24 bytes; with tricolor's
//      8-byte header a 32-byte slot, in Go a 24-byte one), shaped as
//        60 %  perfect binary trees of depth 10 (2047 nodes, 48 KiB each);
//        20 %  circular lists of 2048 nodes, each node also pointing ahead
//              to one of the next 16 (a "skip" edge: pointer-dense, cyclic);
//        12.5% gc_array<gc_ptr<node>> of 16384 elements (128 KiB, a large
//              object), each element a leaf node of its own;
//        7.5%  noscan gc_array<uint64_t> of 131072 elements (1 MiB).
//      Shares are of the nominal size: 24 bytes a node, 8 a pointer or word
//      in an array (Go's sizes; tricolor adds an 8-byte header per object).
//      Each tree, list and array is held by its own gc_root in a
//      std::vector (the "slots"). Then one mutator runs collect().
//   2. Warm up: the mutators run the workload below until --warmup-cycles
//      (default 1) cycles have completed after that collect() (at most
//      --warmup-max seconds, default 60), so that the window measures the
//      steady state: the heap has grown to its goal once and its pages are
//      faulted in (the first growth to the goal is mostly page faults).
//   3. Measure for S seconds. Every mutator loops over randomly chosen
//      operations on randomly chosen slots (shared by all mutators: each
//      slot is guarded by one of 256 striped mutexes, taken only around the
//      loads and stores of shared slots, never while allocating):
//        40 % replace a random subtree (depth 1..8) of a tree by a freshly
//             built one: a store into an old object (the write barrier's
//             case: the old subtree becomes garbage);
//        20 % replace a whole tree;          10 % replace a whole list;
//         5 % re-point the skip edge of a random list node (store only);
//        10 % replace 256 random elements of a pointer array by new leaves;
//         1 % replace a whole pointer array;  0.5 % a whole noscan array;
//        the rest: read a random depth-6 subtree of a tree (127 nodes);
//      and, every operation, 64 short-lived nodes (a list that is walked and
//      dropped), every 16th a 4 KiB noscan array too. Every replacement
//      builds the same shape, so the live heap stays the same size.
//      --rate caps the total nominal allocation rate (MiB/s over all
//      mutators; default 0, no cap: the mutators run flat out).
//      Meanwhile the main thread, which is not a mutator (it never allocates
//      and never touches a managed object: it only calls read_stats()),
//      reads the statistics every --poll-ms (5 ms) and collects every new
//      entry of the `pauses` ring (num_pauses says how many; the ring keeps
//      256, so nothing is lost unless 256 pauses fall into one poll
//      interval; "unseen" counts any that did). A collector that does not
//      fill the pauses ring yet (num_pauses stays 0) is measured from the
//      per-cycle ring pause_ns instead, without time-to-safepoint; the
//      output says which ("source=cycles").
//   4. Report: one line on stdout (with --json, one JSON object on the next
//      line too): live heap, cycles, pauses, pause max / p99 / median,
//      time-to-safepoint max / p99 / median (microseconds), peak RSS
//      (VmHWM, the whole run), mutator throughput (objects allocated per
//      second and nominal MiB/s during the measurement).
//      With --list-pauses-over US, every pause of at least US microseconds
//      is listed on stderr too, with the CLOCK_MONOTONIC time it started, so
//      that a `perf sched record -k CLOCK_MONOTONIC` of the run shows what
//      else held the CPUs during it (bench/run_pause_interference.py).
//   5. Verify (unless --no-verify): every mutator walks its share of the
//      slots and checks the shape and payload of every object; a broken
//      structure (an object freed while reachable, then reused) is reported
//      on stderr and the exit code is 1.
//
// The collector mode is whatever the environment selects (TRICOLOR_DEBUG=
// gcstoptheworld=1: stop-the-world); the output names it ("mode=stw" or
// "mode=concurrent") from TRICOLOR_DEBUG, and reports what it sees either way.
#include <algorithm>
#include <array>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/pause_summary.hpp"
#include "tricolor/tricolor.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::make_gc_array;

// --- the objects ------------------------------------------------------------

// Payload tags, checked by verify(): a tree node holds its height, a list
// node its own tag, a leaf of a pointer array its index.
constexpr std::uint64_t tree_tag = 0x7ee0000000000000;
constexpr std::uint64_t list_tag = 0x1157000000000000;
constexpr std::uint64_t leaf_tag = 0x1eaf000000000000;
constexpr std::uint64_t garbage_tag = 0x6a7b000000000000;
constexpr std::uint64_t noscan_pattern = 0x9e3779b97f4a7c15;

struct node {
  node(gc_ptr<node> l, gc_ptr<node> r, std::uint64_t p)
      : left(l), right(r), payload(p) {}
  gc_ptr<node> left, right;
  std::uint64_t payload;
  void trace(tricolor::tracer& t) const { t(left, right); }
};
static_assert(sizeof(node) == 24);

using ptr_array = gc_array<gc_ptr<node>>;
using word_array = gc_array<std::uint64_t>;

// Shapes (the same constants as bench/go/pause.go).
constexpr int tree_depth = 10;                        // 2047 nodes
constexpr std::size_t tree_nodes = (std::size_t{2} << tree_depth) - 1;
constexpr std::size_t list_nodes = 2048;
constexpr std::size_t skip_window = 16;
constexpr std::size_t ptr_array_length = 16384;
constexpr std::size_t word_array_length = 131072;
constexpr std::size_t node_bytes = 24;                // nominal, as in Go
constexpr std::size_t tree_bytes = tree_nodes * node_bytes;
constexpr std::size_t list_bytes = list_nodes * node_bytes;
constexpr std::size_t ptr_array_bytes = ptr_array_length * (8 + node_bytes);
constexpr std::size_t word_array_bytes = word_array_length * 8;
constexpr std::size_t garbage_nodes = 64;
constexpr std::size_t garbage_words = 512;
constexpr std::size_t array_patch = 256;

// --- small helpers ------------------------------------------------------------

struct rng {  // xorshift64*
  std::uint64_t s;
  std::uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1d;
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

std::uint64_t now_ns() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(
          std::chrono::steady_clock::now().time_since_epoch())
          .count());
}

// Takes a mutex that guards shared slots. A thread that has to wait does so
// inside a blocking_scope, so it never delays a pause (README rule 2); the
// uncontended case costs one try_lock.
void lock_shared(std::mutex& m) {
  if (m.try_lock()) return;
  tricolor::blocking_scope blocked;
  m.lock();
}

struct alignas(64) padded_mutex {
  std::mutex m;
};

// --- building -----------------------------------------------------------------

gc_ptr<node> build_tree(int height) {
  if (height == 0) return make_gc<node>(nullptr, nullptr, tree_tag);
  gc_ptr<node> l = build_tree(height - 1);
  gc_ptr<node> r = build_tree(height - 1);
  return make_gc<node>(l, r, tree_tag | static_cast<std::uint64_t>(height));
}

// A circular list of list_nodes nodes: left is the next node, right one of the
// next skip_window nodes (the list is built from its tail, so those exist).
gc_ptr<node> build_list(rng& r) {
  std::array<gc_ptr<node>, skip_window> recent;  // on the stack: scanned
  gc_ptr<node> tail = make_gc<node>(nullptr, nullptr, list_tag);
  gc_ptr<node> head = tail;
  recent[0] = tail;
  for (std::size_t i = 1; i < list_nodes; ++i) {
    gc_ptr<node> skip = recent[r.below(std::min(i, skip_window))];
    head = make_gc<node>(head, skip, list_tag);
    recent[i % skip_window] = head;
  }
  tail->left = head;  // close the circle (the tail's skip edge too)
  tail->right = head;
  return head;
}

gc_ptr<ptr_array> build_ptr_array() {
  gc_ptr<ptr_array> a = make_gc_array<gc_ptr<node>>(ptr_array_length);
  for (std::size_t i = 0; i < ptr_array_length; ++i)
    (*a)[i] = make_gc<node>(nullptr, nullptr, leaf_tag | i);
  return a;
}

gc_ptr<word_array> build_word_array(std::uint64_t seed) {
  gc_ptr<word_array> a = make_gc_array<std::uint64_t>(word_array_length);
  for (std::size_t i = 0; i < word_array_length; ++i)
    (*a)[i] = (i * noscan_pattern) ^ seed;
  return a;
}

// --- checking -----------------------------------------------------------------

bool check_tree(const gc_ptr<node>& n, int height) {
  if (!n || n->payload != (tree_tag | static_cast<std::uint64_t>(height))) return false;
  if (height == 0) return !n->left && !n->right;
  return check_tree(n->left, height - 1) && check_tree(n->right, height - 1);
}

bool check_list(const gc_ptr<node>& head) {
  gc_ptr<node> n = head;
  for (std::size_t i = 0; i < list_nodes; ++i) {
    if (!n || n->payload != list_tag || !n->right || n->right->payload != list_tag)
      return false;
    n = n->left;
  }
  return n == head;
}

bool check_ptr_array(const gc_ptr<ptr_array>& a) {
  if (!a || a->size() != ptr_array_length) return false;
  for (std::size_t i = 0; i < ptr_array_length; ++i) {
    const gc_ptr<node>& leaf = (*a)[i];
    if (!leaf || (leaf->payload & ~std::uint64_t{0xffff}) != leaf_tag) return false;
  }
  return true;
}

bool check_word_array(const gc_ptr<word_array>& a) {
  if (!a || a->size() != word_array_length) return false;
  std::uint64_t seed = (*a)[0];
  for (std::size_t i = 0; i < word_array_length; ++i)
    if ((*a)[i] != ((i * noscan_pattern) ^ seed)) return false;
  return true;
}

// --- the shared live heap -----------------------------------------------------

struct options {
  std::size_t live_mib = 256;
  double seconds = 10;
  unsigned threads = 4;
  unsigned poll_ms = 5;
  double list_pauses_over_us = 0;  // 0: no list
  double rate_mib = 0;  // total nominal MiB/s; 0: no cap
  unsigned warmup_cycles = 1;
  double warmup_max = 60;  // seconds
  std::uint64_t seed = 1;
  bool json = false;
  bool verify = true;
};

constexpr std::size_t num_stripes = 256;

struct live_heap {
  std::vector<gc_root<node>> trees, lists;
  std::vector<gc_root<ptr_array>> ptr_arrays;
  std::vector<gc_root<word_array>> word_arrays;
  std::array<padded_mutex, num_stripes> stripes;

  explicit live_heap(std::size_t live_bytes) {
    auto count = [&](double share, std::size_t each) {
      return std::max<std::size_t>(1, static_cast<std::size_t>(
                                          share * static_cast<double>(live_bytes) /
                                          static_cast<double>(each) + 0.5));
    };
    // Constructed here, where they are written (gc_root records the line).
    for (std::size_t i = count(0.60, tree_bytes); i > 0; --i)
      trees.push_back(gc_root<node>(nullptr, "pause.trees"));
    for (std::size_t i = count(0.20, list_bytes); i > 0; --i)
      lists.push_back(gc_root<node>(nullptr, "pause.lists"));
    for (std::size_t i = count(0.125, ptr_array_bytes); i > 0; --i)
      ptr_arrays.push_back(gc_root<ptr_array>(nullptr, "pause.ptr_arrays"));
    for (std::size_t i = count(0.075, word_array_bytes); i > 0; --i)
      word_arrays.push_back(gc_root<word_array>(nullptr, "pause.word_arrays"));
  }

  std::size_t nominal_bytes() const {
    return trees.size() * tree_bytes + lists.size() * list_bytes +
           ptr_arrays.size() * ptr_array_bytes +
           word_arrays.size() * word_array_bytes;
  }

  // Slot i of each kind is guarded by one stripe; kinds are offset so that
  // slot 0 of every kind does not share stripe 0.
  std::mutex& tree_lock(std::size_t i) { return stripes[i % num_stripes].m; }
  std::mutex& list_lock(std::size_t i) { return stripes[(i + 64) % num_stripes].m; }
  std::mutex& ptr_array_lock(std::size_t i) { return stripes[(i + 128) % num_stripes].m; }
  std::mutex& word_array_lock(std::size_t i) { return stripes[(i + 192) % num_stripes].m; }
};

// --- the mutators ---------------------------------------------------------------

struct alignas(64) mutator_counters {
  std::atomic<std::uint64_t> objects{0};  // allocated since the start
  std::atomic<std::uint64_t> bytes{0};    // nominal
  std::uint64_t sink = 0;                 // read results, so reads are kept
  std::uint64_t broken = 0;               // slots that failed verification
};

struct shared_state {
  options opts;
  live_heap heap;
  std::vector<mutator_counters> counters;
  std::atomic<bool> stop{false};
  std::barrier<> sync;  // mutators + the main thread

  explicit shared_state(const options& o)
      : opts(o), heap(o.live_mib << 20), counters(o.threads),
        sync(static_cast<std::ptrdiff_t>(o.threads) + 1) {}
};

// Barrier arrival of a mutator: waits inside a blocking_scope.
void mutator_sync(shared_state& s) {
  tricolor::blocking_scope blocked;
  s.sync.arrive_and_wait();
}

class mutator {
 public:
  mutator(shared_state& s, unsigned id)
      : s_(s), h_(s.heap), id_(id), c_(s.counters[id]),
        r_{s.opts.seed * 0x9e3779b97f4a7c15 + id * 0xbf58476d1ce4e5b9 + 1} {}

  void run() {
    build_share();
    mutator_sync(s_);                 // 1: built
    if (id_ == 0) tricolor::collect();
    mutator_sync(s_);                 // 2: collected; main takes its baseline
    mutator_sync(s_);                 // 3: go
    std::uint64_t start = now_ns();
    double per_thread_rate =
        s_.opts.rate_mib * 1048576.0 / 1e9 / static_cast<double>(s_.opts.threads);
    std::uint64_t paced_bytes = 0;  // allocated since `start`, for --rate
    while (!s_.stop.load(std::memory_order_relaxed)) {
      std::uint64_t before = c_.bytes.load(std::memory_order_relaxed);
      operation();
      if (per_thread_rate > 0) {
        paced_bytes += c_.bytes.load(std::memory_order_relaxed) - before;
        pace(start, paced_bytes, per_thread_rate);
      }
    }
    mutator_sync(s_);                 // 4: stopped
    if (s_.opts.verify) verify_share();
  }

 private:
  void count(std::uint64_t objects, std::uint64_t bytes) {
    c_.objects.store(c_.objects.load(std::memory_order_relaxed) + objects,
                     std::memory_order_relaxed);
    c_.bytes.store(c_.bytes.load(std::memory_order_relaxed) + bytes,
                   std::memory_order_relaxed);
  }

  // This mutator's share of slot kind with n slots: [begin, end).
  std::pair<std::size_t, std::size_t> share(std::size_t n) const {
    return {n * id_ / s_.opts.threads, n * (id_ + 1) / s_.opts.threads};
  }

  // The initial build writes only this mutator's own slots (disjoint from
  // every other mutator's), before any mutator reads a slot: no lock needed.
  void build_share() {
    auto [t0, t1] = share(h_.trees.size());
    for (std::size_t i = t0; i < t1; ++i) h_.trees[i].set(build_tree(tree_depth));
    auto [l0, l1] = share(h_.lists.size());
    for (std::size_t i = l0; i < l1; ++i) h_.lists[i].set(build_list(r_));
    auto [p0, p1] = share(h_.ptr_arrays.size());
    for (std::size_t i = p0; i < p1; ++i) h_.ptr_arrays[i].set(build_ptr_array());
    auto [w0, w1] = share(h_.word_arrays.size());
    for (std::size_t i = w0; i < w1; ++i)
      h_.word_arrays[i].set(build_word_array(r_.next()));
  }

  void operation() {
    std::size_t pick = r_.below(1000);
    if (pick < 400) replace_subtree();
    else if (pick < 600) replace_tree();
    else if (pick < 700) replace_list();
    else if (pick < 750) relink_list();
    else if (pick < 850) patch_ptr_array();
    else if (pick < 860) replace_ptr_array();
    else if (pick < 865) replace_word_array();
    else read_subtree();
    make_garbage();
  }

  void replace_subtree() {
    int height = 1 + static_cast<int>(r_.below(8));  // 1..8
    gc_ptr<node> fresh = build_tree(height);
    count((std::size_t{2} << height) - 1, ((std::size_t{2} << height) - 1) * node_bytes);
    std::size_t i = r_.below(h_.trees.size());
    std::uint64_t path = r_.next();
    std::mutex& m = h_.tree_lock(i);
    lock_shared(m);
    gc_ptr<node> n = h_.trees[i].get();
    for (int h = tree_depth; h > height + 1; --h, path >>= 1)
      n = (path & 1) ? n->left : n->right;
    if (path & 1) n->left = fresh;
    else n->right = fresh;
    m.unlock();
  }

  void replace_tree() {
    gc_ptr<node> fresh = build_tree(tree_depth);
    count(tree_nodes, tree_bytes);
    std::size_t i = r_.below(h_.trees.size());
    std::mutex& m = h_.tree_lock(i);
    lock_shared(m);
    h_.trees[i].set(fresh);
    m.unlock();
  }

  void replace_list() {
    gc_ptr<node> fresh = build_list(r_);
    count(list_nodes, list_bytes);
    std::size_t i = r_.below(h_.lists.size());
    std::mutex& m = h_.list_lock(i);
    lock_shared(m);
    h_.lists[i].set(fresh);
    m.unlock();
  }

  // Points the skip edge of one of the first 256 nodes of a list at one of
  // the next skip_window nodes (a store, no allocation).
  void relink_list() {
    std::size_t i = r_.below(h_.lists.size());
    std::size_t steps = r_.below(256);
    std::size_t ahead = 1 + r_.below(skip_window);
    std::mutex& m = h_.list_lock(i);
    lock_shared(m);
    gc_ptr<node> n = h_.lists[i].get();
    for (std::size_t k = 0; k < steps; ++k) n = n->left;
    gc_ptr<node> target = n;
    for (std::size_t k = 0; k < ahead; ++k) target = target->left;
    n->right = target;
    m.unlock();
  }

  void patch_ptr_array() {
    std::array<gc_ptr<node>, array_patch> leaves;  // on the stack: scanned
    std::array<std::uint32_t, array_patch> where;
    for (std::size_t k = 0; k < array_patch; ++k) {
      where[k] = static_cast<std::uint32_t>(r_.below(ptr_array_length));
      leaves[k] = make_gc<node>(nullptr, nullptr, leaf_tag | where[k]);
    }
    count(array_patch, array_patch * node_bytes);
    std::size_t i = r_.below(h_.ptr_arrays.size());
    std::mutex& m = h_.ptr_array_lock(i);
    lock_shared(m);
    gc_ptr<ptr_array> a = h_.ptr_arrays[i].get();
    for (std::size_t k = 0; k < array_patch; ++k) (*a)[where[k]] = leaves[k];
    m.unlock();
  }

  void replace_ptr_array() {
    gc_ptr<ptr_array> fresh = build_ptr_array();
    count(ptr_array_length + 1, ptr_array_bytes);
    std::size_t i = r_.below(h_.ptr_arrays.size());
    std::mutex& m = h_.ptr_array_lock(i);
    lock_shared(m);
    h_.ptr_arrays[i].set(fresh);
    m.unlock();
  }

  void replace_word_array() {
    gc_ptr<word_array> fresh = build_word_array(r_.next());
    count(1, word_array_bytes);
    std::size_t i = r_.below(h_.word_arrays.size());
    std::mutex& m = h_.word_array_lock(i);
    lock_shared(m);
    h_.word_arrays[i].set(fresh);
    m.unlock();
  }

  static std::uint64_t sum_tree(const gc_ptr<node>& n) {
    return n ? n->payload + sum_tree(n->left) + sum_tree(n->right) : 0;
  }

  void read_subtree() {
    std::size_t i = r_.below(h_.trees.size());
    std::uint64_t path = r_.next();
    std::mutex& m = h_.tree_lock(i);
    lock_shared(m);
    gc_ptr<node> n = h_.trees[i].get();
    for (int h = tree_depth; h > 6; --h, path >>= 1)
      n = (path & 1) ? n->left : n->right;
    c_.sink += sum_tree(n);
    m.unlock();
  }

  // Short-lived objects, never shared: a list walked and dropped, and every
  // 16th operation a small noscan array.
  void make_garbage() {
    gc_ptr<node> head;
    for (std::size_t k = 0; k < garbage_nodes; ++k)
      head = make_gc<node>(head, nullptr, garbage_tag | k);
    std::uint64_t sum = 0;
    for (gc_ptr<node> n = head; n; n = n->left) sum += n->payload;
    std::uint64_t objects = garbage_nodes, bytes = garbage_nodes * node_bytes;
    if ((++ops_ & 15) == 0) {
      gc_ptr<word_array> a = make_gc_array<std::uint64_t>(garbage_words);
      (*a)[garbage_words - 1] = sum;
      sum += (*a)[ops_ % garbage_words];
      objects += 1;
      bytes += garbage_words * 8;
    }
    c_.sink += sum;
    count(objects, bytes);
  }

  // --rate: sleeps (in a blocking_scope) while this thread is ahead of its
  // share of the rate; a thread more than 100 ms behind forgets the debt
  // rather than catching up in a burst.
  void pace(std::uint64_t& start, std::uint64_t& bytes, double bytes_per_ns) {
    std::uint64_t due = start + static_cast<std::uint64_t>(static_cast<double>(bytes) / bytes_per_ns);
    std::uint64_t now = now_ns();
    if (due > now + 200'000) {
      tricolor::blocking_scope blocked;
      std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    } else if (now > due + 100'000'000) {
      start = now;
      bytes = 0;
    }
  }

  void verify_share() {
    auto report = [&](const char* kind, std::size_t i) {
      ++c_.broken;
      if (c_.broken <= 10)
        std::fprintf(stderr, "pause_tricolor: VERIFY FAILED: %s slot %zu is broken\n",
                     kind, i);
    };
    // After barrier 4 no mutator writes: each reads its own share unlocked.
    auto [t0, t1] = share(h_.trees.size());
    // The walks do not allocate: poll a safepoint after each slot, so a
    // cycle still running never waits for a whole share.
    for (std::size_t i = t0; i < t1; ++i, tricolor::safepoint())
      if (!check_tree(h_.trees[i].get(), tree_depth)) report("tree", i);
    auto [l0, l1] = share(h_.lists.size());
    for (std::size_t i = l0; i < l1; ++i, tricolor::safepoint())
      if (!check_list(h_.lists[i].get())) report("list", i);
    auto [p0, p1] = share(h_.ptr_arrays.size());
    for (std::size_t i = p0; i < p1; ++i, tricolor::safepoint())
      if (!check_ptr_array(h_.ptr_arrays[i].get())) report("pointer array", i);
    auto [w0, w1] = share(h_.word_arrays.size());
    for (std::size_t i = w0; i < w1; ++i, tricolor::safepoint())
      if (!check_word_array(h_.word_arrays[i].get())) report("noscan array", i);
  }

  shared_state& s_;
  live_heap& h_;
  unsigned id_;
  mutator_counters& c_;
  rng r_;
  std::uint64_t ops_ = 0;
};

// --- sampling the pauses -------------------------------------------------------

// Folds the pauses that read_stats() reports into lists, from a baseline on.
class pause_collector {
 public:
  void baseline(const tricolor::gc_stats& s) {
    seen_pauses_ = s.num_pauses;
    seen_cycles_ = first_cycle_ = s.num_gc;
  }

  void sample(const tricolor::gc_stats& s) {
    constexpr std::uint64_t ring = tricolor::gc_stats::pause_history;
    std::uint64_t first = s.num_pauses > seen_pauses_ + ring ? s.num_pauses - ring : seen_pauses_;
    unseen_pauses_ += first - seen_pauses_;
    for (std::uint64_t i = first; i < s.num_pauses; ++i) {
      pause_ns_.push_back(s.pauses[i % ring].pause_ns);
      ttsp_ns_.push_back(s.pauses[i % ring].time_to_safepoint_ns);
      end_unix_ns_.push_back(s.pauses[i % ring].end_unix_ns);
    }
    seen_pauses_ = s.num_pauses;
    first = s.num_gc > seen_cycles_ + ring ? s.num_gc - ring : seen_cycles_;
    unseen_cycles_ += first - seen_cycles_;
    for (std::uint64_t i = first; i < s.num_gc; ++i) cycle_pause_ns_.push_back(s.pause_ns[i % ring]);
    seen_cycles_ = s.num_gc;
  }

  std::uint64_t cycles() const { return seen_cycles_ - first_cycle_; }
  // Per-pause records when the collector fills them, else per-cycle pauses.
  bool per_pause() const { return !pause_ns_.empty() || cycle_pause_ns_.empty(); }
  const std::vector<std::uint64_t>& pauses() const {
    return per_pause() ? pause_ns_ : cycle_pause_ns_;
  }
  const std::vector<std::uint64_t>& ttsp() const { return ttsp_ns_; }
  // Each pause without its time to safepoint: how long the world stayed
  // stopped once every thread was.
  std::vector<std::uint64_t> stopped() const {
    std::vector<std::uint64_t> out(pause_ns_.size());
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = pause_ns_[i] - std::min(pause_ns_[i], ttsp_ns_[i]);
    return out;
  }
  std::uint64_t unseen() const { return per_pause() ? unseen_pauses_ : unseen_cycles_; }

  // Lists the pauses of at least `threshold_ns` on stderr: start on
  // CLOCK_MONOTONIC (from the end's CLOCK_REALTIME, shifted by the clocks'
  // present offset: exact unless the wall clock was stepped meanwhile),
  // length and time to safepoint.
  void list_long_pauses(std::uint64_t threshold_ns) const {
    timespec real{}, mono{};
    clock_gettime(CLOCK_REALTIME, &real);
    clock_gettime(CLOCK_MONOTONIC, &mono);
    auto ns = [](const timespec& t) {
      return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
    };
    std::int64_t real_minus_mono = ns(real) - ns(mono);
    for (std::size_t i = 0; i < pause_ns_.size(); ++i) {
      if (pause_ns_[i] < threshold_ns) continue;
      std::int64_t start =
          static_cast<std::int64_t>(end_unix_ns_[i] - pause_ns_[i]) - real_minus_mono;
      std::fprintf(stderr, "long pause: start_monotonic_ns=%" PRId64 " pause_us=%.1f ttsp_us=%.1f\n",
                   start, static_cast<double>(pause_ns_[i]) / 1e3,
                   static_cast<double>(ttsp_ns_[i]) / 1e3);
    }
  }

 private:
  std::uint64_t seen_pauses_ = 0, seen_cycles_ = 0, first_cycle_ = 0;
  std::uint64_t unseen_pauses_ = 0, unseen_cycles_ = 0;
  std::vector<std::uint64_t> pause_ns_, ttsp_ns_, end_unix_ns_, cycle_pause_ns_;
};

using bench::fmt_us;
using bench::json_us;
using bench::summarize;
using bench::summary;

std::uint64_t peak_rss_kib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  return 0;
}

bool stop_the_world_mode() {
  const char* debug = std::getenv("TRICOLOR_DEBUG");
  if (!debug) return false;
  std::string_view v(debug);
  std::size_t pos = 0;
  bool on = false;
  while (pos <= v.size()) {
    std::size_t comma = v.find(',', pos);
    std::string_view item = v.substr(pos, comma == std::string_view::npos ? v.npos : comma - pos);
    if (item.rfind("gcstoptheworld=", 0) == 0) on = item.substr(15) != "0";
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return on;
}

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--live MIB] [--seconds S] [--threads N] [--poll-ms MS]\n"
               "          [--rate MIB_PER_S] [--seed N] [--warmup-cycles N]\n"
               "          [--warmup-max S] [--json] [--no-verify]\n"
               "          [--list-pauses-over US]\n"
               "       %s LIVE_MIB [SECONDS]\n",
               argv0, argv0);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> double {
      if (i + 1 >= argc) usage(argv[0]);
      char* end = nullptr;
      double v = std::strtod(argv[++i], &end);
      if (*end != '\0' || v < 0) usage(argv[0]);
      return v;
    };
    if (a == "--live") o.live_mib = static_cast<std::size_t>(value());
    else if (a == "--seconds") o.seconds = value();
    else if (a == "--threads") o.threads = static_cast<unsigned>(value());
    else if (a == "--poll-ms") o.poll_ms = static_cast<unsigned>(value());
    else if (a == "--rate") o.rate_mib = value();
    else if (a == "--seed") o.seed = static_cast<std::uint64_t>(value());
    else if (a == "--warmup-cycles") o.warmup_cycles = static_cast<unsigned>(value());
    else if (a == "--warmup-max") o.warmup_max = value();
    else if (a == "--json") o.json = true;
    else if (a == "--list-pauses-over") o.list_pauses_over_us = value();
    else if (a == "--no-verify") o.verify = false;
    else if (!a.empty() && a[0] != '-' && positional < 2) {
      char* end = nullptr;
      double v = std::strtod(argv[i], &end);
      if (*end != '\0' || v < 0) usage(argv[0]);
      if (positional++ == 0) o.live_mib = static_cast<std::size_t>(v);
      else o.seconds = v;
    } else {
      usage(argv[0]);
    }
  }
  if (o.live_mib == 0 || o.threads == 0 || o.poll_ms == 0 || o.seconds <= 0) usage(argv[0]);
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  // The main thread is not a mutator: it never allocates a managed object.
  // It is registered (every thread is), but between its reads of the
  // statistics it sleeps, and a sleeping thread never delays a pause.
  options opts = parse(argc, argv);
  // Never deleted: the gc_roots stay registered until the process exits.
  auto* shared = new shared_state(opts);
  std::vector<std::thread> threads;
  for (unsigned id = 0; id < opts.threads; ++id)
    threads.emplace_back([shared, id] { mutator(*shared, id).run(); });

  std::uint64_t build_start = now_ns();
  shared->sync.arrive_and_wait();  // 1: built
  shared->sync.arrive_and_wait();  // 2: collected
  double build_s = static_cast<double>(now_ns() - build_start) / 1e9;
  tricolor::gc_stats built = tricolor::read_stats();

  shared->sync.arrive_and_wait();  // 3: go
  auto warmup_end = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(opts.warmup_max));
  tricolor::gc_stats base = built;
  while (base.num_gc < built.num_gc + opts.warmup_cycles &&
         std::chrono::steady_clock::now() < warmup_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(opts.poll_ms));
    base = tricolor::read_stats();
  }
  double warmup_s = static_cast<double>(now_ns() - build_start) / 1e9 - build_s;
  pause_collector pauses;
  base = tricolor::read_stats();
  pauses.baseline(base);
  std::uint64_t objects0 = 0, bytes0 = 0;
  for (auto& c : shared->counters) {
    objects0 += c.objects.load(std::memory_order_relaxed);
    bytes0 += c.bytes.load(std::memory_order_relaxed);
  }
  auto start = std::chrono::steady_clock::now();
  auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                         std::chrono::duration<double>(opts.seconds));
  auto next = start;
  while (next < end) {
    next = std::min(next + std::chrono::milliseconds(opts.poll_ms), end);
    std::this_thread::sleep_until(next);
    pauses.sample(tricolor::read_stats());
  }
  shared->stop.store(true, std::memory_order_relaxed);
  std::uint64_t objects1 = 0, bytes1 = 0;
  for (auto& c : shared->counters) {
    objects1 += c.objects.load(std::memory_order_relaxed);
    bytes1 += c.bytes.load(std::memory_order_relaxed);
  }
  double window_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  shared->sync.arrive_and_wait();  // 4: stopped (pauses up to here count)
  tricolor::gc_stats last = tricolor::read_stats();
  pauses.sample(last);
  for (auto& t : threads) t.join();

  std::uint64_t broken = 0;
  for (auto& c : shared->counters) broken += c.broken;
  summary pause = summarize(pauses.pauses());
  summary ttsp = pauses.per_pause() ? summarize(pauses.ttsp()) : summary{};
  summary stopped = pauses.per_pause() ? summarize(pauses.stopped()) : summary{};
  double live_mib = static_cast<double>(shared->heap.nominal_bytes()) / 1048576.0;
  double heap_live_mib = static_cast<double>(built.live_bytes) / 1048576.0;
  double rss_mib = static_cast<double>(peak_rss_kib()) / 1024.0;
  double allocs_per_s = static_cast<double>(objects1 - objects0) / window_s;
  double alloc_mib_per_s = static_cast<double>(bytes1 - bytes0) / 1048576.0 / window_s;
  const char* mode = stop_the_world_mode() ? "stw" : "concurrent";
  const char* source = pauses.per_pause() ? "pauses" : "cycles";
  const char* verified = !opts.verify ? "skipped" : broken == 0 ? "ok" : "FAILED";

  std::printf(
      "pause_tricolor: mode=%s threads=%u live=%.0fMiB heap_live=%.0fMiB "
      "seconds=%.1f cycles=%" PRIu64 " pauses=%zu unseen=%" PRIu64 " source=%s "
      "pause_us max=%s p99=%s p50=%s ttsp_us max=%s p99=%s p50=%s "
      "stopped_us max=%s p99=%s p50=%s "
      "peak_rss=%.0fMiB allocs=%.3gM/s alloc=%.0fMiB/s build=%.1fs warmup=%.1fs "
      "verify=%s\n",
      mode, opts.threads, live_mib, heap_live_mib, window_s, pauses.cycles(),
      pauses.pauses().size(), pauses.unseen(), source,
      fmt_us(pause, &summary::max_us).c_str(), fmt_us(pause, &summary::p99_us).c_str(),
      fmt_us(pause, &summary::p50_us).c_str(), fmt_us(ttsp, &summary::max_us).c_str(),
      fmt_us(ttsp, &summary::p99_us).c_str(), fmt_us(ttsp, &summary::p50_us).c_str(),
      fmt_us(stopped, &summary::max_us).c_str(), fmt_us(stopped, &summary::p99_us).c_str(),
      fmt_us(stopped, &summary::p50_us).c_str(), rss_mib, allocs_per_s / 1e6, alloc_mib_per_s, build_s, warmup_s, verified);
  if (opts.json) {
    std::printf(
        "{\"benchmark\": \"pause\", \"impl\": \"tricolor\", \"mode\": \"%s\", "
        "\"threads\": %u, \"live_mib\": %.1f, \"heap_live_mib\": %.1f, "
        "\"seconds\": %.3f, \"cycles\": %" PRIu64 ", \"pauses\": %zu, "
        "\"unseen_pauses\": %" PRIu64 ", \"pause_source\": \"%s\", "
        "\"pause_us\": %s, \"ttsp_us\": %s, \"stopped_us\": %s, \"peak_rss_mib\": %.1f, "
        "\"allocs_per_s\": %.0f, \"alloc_mib_per_s\": %.1f, \"build_s\": %.2f, "
        "\"warmup_s\": %.2f, "
        "\"gc_cpu_fraction\": %.4f, \"verify\": \"%s\"}\n",
        mode, opts.threads, live_mib, heap_live_mib, window_s, pauses.cycles(),
        pauses.pauses().size(), pauses.unseen(), source, json_us(pause).c_str(),
        json_us(ttsp).c_str(), json_us(stopped).c_str(), rss_mib, allocs_per_s, alloc_mib_per_s, build_s,
        warmup_s, last.gc_cpu_fraction, verified);
  }
  std::fflush(stdout);
  if (opts.list_pauses_over_us > 0)
    pauses.list_long_pauses(static_cast<std::uint64_t>(opts.list_pauses_over_us * 1e3));
  return broken == 0 ? 0 : 1;
}
