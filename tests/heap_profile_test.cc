// Heap profiles (SPEC §2.6): what a program sees through `go tool pprof` of
// the file tricolor::write_heap_profile writes. Sampled allocations name the
// function that called make_gc; alloc_space estimates the bytes allocated;
// in-use figures drop when the sweep frees the sampled objects, and not
// before that sweep has finished (gc/heap_profile.hpp); with every
// allocation sampled (memprofilerate=1), in-use counts exactly the objects
// kept, in spans that mix live and dead samples, for large objects and for
// objects freed only after their destructor ran; memprofilerate=0 samples
// nothing and a malformed rate is named on stderr and the default kept.
//
// pprof comes from Go's toolchain (`go` on PATH or /usr/lib/go-1.19/bin/go);
// without it the tests are skipped. The rate is read once per process, so
// the tests of other rates run this program again in a child process with
// TRICOLOR_DEBUG set (HeapProfileInChild). The suite runs this program at
// the default rate (tests/meson.build).
//
// Sizes: a profile counts the heap's slots, the object and its 8-byte
// header rounded up to a size class; the types below fill their slots
// exactly (1016 + 8 = 1024, 56 + 8 = 64).
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gc/test_hooks.hpp"
#include "test_support.hpp"
#include "tests/held_cycle.hpp"
#include "tricolor/tricolor.hpp"

extern char** environ;

namespace {

using testing::HasSubstr;
using tricolor::gc::test_hooks::cycle_point;
using tricolor_test::collect_clean;
using tricolor_test::held_cycle;

constexpr std::int64_t default_rate = 512 * 1024;

// Each function allocates a type of its own: functions with identical
// bodies would be folded into one by the compiler (GCC's -fipa-icf), and
// the profile would name only one of them.
template <int Kind>
struct sized_widget {
  std::array<std::byte, 1016> payload{};
};
constexpr std::int64_t widget_slot_bytes = 1024;
using widget = sized_widget<0>;
using temporary_widget = sized_widget<1>;
using worker_widget = sized_widget<2>;
using swept_widget = sized_widget<3>;

template <int Kind>
struct small_object {
  std::array<std::byte, 56> payload{};
};
constexpr std::int64_t small_slot_bytes = 64;

// Objects held from unmanaged memory (a root).
template <class T>
using held = std::vector<tricolor::gc_ptr<T>, tricolor::root_allocator<tricolor::gc_ptr<T>>>;

[[gnu::noinline]] void allocate_many_widgets(held<widget>& out, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) out.push_back(tricolor::make_gc<widget>());
}

[[gnu::noinline]] void allocate_temporary_widgets(held<temporary_widget>& out,
                                                  std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) out.push_back(tricolor::make_gc<temporary_widget>());
}

[[gnu::noinline]] void allocate_widgets_on_worker_thread(held<worker_widget>& out,
                                                         std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) out.push_back(tricolor::make_gc<worker_widget>());
}

template <class T>
[[gnu::always_inline]] inline void allocate_and_drop(std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    tricolor::gc_ptr<T> dropped = tricolor::make_gc<T>();
    asm volatile("" : : "r"(dropped.get()) : "memory");
  }
}

[[gnu::noinline]] void make_garbage(std::int64_t count) { allocate_and_drop<small_object<0>>(count); }

[[gnu::noinline]] void make_counted_garbage(std::int64_t count) {
  allocate_and_drop<small_object<1>>(count);
}

[[gnu::noinline]] void allocate_widgets_to_sweep(held<swept_widget>& out, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) out.push_back(tricolor::make_gc<swept_widget>());
}

[[gnu::noinline]] void make_garbage_while_sweeping(std::int64_t count) {
  allocate_and_drop<small_object<2>>(count);
}

