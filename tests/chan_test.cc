// gc_chan<T> (tricolor/gc_chan.hpp) as an ordinary C++ program uses it:
// plain std::thread, no blocking_scope, no registration call. What each test
// shows when it fails:
//
//   Unbuffered     a send that returns before a receiver has the value, a
//                  try_send that succeeds with no receiver waiting (or fails
//                  with one), a value that arrives changed.
//   Buffered       values out of order (also across the ring's wrap-around
//                  with blocked senders), a try_send that succeeds on a full
//                  buffer, a wrong len().
//   Close          a blocked receiver or sender that is not woken, a sender
//                  that does not throw, a value of a blocked sender delivered
//                  after close, a buffered value lost by close, a second
//                  close or a send after close that does not throw.
//   ManyThreads    4 producers and 4 consumers, 100000 values (gc_ptrs to
//                  objects with a payload), while another thread collects:
//                  a value lost, received twice, or found freed and reused.
//   Liveness       objects whose only reference is in a channel's buffer (the
//                  handle on the stack, in a managed object under a gc_root,
//                  in a global, in another channel) freed by forced
//                  collections: their payload is checked after churn() has
//                  recycled freed slots. And a received value that the
//                  buffer still keeps alive.
//   Blocking       a thread blocked in recv or send for the whole test while
//                  other threads collect: a collection that hangs (the
//                  watchdog names it) or never completes.
//   Registry       the leak-detection hook: a blocked thread missing from
//                  gc::for_each_channel_wait, or listed with the wrong
//                  channel, direction or thread, or still listed after it woke.
//   Unbounded      a send that blocks, values out of order after the ring
//                  grew with its head in the middle, a wrong len() or cap().
//
// A hang is a failure: every test runs under an alarm() watchdog
// (TRICOLOR_CHAN_WATCHDOG_SECONDS, default 120, 600 under ThreadSanitizer)
// that names the test and what it was doing, then exits with status 1; a
// crash is reported the same way.
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gc/channel_waits.hpp"
#include "gc/pacer.hpp"
#include "roots/thread_registry.hpp"
#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::channel_closed_error;
using tricolor::gc_chan;
using tricolor::gc_ptr;
using tricolor::make_chan;
using tricolor::make_gc;
using tricolor::recv_status;
using tricolor_test::churn;
using tricolor_test::collect_clean;
using namespace std::chrono_literals;

std::uint64_t mix(std::uint64_t x) { return tricolor_test::counted::mix(x); }

// ---------------------------------------------------------------------------
// The watchdog.

char current_test[256] = "(no test)";
std::atomic<const char*> current_stage{"starting"};

void stage(const char* what) { current_stage.store(what, std::memory_order_relaxed); }

// ThreadSanitizer slows the 4x4 unbuffered test from 1 s to about 50 s.
#if defined(__SANITIZE_THREAD__)
constexpr unsigned default_watchdog_seconds = 600;
#else
constexpr unsigned default_watchdog_seconds = 120;
#endif

unsigned watchdog_seconds() {
  const char* value = std::getenv("TRICOLOR_CHAN_WATCHDOG_SECONDS");
  if (value == nullptr || *value == '\0') return default_watchdog_seconds;
  char* end = nullptr;
  unsigned long seconds = std::strtoul(value, &end, 10);
  if (end == value || *end != '\0' || seconds < 2 || seconds > 3600) {
    std::fprintf(stderr,
                 "chan_test: TRICOLOR_CHAN_WATCHDOG_SECONDS=%s is not a number of seconds "
                 "(2-3600); using %u\n",
                 value, default_watchdog_seconds);
    return default_watchdog_seconds;
  }
  return unsigned(seconds);
}

extern "C" void on_watchdog(int) {
  char buffer[700];
  char* out = buffer;
  const char* end = buffer + sizeof buffer - 1;
  tricolor_test::append(out, end, "\nchan_test: WATCHDOG: ");
  tricolor_test::append(out, end, current_test);
  tricolor_test::append(out, end, " did not finish in time; it hung while: ");
  tricolor_test::append(out, end, current_stage.load(std::memory_order_relaxed));
  tricolor_test::append(out, end,
                        ".\nchan_test: a blocked thread was not woken, or a collection "
                        "never finished. Exiting with status 1.\n");
  tricolor_test::write_all(buffer, out);
  std::_Exit(1);
}

