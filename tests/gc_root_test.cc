// gc_root<T> (tricolor/gc_root.hpp, roots/handles.cc): what a named precise root
// promises, and that it keeps those promises while threads create, copy,
// move, reassign and destroy roots beside a collector that marks
// concurrently.
//
//   MoveAssignmentReleasesTheOldTarget
//                    a = std::move(b): a holds b's target, name and location,
//                    b reads null and keeps nothing alive, a's old target is
//                    collected (issue 10, point 3: it used to be a swap).
//   NameIsNotCopied  the name is the caller's pointer; intern_root_name
//                    gives a lasting copy of a string that is not a literal.
//   CountsExactlyTheLiveRoots
//                    the collector's scan counts every live root (null ones
//                    too) and none of the destroyed ones, whose nodes are
//                    kept for reuse.
//   CreatedOnOneThreadDestroyedOnAnother
//                    roots made by one thread, handed over in a std::deque,
//                    kept alive while there, and released when the other
//                    thread destroys them.
//   Stress           worker threads create, copy, move, reassign and destroy
//                    roots in std::vectors, passing vectors between threads
//                    through a mutex-guarded std::deque, while another thread
//                    calls collect() in a loop and checks every object held
//                    in the deque after each collection (3 s and at least
//                    5 collections; TRICOLOR_GC_ROOT_STRESS_SECONDS_FACTOR
//                    scales the time).
//
// "Kept alive" is checked by contents: each object carries its id and a
// checksum derived from it, and its destructor poisons the checksum, so an
// object freed under a root is noticed whether or not its slot was reused.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::collect_clean;
using tricolor_test::counted;
using tricolor_test::make_stored;


[[gnu::noinline]] bool holds(const gc_root<counted>& root, std::uint64_t id) {
  gc_ptr<counted> object = root.get();
  return object && object->id == id && object->intact();
}

TEST(GcRoot, MoveAssignmentReleasesTheOldTarget) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<counted> a(nullptr, "root_a");
  gc_root<counted> b(nullptr, "root_b"); const unsigned b_line = __LINE__;
  weak_gc_ptr<counted> old_a =
      make_stored(&destroyed, 71, [&](gc_ptr<counted> p) { a = p; });
  weak_gc_ptr<counted> old_b =
      make_stored(&destroyed, 72, [&](gc_ptr<counted> p) { b = p; });

  a = std::move(b);

  EXPECT_TRUE(holds(a, 72)) << "a does not hold b's old target after a = std::move(b)";
  EXPECT_STREQ(a.name(), "root_b") << "a move transfers the root's name";
  EXPECT_EQ(a.where().line, b_line) << "a move transfers the root's location";
  EXPECT_FALSE(b.get()) << "the moved-from root still holds a target";  // NOLINT
  EXPECT_FALSE(b);                                                     // NOLINT
  EXPECT_STREQ(b.name(), "");                                          // NOLINT

  collect_clean();
  EXPECT_FALSE(alive(old_a))
      << "a's old target survived a collection after a = std::move(b): "
         "something (the moved-from root?) still keeps it alive";
  EXPECT_TRUE(alive(old_b)) << "b's old target, now held by a, was collected";
  EXPECT_EQ(destroyed.load(), 1);

  // Self-move leaves the root as it was.
  gc_root<counted>& alias = a;
  a = std::move(alias);
  EXPECT_TRUE(holds(a, 72)) << "self-move assignment lost the target";

  a.reset();
  collect_clean();
  EXPECT_FALSE(alive(old_b)) << "a was reset, yet its target survived";
  EXPECT_EQ(destroyed.load(), 2);
}

TEST(GcRoot, NameIsNotCopied) {
  static const char literal[] = "a literal";
  gc_root<counted> named(nullptr, literal);
  EXPECT_EQ(named.name(), literal) << "the name should be the caller's pointer";
  gc_root<counted> copy(named);
  EXPECT_EQ(copy.name(), literal);
  gc_root<counted> unnamed;
  EXPECT_STREQ(unnamed.name(), "");

  std::string dynamic = "session ";
  dynamic += std::to_string(42);
  const char* interned = tricolor::intern_root_name(dynamic);
  EXPECT_EQ(interned, tricolor::intern_root_name("session 42"))
      << "interning the same name twice gave two copies";
  gc_root<counted> with_interned(nullptr, interned);
  dynamic.assign(100, 'x');  // the caller's string changes; the copy does not
  EXPECT_STREQ(with_interned.name(), "session 42");
}