// For the child at memprofilerate=1, where every allocation is a sample of
// weight 1: small objects, objects with a destructor (their slots are freed
// by the sweep after the one that finds them dead), large objects (a span
// each). Every other one is kept: spans hold live and dead samples side by
// side.
struct counted_object {
  std::array<std::byte, 56> payload{};
};
struct destroyed_object {
  std::array<std::byte, 56> payload{};
  ~destroyed_object() { asm volatile("" : : : "memory"); }  // not trivial
};
struct large_object {
  std::array<std::byte, 40000> payload{};  // past max_small_size: 5 pages
};
constexpr std::int64_t every_sample_count = 4096;
constexpr std::int64_t every_sample_destroyed_count = 1024;
constexpr std::int64_t every_sample_large_count = 32;

template <class T>
[[gnu::always_inline]] inline void allocate_keeping_half(held<T>& kept, std::int64_t count) {
  held<T> dropped;
  for (std::int64_t i = 0; i < count; ++i)
    (i % 2 == 0 ? kept : dropped).push_back(tricolor::make_gc<T>());
  held<T>().swap(dropped);  // gives the root block back too
}

[[gnu::noinline]] void allocate_small_half_kept(held<counted_object>& kept) {
  allocate_keeping_half(kept, every_sample_count);
}
[[gnu::noinline]] void allocate_destroyed_half_kept(held<destroyed_object>& kept) {
  allocate_keeping_half(kept, every_sample_destroyed_count);
}
[[gnu::noinline]] void allocate_large_half_kept(held<large_object>& kept) {
  allocate_keeping_half(kept, every_sample_large_count);
}
// After the first collection: into the slots the sweep freed.
[[gnu::noinline]] void allocate_into_freed_slots(held<counted_object>& kept) {
  for (std::int64_t i = 0; i < every_sample_count / 2; ++i)
    kept.push_back(tricolor::make_gc<counted_object>());
}

// --- pprof -------------------------------------------------------------------

// The go command, or "" when Go is not installed.
std::string find_go() {
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      std::string candidate = (dir.empty() ? "." : dir) + "/go";
      if (access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  const char* packaged = "/usr/lib/go-1.19/bin/go";
  return access(packaged, X_OK) == 0 ? packaged : "";
}

#define REQUIRE_GO(go)                                                        \
  const std::string go = find_go();                                           \
  if (go.empty()) GTEST_SKIP() << "Go is not installed (no go on PATH nor "   \
                                  "/usr/lib/go-1.19/bin/go): cannot run pprof"

// Runs a shell command; returns its exit status and what it printed on
// stdout and stderr.
struct command_result {
  int status;
  std::string output;
};
command_result run(const std::string& command) {
  command_result result{-1, ""};
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, n);
  result.status = pclose(pipe);
  return result;
}

// -symbolize=none: pprof must find every function name in the profile
// itself, not in the binaries.
command_result pprof(const std::string& go, const std::string& options, const std::string& file) {
  return run(go + " tool pprof -symbolize=none " + options + " '" + file + "'");
}

// A temporary file name; the file is removed at destruction.
class temp_file {
 public:
  temp_file() {
    std::string pattern = testing::TempDir() + "heap_profile_XXXXXX";
    std::vector<char> name(pattern.begin(), pattern.end());
    name.push_back('\0');
    int fd = mkstemp(name.data());
    if (fd >= 0) close(fd);
    path_ = name.data();
  }
  ~temp_file() { unlink(path_.c_str()); }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void write_profile_to(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  tricolor::write_heap_profile(out);
  out.close();
  ASSERT_TRUE(out) << "could not write the heap profile to " << path;
}

// The function named by the first row of `pprof -top`.
std::string top_function(const std::string& top_output) {
  std::stringstream lines(top_output);
  bool in_table = false;
  for (std::string line; std::getline(lines, line);) {
    if (!in_table) {
      in_table = line.find("flat%") != std::string::npos;
      continue;
    }
    std::stringstream fields(line);
    std::string column;
    for (int i = 0; i < 5; ++i) fields >> column;  // flat flat% sum% cum cum%
    std::string name;
    std::getline(fields >> std::ws, name);
    return name;
  }
  return "";
}

// A profile as `pprof -raw` prints it: the period, and each sample's four
// values with the function of its top frame.
enum sample_index { alloc_objects, alloc_space, inuse_objects, inuse_space };
struct raw_profile {
  std::int64_t period = -1;
  struct sample {
    std::array<std::int64_t, 4> values;
    std::string top_function;
  };
  std::vector<sample> samples;
  std::string text;  // pprof's output, for failure messages