extern "C" void on_fatal_signal(int signal_number) {
  char buffer[600];
  char* out = buffer;
  const char* end = buffer + sizeof buffer - 1;
  tricolor_test::append(out, end, "\nchan_test: fatal signal ");
  tricolor_test::append(out, end, std::uint64_t(signal_number));
  tricolor_test::append(out, end, " in ");
  tricolor_test::append(out, end, current_test);
  tricolor_test::append(out, end, " while: ");
  tricolor_test::append(out, end, current_stage.load(std::memory_order_relaxed));
  tricolor_test::append(out, end, " (a channel's memory freed while in use?)\n");
  tricolor_test::write_all(buffer, out);
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

// Every test runs under the watchdog and the fatal-signal reporter.
class chan_test : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::snprintf(current_test, sizeof current_test, "%s.%s", info->test_suite_name(),
                  info->name());
    stage("starting");
    struct sigaction action {};
    action.sa_handler = on_watchdog;
    sigemptyset(&action.sa_mask);
    sigaction(SIGALRM, &action, nullptr);
    alarm(watchdog_seconds());
    reporter_.emplace(on_fatal_signal);
  }
  void TearDown() override {
    alarm(0);
    reporter_.reset();
    stage("finished");
  }

 private:
  std::optional<tricolor_test::fatal_signal_reporter> reporter_;
};

class Unbuffered : public chan_test {};
class Buffered : public chan_test {};
class Close : public chan_test {};
class Liveness : public chan_test {};
class Blocking : public chan_test {};
class Registry : public chan_test {};
class Unbounded : public chan_test {};
class Handle : public chan_test {};

// ---------------------------------------------------------------------------
// Helpers.

// A noscan object whose contents derive from its id: a freed slot reused by
// churn() no longer matches.
struct payload {
  explicit payload(std::uint64_t id) : id(id) {
    for (std::size_t k = 0; k < words.size(); ++k) words[k] = mix(id * 8 + k);
  }
  std::uint64_t id;
  std::array<std::uint64_t, 8> words;
};

// "" when p is the intact payload `id`.
[[gnu::noinline]] std::string payload_problem(const gc_ptr<payload>& p, std::uint64_t id) {
  if (!p) return "payload " + std::to_string(id) + ": null";
  if (p->id != id)
    return "payload " + std::to_string(id) + ": has id " + std::to_string(p->id) +
           " (out of order, or freed and reused)";
  for (std::size_t k = 0; k < p->words.size(); ++k)
    if (p->words[k] != mix(id * 8 + k))
      return "payload " + std::to_string(id) + ": word " + std::to_string(k) +
             " changed: freed and reused";
  return {};
}

// A traced struct as an element type.
struct message {
  std::uint64_t sequence = 0;
  gc_ptr<payload> body;
  void trace(tricolor::tracer& t) const { t(body); }
};

// Threads blocked on `ch` in send (sending) or recv, per the registry.
template <class T>
std::size_t blocked_on(const gc_chan<T>& ch, bool sending) {
  const void* channel = ch.get().get();
  std::size_t count = 0;
  tricolor::gc::for_each_channel_wait([&](const tricolor::gc::channel_wait& wait) {
    if (wait.channel() == channel && wait.sending == sending) ++count;
  });
  return count;
}

// Waits until `count` threads are blocked on `ch` (a thread that has not
// blocked yet would make a test pass or fail for the wrong reason).
template <class T>
void wait_until_blocked(const gc_chan<T>& ch, bool sending, std::size_t count) {
  while (blocked_on(ch, sending) < count) std::this_thread::sleep_for(1ms);
}

// ---------------------------------------------------------------------------
// Unbuffered channels: a rendezvous.

TEST_F(Unbuffered, SendReturnsOnlyOnceAReceiverHasTheValue) {
  gc_chan<int> ch = make_chan<int>();
  EXPECT_EQ(ch.cap(), 0u);
  std::atomic<bool> sent{false};
  std::thread sender([&] {
    ch.send(42);
    sent = true;
  });
  stage("waiting for the sender to block");
  wait_until_blocked(ch, /*sending=*/true, 1);
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(sent) << "send returned with no receiver";
  EXPECT_EQ(ch.len(), 0u) << "an unbuffered channel buffers nothing";
  stage("receiving");
  std::optional<int> value = ch.recv();
  sender.join();
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(*value, 42);
  EXPECT_TRUE(sent);
}

