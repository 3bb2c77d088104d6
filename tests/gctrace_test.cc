// gctrace under a multi-threaded workload: every line emitted while four
// threads allocate and a fifth forces cycles parses with Go's layout, and
// the numbers agree with read_stats(): one line per cycle, numbered 1..N,
// "(forced)" exactly on the forced ones, each cycle's two pause figures
// adding up to the pause read_stats() recorded for it, the objects freed of
// the detail lines summing to read_stats().objects_freed, and the last
// cycle's live heap equal to read_stats().live_bytes.
//
// gctrace is read from the environment once, at the first use of the heap,
// so this program sets TRICOLOR_DEBUG before main and captures its own
// stderr in a file while the workload runs.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

[[maybe_unused]] const bool environment_set = [] {
  setenv("TRICOLOR_DEBUG", "gctrace=2", 1);
  setenv("TRICOLOR_GC_PERCENT", "25", 1);
  return true;
}();

struct node {
  tricolor::gc_ptr<node> next;
  std::uint64_t payload[2];
  void trace(tricolor::tracer& t) const { t(next); }
};

using tricolor_test::captured_stderr;

double ms_of(const std::string& text) { return std::stod(text); }

TEST(Gctrace, LinesParseWithGoLayoutAndMatchReadStats) {
  // The goal counts the scanned data segments (47 MB under
  // ThreadSanitizer): a low growth percent keeps the cycles coming there.
  // In a release build the 4 MiB minimum goal rules either way.
  const int saved_percent = tricolor::set_gc_percent(10);
  std::string output;
  {
    captured_stderr capture;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([t] {
        tricolor::gc_ptr<node> keep;
        for (int i = 0; i < 600'000; ++i) {
          auto n = tricolor::make_gc<node>();
          n->payload[0] = static_cast<std::uint64_t>(i + t);
          n->next = i % 512 == 0 ? nullptr : keep;  // lists of 512, then garbage
          keep = n;
        }
      });
    std::thread forcing([&] {
      for (int i = 0; i < 5; ++i) {
        tricolor::collect();
        tricolor::blocking_scope blocking;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    {
      tricolor::blocking_scope blocking;
      for (auto& t : threads) t.join();
      forcing.join();
    }
    tricolor::collect();  // the last line: a quiet heap
    output = capture.restore();
  }
  tricolor::gc_stats stats = tricolor::read_stats();
  tricolor::set_gc_percent(saved_percent);

  const std::regex line_layout(
      R"(^gc ([0-9]+) @[0-9]+\.[0-9]+s [0-9]+%: ([0-9.]+)\+([0-9.]+)\+([0-9.]+) ms clock, )"
      R"([0-9.]+\+[0-9.]+/[0-9.]+/[0-9.]+\+[0-9.]+ ms cpu, )"
      R"(([0-9]+)->([0-9]+)->([0-9]+) MB, ([0-9]+) MB goal, [0-9]+ MB stacks, )"
      R"([0-9]+ MB globals, ([0-9]+) P( \(forced\))?$)");
  const std::regex detail_layout(
      R"(^gc ([0-9]+) detail: [0-9.]+ ms to safepoint, [0-9]+ spans swept \([0-9]+ freed\), )"
      R"(([0-9]+) objects freed \([0-9]+ MB\), [0-9]+ MB released, [0-9]+ weak refs cleared, )"
      R"([0-9]+ gc_roots, [0-9]+ MB in use, ([0-9]+) termination retries, )"
      R"([0-9]+ objects verified, ([0-9]+) mark workers, ([0-9]+) B at mark end, )"
      R"(([0-9]+) B goal$)");

  std::istringstream lines(output);
  std::string line;
  std::uint64_t cycles = 0, forced = 0, freed = 0, details = 0;
  std::uint64_t last_live_mb = 0;
  struct clocks {
    double start_pause_ms, termination_pause_ms;
  };
  std::map<std::uint64_t, clocks> pauses;
  std::map<std::uint64_t, std::uint64_t> retries;
  std::uint64_t end_mb = 0, goal_mb = 0;  // of the last cycle line
  std::uint64_t end_bytes = 0, goal_bytes = 0, workers = 0;  // of the last detail line
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, line_layout)) {
      ++cycles;
      EXPECT_EQ(std::stoull(m[1]), cycles) << "cycles numbered 1..N in order: " << line;
      pauses[cycles] = {ms_of(m[2]), ms_of(m[4])};
      EXPECT_GE(std::stoull(m[9]), 1u) << line;
      if (m[10].matched) ++forced;
      last_live_mb = std::stoull(m[7]);
      end_mb = std::stoull(m[6]);
      goal_mb = std::stoull(m[8]);
    } else if (std::regex_match(line, m, detail_layout)) {
      ++details;
      EXPECT_EQ(std::stoull(m[1]), cycles) << "a detail line follows its cycle's line";
      freed += std::stoull(m[2]);
      retries[cycles] = std::stoull(m[3]);
      workers = std::stoull(m[4]);
      end_bytes = std::stoull(m[5]);
      goal_bytes = std::stoull(m[6]);
      EXPECT_EQ(end_bytes >> 20, end_mb) << "mark-end bytes against the MB figure";
      EXPECT_EQ(goal_bytes >> 20, goal_mb) << "goal bytes against the MB figure";
    } else {
      ADD_FAILURE() << "a stderr line that is neither gctrace layout: " << line;
    }
  }

  ASSERT_GT(cycles, 10u) << "the workload should have run many cycles";
  EXPECT_EQ(cycles, stats.num_gc) << "one gctrace line per cycle";
  EXPECT_EQ(details, stats.num_gc) << "one detail line per cycle (gctrace=2)";
  EXPECT_EQ(forced, stats.num_forced_gc);
  EXPECT_GE(forced, 6u) << "5 collect() calls and the last one";
  EXPECT_EQ(freed, stats.objects_freed) << "objects freed, summed over the detail lines";
  EXPECT_EQ(last_live_mb, stats.live_bytes >> 20) << "the last cycle's live heap";
  EXPECT_EQ(stats.last_cycle.number, stats.num_gc);
  EXPECT_TRUE(stats.last_cycle.forced);
  EXPECT_EQ(stats.last_cycle.heap_end, end_bytes) << "read_stats().last_cycle is the last line";
  EXPECT_EQ(stats.last_cycle.heap_goal, goal_bytes);
  EXPECT_EQ(stats.last_cycle.heap_live, stats.live_bytes);
  EXPECT_EQ(stats.last_cycle.mark_workers, workers);

  // Each printed pause is the recorded one truncated to two significant
  // digits (Go's fmtNSAsMS): never more than it, and within 10 % + 1 us of
  // it when the cycle had no termination retry (a retry's pause is part of
  // the recorded sum but printed inside the marking figure).
  std::uint64_t checked = 0;
  for (std::uint64_t k = stats.num_gc > 256 ? stats.num_gc - 255 : 1; k <= stats.num_gc; ++k) {
    double recorded_ms =
        static_cast<double>(stats.pause_ns[(k - 1) % tricolor::gc_stats::pause_history]) / 1e6;
    double printed_ms = pauses[k].start_pause_ms + pauses[k].termination_pause_ms;
    EXPECT_LE(printed_ms, recorded_ms + 1e-9) << "cycle " << k;
    if (retries[k] == 0) {
      EXPECT_LE(recorded_ms, printed_ms * 1.1 + 0.002) << "cycle " << k;
    }
    ++checked;
  }
  EXPECT_EQ(checked, std::min<std::uint64_t>(stats.num_gc, 256));
}

}  // namespace