  // The sum of one value over the samples whose top frame is `function`.
  std::int64_t total(sample_index index, const std::string& function) const {
    std::int64_t sum = 0;
    for (const sample& s : samples)
      if (s.top_function.find(function) != std::string::npos) sum += s.values[index];
    return sum;
  }
};

//     PeriodType: space bytes
//     Period: 524288
//     Samples:
//     alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes[dflt]
//           4613    4723201       4613    4723201: 1 2 3
//     Locations
//          1: 0x562ca294eca9 M=1 allocate_many_widgets(...) :0 s=0(_Z21...)
//     Mappings
raw_profile read_raw(const std::string& go, const std::string& file) {
  raw_profile profile;
  command_result result = pprof(go, "-raw", file);
  profile.text = result.output;
  EXPECT_EQ(result.status, 0) << result.output;
  std::vector<std::pair<std::array<std::int64_t, 4>, std::uint64_t>> samples;  // top location
  std::map<std::uint64_t, std::string> location_functions;
  enum { header, sample_lines, location_lines, rest } section = header;
  std::stringstream lines(result.output);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("Period: ")) profile.period = std::stoll(line.substr(8));
    else if (line == "Samples:") section = sample_lines;
    else if (line == "Locations") section = location_lines;
    else if (line == "Mappings") section = rest;
    else if (section == sample_lines && line.find(':') != std::string::npos) {
      std::stringstream fields(line);
      std::array<std::int64_t, 4> values{};
      for (std::int64_t& v : values) fields >> v;
      char colon;
      std::uint64_t top_location = 0;
      fields >> colon >> top_location;
      samples.push_back({values, top_location});
    } else if (section == location_lines) {
      std::size_t mapping = line.find(" M=");
      std::size_t name_start = mapping == std::string::npos ? mapping : line.find(' ', mapping + 1);
      std::size_t name_end = line.rfind(" :");
      if (name_start == std::string::npos || name_end == std::string::npos || name_end <= name_start)
        continue;
      location_functions[std::stoull(line)] = line.substr(name_start + 1, name_end - name_start - 1);
    }
  }
  for (auto& [values, location] : samples)
    profile.samples.push_back({values, location_functions[location]});
  return profile;
}

// The rate of this process, read from a profile's period.
std::int64_t profile_rate(const std::string& go) {
  temp_file file;
  write_profile_to(file.path());
  return read_raw(go, file.path()).period;
}

// --- child processes -----------------------------------------------------------

constexpr const char* child_output_variable = "TRICOLOR_HEAP_PROFILE_TEST_OUT";

struct child_result {
  int exit_status;
  std::string stderr_text;
};

// Runs HeapProfileInChild.`test` in this program again, with
// TRICOLOR_DEBUG=`debug`, writing its profile to `profile_path`.
child_result run_child(const std::string& debug, const std::string& profile_path,
                       const std::string& test = "WritesProfile") {
  std::vector<std::string> environment;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (!entry.starts_with("TRICOLOR_DEBUG=") && !entry.starts_with(child_output_variable))
      environment.emplace_back(entry);
  }
  environment.push_back("TRICOLOR_DEBUG=" + debug);
  environment.push_back(std::string(child_output_variable) + "=" + profile_path);
  std::vector<char*> envp;
  for (std::string& e : environment) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string program = "/proc/self/exe";
  std::string filter = "--gtest_filter=HeapProfileInChild." + test;
  char* argv[] = {program.data(), filter.data(), nullptr};

  temp_file stderr_file;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, stderr_file.path().c_str(),
                                   O_WRONLY | O_TRUNC, 0);
  pid_t child = -1;
  int error = posix_spawn(&child, program.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  child_result result{-1, ""};
  if (error != 0) {
    result.stderr_text = "posix_spawn failed: " + std::string(std::strerror(error));
    return result;
  }
  int status = 0;
  waitpid(child, &status, 0);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  std::ifstream in(stderr_file.path());
  std::stringstream text;
  text << in.rdbuf();
  result.stderr_text = text.str();
  return result;
}

