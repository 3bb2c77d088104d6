// tricolor::testing (include/tricolor/testing.hpp): a test that leaks fails,
// naming what it left; one that does not, passes. The failing cases run in a
// child process of this binary (the fixture and the environment fail the
// test or the run that uses them), whose output is checked here.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

#include "tests/test_support.hpp"
#include "tricolor/testing.hpp"
#include "tricolor/tricolor.hpp"

namespace {

struct session {
  int id;
  tricolor::gc_ptr<tricolor::gc_array<char>> buffer;
  void trace(tricolor::tracer& t) const { t(buffer); }
};

tricolor::gc_vector<tricolor::gc_ptr<session>> open_sessions;  // the registry

[[gnu::noinline]] void open_and_close(bool forget_to_remove) {
  auto s = tricolor::make_gc<session>(1, tricolor::make_gc_array<char>(1000));
  open_sessions.push_back(s);
  if (!forget_to_remove) open_sessions.pop_back();
  tricolor::expect_dead(s, "session closed");
}

// --- run in the child process (TRICOLOR_LEAK_TESTING_CHILD set) -------------

bool in_child() { return std::getenv("TRICOLOR_LEAK_TESTING_CHILD") != nullptr; }

class ChildSessions : public tricolor::testing::leak_checked_test {
 protected:
  void SetUp() override {
    if (!in_child()) GTEST_SKIP() << "run by the LeakTesting tests in a child process";
  }
};

TEST_F(ChildSessions, ForgetsToRemove) {
  tricolor_test::isolated([] { open_and_close(true); });
}

TEST_F(ChildSessions, LeavesAThreadRunning) {
  // Never destroyed: a condition variable destroyed at exit with a waiter
  // blocked on it is undefined (glibc waits for the waiter).
  static auto* lock = new std::mutex();
  static auto* never = new std::condition_variable();
  std::thread([] {
    std::unique_lock guard(*lock);
    never->wait(guard, [] { return false; });
  }).detach();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

TEST_F(ChildSessions, Clean) {
  tricolor_test::isolated([] { open_and_close(false); });
}

// --- the checks, in the parent ------------------------------------------------

// Runs this binary again with `filter`, returning its exit status and output.
std::pair<int, std::string> run_child(const std::string& filter) {
  std::string command = "TRICOLOR_LEAK_TESTING_CHILD=1 /proc/" + std::to_string(getpid()) +
                        "/exe --gtest_filter='" + filter + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  std::string output;
  std::array<char, 4096> chunk;
  while (std::size_t n = std::fread(chunk.data(), 1, chunk.size(), pipe)) output.append(chunk.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(LeakTesting, AFixtureTestThatLeaksAnExpectedDeadObjectFails) {
  if (in_child()) GTEST_SKIP() << "the parent's check";
  auto [status, output] = run_child("ChildSessions.ForgetsToRemove");
  EXPECT_NE(status, 0) << output;
  EXPECT_NE(output.find("tricolor: the test leaked"), std::string::npos) << output;
  EXPECT_NE(output.find("expected dead (\"session closed\""), std::string::npos) << output;
  EXPECT_NE(output.find("open_sessions"), std::string::npos) << output;
}

TEST(LeakTesting, AFixtureTestThatLeavesAThreadFails) {
  if (in_child()) GTEST_SKIP() << "the parent's check";
  auto [status, output] = run_child("ChildSessions.LeavesAThreadRunning");
  EXPECT_NE(status, 0) << output;
  EXPECT_NE(output.find("more thread(s) registered"), std::string::npos) << output;
}

TEST(LeakTesting, AFixtureTestThatCleansUpPasses) {
  if (in_child()) GTEST_SKIP() << "the parent's check";
  auto [status, output] = run_child("ChildSessions.Clean");
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output.find("leaked"), std::string::npos) << output;
}

TEST(LeakTesting, TheEnvironmentFailsTheRunThatLeaked) {
  if (in_child()) GTEST_SKIP() << "the parent's check";
  // Without the fixture's own check the environment's catches it at the end.
  auto [status, output] = run_child("ChildSessions.ForgetsToRemove:ChildSessions.Clean");
  EXPECT_NE(status, 0) << output;
  EXPECT_NE(output.find("Global test environment tear-down"), std::string::npos) << output;
}

TEST(LeakTesting, ACheckerSeesOnlyWhatItsTestLeft) {
  if (in_child()) GTEST_SKIP() << "the parent's check";
  tricolor_test::isolated([] { open_and_close(true); });  // before: not ours
  tricolor::collect();
  tricolor::collect();
  tricolor::testing::leak_checker checker;
  tricolor_test::isolated([] { open_and_close(false); });
  EXPECT_TRUE(checker.none());
  open_sessions = {};
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (in_child())
    ::testing::AddGlobalTestEnvironment(new tricolor::testing::leak_check_environment);
  return RUN_ALL_TESTS();
}
