// The work pool (gc/work_pool.hpp): batches handed between threads intact,
// and the wait of a marker out of work woken by every put. A lost wakeup
// shows as a taker asleep for the whole of its one-minute timeout, more
// than the test's time limit.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gc/work_pool.hpp"

namespace tricolor::gc {
namespace {

constexpr std::uint64_t one_minute_ns = 60'000'000'000;
constexpr std::uint64_t stop_value = ~std::uint64_t{0};

// A batch of `count` items whose `packed` fields are first, first + 1, ...
work_batch* make_batch(work_pool& pool, std::uint64_t first, std::size_t count) {
  work_batch* batch = pool.empty_batch();
  for (std::size_t i = 0; i < count; ++i) batch->items[i] = {nullptr, first + i};
  batch->count = count;
  return batch;
}

TEST(WorkPool, EveryPutWakesATakerWaitingForWork) {
  work_pool pool;
  constexpr int takers = 3;
  constexpr std::uint64_t batches = 5000, per_batch = 7;
  std::vector<std::atomic<std::uint8_t>> seen(batches * per_batch);
  std::atomic<std::uint64_t> damaged{0}, taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < takers; ++t)
    threads.emplace_back([&] {
      for (;;) {
        work_batch* batch = pool.take();
        if (batch == nullptr) {
          // Nothing to take: sleep until the next put (or a minute).
          pool.wait_for_put(one_minute_ns);
          continue;
        }
        bool stop = batch->count == 1 && batch->items[0].packed == stop_value;
        for (std::size_t i = 0; !stop && i < batch->count; ++i) {
          std::uint64_t value = batch->items[i].packed;
          if (value >= seen.size() || (i > 0 && value != batch->items[0].packed + i))
            damaged.fetch_add(1);
          else
            seen[value].fetch_add(1, std::memory_order_relaxed);
        }
        pool.recycle(batch);
        if (stop) return;
        taken.fetch_add(1);
      }
    });
  // One batch at a time, the next only once the last was taken: the takers
  // are waiting for each put, most of them asleep, and a put that woke
  // none would stall the hand-over for a minute.
  for (std::uint64_t b = 0; b < batches; ++b) {
    pool.put(make_batch(pool, b * per_batch, per_batch));
    while (taken.load() <= b) std::this_thread::yield();
  }
  for (int t = 0; t < takers; ++t) pool.put(make_batch(pool, stop_value, 1));
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(damaged.load(), 0u);
  std::uint64_t missing = 0, twice = 0;
  for (auto& count : seen) {
    if (count.load() == 0) ++missing;
    if (count.load() > 1) ++twice;
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(twice, 0u);
  EXPECT_TRUE(pool.empty());
}

TEST(WorkPool, AWaitWithNothingPutEndsAtItsTimeout) {
  work_pool pool;
  pool.wait_for_put(20'000'000);  // 20 ms; a wrong timeout would hang here
  EXPECT_TRUE(pool.empty());
}

TEST(WorkPool, AWaitWithWorkAlreadyThereReturnsAtOnce) {
  work_pool pool;
  pool.put(make_batch(pool, 0, 1));
  pool.wait_for_put(one_minute_ns);  // would take the test's whole time limit
  work_batch* batch = pool.take();
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->items[0].packed, 0u);
  pool.recycle(batch);
}

}  // namespace
}  // namespace tricolor::gc
