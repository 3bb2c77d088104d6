// Configuration from the environment (SPEC §2.4, gc/config.hpp): the pure
// parsers for TRICOLOR_GC_PERCENT, TRICOLOR_MEMORY_LIMIT, TRICOLOR_MARK_WORKERS
// and TRICOLOR_DEBUG get every malformed form,
// and child processes (this test binary re-executed with a filter) check that
// a malformed variable produces exactly one clear line on stderr while the
// program keeps working with the value named in that line.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gc/config.hpp"
#include "tricolor/tricolor.hpp"

extern char** environ;

namespace {

using ::testing::HasSubstr;
using tricolor::gc::config;
using tricolor::gc::default_gc_percent;
using tricolor::gc::parse_debug;
using tricolor::gc::parse_gc_percent;
using tricolor::gc::parse_mark_workers;
using tricolor::gc::parse_memory_limit;
using tricolor::gc::no_memory_limit;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// ---------------------------------------------------------------------------
// TRICOLOR_GC_PERCENT.

TEST(ParseGcPercent, ValidValues) {
  struct {
    const char* text;
    int value;
  } cases[] = {
      {"0", 0},     {"1", 1},     {"50", 50},       {"100", 100},
      {"250", 250}, {"007", 7},   {"2147483647", INT_MAX},
      {"off", -1},  {"OFF", -1},  {"Off", -1},      {"oFf", -1},
  };
  for (const auto& c : cases) {
    std::string diagnostic;
    EXPECT_EQ(parse_gc_percent(c.text, &diagnostic), c.value)
        << "TRICOLOR_GC_PERCENT=\"" << c.text << "\"";
    EXPECT_EQ(diagnostic, "") << "a valid value \"" << c.text
                              << "\" produced a diagnostic";
  }
}

// A malformed TRICOLOR_GC_PERCENT value: the default, and one line naming the
// variable, the bad value and the value used instead.
void expect_rejected(const char* text) {
  SCOPED_TRACE("TRICOLOR_GC_PERCENT=\"" + std::string(text) + "\"");
  std::string diagnostic;
  EXPECT_EQ(parse_gc_percent(text, &diagnostic), default_gc_percent)
      << "a malformed value must yield the default";
  EXPECT_THAT(diagnostic, HasSubstr("TRICOLOR_GC_PERCENT"))
      << "the diagnostic must name the variable";
  // The value used instead.
  EXPECT_THAT(diagnostic, HasSubstr(std::to_string(default_gc_percent)));
  // The bad value itself (printable ones; a control character may
  // legitimately be escaped).
  std::string printable(text);
  if (!printable.empty() && printable.find_first_of("\t\n") == std::string::npos) {
    EXPECT_THAT(diagnostic, HasSubstr(printable))
        << "the diagnostic must show the bad value";
  }
  // One line: no newline except, optionally, a final one.
  std::string body = diagnostic;
  if (!body.empty() && body.back() == '\n') body.pop_back();
  EXPECT_EQ(body.find('\n'), std::string::npos)
      << "the diagnostic must be one line: \"" << diagnostic << "\"";
  EXPECT_FALSE(body.empty());
}

TEST(ParseGcPercent, MalformedValuesFallBackToDefaultWithOneLine) {
  const char* cases[] = {
      "",                       // empty
      "-1", "-50", "-0x5",      // negative ("off" is the way to disable)
      "abc", "x", "%",          // junk
      "12abc", "50%", "1.5",    // trailing garbage
      "0x10", "1e3", "5 0",
      "99999999999999999999",   // overflow
      "2147483648",             // INT_MAX + 1
      "offf", "of", "on", "o ff", "none", "true",
      "--5", "+-3",
  };
  for (const char* text : cases) expect_rejected(text);
}

// Surrounding whitespace is not part of "a decimal integer >= 0, or off": a
// value such as "50 " is malformed like any other and must not be taken
// silently (SPEC §2.4: "never silently taken").
TEST(ParseGcPercent, SurroundingWhitespaceIsMalformed) {
  for (const char* text : {" 50", "50 ", "\t50", "50\n", "off ", " off"})
    expect_rejected(text);
}

TEST(ParseGcPercent, DiagnosticOfEmptyValueIsStillClear) {
  std::string diagnostic;
  EXPECT_EQ(parse_gc_percent("", &diagnostic), default_gc_percent);
  EXPECT_THAT(diagnostic, HasSubstr("TRICOLOR_GC_PERCENT"));
  EXPECT_THAT(diagnostic, HasSubstr("100"));
}

// ---------------------------------------------------------------------------
// TRICOLOR_DEBUG.

TEST(ParseDebug, ValidItems) {
  struct {
    const char* text;
    int gctrace;
  } cases[] = {
      {"gctrace=0", 0}, {"gctrace=1", 1}, {"gctrace=2", 2},
      {"gctrace=1,gctrace=2", 2},  // the last one wins
  };
  for (const auto& c : cases) {
    config out;
    out.gctrace = 5;  // a value no valid item produces
    out.gc_percent = 77;
    std::string diagnostics;
    parse_debug(c.text, out, &diagnostics);
    EXPECT_EQ(out.gctrace, c.gctrace) << "TRICOLOR_DEBUG=" << c.text;
    EXPECT_EQ(out.gc_percent, 77) << "parse_debug must not touch gc_percent";
    EXPECT_EQ(diagnostics, "") << "TRICOLOR_DEBUG=" << c.text;
  }
}

TEST(ParseDebug, EmptyValueChangesNothing) {
  config out;
  out.gctrace = 1;
  std::string diagnostics;
  parse_debug("", out, &diagnostics);
  EXPECT_EQ(out.gctrace, 1);
  EXPECT_EQ(diagnostics, "");
}

// A malformed TRICOLOR_DEBUG item: the setting is left alone and one line
// ending in '\n' names the variable and the item.
void expect_item_rejected(const char* text) {
  SCOPED_TRACE("TRICOLOR_DEBUG=\"" + std::string(text) + "\"");
  config out;
  out.gctrace = 1;
  std::string diagnostics;
  parse_debug(text, out, &diagnostics);
  EXPECT_EQ(out.gctrace, 1) << "a malformed item must leave the setting";
  auto lines = lines_of(diagnostics);
  ASSERT_EQ(lines.size(), 1u) << "one line per malformed item, got \""
                              << diagnostics << "\"";
  EXPECT_EQ(diagnostics.back(), '\n') << "each line ends in a newline";
  EXPECT_THAT(lines[0], HasSubstr("TRICOLOR_DEBUG"));
  EXPECT_THAT(lines[0], HasSubstr(text)) << "the line must show the item";
}

TEST(ParseDebug, MalformedItemsLeaveSettingAndSayWhy) {
  const char* cases[] = {
      "gctrace=3",  "gctrace=-1", "gctrace=x",    "gctrace=",
      "gctrace",    "=1",         "bogus=1",      "gctrace=1x",
      "gctrace=99999999999999999999", "gctrace=1.0", "gctrace=+1",
  };
  for (const char* text : cases) expect_item_rejected(text);
}

// Whitespace inside an item is as malformed as in TRICOLOR_GC_PERCENT.
TEST(ParseDebug, WhitespaceInItemIsMalformed) {
  for (const char* text : {"gctrace= 1", "gctrace =1", "gctrace=1 "})
    expect_item_rejected(text);
}

TEST(ParseDebug, Gcpacertrace) {
  config out;
  std::string diagnostics;
  parse_debug("gcpacertrace=1", out, &diagnostics);
  EXPECT_TRUE(out.gcpacertrace);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics;
  parse_debug("gcpacertrace=2", out, &diagnostics);
  EXPECT_TRUE(out.gcpacertrace) << "a bad value must leave the setting as it was";
  EXPECT_THAT(diagnostics, HasSubstr("gcpacertrace=2"));
  EXPECT_EQ(lines_of(diagnostics).size(), 1u) << diagnostics;
}

TEST(ParseDebug, Safepointwarn) {
  config out;
  EXPECT_EQ(out.safepoint_warn_ms, 1000) << "the default is one second";
  std::string diagnostics;
  parse_debug("safepointwarn=250", out, &diagnostics);
  EXPECT_EQ(out.safepoint_warn_ms, 250);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics;
  for (const char* bad : {"safepointwarn=0", "safepointwarn=-5", "safepointwarn=1s",
                          "safepointwarn="}) {
    diagnostics.clear();
    parse_debug(bad, out, &diagnostics);
    EXPECT_EQ(out.safepoint_warn_ms, 250) << bad << ": a bad value must leave the setting";
    EXPECT_THAT(diagnostics, HasSubstr(bad));
    EXPECT_THAT(diagnostics, HasSubstr("keeping 250"));
    EXPECT_EQ(lines_of(diagnostics).size(), 1u) << diagnostics;
  }
}

TEST(ParseDebug, LeakReportAndLeakCycles) {
  config out;
  EXPECT_FALSE(out.leakreport);
  EXPECT_EQ(out.leak_cycles, 16) << "the default growth window";
  std::string diagnostics;
  parse_debug("leakreport=1,leakcycles=12", out, &diagnostics);
  EXPECT_TRUE(out.leakreport);
  EXPECT_EQ(out.leak_cycles, 12);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics;
  for (const char* bad : {"leakcycles=1", "leakcycles=65", "leakcycles=x", "leakreport=2"}) {
    diagnostics.clear();
    parse_debug(bad, out, &diagnostics);
    EXPECT_TRUE(out.leakreport) << bad;
    EXPECT_EQ(out.leak_cycles, 12) << bad << ": a bad value must leave the setting";
    EXPECT_THAT(diagnostics, HasSubstr(bad));
    EXPECT_EQ(lines_of(diagnostics).size(), 1u) << diagnostics;
  }
}

TEST(ParseMemoryLimit, ValidValues) {
  struct {
    const char* text;
    std::int64_t bytes;
  } cases[] = {
      {"0", 0},
      {"1024", 1024},
      {"512B", 512},
      {"64KiB", 64LL << 10},
      {"64MiB", 64LL << 20},
      {"3GiB", 3LL << 30},
      {"2TiB", 2LL << 40},
      {"off", no_memory_limit},
      {"OFF", no_memory_limit},
      {"9223372036854775807", INT64_MAX},
  };
  for (const auto& c : cases) {
    std::string diagnostic;
    EXPECT_EQ(parse_memory_limit(c.text, &diagnostic), c.bytes) << c.text;
    EXPECT_TRUE(diagnostic.empty()) << c.text << ": " << diagnostic;
  }
}

TEST(ParseMemoryLimit, MalformedValuesMeanNoLimitWithOneLine) {
  const char* malformed[] = {
      "",          "-1",        "-64MiB",    "+64MiB",   "64mib",    "64 MiB",
      "64MB",      "64KB",      "64M",       "1.5GiB",   "MiB",      "B",
      "64MiBs",    " 64MiB",    "64MiB\n",   "8388608TiB",  // 2^63 bytes
      "99999999999999999999", "0x40",  "sixty-four",
  };
  for (const char* text : malformed) {
    SCOPED_TRACE(std::string("TRICOLOR_MEMORY_LIMIT=\"") + text + "\"");
    std::string diagnostic;
    EXPECT_EQ(parse_memory_limit(text, &diagnostic), no_memory_limit);
    EXPECT_THAT(diagnostic, HasSubstr("TRICOLOR_MEMORY_LIMIT"));
    EXPECT_THAT(diagnostic, HasSubstr("using off"));
    EXPECT_EQ(diagnostic.find('\n'), std::string::npos) << "one line: " << diagnostic;
  }
}

// ---------------------------------------------------------------------------
// TRICOLOR_MARK_WORKERS.

TEST(ParseMarkWorkers, ValidValues) {
  struct {
    const char* text;
    int workers;
  } cases[] = {
      {"1", 1}, {"2", 2}, {"007", 7}, {"16", 16}, {"1024", 1024},
  };
  for (const auto& c : cases) {
    std::string diagnostic;
    EXPECT_EQ(parse_mark_workers(c.text, &diagnostic), c.workers)
        << "TRICOLOR_MARK_WORKERS=\"" << c.text << "\"";
    EXPECT_EQ(diagnostic, "") << "a valid value \"" << c.text
                              << "\" produced a diagnostic";
  }
}

// A malformed TRICOLOR_MARK_WORKERS value: 0 ("not set", the collector's
// default), and one line naming the variable, the bad value and the default.
TEST(ParseMarkWorkers, MalformedValuesMeanDefaultWithOneLine) {
  const char* malformed[] = {
      "",                      // empty
      "0", "00",               // no marking threads is not a bound
      "-1", "+2",              // signs
      "2 ", " 2", "\t",        // whitespace
      "2x", "1.5", "0x2",      // trailing garbage
      "1025",                  // above 1024
      "99999999999999999999",  // overflow
      "off", "two",            // words
  };
  for (const char* text : malformed) {
    SCOPED_TRACE(std::string("TRICOLOR_MARK_WORKERS=\"") + text + "\"");
    std::string diagnostic;
    EXPECT_EQ(parse_mark_workers(text, &diagnostic), 0)
        << "a malformed value must yield 0 (the default)";
    EXPECT_THAT(diagnostic, HasSubstr("TRICOLOR_MARK_WORKERS"));
    EXPECT_THAT(diagnostic, HasSubstr("using the default"));
    // The bad value, quoted (a tab is escaped as \t by the diagnostic).
    std::string shown = "\"";
    shown += std::string_view(text) == "\t" ? "\\t" : text;
    shown += '"';
    EXPECT_THAT(diagnostic, HasSubstr(shown)) << "the diagnostic must show the bad value";
    EXPECT_EQ(diagnostic.find('\n'), std::string::npos) << "one line: " << diagnostic;
  }
}

TEST(ParseMarkWorkers, NullDiagnosticIsAllowed) {
  EXPECT_EQ(parse_mark_workers("4", nullptr), 4);
  EXPECT_EQ(parse_mark_workers("junk", nullptr), 0);
}

TEST(ParseDebug, MixOfGoodAndBadItems) {
  config out;
  std::string diagnostics = "earlier line\n";
  parse_debug("gctrace=1,bogus=1,gctrace=9", out, &diagnostics);
  EXPECT_EQ(out.gctrace, 1) << "the good item applies, the bad one does not";
  EXPECT_EQ(diagnostics.rfind("earlier line\n", 0), 0u)
      << "diagnostics are appended, not overwritten";
  auto lines = lines_of(diagnostics);
  ASSERT_EQ(lines.size(), 3u) << diagnostics;
  EXPECT_THAT(lines[1], HasSubstr("bogus"));
  EXPECT_THAT(lines[2], HasSubstr("gctrace=9"));
  for (std::size_t i = 1; i < 3; ++i)
    EXPECT_THAT(lines[i], HasSubstr("TRICOLOR_DEBUG"));
}

TEST(EnvironmentConfig, ReadOnce) {
  const config& first = tricolor::gc::environment_config();
  const config& second = tricolor::gc::environment_config();
  EXPECT_EQ(&first, &second);
  if (std::getenv("TRICOLOR_GC_PERCENT") == nullptr) {
    EXPECT_EQ(first.gc_percent, default_gc_percent);
  }
  if (std::getenv("TRICOLOR_DEBUG") == nullptr) {
    EXPECT_EQ(first.gctrace, 0);
  }
  if (std::getenv("TRICOLOR_MARK_WORKERS") == nullptr) {
    EXPECT_EQ(first.mark_workers, 0);
  }
}

// ---------------------------------------------------------------------------
// Child processes.

// The body run inside the child. It is DISABLED_ so that a normal run does
// not execute it; run_child asks for it explicitly. It uses the heap,
// collects, and checks that the pacing setting is the one the parent expects
// (and, when TRICOLOR_CONFIG_TEST_CHILD_MARK_WORKERS is set, that the parsed
// mark worker bound is the one the parent expects).
TEST(ConfigChild, DISABLED_UsesTheHeap) {
  const char* expected = std::getenv("TRICOLOR_CONFIG_TEST_CHILD");
  ASSERT_NE(expected, nullptr) << "run only as a child of ChildProcess.*";
  struct node {
    tricolor::gc_ptr<node> next;
    int value;
    void trace(tricolor::tracer& t) const { t(next); }
  };
  tricolor::gc_ptr<node> head;
  for (int i = 0; i < 100000; ++i) {
    auto n = tricolor::make_gc<node>();
    n->value = i;
    n->next = i % 1000 == 0 ? nullptr : head;  // mostly garbage
    head = n;
  }
  tricolor::collect();
  int count = 0;
  for (auto n = head; n; n = n->next) ++count;
  EXPECT_EQ(count, 1000);
  EXPECT_EQ(tricolor::read_stats().gc_percent, std::atoi(expected));
  EXPECT_GE(tricolor::read_stats().num_forced_gc, 1u);
  if (const char* workers = std::getenv("TRICOLOR_CONFIG_TEST_CHILD_MARK_WORKERS")) {
    EXPECT_EQ(tricolor::gc::environment_config().mark_workers, std::atoi(workers));
  }
}

struct child_result {
  int exit_status = -1;
  std::string out;
  std::string err;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Re-executes this test binary running only ConfigChild.DISABLED_UsesTheHeap, with
// `settings` (NAME=value) added to an environment from which every TRICOLOR_
// variable was removed.
child_result run_child(const std::vector<std::string>& settings,
                       int expected_percent) {
  std::vector<std::string> env;
  std::string asan_options = "ASAN_OPTIONS=detect_leaks=0";
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "ASAN_OPTIONS=", 13) == 0)
      asan_options = std::string(*e) + ":detect_leaks=0";
    else if (std::strncmp(*e, "TRICOLOR_", 9) != 0 && std::strncmp(*e, "GTEST_", 6) != 0)
      env.emplace_back(*e);
  }
  // In a sanitizer build, the child's exit-time leak report would add lines
  // to the stderr this test counts; leaks are checked in this (parent)
  // process, which runs the same code. Harmless without sanitizers.
  env.push_back(asan_options);
  for (const auto& s : settings) env.push_back(s);
  env.push_back("TRICOLOR_CONFIG_TEST_CHILD=" + std::to_string(expected_percent));
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);

  std::string exe = "/proc/self/exe";
  std::string filter = "--gtest_filter=ConfigChild.DISABLED_UsesTheHeap";
  std::string disabled = "--gtest_also_run_disabled_tests";
  std::vector<char*> argv{exe.data(), filter.data(), disabled.data(), nullptr};

  char out_path[] = "/tmp/tricolor_config_test_out_XXXXXX";
  char err_path[] = "/tmp/tricolor_config_test_err_XXXXXX";
  int out_fd = mkstemp(out_path);
  int err_fd = mkstemp(err_path);
  child_result result;
  if (out_fd < 0 || err_fd < 0) {
    ADD_FAILURE() << "mkstemp failed: " << std::strerror(errno);
    return result;
  }
  pid_t pid;
  {
    // fork+exec and the wait below block this (registered) thread.
    tricolor::blocking_scope blocking;
    pid = fork();
    if (pid == 0) {
      dup2(out_fd, 1);
      dup2(err_fd, 2);
      execve("/proc/self/exe", argv.data(), envp.data());
      _exit(127);
    }
    int status = 0;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
      result.exit_status = WEXITSTATUS(status);
  }
  if (pid < 0) ADD_FAILURE() << "fork failed: " << std::strerror(errno);
  close(out_fd);
  close(err_fd);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  unlink(out_path);
  unlink(err_path);
  return result;
}

