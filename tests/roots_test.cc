// Roots (SPEC §2.2): every kind of root keeps its objects alive across
// collect(), and memory that is not a root (a std::vector's malloc'd buffer)
// does not.
//
// "Kept alive" is observed three ways at once: a weak_gc_ptr to the object
// stays set, the object's destructor has not run, and its contents (an id and
// a checksum derived from it) are intact after churn() has recycled every
// freed slot. "Freed" is observed by the weak_gc_ptr clearing and the
// destructor counter; see tests/test_support.hpp for how stale stack copies
// are kept out of the way.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/roots_test_lib.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::churn;
using tricolor_test::clobber_stack;
using tricolor_test::collect_clean;
using tricolor_test::counted;
using tricolor_test::make_stored;


// Alive, not destroyed, contents intact, id as expected.
[[gnu::noinline]] ::testing::AssertionResult intact(
    const weak_gc_ptr<counted>& weak, std::uint64_t id) {
  gc_ptr<counted> object = weak.lock();
  if (!object)
    return ::testing::AssertionFailure()
           << "object " << id << " was collected while still rooted";
  if (object->id != id || !object->intact())
    return ::testing::AssertionFailure()
           << "object " << id << " is corrupted: id " << object->id
           << ", checksum " << object->check << " (expected "
           << counted::mix(id) << ")";
  return ::testing::AssertionSuccess();
}

// A few collections with slot recycling in between.
[[gnu::noinline]] void collect_and_churn(int cycles = 3) {
  for (int i = 0; i < cycles; ++i) {
    collect_clean();
    churn();
  }
}

// ---------------------------------------------------------------------------
// Stack roots.

TEST(Roots, StackLocalKeepsObjectAlive) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_ptr<counted> local;
  weak_gc_ptr<counted> weak =
      make_stored(&destroyed, 1, [&](gc_ptr<counted> p) { local = p; });
  collect_and_churn();
  EXPECT_TRUE(intact(weak, 1));
  EXPECT_EQ(destroyed.load(), 0);
  local = nullptr;
  collect_clean();
  EXPECT_FALSE(alive(weak)) << "the stack local was cleared, yet the object "
                               "survived a collection";
  EXPECT_EQ(destroyed.load(), 1);
}

struct with_payload {
  explicit with_payload(std::uint64_t seed) {
    for (int i = 0; i < 16; ++i) words[i] = counted::mix(seed + i);
    std::memset(tail, 'z', sizeof tail);
  }
  std::uint64_t words[16];
  char tail[24];
};

[[gnu::noinline]] char* make_and_point_to_last_byte(
    std::uint64_t seed, weak_gc_ptr<with_payload>* weak) {
  gc_ptr<with_payload> object = make_gc<with_payload>(seed);
  *weak = object;
  return &object->tail[sizeof object->tail - 1];
}

[[gnu::noinline]] std::uint64_t* make_and_point_to_middle(
    std::uint64_t seed, weak_gc_ptr<with_payload>* weak) {
  gc_ptr<with_payload> object = make_gc<with_payload>(seed);
  *weak = object;
  return &object->words[7];
}

[[gnu::noinline]] bool payload_intact(const weak_gc_ptr<with_payload>& weak,
                                      std::uint64_t seed) {
  gc_ptr<with_payload> object = weak.lock();
  if (!object) return false;
  for (int i = 0; i < 16; ++i)
    if (object->words[i] != counted::mix(seed + i)) return false;
  for (char c : object->tail)
    if (c != 'z') return false;
  return true;
}