// --- tests ---------------------------------------------------------------------

// 32 MiB of widgets kept, 64 MiB of garbage dropped: in use, the widgets'
// function is on top; allocated, the garbage's.
TEST(HeapProfile, TopInUseIsTheFunctionThatKeepsItsObjects) {
  REQUIRE_GO(go);
  held<widget> widgets;
  allocate_many_widgets(widgets, 32 * 1024);
  make_garbage(1024 * 1024);
  collect_clean();
  temp_file file;
  write_profile_to(file.path());

  command_result inuse = pprof(go, "-top -sample_index=inuse_space", file.path());
  ASSERT_EQ(inuse.status, 0) << inuse.output;
  EXPECT_THAT(top_function(inuse.output), HasSubstr("allocate_many_widgets"))
      << "the 32 MiB of widgets kept are not the top of inuse_space:\n" << inuse.output;
  command_result allocated = pprof(go, "-top -sample_index=alloc_space", file.path());
  ASSERT_EQ(allocated.status, 0) << allocated.output;
  EXPECT_THAT(top_function(allocated.output), HasSubstr("make_garbage"))
      << "the 64 MiB of garbage are not the top of alloc_space:\n" << allocated.output;
  EXPECT_EQ(widgets.size(), 32u * 1024);
}

// Sampling is statistical: with n samples the estimate's relative error is
// about 1/sqrt(n). 1024 samples' worth of allocation (512 MiB at the
// default rate) puts 20 % at more than 6 standard deviations.
TEST(HeapProfile, AllocSpaceEstimatesTheBytesAllocated) {
  REQUIRE_GO(go);
  std::int64_t rate = profile_rate(go);
  if (rate <= 0) GTEST_SKIP() << "sampling is off (TRICOLOR_DEBUG=memprofilerate=0)";
  std::int64_t count = 1024 * rate / small_slot_bytes;
  temp_file before_file, after_file;
  write_profile_to(before_file.path());
  make_counted_garbage(count);
  collect_clean();
  write_profile_to(after_file.path());
  raw_profile before = read_raw(go, before_file.path());
  raw_profile after = read_raw(go, after_file.path());

  const std::int64_t bytes = count * small_slot_bytes;
  std::int64_t estimated_bytes = after.total(alloc_space, "make_counted_garbage") -
                                 before.total(alloc_space, "make_counted_garbage");
  std::int64_t estimated_objects = after.total(alloc_objects, "make_counted_garbage") -
                                   before.total(alloc_objects, "make_counted_garbage");
  EXPECT_NEAR(static_cast<double>(estimated_bytes), static_cast<double>(bytes), 0.2 * bytes)
      << "make_counted_garbage allocated " << bytes << " bytes; the profile estimates "
      << estimated_bytes << ":\n" << after.text;
  EXPECT_NEAR(static_cast<double>(estimated_objects), static_cast<double>(count), 0.2 * count)
      << "make_counted_garbage allocated " << count << " objects; the profile estimates "
      << estimated_objects;
  EXPECT_LT(after.total(inuse_space, "make_counted_garbage"), bytes / 20)
      << "the garbage is still counted in use after collect():\n" << after.text;
}