std::vector<std::string> lines_mentioning(const std::string& text,
                                          const std::string& word) {
  std::vector<std::string> found;
  for (const auto& line : lines_of(text))
    if (line.find(word) != std::string::npos) found.push_back(line);
  return found;
}

TEST(ChildProcess, MalformedGcPercentGivesOneLineAndDefault) {
  for (const char* bad : {"junk", "12abc", "-5", "99999999999999999999"}) {
    SCOPED_TRACE(std::string("TRICOLOR_GC_PERCENT=") + bad);
    auto child = run_child({std::string("TRICOLOR_GC_PERCENT=") + bad}, 100);
    EXPECT_EQ(child.exit_status, 0)
        << "the child did not run normally with a malformed value; stdout:\n"
        << child.out << "\nstderr:\n" << child.err;
    auto lines = lines_of(child.err);
    ASSERT_EQ(lines.size(), 1u)
        << "expected exactly one line on stderr, got:\n" << child.err;
    EXPECT_THAT(lines[0], HasSubstr("TRICOLOR_GC_PERCENT"));
    EXPECT_THAT(lines[0], HasSubstr(bad));
    EXPECT_THAT(lines[0], HasSubstr("100"));
  }
}

TEST(ChildProcess, ValidGcPercentIsSilentAndApplied) {
  auto off = run_child({"TRICOLOR_GC_PERCENT=off"}, -1);
  EXPECT_EQ(off.exit_status, 0) << off.out << off.err;
  EXPECT_EQ(off.err, "") << "a valid value must not print anything";
  auto number = run_child({"TRICOLOR_GC_PERCENT=250"}, 250);
  EXPECT_EQ(number.exit_status, 0) << number.out << number.err;
  EXPECT_EQ(number.err, "");
  auto unset = run_child({}, 100);
  EXPECT_EQ(unset.exit_status, 0) << unset.out << unset.err;
  EXPECT_EQ(unset.err, "");
}