TEST(Roots, InteriorPointerOnStackKeepsObjectAlive) {
  weak_gc_ptr<with_payload> weak_middle, weak_last;
  // Only interior addresses, in stack slots (volatile keeps them in memory).
  std::uint64_t* volatile middle = make_and_point_to_middle(100, &weak_middle);
  char* volatile last = make_and_point_to_last_byte(200, &weak_last);
  collect_and_churn();
  EXPECT_TRUE(payload_intact(weak_middle, 100))
      << "a pointer to a member in the middle of the object did not keep it "
         "alive";
  EXPECT_TRUE(payload_intact(weak_last, 200))
      << "a pointer to the last byte of the object did not keep it alive";
  EXPECT_EQ(*middle, counted::mix(107));
  EXPECT_EQ(*last, 'z');
}

// The object's slot start, its header: what GCC keeps in a register once
// make_gc is inlined, reaching the payload at a constant offset from it.
[[gnu::noinline]] char* make_and_point_to_header(std::uint64_t seed,
                                                  weak_gc_ptr<with_payload>* weak) {
  gc_ptr<with_payload> object = make_gc<with_payload>(seed);
  *weak = object;
  return reinterpret_cast<char*>(object.get()) - tricolor::heap::header_size;
}

TEST(Roots, HeaderAddressOnStackKeepsObjectAlive) {
  weak_gc_ptr<with_payload> weak[8];
  char* volatile headers[8];
  // Several, so that some sit right after another allocated slot (whose
  // one-past-the-end address is the same word).
  for (int i = 0; i < 8; ++i) headers[i] = make_and_point_to_header(300 + i, &weak[i]);
  collect_and_churn();
  for (int i = 0; i < 8; ++i) {
    EXPECT_TRUE(payload_intact(weak[i], 300 + i))
        << "object " << i << " was freed while a stack word held its header address";
    EXPECT_NE(headers[i], nullptr);
  }
}

[[gnu::noinline]] std::uint64_t* make_large_and_point_inside(
    std::size_t n, std::size_t index,
    weak_gc_ptr<tricolor::gc_array<std::uint64_t>>* weak) {
  auto array = tricolor::make_gc_array<std::uint64_t>(n);
  for (std::size_t i = 0; i < n; ++i) (*array)[i] = counted::mix(i);
  *weak = array;
  return &(*array)[index];
}

[[gnu::noinline]] bool large_intact(
    const weak_gc_ptr<tricolor::gc_array<std::uint64_t>>& weak, std::size_t n) {
  auto array = weak.lock();
  if (!array || array->size() != n) return false;
  for (std::size_t i = 0; i < n; ++i)
    if ((*array)[i] != counted::mix(i)) return false;
  return true;
}

TEST(Roots, InteriorPointerDeepInsideLargeObject) {
  // 800 KB: a large object (a span of its own, ~98 pages); the interior
  // pointer lands ~550 KB past its start, far from the span's first page.
  constexpr std::size_t n = 100000;
  weak_gc_ptr<tricolor::gc_array<std::uint64_t>> weak;
  std::uint64_t* volatile inside = make_large_and_point_inside(n, 70000, &weak);
  collect_and_churn();
  EXPECT_TRUE(large_intact(weak, n))
      << "an interior pointer into a later page of a large object did not "
         "keep it alive";
  EXPECT_EQ(*inside, counted::mix(70000));
}

[[gnu::noinline]] counted* make_raw(std::atomic<int>* counter, std::uint64_t id,
                                    weak_gc_ptr<counted>* weak) {
  gc_ptr<counted> object = make_gc<counted>(counter, id);
  *weak = object;
  return object.get();
}

// Best effort: `raw` is live across the calls below, so the compiler keeps it
// in a callee-saved register (rbx/r12-r15, x19-x28); the collector finds it in
// the register snapshot of this thread or wherever a callee saved it.
[[gnu::noinline]] ::testing::AssertionResult value_in_register_survives() {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  weak_gc_ptr<counted> weak;
  counted* raw = make_raw(&destroyed, 31337, &weak);
  asm volatile("" : "+r"(raw));
  clobber_stack();
  tricolor::collect();
  churn();
  tricolor::collect();
  asm volatile("" : "+r"(raw));
  if (!alive(weak) || destroyed.load() != 0)
    return ::testing::AssertionFailure()
           << "an object whose only reference was a local variable kept in a "
              "register was freed";
  if (raw->id != 31337 || !raw->intact())
    return ::testing::AssertionFailure() << "the object was corrupted";
  return ::testing::AssertionSuccess();
}