TEST_F(Unbuffered, TrySendSucceedsOnlyWithAReceiverWaiting) {
  gc_chan<int> ch = make_chan<int>();
  EXPECT_FALSE(ch.try_send(1)) << "try_send on an unbuffered channel with no receiver";
  EXPECT_EQ(ch.try_recv().status, recv_status::would_block);
  std::optional<int> received;
  std::thread receiver([&] { received = ch.recv(); });
  stage("waiting for the receiver to block");
  wait_until_blocked(ch, /*sending=*/false, 1);
  EXPECT_TRUE(ch.try_send(7)) << "try_send failed although a receiver waits";
  receiver.join();
  ASSERT_TRUE(received.has_value());
  EXPECT_EQ(*received, 7);
  EXPECT_FALSE(ch.try_send(8)) << "the receiver has gone";
}

TEST_F(Unbuffered, TryRecvTakesTheValueOfABlockedSender) {
  gc_chan<gc_ptr<payload>> ch = make_chan<gc_ptr<payload>>();
  std::thread sender([&] { ch.send(make_gc<payload>(5)); });
  stage("waiting for the sender to block");
  wait_until_blocked(ch, /*sending=*/true, 1);
  tricolor::recv_result<gc_ptr<payload>> got = ch.try_recv();
  sender.join();
  ASSERT_EQ(got.status, recv_status::received);
  ASSERT_TRUE(got.value.has_value());
  EXPECT_EQ(payload_problem(*got.value, 5), "");
}

// ---------------------------------------------------------------------------
// Buffered channels.

