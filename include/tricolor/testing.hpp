// GoogleTest helpers that fail a test which leaks (the counterpart of Go's
// goleak). Header-only; include it in test files, after <gtest/gtest.h>.
//
// A test leaks when, after collection, it left behind
//   * an object given to expect_dead() that is still reachable,
//   * a growth suspect (a root whose retained memory grew cycle after cycle;
//     only with TRICOLOR_DEBUG=leakreport=1),
//   * a thread leaked on a gc_chan (blocked for good on a channel nothing
//     else can reach),
//   * a blocked-thread suspect (a thread blocked in one wait for more than
//     `leakcycles` cycles with at least a MiB on its stack; leakreport=1),
//   * more registered threads than it started with (a thread it started
//     and never joined, still running).
// Suspects that existed before the test began are not its own.
//
// One test:
//
//     TEST(Sessions, CloseUnsubscribes) {
//       tricolor::testing::leak_checker leaks;
//       ... tricolor::expect_dead(session, "closed") ...
//       EXPECT_TRUE(leaks.none());
//     }
//
// Every test of a fixture: derive it from leak_checked_test. The whole
// binary: leak_check_environment (below).
//
// Both force two collections first (expect_dead's objects are judged by
// the second cycle that begins after the call), after zeroing the dead
// stack below them. Stacks are still read conservatively: a pointer left in
// a live frame of the test body keeps its object, as it would in the
// program; allocate and drop in a function the test body calls.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "tricolor/control.hpp"
#include "tricolor/leak_report.hpp"

namespace tricolor::testing {

class leak_checker {
 public:
  // Records what exists now: its suspects and threads are not the test's.
  leak_checker() {
    tricolor::collect();
    threads_ = registered_threads();
    for (const leak_suspect& s : tricolor::leak_report()) known_.insert(key(s));
  }

  // Collects twice and says what the test left behind since construction.
  ::testing::AssertionResult none() const {
    // The collections first, from a small frame: the verdict's locals would
    // cover (and not yet overwrite) the test's dead frames.
    collect_from_a_clean_stack();
    collect_from_a_clean_stack();
    return verdict();
  }

 private:
  [[gnu::noinline]] ::testing::AssertionResult verdict() const {
    std::string found;
    for (const leak_suspect& s : tricolor::leak_report()) {
      if (known_.count(key(s)) != 0) continue;
      if (s.why == leak_suspect::reason::expected_dead) {
        found += "  " + std::to_string(s.objects) + " object(s) expected dead (\"" + s.expectation +
                 "\", " + s.expected_at_file + ":" + std::to_string(s.expected_at_line) +
                 ") still reachable from " + s.root.kind + " " + describe(s.root) + "\n";
      } else if (s.why == leak_suspect::reason::leaked_thread) {
        found += "  thread " + std::to_string(s.root.thread) + " \"" + s.root.name +
                 "\" is blocked for good on a " + s.channel_type + " nothing else can reach\n";
      } else if (s.why == leak_suspect::reason::blocked_thread) {
        found += "  thread " + std::to_string(s.root.thread) + " \"" + s.root.name +
                 "\" has been blocked for " + std::to_string(s.age_cycles) + " cycles holding " +
                 std::to_string(s.bytes) + " bytes\n";
      } else {
        found += "  " + s.root.kind + " " + describe(s.root) + " grew to " +
                 std::to_string(s.bytes) + " bytes over " + std::to_string(s.window_cycles) +
                 " cycles\n";
      }
    }
    std::uint64_t threads = registered_threads();
    if (threads > threads_)
      found += "  " + std::to_string(threads - threads_) +
               " more thread(s) registered than when the test began (started and not joined?)\n";
    if (found.empty()) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "tricolor: the test leaked:\n" << found;
  }

  using suspect_key = std::tuple<int, std::string, std::string, unsigned, std::string, unsigned>;
  static suspect_key key(const leak_suspect& s) {
    return {static_cast<int>(s.why), s.root.kind, s.root.name + "@" + s.root.file, s.root.line,
            s.expectation + "@" + s.expected_at_file, s.expected_at_line};
  }
  static std::string describe(const leak_root& root) {
    std::string text = "\"" + root.name + "\"";
    if (root.line != 0) text += " (" + root.file + ":" + std::to_string(root.line) + ")";
    else if (root.thread != 0) text += " (thread " + std::to_string(root.thread) + ")";
    return text;
  }
  static std::uint64_t registered_threads() { return tricolor::read_stats().threads; }

  // The test's dead frames lie below the caller's: zeroed first, so that a
  // stale copy of a pointer there does not keep its object (the collector
  // reads stacks conservatively), then the cycle runs in frames over zeros.
  // The zeroing is written in assembly for x86-64 and AArch64: a buffer of
  // a function's own would leave that function's saved registers and spill
  // slots as they were, and the collector's frames will lie there.
  [[gnu::noinline]] static void collect_from_a_clean_stack() {
#if defined(__x86_64__)
    asm volatile(
        "mov %%rsp, %%rdi\n\t"
        "sub $65536, %%rdi\n\t"
        "mov $8192, %%ecx\n\t"
        "xor %%eax, %%eax\n\t"
        "cld\n\t"
        "rep stosq"
        :
        :
        : "rax", "rcx", "rdi", "memory", "cc");
#elif defined(__aarch64__)
    asm volatile(
        "mov x9, sp\n\t"
        "sub x10, x9, #16, lsl #12\n\t"
        "1: str xzr, [x10], #8\n\t"
        "cmp x10, x9\n\t"
        "b.lo 1b"
        :
        :
        : "x9", "x10", "memory", "cc");
#else
    zero_dead_frames();
#endif
    tricolor::collect();
  }
  [[gnu::noinline]] static void zero_dead_frames() {
    char frames[64 * 1024];
    std::memset(frames, 0, sizeof frames);
    asm volatile("" : : "r"(frames) : "memory");
  }

  std::set<suspect_key> known_;
  std::uint64_t threads_ = 0;
};

// A fixture whose tests fail if they leak: derive a test's fixture from it
// (TEST_F), or use it as one directly.
class leak_checked_test : public ::testing::Test {
 protected:
  void TearDown() override { EXPECT_TRUE(checker_.none()); }

 private:
  leak_checker checker_;
};

// Checks the whole binary, as goleak's VerifyTestMain: what all its tests
// together left behind fails the run at the end ("global test environment
// tear-down"). In main, before RUN_ALL_TESTS():
//
//     ::testing::AddGlobalTestEnvironment(new tricolor::testing::leak_check_environment);
class leak_check_environment : public ::testing::Environment {
 public:
  void SetUp() override { checker_ = new leak_checker(); }
  void TearDown() override {
    EXPECT_TRUE(checker_->none());
    delete checker_;
    checker_ = nullptr;
  }

 private:
  leak_checker* checker_ = nullptr;
};

}  // namespace tricolor::testing