// Objects in use until they become garbage; after collect() they are not,
// and their allocation still counts.
TEST(HeapProfile, FreedObjectsLeaveInUseAfterCollect) {
  REQUIRE_GO(go);
  std::int64_t rate = profile_rate(go);
  if (rate <= 0) GTEST_SKIP() << "sampling is off (TRICOLOR_DEBUG=memprofilerate=0)";
  // 64 samples' worth (32 MiB at the default rate).
  const std::int64_t count = 64 * rate / widget_slot_bytes;
  const std::int64_t bytes = count * widget_slot_bytes;
  temp_file held_file, freed_file;
  {
    held<temporary_widget> temporary;
    allocate_temporary_widgets(temporary, count);
    collect_clean();
    write_profile_to(held_file.path());
    held<temporary_widget>().swap(temporary);  // gives the root block back too
  }
  collect_clean();
  write_profile_to(freed_file.path());
  raw_profile held = read_raw(go, held_file.path());
  raw_profile freed = read_raw(go, freed_file.path());

  std::int64_t held_inuse = held.total(inuse_space, "allocate_temporary_widgets");
  EXPECT_GT(held_inuse, bytes / 2) << "the " << bytes << " bytes of widgets held show as "
                                   << held_inuse << " bytes in use:\n" << held.text;
  EXPECT_LT(freed.total(inuse_space, "allocate_temporary_widgets"), held_inuse / 10)
      << "freed widgets are still in use after collect():\n" << freed.text;
  EXPECT_EQ(freed.total(alloc_space, "allocate_temporary_widgets"),
            held.total(alloc_space, "allocate_temporary_widgets"))
      << "freeing changed what the profile says was allocated";
}

// The sweep, not the mark, takes freed objects out of in-use, and a profile
// shows a mark only once its sweep has finished: held after the
// mark-termination pause, before any sweeping, widgets that the mark found
// dead still show as in use, also after this thread has swept some spans
// itself (allocating garbage, which sweeps lazily); when the sweep
// finishes they are gone. The garbage allocated meanwhile belongs to the
// next mark: absent until the cycle after.
class HeapProfileSweep : public tricolor_test::held_cycle_test {};

TEST_F(HeapProfileSweep, InUseFallsWhenTheSweepFinishesNotAtTheMark) {
  REQUIRE_GO(go);
  std::int64_t rate = profile_rate(go);
  if (rate <= 0) GTEST_SKIP() << "sampling is off (TRICOLOR_DEBUG=memprofilerate=0)";
  const std::int64_t count = 64 * rate / widget_slot_bytes;  // 32 MiB by default
  const std::int64_t bytes = count * widget_slot_bytes;
  temp_file held_file, marked_file, swept_file, next_file;
  {
    held<swept_widget> widgets;
    allocate_widgets_to_sweep(widgets, count);
    collect_clean();
    write_profile_to(held_file.path());
    held<swept_widget>().swap(widgets);
  }
  {
    held_cycle cycle(cycle_point::sweep_started);
    make_garbage_while_sweeping(16 * rate / small_slot_bytes);
    write_profile_to(marked_file.path());
  }  // the cycle's sweep finishes
  write_profile_to(swept_file.path());
  collect_clean();
  write_profile_to(next_file.path());

  raw_profile held = read_raw(go, held_file.path());
  raw_profile marked = read_raw(go, marked_file.path());
  raw_profile swept = read_raw(go, swept_file.path());
  raw_profile next = read_raw(go, next_file.path());
  std::int64_t held_inuse = held.total(inuse_space, "allocate_widgets_to_sweep");
  ASSERT_GT(held_inuse, bytes / 2) << "the " << bytes << " bytes of widgets held show as "
                                   << held_inuse << " bytes in use:\n" << held.text;
  EXPECT_EQ(marked.total(inuse_space, "allocate_widgets_to_sweep"), held_inuse)
      << "marked but not yet swept: the profile must still show the mark before, where the "
         "widgets were in use:\n" << marked.text;
  EXPECT_LT(swept.total(inuse_space, "allocate_widgets_to_sweep"), held_inuse / 10)
      << "swept widgets are still in use:\n" << swept.text;
  EXPECT_EQ(swept.total(alloc_space, "allocate_widgets_to_sweep"),
            held.total(alloc_space, "allocate_widgets_to_sweep"))
      << "freeing changed what the profile says was allocated";
  EXPECT_EQ(swept.total(alloc_space, "make_garbage_while_sweeping"), 0)
      << "allocated after the mark, shown before the next one completed:\n" << swept.text;
  EXPECT_GT(next.total(alloc_space, "make_garbage_while_sweeping"), 0) << next.text;
  EXPECT_LT(next.total(inuse_space, "make_garbage_while_sweeping"),
            next.total(alloc_space, "make_garbage_while_sweeping") / 10)
      << "the garbage made while sweeping is still in use:\n" << next.text;
}