TEST_F(Buffered, FifoOrderAndCapacity) {
  gc_chan<int> ch = make_chan<int>(8);
  EXPECT_EQ(ch.cap(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_TRUE(ch.try_send(i)) << i;
  EXPECT_FALSE(ch.try_send(8)) << "try_send on a full buffer";
  EXPECT_EQ(ch.len(), 8u);
  for (int i = 0; i < 8; ++i) {
    std::optional<int> value = ch.recv();
    ASSERT_TRUE(value.has_value());
    EXPECT_EQ(*value, i);
  }
  EXPECT_EQ(ch.len(), 0u);
  EXPECT_EQ(ch.try_recv().status, recv_status::would_block);
}

// A small buffer, a producer that blocks most of the time: values wrap
// around the ring and pass through blocked senders' waiters.
TEST_F(Buffered, OrderAcrossWrapAroundAndBlockedSender) {
  constexpr int count = 20000;
  gc_chan<message> ch = make_chan<message>(3);
  std::thread producer([&] {
    for (int i = 0; i < count; ++i) ch.send(message{std::uint64_t(i), make_gc<payload>(i)});
  });
  stage("receiving in order");
  int wrong = 0;
  for (int i = 0; i < count; ++i) {
    std::optional<message> m = ch.recv();
    if (!m || m->sequence != std::uint64_t(i) || !payload_problem(m->body, i).empty()) {
      if (++wrong <= 5)
        ADD_FAILURE() << "value " << i << ": "
                      << (m ? "sequence " + std::to_string(m->sequence) + ", " +
                                  payload_problem(m->body, i)
                            : std::string("nothing"));
    }
  }
  producer.join();
  EXPECT_EQ(wrong, 0);
}

// ---------------------------------------------------------------------------
// close().

TEST_F(Close, WakesEveryBlockedReceiverAndSender) {
  gc_chan<int> empty = make_chan<int>();          // receivers block on it
  gc_chan<int> full = make_chan<int>(1);          // senders block on it
  gc_chan<int> unbuffered = make_chan<int>();     // senders block on it
  ASSERT_TRUE(full.try_send(100));
  std::atomic<int> receivers_closed{0}, receivers_got_value{0};
  std::atomic<int> senders_threw{0}, senders_returned{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i)
    threads.emplace_back([&] {
      if (empty.recv()) ++receivers_got_value;
      else ++receivers_closed;
    });
  for (gc_chan<int>* ch : {&full, &unbuffered})
    for (int i = 0; i < 3; ++i)
      threads.emplace_back([&, ch, i] {
        try {
          ch->send(i);
          ++senders_returned;
        } catch (const channel_closed_error&) {
          ++senders_threw;
        }
      });
  stage("waiting for 3 receivers and 6 senders to block");
  wait_until_blocked(empty, false, 3);
  wait_until_blocked(full, true, 3);
  wait_until_blocked(unbuffered, true, 3);
  stage("closing");
  empty.close();
  full.close();
  unbuffered.close();
  stage("joining the woken threads");
  for (auto& t : threads) t.join();
  EXPECT_EQ(receivers_closed, 3);
  EXPECT_EQ(receivers_got_value, 0);
  EXPECT_EQ(senders_threw, 6);
  EXPECT_EQ(senders_returned, 0);
  std::optional<int> kept = full.recv();
  ASSERT_TRUE(kept.has_value()) << "close() dropped the buffered value";
  EXPECT_EQ(*kept, 100) << "a blocked sender's value entered the buffer";
  EXPECT_FALSE(full.recv().has_value());
  EXPECT_FALSE(unbuffered.recv().has_value())
      << "a value of a sender blocked at close() was delivered";
  EXPECT_EQ(blocked_on(empty, false) + blocked_on(full, true) + blocked_on(unbuffered, true),
            0u);
}

TEST_F(Close, ReceiversDrainTheBufferThenSeeClosed) {
  gc_chan<int> ch = make_chan<int>(4);
  for (int i = 1; i <= 3; ++i) ch.send(i);
  ch.close();
  EXPECT_THROW(ch.send(4), channel_closed_error);
  EXPECT_THROW(ch.try_send(4), channel_closed_error);
  EXPECT_THROW(ch.close(), channel_closed_error);
  EXPECT_EQ(ch.len(), 3u);
  for (int i = 1; i <= 3; ++i) {
    tricolor::recv_result<int> got = ch.try_recv();
    ASSERT_EQ(got.status, recv_status::received) << i;
    EXPECT_EQ(got.value, i);
  }
  EXPECT_FALSE(ch.recv().has_value());
  EXPECT_EQ(ch.try_recv().status, recv_status::closed);
  EXPECT_FALSE(ch.recv().has_value()) << "closed stays closed";
}

TEST_F(Close, ErrorsSayWhat) {
  gc_chan<int> ch = make_chan<int>();
  ch.close();
  try {
    ch.send(1);
    ADD_FAILURE() << "send on a closed channel did not throw";
  } catch (const channel_closed_error& e) {
    EXPECT_NE(std::string(e.what()).find("send on closed channel"), std::string::npos)
        << e.what();
  }
  try {
    ch.close();
    ADD_FAILURE() << "a second close did not throw";
  } catch (const channel_closed_error& e) {
    EXPECT_NE(std::string(e.what()).find("close of closed channel"), std::string::npos)
        << e.what();
  }
}

// ---------------------------------------------------------------------------
// Many producers and consumers.

class ManyThreads : public chan_test, public ::testing::WithParamInterface<std::size_t> {};

TEST_P(ManyThreads, EveryValueReceivedExactlyOnce) {
  constexpr int producers = 4, consumers = 4;
  constexpr std::uint64_t per_producer = 25000;
  constexpr std::uint64_t total = producers * per_producer;
  gc_chan<gc_ptr<payload>> ch = make_chan<gc_ptr<payload>>(GetParam());
  std::vector<std::atomic<std::uint8_t>> seen(total);
  std::atomic<std::uint64_t> damaged{0};
  std::atomic<bool> done{false};
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (std::uint64_t i = 0; i < per_producer; ++i)
        ch.send(make_gc<payload>(std::uint64_t(p) * per_producer + i));
    });
  std::vector<std::thread> receivers;
  for (int c = 0; c < consumers; ++c)
    receivers.emplace_back([&] {
      while (std::optional<gc_ptr<payload>> p = ch.recv()) {
        std::uint64_t id = (*p)->id;
        if (id >= total || !payload_problem(*p, id).empty()) {
          if (damaged.fetch_add(1) < 5)
            ADD_FAILURE() << "received " << (id < total ? payload_problem(*p, id)
                                                        : "an object with id " +
                                                              std::to_string(id));
          continue;
        }
        seen[id].fetch_add(1, std::memory_order_relaxed);
      }
    });
  std::thread collector([&] {
    while (!done) {
      tricolor::collect();
      std::this_thread::sleep_for(5ms);
    }
  });
  stage("producers sending");
  for (auto& t : threads) t.join();
  ch.close();
  stage("consumers draining");
  for (auto& t : receivers) t.join();
  done = true;
  collector.join();
  EXPECT_EQ(damaged, 0u);
  std::uint64_t missing = 0, duplicated = 0;
  for (std::uint64_t id = 0; id < total; ++id) {
    std::uint8_t n = seen[id].load();
    if (n == 0 && ++missing <= 5) ADD_FAILURE() << "value " << id << " never received";
    if (n > 1 && ++duplicated <= 5)
      ADD_FAILURE() << "value " << id << " received " << int(n) << " times";
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(duplicated, 0u);
}

INSTANTIATE_TEST_SUITE_P(Capacities, ManyThreads,
                         ::testing::Values(std::size_t{0}, std::size_t{16}, tricolor::unbounded),
                         [](const ::testing::TestParamInfo<std::size_t>& info) {
                           return info.param == 0                    ? std::string("Unbuffered")
                                  : info.param == tricolor::unbounded ? std::string("Unbounded")
                                                                      : "Capacity" +
                                                                            std::to_string(info.param);
                         });

// ---------------------------------------------------------------------------
// Values held only by a channel.

constexpr std::uint64_t held_count = 2000;

// Sends held_count fresh payloads; their only references are then in the
// channel (the dead frames of this helper are zeroed by collect_clean).
[[gnu::noinline]] void fill(const gc_chan<gc_ptr<payload>>& ch, std::uint64_t first_id) {
  for (std::uint64_t i = 0; i < held_count; ++i) ch.send(make_gc<payload>(first_id + i));
}

[[gnu::noinline]] void collect_and_churn() {
  for (int round = 0; round < 3; ++round) {
    collect_clean();
    churn();
  }
  collect_clean();
}

// Receives held_count payloads and checks them, in order.
[[gnu::noinline]] void expect_held(const gc_chan<gc_ptr<payload>>& ch, std::uint64_t first_id) {
  int problems = 0;
  for (std::uint64_t i = 0; i < held_count; ++i) {
    std::optional<gc_ptr<payload>> p = ch.recv();
    std::string problem = p ? payload_problem(*p, first_id + i) : "nothing received";
    if (!problem.empty() && ++problems <= 5) ADD_FAILURE() << problem;
  }
  EXPECT_EQ(problems, 0) << "objects held only by the channel were freed";
}

TEST_F(Liveness, BufferedValuesSurviveCollections) {
  for (std::size_t capacity : {std::size_t{held_count}, tricolor::unbounded}) {
    gc_chan<gc_ptr<payload>> ch = make_chan<gc_ptr<payload>>(capacity);
    stage("filling");
    fill(ch, 1000);
    stage("collecting");
    collect_and_churn();
    stage("checking");
    expect_held(ch, 1000);
  }
}

// Invariant 1 of gc_chan.hpp: a value that has left the buffer is not
// kept alive by its old slot. The object's address stays out of this
// frame (tests/test_support.hpp, "Why these helpers exist").
[[gnu::noinline]] tricolor::weak_gc_ptr<payload> send_one(const gc_chan<gc_ptr<payload>>& ch,
                                                          std::uint64_t id) {
  gc_ptr<payload> p = make_gc<payload>(id);
  ch.send(p);
  return tricolor::weak_gc_ptr<payload>(p);
}

[[gnu::noinline]] std::string receive_and_drop(const gc_chan<gc_ptr<payload>>& ch,
                                               std::uint64_t id) {
  std::optional<gc_ptr<payload>> p = ch.recv();
  return p ? payload_problem(*p, id) : "nothing received";
}

TEST_F(Liveness, ReceivedValuesAreNotRetained) {
  gc_chan<gc_ptr<payload>> ch = make_chan<gc_ptr<payload>>(4);
  tricolor::weak_gc_ptr<payload> weak = send_one(ch, 42);
  collect_clean();
  EXPECT_TRUE(tricolor_test::alive(weak)) << "the buffer did not keep its value alive";
  EXPECT_EQ(receive_and_drop(ch, 42), "");
  collect_clean();
  EXPECT_FALSE(tricolor_test::alive(weak))
      << "a received value is still kept alive (by its old buffer slot?)";
}

struct holder {
  gc_chan<gc_ptr<payload>> inbox;
  void trace(tricolor::tracer& t) const { t(inbox); }
};

[[gnu::noinline]] tricolor::gc_root<holder> make_holder() {
  tricolor::gc_root<holder> root(make_gc<holder>(), "chan_test holder");
  root->inbox = make_chan<gc_ptr<payload>>(tricolor::unbounded);
  fill(root->inbox, 5000);
  return root;
}

// The channel itself is reachable only through a managed object's traced
// gc_chan member, the object only from a gc_root.
TEST_F(Liveness, ChannelInsideAManagedObject) {
  tricolor::gc_root<holder> root = make_holder();
  stage("collecting");
  collect_and_churn();
  stage("checking");
  expect_held(root->inbox, 5000);
}

gc_chan<gc_ptr<payload>> global_inbox;

[[gnu::noinline]] void fill_global_inbox() {
  global_inbox = make_chan<gc_ptr<payload>>(held_count);
  fill(global_inbox, 9000);
}

TEST_F(Liveness, ChannelInAGlobal) {
  fill_global_inbox();
  stage("collecting");
  collect_and_churn();
  stage("checking");
  expect_held(global_inbox, 9000);
  global_inbox = {};
}

// A reply channel sent through a channel (Go's request/response idiom):
// the handles in the buffer are traced.
TEST_F(Liveness, ChannelsOfChannels) {
  gc_chan<gc_chan<gc_ptr<payload>>> requests = make_chan<gc_chan<gc_ptr<payload>>>(4);
  std::thread server([&] {
    std::uint64_t id = 0;
    while (std::optional<gc_chan<gc_ptr<payload>>> reply = requests.recv()) {
      collect_and_churn();
      reply->send(make_gc<payload>(id++));
    }
  });
  for (std::uint64_t i = 0; i < 4; ++i) {
    gc_chan<gc_ptr<payload>> reply = make_chan<gc_ptr<payload>>(1);
    requests.send(reply);
    std::optional<gc_ptr<payload>> answer = reply.recv();
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(payload_problem(*answer, i), "");
  }
  requests.close();
  server.join();
}

// ---------------------------------------------------------------------------
// Blocked threads and collections.

TEST_F(Blocking, ThreadsBlockedForeverNeverHangACollection) {
  gc_chan<gc_ptr<payload>> nobody_sends = make_chan<gc_ptr<payload>>();
  gc_chan<gc_ptr<payload>> nobody_receives = make_chan<gc_ptr<payload>>();
  std::optional<gc_ptr<payload>> received;
  std::thread receiver([&] { received = nobody_sends.recv(); });
  std::thread sender([&] {
    try {
      nobody_receives.send(make_gc<payload>(77));
    } catch (const channel_closed_error&) {
    }
  });
  stage("waiting for a receiver and a sender to block");
  wait_until_blocked(nobody_sends, false, 1);
  wait_until_blocked(nobody_receives, true, 1);

  // Collections from the main thread and from another thread that
  // allocates, while the two stay blocked.
  std::uint64_t cycles_before = tricolor::read_stats().num_gc;
  std::thread allocator([] {
    for (int round = 0; round < 5; ++round) {
      churn(20000);
      tricolor::collect();
    }
  });
  stage("collecting while two threads are blocked on channels");
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i) tricolor::collect();
  allocator.join();
  auto elapsed = std::chrono::steady_clock::now() - start;
  // The allocator's collect() calls may share cycles with main's; main's
  // five, one after the other, are five cycles at least.
  EXPECT_GE(tricolor::read_stats().num_gc, cycles_before + 5);
  EXPECT_LT(elapsed, 30s) << "collections with blocked threads took "
                          << std::chrono::duration<double>(elapsed).count() << " s";
  EXPECT_EQ(blocked_on(nobody_sends, false), 1u) << "the receiver woke up";
  EXPECT_EQ(blocked_on(nobody_receives, true), 1u) << "the sender woke up";

  // The blocked sender's value survived in its waiter (and its stack).
  stage("receiving the blocked sender's value");
  std::optional<gc_ptr<payload>> value = nobody_receives.recv();
  ASSERT_TRUE(value.has_value());
  EXPECT_EQ(payload_problem(*value, 77), "");
  stage("closing");
  nobody_sends.close();
  receiver.join();
  sender.join();
  EXPECT_FALSE(received.has_value());
}