TEST(Roots, ValueInRegisterKeepsObjectAlive) {
  EXPECT_TRUE(value_in_register_survives());
}

// ---------------------------------------------------------------------------
// Static storage.

gc_ptr<counted> global_in_bss;

// A constant-initialized aggregate with a non-zero member lands in .data.
struct data_segment_holder {
  long marker = 0x5a5a;
  gc_ptr<counted> pointer;
  long more[3] = {1, 2, 3};
};
data_segment_holder global_in_data;

gc_ptr<counted>& function_local_static() {
  static gc_ptr<counted> p;
  return p;
}

TEST(Roots, StaticGcPtrKeepsObjectAlive) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  auto weak_bss = make_stored(&destroyed, 11,
                              [](gc_ptr<counted> p) { global_in_bss = p; });
  auto weak_data = make_stored(
      &destroyed, 12, [](gc_ptr<counted> p) { global_in_data.pointer = p; });
  auto weak_local = make_stored(
      &destroyed, 13, [](gc_ptr<counted> p) { function_local_static() = p; });
  collect_and_churn();
  EXPECT_TRUE(intact(weak_bss, 11)) << "a gc_ptr in .bss is not a root";
  EXPECT_TRUE(intact(weak_data, 12)) << "a gc_ptr in .data is not a root";
  EXPECT_TRUE(intact(weak_local, 13))
      << "a function-local static gc_ptr is not a root";
  EXPECT_EQ(destroyed.load(), 0);

  global_in_bss = nullptr;
  global_in_data.pointer = nullptr;
  function_local_static() = nullptr;
  collect_clean();
  EXPECT_FALSE(alive(weak_bss));
  EXPECT_FALSE(alive(weak_data));
  EXPECT_FALSE(alive(weak_local));
  EXPECT_EQ(destroyed.load(), 3);
}

TEST(Roots, StaticGcPtrInSharedLibraryKeepsObjectAlive) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  auto weak = make_stored(&destroyed, 21,
                          [](gc_ptr<counted> p) { roots_test_lib::store(p); });
  collect_and_churn();
  EXPECT_TRUE(intact(weak, 21))
      << "a gc_ptr in a shared library's data segment is not a root";
  EXPECT_EQ(destroyed.load(), 0);
  roots_test_lib::store(nullptr);
  collect_clean();
  EXPECT_FALSE(alive(weak));
  EXPECT_EQ(destroyed.load(), 1);
}

// ---------------------------------------------------------------------------
// Thread-local storage.

thread_local gc_ptr<counted> thread_local_root;

TEST(Roots, ThreadLocalGcPtrOnMainThread) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  auto weak = make_stored(&destroyed, 41,
                          [](gc_ptr<counted> p) { thread_local_root = p; });
  collect_and_churn();
  EXPECT_TRUE(intact(weak, 41)) << "a thread_local gc_ptr is not a root";
  EXPECT_EQ(destroyed.load(), 0);
  thread_local_root = nullptr;
  collect_clean();
  EXPECT_FALSE(alive(weak));
  EXPECT_EQ(destroyed.load(), 1);
}