// Every allocation sampled (child at memprofilerate=1): the in-use counts are
// the objects kept, exactly but for what conservative stack scanning may
// retain of the dropped ones, and the allocated counts are every object.
TEST(HeapProfile, EverySampleLeavesInUseWhenItsObjectIsSwept) {
  REQUIRE_GO(go);
  temp_file profile;
  child_result child = run_child("memprofilerate=1", profile.path(), "EverySampleCounted");
  ASSERT_EQ(child.exit_status, 0) << child.stderr_text;
  raw_profile raw = read_raw(go, profile.path());
  ASSERT_EQ(raw.period, 1) << raw.text;
  struct expectation {
    const char* function;
    std::int64_t allocated, kept;
  };
  for (const expectation& e : {
           expectation{"allocate_small_half_kept", every_sample_count, every_sample_count / 2},
           expectation{"allocate_destroyed_half_kept", every_sample_destroyed_count,
                       every_sample_destroyed_count / 2},
           expectation{"allocate_large_half_kept", every_sample_large_count,
                       every_sample_large_count / 2},
           expectation{"allocate_into_freed_slots", every_sample_count / 2,
                       every_sample_count / 2}}) {
    SCOPED_TRACE(e.function);
    EXPECT_EQ(raw.total(alloc_objects, e.function), e.allocated) << raw.text;
    std::int64_t inuse = raw.total(inuse_objects, e.function);
    EXPECT_GE(inuse, e.kept) << "objects still held left in-use:\n" << raw.text;
    EXPECT_LE(inuse, e.kept + e.allocated / 32) << "dropped objects still in use:\n" << raw.text;
  }
}

// Four threads allocate while the main thread writes profiles and collects:
// every thread's samples arrive, and the profile stays readable.
TEST(HeapProfile, SamplesFromManyThreads) {
  REQUIRE_GO(go);
  std::int64_t rate = profile_rate(go);
  if (rate <= 0) GTEST_SKIP() << "sampling is off (TRICOLOR_DEBUG=memprofilerate=0)";
  constexpr int threads = 4;
  const std::int64_t per_thread = 16 * rate / widget_slot_bytes;  // 8 MiB by default
  std::array<held<worker_widget>, threads> lists;
  std::atomic<int> running{threads};
  std::vector<std::thread> workers;
  for (held<worker_widget>& list : lists)
    workers.emplace_back([&list, &running, per_thread] {
      allocate_widgets_on_worker_thread(list, per_thread);
      running.fetch_sub(1);
    });
  int profiles_written = 0;
  while (running.load() > 0) {
    std::ostringstream discarded;
    tricolor::write_heap_profile(discarded);
    EXPECT_TRUE(discarded.good());
    if (++profiles_written % 4 == 0) tricolor::collect();
  }
  for (std::thread& t : workers) t.join();
  collect_clean();
  temp_file file;
  write_profile_to(file.path());

  command_result inuse = pprof(go, "-top -sample_index=inuse_space", file.path());
  ASSERT_EQ(inuse.status, 0) << inuse.output;
  EXPECT_THAT(top_function(inuse.output), HasSubstr("allocate_widgets_on_worker_thread"))
      << inuse.output;
  raw_profile raw = read_raw(go, file.path());
  const std::int64_t bytes = threads * per_thread * widget_slot_bytes;
  std::int64_t inuse_bytes = raw.total(inuse_space, "allocate_widgets_on_worker_thread");
  EXPECT_NEAR(static_cast<double>(inuse_bytes), static_cast<double>(bytes), 0.5 * bytes)
      << "4 threads hold " << bytes << " bytes of widgets:\n" << raw.text;
  for (const held<worker_widget>& list : lists) EXPECT_EQ(static_cast<std::int64_t>(list.size()), per_thread);
}