// ---------------------------------------------------------------------------
// The registry of blocked threads (the leak-detection hook).

TEST_F(Registry, ListsABlockedThreadUntilItWakes) {
  gc_chan<int> ch = make_chan<int>();
  std::atomic<tricolor::roots::thread_state*> receiver_state{nullptr};
  std::thread receiver([&] {
    receiver_state = tricolor::roots::current_thread();
    (void)ch.recv();
  });
  stage("waiting for the receiver to block");
  wait_until_blocked(ch, false, 1);
  std::uint64_t now = tricolor::gc::monotonic_ns();
  int found = 0;
  tricolor::gc::for_each_channel_wait([&](const tricolor::gc::channel_wait& wait) {
    if (wait.channel() != ch.get().get()) return;
    ++found;
    EXPECT_FALSE(wait.sending);
    EXPECT_EQ(wait.thread, receiver_state.load());
    EXPECT_LE(wait.since_ns, now);
    ASSERT_NE(wait.channel_type, nullptr);
    EXPECT_NE(std::string(wait.channel_type->name).find("tricolor::channel<int>"),
              std::string::npos)
        << wait.channel_type->name;
    EXPECT_NE(wait.disguised_channel, reinterpret_cast<std::uintptr_t>(ch.get().get()))
        << "the registry holds the channel's address in the clear";
  });
  EXPECT_EQ(found, 1);
  ch.send(1);
  receiver.join();
  EXPECT_EQ(blocked_on(ch, false), 0u) << "the woken receiver is still listed";
}