// A one-shot gate that a thread can wait on inside a blocking_scope.
class gate {
 public:
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  // Waits inside a blocking_scope: the waiting thread is registered with the
  // collector and must not hold up its pauses.
  void wait() {
    tricolor::blocking_scope blocking;
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Joins inside a blocking_scope, so that a collection started by the thread
// being joined never waits for this one.
void join_blocking(std::thread& thread) {
  tricolor::blocking_scope blocking;
  thread.join();
}

TEST(Roots, ThreadLocalGcPtrOnWorkerThread) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  weak_gc_ptr<counted> weak;
  gate published, collected;
  bool verified = false;
  std::thread worker([&] {
    weak = make_stored(&destroyed, 42,
                       [](gc_ptr<counted> p) { thread_local_root = p; });
    published.open();
    collected.wait();
    verified = thread_local_root && thread_local_root->id == 42 &&
               thread_local_root->intact();
    // Exits with the object still in its thread_local: the thread's roots go
    // away with it.
  });
  published.wait();
  collect_and_churn();
  EXPECT_TRUE(intact(weak, 42))
      << "a worker's thread_local gc_ptr did not keep its object alive while "
         "the worker was parked";
  EXPECT_EQ(destroyed.load(), 0);
  collected.open();
  join_blocking(worker);
  EXPECT_TRUE(verified) << "the worker found its thread_local object changed";

  collect_clean();
  EXPECT_FALSE(alive(weak))
      << "an object referenced only from the thread_local of an exited thread "
         "was not freed: dead threads' roots must not be scanned";
  EXPECT_EQ(destroyed.load(), 1);
}

// ---------------------------------------------------------------------------
// gc_root handles.

TEST(Roots, GcRootsInStdVectorSurviveReallocation) {
  constexpr int n = 500;
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  std::vector<gc_root<counted>> roots;  // no reserve: grows and moves the roots
  std::vector<weak_gc_ptr<counted>> weaks;
  for (int i = 0; i < n; ++i) {
    weaks.push_back(make_stored(&destroyed, 1000 + i, [&](gc_ptr<counted> p) {
      roots.emplace_back(p, "vector_of_roots");
    }));
  }
  roots.shrink_to_fit();
  collect_and_churn();
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(intact(weaks[i], 1000 + i)) << "root #" << i;
  EXPECT_EQ(destroyed.load(), 0);
  tricolor_test::isolated([&] {
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(roots[i]->id, std::uint64_t(1000 + i));
      EXPECT_STREQ(roots[i].name(), "vector_of_roots");
    }
  });

  // Erase every even element: the survivors are move-assigned down the
  // vector, the tail roots destroyed.
  tricolor_test::isolated([&] {
    for (int i = n - 2; i >= 0; i -= 2) roots.erase(roots.begin() + i);
    ASSERT_EQ(roots.size(), std::size_t(n / 2));
    for (int i = 0; i < n / 2; ++i)
      ASSERT_EQ(roots[i]->id, std::uint64_t(1000 + 2 * i + 1));
  });
  collect_and_churn();
  int freed_even = 0;
  for (int i = 0; i < n; ++i) {
    if (i % 2 == 1) {
      EXPECT_TRUE(intact(weaks[i], 1000 + i)) << "root #" << i;
    } else if (!alive(weaks[i])) {
      ++freed_even;
    }
  }
  EXPECT_EQ(freed_even, n / 2)
      << "objects whose gc_root was erased from the vector were not freed";
  EXPECT_EQ(destroyed.load(), n / 2);

  roots.clear();
  collect_clean();
  EXPECT_EQ(destroyed.load(), n);
}