TEST(GcRoot, CountsExactlyTheLiveRoots) {
  collect_clean();
  const std::uint64_t base = tricolor::read_stats().handle_roots;
  {
    std::vector<gc_root<counted>> roots;
    for (int i = 0; i < 1000; ++i)
      roots.emplace_back(i % 3 == 0 ? nullptr : make_gc<counted>(nullptr, i), "counted");
    collect_clean();
    EXPECT_EQ(tricolor::read_stats().handle_roots, base + 1000)
        << "the scan did not count each live root once (null roots included)";
  }
  collect_clean();
  EXPECT_EQ(tricolor::read_stats().handle_roots, base)
      << "destroyed roots are still counted by the scan";
}

TEST(GcRoot, CreatedOnOneThreadDestroyedOnAnother) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  constexpr int batches = 20, per_batch = 300;
  std::mutex lock;
  std::condition_variable changed;
  std::deque<std::vector<gc_root<counted>>> handed_over;
  bool producer_done = false;

  std::thread producer([&] {
    for (int b = 0; b < batches; ++b) {
      std::vector<gc_root<counted>> batch;
      for (int i = 0; i < per_batch; ++i)
        batch.emplace_back(make_gc<counted>(&destroyed, b * per_batch + i), "handed_over");
      std::lock_guard guard(lock);
      handed_over.push_back(std::move(batch));
      changed.notify_all();
    }
    std::lock_guard guard(lock);
    producer_done = true;
    changed.notify_all();
  });
  producer.join();  // every batch now lives only in the deque
  collect_clean();
  tricolor_test::churn();
  collect_clean();
  EXPECT_EQ(destroyed.load(), 0) << "roots made by a thread that exited were not scanned";

  std::thread consumer([&] {
    std::unique_lock guard(lock);
    changed.wait(guard, [&] { return producer_done; });
    int b = 0;
    while (!handed_over.empty()) {
      std::vector<gc_root<counted>> batch = std::move(handed_over.front());
      handed_over.pop_front();
      for (int i = 0; i < per_batch; ++i)
        ASSERT_TRUE(holds(batch[i], b * per_batch + i))
            << "batch " << b << " root " << i << " lost its object";
      ++b;
    }  // each batch destroyed here, on the consumer
  });
  consumer.join();
  collect_clean();
  EXPECT_EQ(destroyed.load(), batches * per_batch)
      << "roots destroyed on another thread than their creator still keep "
         "their objects alive";
}

// ---------------------------------------------------------------------------
// Stress.

struct checked {
  static std::uint64_t mix(std::uint64_t id) { return counted::mix(id); }
  struct leaf;
  checked(std::uint64_t id, gc_ptr<leaf> child) : id(id), check(mix(id)), child(child) {}
  ~checked() { check = 0xdeaddeaddeaddeadull; }
  void trace(tricolor::tracer& t) const { t(child); }

  struct leaf {
    explicit leaf(std::uint64_t id) : id(id), check(mix(~id)) {}
    ~leaf() { check = 0xdeaddeaddeaddeadull; }
    std::uint64_t id, check;
  };

  std::uint64_t id, check;
  gc_ptr<leaf> child;
};

gc_ptr<checked> make_checked(std::uint64_t id) {
  return make_gc<checked>(id, make_gc<checked::leaf>(id));
}

// A root and the id of the object it must hold (0: none).
struct entry {
  std::uint64_t id = 0;
  gc_root<checked> root;
};

// Empty when fine, else what is wrong.
std::string verify(const entry& e) {
  gc_ptr<checked> object = e.root.get();
  if (e.id == 0) return object ? "an emptied root holds an object" : "";
  if (!object) return "root for object " + std::to_string(e.id) + " reads null";
  if (object->id != e.id || object->check != checked::mix(e.id))
    return "object " + std::to_string(e.id) + " was freed under its root (id " +
           std::to_string(object->id) + ", checksum " + std::to_string(object->check) + ")";
  gc_ptr<checked::leaf> leaf = object->child;
  if (!leaf || leaf->id != e.id || leaf->check != checked::mix(~e.id))
    return "the child of object " + std::to_string(e.id) + " was freed";
  return "";
}