// ---------------------------------------------------------------------------
// Unbounded channels.

TEST_F(Unbounded, GrowsWithoutBlockingAndKeepsOrder) {
  gc_chan<std::uint64_t> ch = make_chan<std::uint64_t>(tricolor::unbounded);
  EXPECT_EQ(ch.cap(), tricolor::unbounded);
  constexpr std::uint64_t count = 100000;
  // Five in, three out: the ring grows while its head is not at slot 0.
  std::uint64_t next_in = 0, next_out = 0;
  int wrong = 0;
  while (next_in < count) {
    for (int k = 0; k < 5 && next_in < count; ++k)
      ASSERT_TRUE(ch.try_send(next_in++)) << "an unbounded channel refused a value";
    for (int k = 0; k < 3; ++k) {
      std::optional<std::uint64_t> v = ch.recv();
      if ((!v || *v != next_out) && ++wrong <= 5)
        ADD_FAILURE() << "expected " << next_out << ", got " << (v ? std::to_string(*v) : "nothing");
      ++next_out;
    }
  }
  EXPECT_EQ(ch.len(), count - next_out);
  while (next_out < count) {
    std::optional<std::uint64_t> v = ch.recv();
    if ((!v || *v != next_out) && ++wrong <= 5)
      ADD_FAILURE() << "expected " << next_out << ", got " << (v ? std::to_string(*v) : "nothing");
    ++next_out;
  }
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(ch.try_recv().status, recv_status::would_block);
}

// ---------------------------------------------------------------------------
// The handle.

TEST_F(Handle, EmptyHandleThrows) {
  gc_chan<int> none;
  EXPECT_FALSE(none);
  EXPECT_THROW(none.send(1), std::logic_error);
  EXPECT_THROW((void)none.recv(), std::logic_error);
  gc_chan<int> some = make_chan<int>(1);
  EXPECT_TRUE(some);
  gc_chan<int> copy = some;
  copy.send(3);
  EXPECT_EQ(some.recv(), 3) << "a copy of the handle is the same channel";
}

}  // namespace