TEST(ChildProcess, MalformedDebugGivesOneLinePerItem) {
  auto child = run_child(
      {"TRICOLOR_DEBUG=gctrace=7,nonsense", "TRICOLOR_GC_PERCENT=abc"}, 100);
  EXPECT_EQ(child.exit_status, 0) << child.out << child.err;
  auto lines = lines_of(child.err);
  EXPECT_EQ(lines.size(), 3u) << child.err;
  EXPECT_EQ(lines_mentioning(child.err, "TRICOLOR_DEBUG").size(), 2u) << child.err;
  EXPECT_EQ(lines_mentioning(child.err, "TRICOLOR_GC_PERCENT").size(), 1u)
      << child.err;
}

TEST(ChildProcess, MarkWorkersMalformedGivesOneLineValidIsSilent) {
  auto junk = run_child({"TRICOLOR_MARK_WORKERS=junk",
                         "TRICOLOR_CONFIG_TEST_CHILD_MARK_WORKERS=0"},
                        100);
  EXPECT_EQ(junk.exit_status, 0)
      << "the child did not run normally with a malformed value; stdout:\n"
      << junk.out << "\nstderr:\n" << junk.err;
  auto lines = lines_of(junk.err);
  ASSERT_EQ(lines.size(), 1u) << "expected exactly one line on stderr, got:\n"
                              << junk.err;
  EXPECT_THAT(lines[0], HasSubstr("TRICOLOR_MARK_WORKERS"));
  EXPECT_THAT(lines[0], HasSubstr("junk"));
  EXPECT_THAT(lines[0], HasSubstr("using the default"));

  auto two = run_child({"TRICOLOR_MARK_WORKERS=2",
                        "TRICOLOR_CONFIG_TEST_CHILD_MARK_WORKERS=2"},
                       100);
  EXPECT_EQ(two.exit_status, 0) << two.out << two.err;
  EXPECT_EQ(two.err, "") << "a valid value must not print anything";
}

TEST(ChildProcess, GctraceLinesFollowGoLayout) {
  auto child = run_child({"TRICOLOR_DEBUG=gctrace=1", "TRICOLOR_GC_PERCENT=off"}, -1);
  EXPECT_EQ(child.exit_status, 0) << child.out << child.err;
  // With pacing off, the one cycle is the child's collect(): one line,
  // "gc 1 @0.012s 0%: ... (forced)".
  auto lines = lines_mentioning(child.err, "gc ");
  ASSERT_EQ(lines.size(), 1u) << child.err;
  const std::regex layout(
      R"(^gc 1 @[0-9]+\.[0-9]+s [0-9]+%: [0-9.]+\+[0-9.]+\+[0-9.]+ ms clock, )"
      R"([0-9.]+\+[0-9.]+/[0-9.]+/[0-9.]+\+[0-9.]+ ms cpu, )"
      R"([0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB goal, [0-9]+ MB stacks, )"
      R"([0-9]+ MB globals, [0-9]+ P \(forced\)$)");
  EXPECT_TRUE(std::regex_match(lines[0], layout))
      << "gctrace line not in Go's layout: " << lines[0];
}

}  // namespace