TEST(Roots, GcRootRecordsNameAndSourceLocation) {
  auto object = make_gc<counted>(nullptr, 1);
  gc_root<counted> named(object, "session_cache"); const unsigned line = __LINE__;
  EXPECT_STREQ(named.name(), "session_cache");
  tricolor::source_location where = named.where();
  EXPECT_EQ(where.line, line);
  ASSERT_NE(where.file, nullptr);
  EXPECT_NE(std::string(where.file).find("roots_test.cc"), std::string::npos)
      << where.file;
  ASSERT_NE(where.function, nullptr);
  EXPECT_NE(std::string(where.function).find("TestBody"), std::string::npos)
      << where.function;
  EXPECT_EQ(named.get(), object);

  // A copy gets its own registration with the same name and location.
  gc_root<counted> copy(named);
  EXPECT_STREQ(copy.name(), "session_cache");
  EXPECT_EQ(copy.where().line, line);
  EXPECT_EQ(copy.get(), object);

  // An explicit location is kept as given.
  tricolor::source_location custom{"custom.cc", "custom_function", 1234};
  gc_root<counted> explicit_location(object, "explicit", custom);
  EXPECT_STREQ(explicit_location.where().file, "custom.cc");
  EXPECT_STREQ(explicit_location.where().function, "custom_function");
  EXPECT_EQ(explicit_location.where().line, 1234u);

  // Moving transfers the registration; the moved-from root reads as null.
  gc_root<counted> moved(std::move(named));
  EXPECT_STREQ(moved.name(), "session_cache");
  EXPECT_EQ(moved.where().line, line);
  EXPECT_EQ(moved.get(), object);
  EXPECT_FALSE(named.get());  // NOLINT(bugprone-use-after-move)
  EXPECT_FALSE(named);
  EXPECT_STREQ(named.name(), "");
  // A moved-from root can be set again.
  named = object;
  EXPECT_EQ(named.get(), object);
}

TEST(Roots, GcRootCopyAndAssignmentKeepTargetsAlive) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  gc_root<counted> first;
  EXPECT_FALSE(first);
  auto weak = make_stored(&destroyed, 51, [&](gc_ptr<counted> p) { first = p; });
  std::unique_ptr<gc_root<counted>> copy;
  gc_root<counted> assigned;
  tricolor_test::isolated([&] {
    copy = std::make_unique<gc_root<counted>>(first);
    first.reset();
    EXPECT_FALSE(first);
  });
  collect_and_churn();
  EXPECT_TRUE(intact(weak, 51)) << "a copy of a gc_root is not a root";
  tricolor_test::isolated([&] {
    assigned = *copy;  // copy assignment: the target, not the registration
    copy.reset();
  });
  collect_and_churn();
  EXPECT_TRUE(intact(weak, 51)) << "a copy-assigned gc_root is not a root";
  EXPECT_EQ(destroyed.load(), 0);
  tricolor_test::isolated([&] {
    gc_ptr<counted> converted = assigned;  // implicit conversion to gc_ptr
    EXPECT_EQ(converted->id, 51u);
  });
  assigned = nullptr;
  collect_clean();
  EXPECT_FALSE(alive(weak));
  EXPECT_EQ(destroyed.load(), 1);
}

TEST(Roots, GcRootInMallocMemory) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  struct registry_entry {
    int key;
    gc_root<counted> value;
  };
  auto entry = std::make_unique<registry_entry>();
  entry->key = 3;
  auto weak = make_stored(&destroyed, 61,
                          [&](gc_ptr<counted> p) { entry->value = p; });
  collect_and_churn();
  EXPECT_TRUE(intact(weak, 61));
  entry.reset();  // destroying the gc_root unregisters it
  collect_clean();
  EXPECT_FALSE(alive(weak));
  EXPECT_EQ(destroyed.load(), 1);
}

// ---------------------------------------------------------------------------
// Other threads' stacks.

struct list_node {
  gc_ptr<list_node> next;
  std::uint64_t value;
  void trace(tricolor::tracer& t) const { t(next); }
};

[[gnu::noinline]] gc_ptr<list_node> make_list(int n) {
  gc_ptr<list_node> head;
  for (int i = 0; i < n; ++i) {
    auto node = make_gc<list_node>();
    node->value = counted::mix(i);
    node->next = head;
    head = node;
  }
  return head;
}

[[gnu::noinline]] bool list_intact(gc_ptr<list_node> head, int n) {
  for (int i = n - 1; i >= 0; --i) {
    if (!head || head->value != counted::mix(i)) return false;
    head = head->next;
  }
  return !head;
}