TEST(HeapProfile, RateZeroSamplesNothing) {
  REQUIRE_GO(go);
  temp_file profile;
  child_result child = run_child("memprofilerate=0", profile.path());
  ASSERT_EQ(child.exit_status, 0) << child.stderr_text;
  EXPECT_EQ(child.stderr_text, "");
  raw_profile raw = read_raw(go, profile.path());
  EXPECT_EQ(raw.period, 0) << raw.text;
  EXPECT_TRUE(raw.samples.empty()) << "memprofilerate=0 still sampled:\n" << raw.text;
}

TEST(HeapProfile, MalformedRateIsNamedAndTheSettingKept) {
  REQUIRE_GO(go);
  temp_file profile;
  // Set, then given a malformed value: the setting stays as it was.
  child_result child = run_child("memprofilerate=524288,memprofilerate=1MiB", profile.path());
  ASSERT_EQ(child.exit_status, 0) << child.stderr_text;
  EXPECT_EQ(child.stderr_text,
            "tricolor: TRICOLOR_DEBUG item \"memprofilerate=1MiB\" needs memprofilerate=N, a "
            "whole number of bytes >= 0 (0: off); keeping 524288\n");
  raw_profile raw = read_raw(go, profile.path());
  EXPECT_EQ(raw.period, default_rate) << raw.text;
  EXPECT_GT(raw.total(inuse_space, "allocate_many_widgets"), 0) << raw.text;
}

// The child's part of the two tests above (RateZeroSamplesNothing and
// MalformedRateIsNamedAndTheSettingKept): 32 MiB of widgets kept and 8 MiB
// of garbage, then the profile.
TEST(HeapProfileInChild, WritesProfile) {
  const char* path = std::getenv(child_output_variable);
  if (path == nullptr)
    GTEST_SKIP() << "runs only in the child process that HeapProfile.RateZeroSamplesNothing "
                    "and HeapProfile.MalformedRateIsNamedAndTheDefaultKept start";
  held<widget> widgets;
  allocate_many_widgets(widgets, 32 * 1024);
  make_garbage(128 * 1024);
  collect_clean();
  write_profile_to(path);
}

// The child's part of EverySampleLeavesInUseWhenItsObjectIsSwept: half of
// each kind kept; a collection (the destroyed objects wait for their
// destructors, their slots stay allocated); as many small objects again,
// into the freed slots; a collection (the destroyed objects' slots are
// freed: their samples must not leave a second time), then the profile.
TEST(HeapProfileInChild, EverySampleCounted) {
  const char* path = std::getenv(child_output_variable);
  if (path == nullptr)
    GTEST_SKIP() << "runs only in the child process that "
                    "HeapProfile.EverySampleLeavesInUseWhenItsObjectIsSwept starts";
  held<counted_object> small;
  held<destroyed_object> destroyed;
  held<large_object> large;
  allocate_small_half_kept(small);
  allocate_destroyed_half_kept(destroyed);
  allocate_large_half_kept(large);
  collect_clean();
  held<counted_object> refilled;
  allocate_into_freed_slots(refilled);
  collect_clean();
  write_profile_to(path);
  EXPECT_EQ(static_cast<std::int64_t>(small.size() + refilled.size()), every_sample_count);
  EXPECT_EQ(static_cast<std::int64_t>(destroyed.size()), every_sample_destroyed_count / 2);
  EXPECT_EQ(static_cast<std::int64_t>(large.size()), every_sample_large_count / 2);
}

}  // namespace