double stress_seconds() {
  return 3.0 * tricolor_test::env_scale("TRICOLOR_GC_ROOT_STRESS_SECONDS_FACTOR");
}

TEST(GcRoot, Stress) {
  constexpr int workers = 3;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(stress_seconds());
  std::mutex lock;  // guards shared and first_error
  std::deque<std::vector<entry>> shared;
  std::string first_error;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> next_id{1};
  std::atomic<std::uint64_t> checked_entries{0};

  auto report = [&](const std::string& error) {
    std::lock_guard guard(lock);
    if (first_error.empty()) first_error = error;
    stop.store(true);
  };

  auto work = [&](unsigned seed) {
    std::uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
    auto random = [&](std::uint64_t n) {
      rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
      return rng % n;
    };
    while (!stop.load()) {
      std::vector<entry> mine;
      const std::size_t n = 16 + random(48);
      for (std::size_t i = 0; i < n; ++i) {
        std::uint64_t id = next_id.fetch_add(1);
        mine.push_back(entry{id, gc_root<checked>(make_checked(id), "stress")});
      }
      for (int op = 0; op < 64; ++op) {
        entry& a = mine[random(mine.size())];
        entry& b = mine[random(mine.size())];
        switch (random(6)) {
          case 0: a = b; break;                                   // copy-assign
          case 1: if (&a != &b) { a.root = std::move(b.root); a.id = std::exchange(b.id, 0); } break;
          case 2: mine.push_back(entry{a.id, gc_root<checked>(a.root)}); break;  // copy
          case 3: { std::uint64_t id = next_id.fetch_add(1);   // overwrite target
                    a.root = make_checked(id); a.id = id; } break;
          case 4: a.root.reset(); a.id = 0; break;
          case 5: if (mine.size() > 4) mine.erase(mine.begin() + random(mine.size())); break;
        }
      }
      for (const entry& e : mine) {
        if (std::string error = verify(e); !error.empty()) return report(error);
      }
      checked_entries.fetch_add(mine.size(), std::memory_order_relaxed);
      std::vector<entry> theirs;
      {
        std::lock_guard guard(lock);
        shared.push_back(std::move(mine));
        if (shared.size() > 8 || random(2) == 0) {
          theirs = std::move(shared.front());
          shared.pop_front();
        }
      }
      for (const entry& e : theirs) {  // made by this or another thread
        if (std::string error = verify(e); !error.empty()) return report(error);
      }
    }  // `theirs` destroyed here, often by another thread than its creator
  };

  // Runs until the deadline and at least min_cycles collections (sanitizers
  // slow collect() down), but never past 10 times the deadline.
  constexpr std::uint64_t min_cycles = 5;
  const auto give_up = std::chrono::steady_clock::now() +
                       std::chrono::duration<double>(10 * stress_seconds());
  std::uint64_t cycles = 0;
  std::thread collector([&] {
    while (!stop.load()) {
      tricolor::collect();
      ++cycles;
      const auto now = std::chrono::steady_clock::now();
      if ((now >= deadline && cycles >= min_cycles) || now >= give_up) stop.store(true);
      std::lock_guard guard(lock);
      for (const auto& batch : shared)
        for (const entry& e : batch)
          if (std::string error = verify(e); !error.empty()) {
            if (first_error.empty()) first_error = "after collection " +
                std::to_string(cycles) + ": " + error;
            stop.store(true);
          }
    }
  });
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) threads.emplace_back(work, w + 1);
  for (auto& t : threads) t.join();
  stop.store(true);
  collector.join();

  EXPECT_EQ(first_error, "");
  EXPECT_GE(cycles, min_cycles) << "too few collections ran beside the workers";
  EXPECT_GT(checked_entries.load(), 1000u) << "the workers checked too few roots";
  std::printf("gc_root stress: %llu collections, %llu roots checked\n",
              static_cast<unsigned long long>(cycles),
              static_cast<unsigned long long>(checked_entries.load()));
}

}  // namespace
