// Exceptions (SPEC §2.2): a thrown object holding gc_ptrs keeps their
// targets alive while it propagates, inside the catch block, and while a
// std::exception_ptr holds it, with no ceremony (roots/exception_roots.cc
// interposes the C++ runtime's exception allocation).
//
// Each test keeps the only reference to its objects in the exception object,
// runs several full cycles with the freed slots reused in between, and then
// reads the objects' contents (id and checksum).
//
// (Linked against a library without roots/exception_roots.cc, the tests
// fail: the case of issue 10, point 5.)
#include <atomic>
#include <cstdint>
#include <exception>
#include <future>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "roots/root_ranges.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::make_gc;
using tricolor::weak_gc_ptr;
using tricolor_test::alive;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using tricolor_test::counted;

std::atomic<int> destroyed{0};

// What a program throws: an error carrying the managed objects it is about.
struct lookup_error : std::runtime_error {
  lookup_error(gc_ptr<counted> a, gc_ptr<counted> b)
      : std::runtime_error("lookup failed"), first(a), second(b) {}
  gc_ptr<counted> first;
  gc_ptr<counted> second;
};

void collect_and_churn() {
  for (int i = 0; i < 3; ++i) {
    collect_clean();
    churn();
  }
}

::testing::AssertionResult intact(const gc_ptr<counted>& p, std::uint64_t id) {
  if (!p) return ::testing::AssertionFailure() << "object " << id << " is null";
  if (p->id != id || !p->intact())
    return ::testing::AssertionFailure()
           << "object " << id << " was freed and its slot reused (id " << p->id
           << "): the exception object is not a root";
  return ::testing::AssertionSuccess();
}

[[noreturn, gnu::noinline]] void throw_lookup_error(std::uint64_t id) {
  throw lookup_error(make_gc<counted>(&destroyed, id), make_gc<counted>(&destroyed, id + 1));
}

TEST(Exceptions, CaughtObjectKeepsItsGcPtrsAlive) {
  try {
    throw_lookup_error(100);
    FAIL() << "no exception";
  } catch (const lookup_error& e) {
    collect_and_churn();
    EXPECT_TRUE(intact(e.first, 100));
    EXPECT_TRUE(intact(e.second, 101));
  }
}

// Thrown through several frames, collected during the unwinding (a
// destructor of a local runs collect()).
struct collects_on_unwind {
  ~collects_on_unwind() { collect_and_churn(); }
};

[[gnu::noinline]] void deep(int depth, std::uint64_t id) {
  collects_on_unwind guard;
  if (depth < 0) return;
  if (depth == 0) throw_lookup_error(id);
  deep(depth - 1, id);
}

TEST(Exceptions, CollectedWhileUnwinding) {
  try {
    deep(3, 200);
  } catch (const lookup_error& e) {
    EXPECT_TRUE(intact(e.first, 200));
    EXPECT_TRUE(intact(e.second, 201));
  }
}

[[gnu::noinline]] std::exception_ptr captured(std::uint64_t id) {
  try {
    throw_lookup_error(id);
  } catch (...) {
    return std::current_exception();
  }
  return nullptr;
}

TEST(Exceptions, ExceptionPtrKeepsItsGcPtrsAlive) {
  std::exception_ptr stored = captured(300);
  collect_and_churn();
  try {
    std::rethrow_exception(stored);
  } catch (const lookup_error& e) {
    collect_and_churn();  // rethrown: a dependent exception refers to it
    EXPECT_TRUE(intact(e.first, 300));
    EXPECT_TRUE(intact(e.second, 301));
  }
}

[[gnu::noinline]] std::exception_ptr made(std::uint64_t id) {
  return std::make_exception_ptr(
      lookup_error(make_gc<counted>(&destroyed, id), make_gc<counted>(&destroyed, id + 1)));
}

TEST(Exceptions, MakeExceptionPtr) {
  std::exception_ptr stored = made(400);
  collect_and_churn();
  try {
    std::rethrow_exception(stored);
  } catch (const lookup_error& e) {
    EXPECT_TRUE(intact(e.first, 400));
    EXPECT_TRUE(intact(e.second, 401));
  }
}

TEST(Exceptions, NestedExceptionsInFlight) {
  try {
    throw_lookup_error(500);
  } catch (const lookup_error& outer) {
    try {
      throw_lookup_error(600);
    } catch (const lookup_error& inner) {
      collect_and_churn();
      EXPECT_TRUE(intact(outer.first, 500));
      EXPECT_TRUE(intact(inner.second, 601));
    }
    collect_and_churn();
    EXPECT_TRUE(intact(outer.second, 501));
  }
}

// std::async / std::future carry the exception to another thread.
TEST(Exceptions, FutureCarriesItAcrossThreads) {
  std::future<void> result = std::async(std::launch::async, [] { throw_lookup_error(700); });
  result.wait();
  collect_and_churn();
  try {
    result.get();
    FAIL() << "no exception";
  } catch (const lookup_error& e) {
    EXPECT_TRUE(intact(e.first, 700));
    EXPECT_TRUE(intact(e.second, 701));
  }
}

// Threads throw and catch while another collects in a loop.
TEST(Exceptions, ThrowingWhileTheCollectorRuns) {
  std::atomic<bool> stop{false};
  std::thread collector([&] {
    while (!stop.load()) tricolor::collect();
  });
  std::atomic<int> corrupted{0}, caught{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 0; i < 300; ++i) {
        std::uint64_t id = (std::uint64_t(t + 1) << 32) + 2 * i;
        try {
          throw_lookup_error(id);
        } catch (const lookup_error& e) {
          churn(200);
          if (!intact(e.first, id) || !intact(e.second, id + 1)) corrupted.fetch_add(1);
          caught.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  stop = true;
  collector.join();
  EXPECT_EQ(caught.load(), 900);
  EXPECT_EQ(corrupted.load(), 0) << "objects held by exceptions were freed";
}

// Every exception is unregistered when the runtime frees it, including the
// C++ library's own (std::vector::at) and those held by exception_ptr.
TEST(Exceptions, UnregisteredWhenFreed) {
  using tricolor::roots::range_kind;
  using tricolor::roots::registered_ranges;
  std::size_t before = registered_ranges(range_kind::exception);
  try {
    throw_lookup_error(800);
  } catch (const lookup_error&) {
    EXPECT_EQ(registered_ranges(range_kind::exception), before + 1);
  }
  EXPECT_EQ(registered_ranges(range_kind::exception), before);
  std::vector<int> v;
  EXPECT_THROW((void)v.at(3), std::out_of_range);
  EXPECT_EQ(registered_ranges(range_kind::exception), before);
  {
    std::exception_ptr p = captured(900);
    EXPECT_EQ(registered_ranges(range_kind::exception), before + 1);
    std::exception_ptr copy = p;
    try {
      std::rethrow_exception(copy);
    } catch (...) {
    }
  }
  EXPECT_EQ(registered_ranges(range_kind::exception), before)
      << "an exception released by its last exception_ptr is still registered";
}

// Once the exception is gone, its objects are garbage again.
[[gnu::noinline]] weak_gc_ptr<counted> thrown_and_caught() {
  try {
    throw_lookup_error(1000);
  } catch (const lookup_error& e) {
    return weak_gc_ptr<counted>(e.first);
  }
  return {};
}

TEST(Exceptions, ObjectsAreFreedAfterTheException) {
  weak_gc_ptr<counted> weak = thrown_and_caught();
  collect_clean();
  EXPECT_FALSE(alive(weak)) << "a freed exception object still retains its gc_ptrs";
}

}  // namespace