TEST(Roots, StackOfThreadParkedInBlockingScope) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  weak_gc_ptr<counted> weak;
  gate published, collected;
  bool verified = false;
  std::thread worker([&] {
    // Held only by this thread's stack and registers.
    gc_ptr<counted> object = make_gc<counted>(&destroyed, 71);
    gc_ptr<list_node> list = make_list(1000);
    weak = object;
    published.open();
    collected.wait();  // parked in a blocking_scope while main collects
    verified = object->id == 71 && object->intact() && list_intact(list, 1000);
  });
  published.wait();
  collect_and_churn(5);
  EXPECT_TRUE(intact(weak, 71))
      << "an object held on the stack of a thread parked in a blocking_scope "
         "was freed";
  EXPECT_EQ(destroyed.load(), 0);
  collected.open();
  join_blocking(worker);
  EXPECT_TRUE(verified)
      << "the parked thread found its stack-held objects corrupted";
  collect_clean();
  EXPECT_FALSE(alive(weak)) << "the exited thread's stack is still a root";
  EXPECT_EQ(destroyed.load(), 1);
}

TEST(Roots, StackOfThreadPollingSafepoints) {
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  std::atomic<bool> stop{false};
  std::atomic<bool> ready{false};
  bool verified = false;
  std::thread worker([&] {
    gc_ptr<counted> object = make_gc<counted>(&destroyed, 81);
    gc_ptr<list_node> list = make_list(500);
    ready.store(true);
    // A busy loop that never allocates: it cooperates through safepoint().
    while (!stop.load(std::memory_order_relaxed)) tricolor::safepoint();
    verified = object->id == 81 && object->intact() && list_intact(list, 500);
  });
  // Main is registered: while it waits it must poll, or a collection that the
  // worker's allocations trigger would wait for main forever.
  while (!ready.load()) {
    tricolor::safepoint();
    std::this_thread::yield();
  }
  for (int i = 0; i < 5; ++i) {
    tricolor::collect();
    churn(5000);
  }
  EXPECT_EQ(destroyed.load(), 0)
      << "an object on the stack of a thread stopped at a safepoint was freed";
  stop.store(true);
  join_blocking(worker);
  EXPECT_TRUE(verified)
      << "objects held on the stack of a thread stopped at safepoint() were "
         "corrupted";
}

// ---------------------------------------------------------------------------
// What is not a root.

// Fills an array of gc_ptrs from operator new[] (memory the collector never
// scans; a std::vector<gc_ptr> would hold its elements there too, which is
// why it does not compile) and returns weak references to its objects.
[[gnu::noinline]] std::unique_ptr<gc_ptr<counted>[]> make_unrooted(
    std::atomic<int>* counter, int n, std::vector<weak_gc_ptr<counted>>* weaks) {
  auto array = std::make_unique<gc_ptr<counted>[]>(n);
  for (int i = 0; i < n; ++i) {
    array[i] = make_gc<counted>(counter, 5000 + i);
    weaks->emplace_back(array[i]);
  }
  return array;
}

TEST(Roots, OperatorNewMemoryIsNotARoot) {
  constexpr int n = 200;
  static std::atomic<int> destroyed{0};  // outlives every object counting into it
  std::vector<weak_gc_ptr<counted>> weaks;
  auto unrooted = make_unrooted(&destroyed, n, &weaks);
  collect_clean();
  int survivors = 0;
  for (const auto& weak : weaks) survivors += alive(weak);
  // The objects are referenced only from the array's operator new memory,
  // which the collector never scans: all of them must go. (The stale-copy recipe of
  // test_support.hpp makes this exact; were it ever to leak one or two
  // addresses, that would show here as a survivor count of 1-2, not ~200.)
  EXPECT_EQ(survivors, 0)
      << "memory from operator new[] was treated as a root: " << survivors
      << " of " << n << " objects survived";
  EXPECT_EQ(destroyed.load(), n - survivors);
  // The array now holds dangling addresses; it is never dereferenced.
  unrooted.reset();
}

}  // namespace
