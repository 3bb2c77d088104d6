// stop_blocked_tricolor: what a thread blocked in the kernel adds to every
// stop-the-world pause. N threads, each registered with the collector (each
// has allocated one managed object and keeps it on its stack), sleep in one
// std::condition_variable::wait while the main thread runs K collections.
//
//     stop_blocked_tricolor [--threads N] [--cycles K] [--mode plain|scope|signal]
//                           [--live MIB] [--warmup K] [--hang-seconds S]
//                           [--json]
//     stop_blocked_tricolor N [K] [plain|scope|signal]
//
// Modes:
//   plain  the threads wait with no blocking_scope, as ordinary code does:
//          the library's interposed pthread_cond_wait marks each thread safe
//          for the wait (roots/blocking_calls.cc). A collector that cannot
//          stop them (one that waits for every thread to reach a safepoint or
//          a blocking_scope) never finishes the first pause: the program
//          then reports result=hung (below).
//   scope  each thread waits inside a tricolor::blocking_scope, the
//          cooperative hint: the thread is safe for the whole wait and the
//          collector only scans its recorded registers and stack.
//   signal each thread waits in a raw futex system call (syscall(SYS_futex),
//          which the library does not interpose, like the guard of a
//          function-local static): the collector stops it with its stop
//          signal in every pause (roots/stop_signal.hpp).
//
// The workload:
//   1. Pacing off (set_gc_percent(-1)): the only cycles are the program's
//      collect() calls. The main thread builds a live heap of --live MiB
//      (default 4; binary trees of depth 12, each held by a gc_root), so
//      that each cycle marks something.
//   2. N threads start. Each allocates one small noscan object (tag, index,
//      check word), keeps the gc_ptr in a local, records its thread id, then
//      locks the shared mutex, counts itself ready and waits on the shared
//      condition variable until the end (in `scope` mode inside a
//      blocking_scope). The main thread waits (in a blocking_scope) until all
//      N are counted, then until the kernel reports every one of them asleep
//      (state S or D in /proc/self/task/TID/stat), so that every measured
//      pause finds N threads blocked in the kernel.
//   3. --warmup collect() calls (default 5), not measured; then K collect()
//      calls (default 200). After each, read_stats(): every new entry of the
//      `pauses` ring (num_pauses says how many; two or more per cycle, so
//      reading after each cycle loses none of the 256 the ring keeps) gives
//      one pause and its time to safepoint; the first of a cycle's pauses is
//      its mark start, the others its mark termination. After each cycle
//      the main thread also allocates 256 garbage objects of the blocked
//      threads' object type, so that a slot wrongly freed would be reused
//      and caught by step 5.
//   4. Report: one line on stdout (with --json, one JSON object on the next
//      line too): threads, mode, registered threads (read_stats().threads:
//      N + 1 when every blocked thread is registered), the stack bytes the
//      largest cycle scanned, cycles, pauses, pause max / p99 / median,
//      time to safepoint max / p99 / median, the stopped
//      part (pause minus time to safepoint) median, and the medians of the
//      mark-start and the mark-termination pauses apart (the first pause of
//      each cycle, and the others), all in microseconds. The cost per
//      blocked thread is (median pause with N - median pause with 0) / N;
//      bench/run_stop_blocked.py runs both and computes it. A concurrent
//      cycle has two pauses of different lengths (mark start copies the
//      roots, termination only drains the barrier buffers), so the median of
//      all of them falls between the two groups: the runner also gives the
//      cost from the two medians apart.
//   5. Verify: the main thread wakes the threads and joins them; each checks
//      its object (tag, index, check word) after waking; the main thread
//      checks its trees. verify=FAILED and exit code 1 if anything is broken.
//
// Hang detection: every phase (setup, waiting for the threads to block, each
// collect(), waking and joining) is armed with alarm(--hang-seconds, default
// 5). When it fires, the SIGALRM handler writes the result line with
// result=hung, the phase and the cycle (and the JSON object with --json) and
// exits with code 3: on a collector that waits for blocked threads, `plain`
// ends there (the collector's own "waiting more than 1 s for thread ..."
// message names the thread on stderr). A watchdog thread would not do: it
// would be one more blocked thread once every std::thread is registered.
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/pause_summary.hpp"
#include "tricolor/tricolor.hpp"

namespace {

using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;

// --- the objects ---------------------------------------------------------------

constexpr std::uint64_t mine_tag = 0xb10c000000000000;
constexpr std::uint64_t garbage_tag = 0x6a7b000000000000;
constexpr std::uint64_t tree_tag = 0x7ee0000000000000;
constexpr std::uint64_t check_pattern = 0x9e3779b97f4a7c15;

// A blocked thread's object (noscan: 24 bytes, as the garbage that may reuse
// its slot).
struct token {
  token(std::uint64_t t, std::uint64_t i) : tag(t), index(i), check((i * check_pattern) ^ t) {}
  std::uint64_t tag, index, check;
};

bool token_intact(const gc_ptr<token>& p, std::uint64_t index) {
  return p && p->tag == mine_tag && p->index == index &&
         p->check == ((index * check_pattern) ^ mine_tag);
}

struct node {
  node(gc_ptr<node> l, gc_ptr<node> r, std::uint64_t p) : left(l), right(r), payload(p) {}
  gc_ptr<node> left, right;
  std::uint64_t payload;
  void trace(tricolor::tracer& t) const { t(left, right); }
};

constexpr int tree_depth = 12;  // 8191 nodes, 256 KiB in 32-byte slots
constexpr std::size_t tree_nodes = (std::size_t{2} << tree_depth) - 1;
constexpr std::size_t tree_slot_bytes = tree_nodes * 32;
constexpr std::size_t garbage_per_cycle = 256;

gc_ptr<node> build_tree(int height) {
  if (height == 0) return make_gc<node>(nullptr, nullptr, tree_tag);
  gc_ptr<node> l = build_tree(height - 1);
  gc_ptr<node> r = build_tree(height - 1);
  return make_gc<node>(l, r, tree_tag | static_cast<std::uint64_t>(height));
}

bool check_tree(const gc_ptr<node>& n, int height) {
  if (!n || n->payload != (tree_tag | static_cast<std::uint64_t>(height))) return false;
  if (height == 0) return !n->left && !n->right;
  return check_tree(n->left, height - 1) && check_tree(n->right, height - 1);
}

// --- options ---------------------------------------------------------------------

enum class wait_mode { plain, scope, signal };

const char* mode_name(wait_mode m) {
  return m == wait_mode::plain ? "plain" : m == wait_mode::scope ? "scope" : "signal";
}

struct options {
  unsigned threads = 0;
  unsigned cycles = 200;
  wait_mode mode = wait_mode::plain;
  std::size_t live_mib = 4;
  unsigned warmup = 5;
  unsigned hang_seconds = 5;
  bool json = false;
};

[[noreturn]] void usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--threads N] [--cycles K] [--mode plain|scope] [--live MIB]\n"
               "          [--warmup K] [--hang-seconds S] [--json]\n"
               "       %s N [K] [plain|scope]\n",
               argv0, argv0);
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  int positional = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto number = [&](const char* text) -> unsigned long {
      char* end = nullptr;
      unsigned long v = std::strtoul(text, &end, 10);
      if (*text == '\0' || *text == '-' || *end != '\0' || v > 1000000) usage(argv[0]);
      return v;
    };
    auto value = [&]() -> unsigned long {
      if (i + 1 >= argc) usage(argv[0]);
      return number(argv[++i]);
    };
    auto set_mode = [&](std::string_view m) {
      if (m == "plain") o.mode = wait_mode::plain;
      else if (m == "scope") o.mode = wait_mode::scope;
      else if (m == "signal") o.mode = wait_mode::signal;
      else usage(argv[0]);
    };
    if (a == "--threads") o.threads = static_cast<unsigned>(value());
    else if (a == "--cycles") o.cycles = static_cast<unsigned>(value());
    else if (a == "--mode") {
      if (i + 1 >= argc) usage(argv[0]);
      set_mode(argv[++i]);
    } else if (a == "--live") o.live_mib = value();
    else if (a == "--warmup") o.warmup = static_cast<unsigned>(value());
    else if (a == "--hang-seconds") o.hang_seconds = static_cast<unsigned>(value());
    else if (a == "--json") o.json = true;
    else if (a == "plain" || a == "scope" || a == "signal") set_mode(a);
    else if (!a.empty() && a[0] != '-' && positional < 2) {
      if (positional++ == 0) o.threads = static_cast<unsigned>(number(argv[i]));
      else o.cycles = static_cast<unsigned>(number(argv[i]));
    } else {
      usage(argv[0]);
    }
  }
  if (o.cycles == 0 || o.hang_seconds == 0) usage(argv[0]);
  return o;
}

// --- hang detection ----------------------------------------------------------------

// Set before alarm() is armed, read by the handler (async-signal-safe: a
// lock-free atomic, fixed strings, write and _exit).
std::atomic<const char*> hang_phase{"setup"};
std::atomic<std::uint64_t> hang_cycle{0};
char hang_prefix[256];       // "stop_blocked_tricolor: threads=N mode=M ..."
char hang_json_prefix[256];  // "{\"benchmark\": \"stop_blocked\", ..."
bool hang_json = false;
unsigned hang_after = 0;

void put(char*& out, const char* end, const char* s) {
  while (*s && out < end) *out++ = *s++;
}

void put_number(char*& out, const char* end, std::uint64_t v) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n > 0 && out < end) *out++ = digits[--n];
}

void on_hang(int) {
  char line[768];
  char* out = line;
  const char* end = line + sizeof line - 1;
  const char* phase = hang_phase.load();
  std::uint64_t cycle = hang_cycle.load();
  put(out, end, hang_prefix);
  put(out, end, " result=hung phase=");
  put(out, end, phase);
  put(out, end, " cycle=");
  put_number(out, end, cycle);
  put(out, end, " after=");
  put_number(out, end, hang_after);
  put(out, end, "s\n");
  if (hang_json) {
    put(out, end, hang_json_prefix);
    put(out, end, ", \"result\": \"hung\", \"phase\": \"");
    put(out, end, phase);
    put(out, end, "\", \"cycle\": ");
    put_number(out, end, cycle);
    put(out, end, ", \"hang_seconds\": ");
    put_number(out, end, hang_after);
    put(out, end, "}\n");
  }
  ssize_t ignored = write(STDOUT_FILENO, line, static_cast<std::size_t>(out - line));
  static const char note[] =
      "stop_blocked_tricolor: hung: a phase did not finish within --hang-seconds\n";
  ignored = write(STDERR_FILENO, note, sizeof note - 1);
  (void)ignored;
  _exit(3);
}

// Arms the hang alarm for the next phase (cycle: 1-based, 0 outside cycles).
void arm(const char* phase, std::uint64_t cycle) {
  hang_phase.store(phase);
  hang_cycle.store(cycle);
  alarm(hang_after);
}

// --- the blocked threads -------------------------------------------------------------

struct shared_state {
  explicit shared_state(const options& o) : opts(o), tids(o.threads, 0), intact(o.threads, 0) {}
  options opts;
  std::mutex m;
  std::condition_variable wake;   // the blocked threads wait here
  std::condition_variable ready;  // the main thread waits here for `waiting`
  unsigned waiting = 0;           // under m
  bool release = false;           // under m
  std::atomic<std::uint32_t> release_word{0};  // signal mode's futex
  std::vector<pid_t> tids;        // written before the thread counts itself
  std::vector<char> intact;       // written after the wait
};

// The wait itself, apart from blocked_thread, whose frame holds `mine`
// across it.
[[gnu::noinline]] void wait_for_release(shared_state& s) {
  std::unique_lock lock(s.m);
  ++s.waiting;
  s.ready.notify_one();
  s.wake.wait(lock, [&] { return s.release; });
}

// The same through a raw futex wait, which no library function wraps.
[[gnu::noinline]] void wait_for_release_raw(shared_state& s) {
  {
    std::lock_guard lock(s.m);
    ++s.waiting;
  }
  s.ready.notify_one();
  while (s.release_word.load() == 0)
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&s.release_word), FUTEX_WAIT_PRIVATE,
            0, nullptr, nullptr, 0);
}

void blocked_thread(shared_state& s, unsigned index) {
  char name[16];
  std::snprintf(name, sizeof name, "blocked-%u", index);
  pthread_setname_np(pthread_self(), name);  // the collector names it if it waits
  // Registers this thread with the collector (its first allocation).
  gc_ptr<token> mine = make_gc<token>(mine_tag, index);
  // Its address escapes: `mine` lives in this frame on the stack, not only
  // in a register, while the thread sleeps.
  asm volatile("" : : "g"(&mine) : "memory");
  s.tids[index] = gettid();
  if (s.opts.mode == wait_mode::scope) {
    tricolor::blocking_scope blocked;
    wait_for_release(s);
  } else if (s.opts.mode == wait_mode::signal) {
    wait_for_release_raw(s);
  } else {
    wait_for_release(s);
  }
  s.intact[index] = token_intact(mine, index) ? 1 : 0;
}

// The kernel's state letter of thread `tid` of this process ('?' if unknown).
char thread_state_letter(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", static_cast<int>(tid));
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return '?';
  char buf[512];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return '?';
  buf[n] = '\0';
  const char* paren = std::strrchr(buf, ')');  // the name may hold spaces
  return paren && paren[1] == ' ' ? paren[2] : '?';
}

// --- statistics ------------------------------------------------------------------------

using bench::summarize;
using bench::summary;
using bench::fmt_us;
using bench::json_us;

bool stop_the_world_mode() {
  const char* debug = std::getenv("TRICOLOR_DEBUG");
  if (!debug) return false;
  std::string_view v(debug);
  bool on = false;
  for (std::size_t pos = 0; pos <= v.size();) {
    std::size_t comma = v.find(',', pos);
    std::string_view item = v.substr(pos, comma == std::string_view::npos ? v.npos : comma - pos);
    if (item.rfind("gcstoptheworld=", 0) == 0) on = item.substr(15) != "0";
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return on;
}

}  // namespace

int main(int argc, char** argv) {
  options opts = parse(argc, argv);
  const char* collector = stop_the_world_mode() ? "stw" : "concurrent";

  std::snprintf(hang_prefix, sizeof hang_prefix,
                "stop_blocked_tricolor: threads=%u mode=%s collector=%s cycles=%u",
                opts.threads, mode_name(opts.mode), collector, opts.cycles);
  std::snprintf(hang_json_prefix, sizeof hang_json_prefix,
                "{\"benchmark\": \"stop_blocked\", \"impl\": \"tricolor\", "
                "\"threads\": %u, \"mode\": \"%s\", \"collector\": \"%s\", "
                "\"cycles\": %u",
                opts.threads, mode_name(opts.mode), collector, opts.cycles);
  hang_json = opts.json;
  hang_after = opts.hang_seconds;
  struct sigaction action {};
  action.sa_handler = on_hang;
  sigemptyset(&action.sa_mask);
  sigaction(SIGALRM, &action, nullptr);

  // 1. Setup: no pacing-triggered cycles; the live heap.
  arm("setup", 0);
  tricolor::set_gc_percent(-1);
  std::size_t num_trees = std::max<std::size_t>(1, (opts.live_mib << 20) / tree_slot_bytes);
  std::vector<gc_root<node>> trees;
  trees.reserve(num_trees);
  for (std::size_t i = 0; i < num_trees; ++i)
    trees.push_back(gc_root<node>(build_tree(tree_depth), "stop_blocked.trees"));

  // 2. The blocked threads. The main thread waits for them inside a
  // blocking_scope (README rule 2), touching no managed object.
  auto* shared = new shared_state(opts);  // never deleted: outlives the threads
  std::vector<std::thread> threads;
  threads.reserve(opts.threads);
  for (unsigned i = 0; i < opts.threads; ++i)
    threads.emplace_back([shared, i] { blocked_thread(*shared, i); });
  arm("ready", 0);
  {
    tricolor::blocking_scope blocked;
    {
      std::unique_lock lock(shared->m);
      shared->ready.wait(lock, [&] { return shared->waiting == opts.threads; });
    }
    // Counted means inside wait(), not yet asleep in the kernel: wait for
    // the kernel to say so.
    for (pid_t tid : shared->tids) {
      for (char state = thread_state_letter(tid); state != 'S' && state != 'D';
           state = thread_state_letter(tid))
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  // 3. Warm-up, then the measured cycles.
  for (unsigned c = 1; c <= opts.warmup; ++c) {
    arm("warmup", c);
    tricolor::collect();
  }
  alarm(0);
  tricolor::gc_stats base = tricolor::read_stats();
  std::uint64_t seen = base.num_pauses, unseen = 0, retries = 0;
  std::uint64_t registered_min = UINT64_MAX, registered_max = 0, stacks_bytes = 0;
  std::vector<std::uint64_t> pause_ns, ttsp_ns, stopped_ns, start_ns, term_ns;
  pause_ns.reserve(opts.cycles * 2);
  ttsp_ns.reserve(opts.cycles * 2);
  gc_ptr<token> garbage;
  for (unsigned c = 1; c <= opts.cycles; ++c) {
    arm("collect", c);
    tricolor::collect();
    alarm(0);
    tricolor::gc_stats s = tricolor::read_stats();
    constexpr std::uint64_t ring = tricolor::gc_stats::pause_history;
    std::uint64_t first = s.num_pauses > seen + ring ? s.num_pauses - ring : seen;
    unseen += first - seen;
    for (std::uint64_t i = first; i < s.num_pauses; ++i) {
      const auto& p = s.pauses[i % ring];
      pause_ns.push_back(p.pause_ns);
      ttsp_ns.push_back(p.time_to_safepoint_ns);
      stopped_ns.push_back(p.pause_ns - std::min(p.pause_ns, p.time_to_safepoint_ns));
      // This cycle's pauses, in order: mark start, then mark termination
      // (one per attempt). A stop-the-world cycle has one pause.
      (i == seen ? start_ns : term_ns).push_back(p.pause_ns);
    }
    retries += s.num_pauses - seen > 2 ? s.num_pauses - seen - 2 : 0;
    seen = s.num_pauses;
    registered_min = std::min(registered_min, s.threads);
    registered_max = std::max(registered_max, s.threads);
    stacks_bytes = std::max(stacks_bytes, s.stacks_bytes);
    for (std::size_t k = 0; k < garbage_per_cycle; ++k)
      garbage = make_gc<token>(garbage_tag, k);
  }
  garbage = nullptr;

  // 5. Wake, join, verify.
  arm("wake", 0);
  {
    std::lock_guard lock(shared->m);
    shared->release = true;
  }
  shared->wake.notify_all();
  shared->release_word.store(1);
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&shared->release_word), FUTEX_WAKE_PRIVATE,
          INT_MAX, nullptr, nullptr, 0);
  {
    tricolor::blocking_scope blocked;
    for (auto& t : threads) t.join();
  }
  alarm(0);
  std::uint64_t broken_tokens = 0, broken_trees = 0;
  for (char ok : shared->intact) broken_tokens += ok ? 0 : 1;
  for (const auto& t : trees) broken_trees += check_tree(t.get(), tree_depth) ? 0 : 1;
  if (broken_tokens || broken_trees)
    std::fprintf(stderr,
                 "stop_blocked_tricolor: VERIFY FAILED: %" PRIu64 " thread object(s), %" PRIu64
                 " tree(s) broken\n",
                 broken_tokens, broken_trees);
  const char* verified = broken_tokens || broken_trees ? "FAILED" : "ok";

  summary pause = summarize(pause_ns), ttsp = summarize(ttsp_ns),
          stopped = summarize(stopped_ns), start = summarize(start_ns),
          term = summarize(term_ns);
  double live_mib = static_cast<double>(base.live_bytes) / 1048576.0;
  if (registered_min == UINT64_MAX) registered_min = 0;
  std::printf(
      "stop_blocked_tricolor: threads=%u mode=%s collector=%s cycles=%u registered=%" PRIu64
      "-%" PRIu64 " stacks=%.1fKiB live=%.1fMiB pauses=%zu unseen=%" PRIu64 " retries=%" PRIu64
      " pause_us max=%s p99=%s p50=%s ttsp_us max=%s p99=%s p50=%s stopped_us p50=%s "
      "mark_start_us p50=%s mark_termination_us p50=%s result=ok verify=%s\n",
      opts.threads, mode_name(opts.mode), collector, opts.cycles, registered_min,
      registered_max, static_cast<double>(stacks_bytes) / 1024.0, live_mib, pause_ns.size(),
      unseen, retries, fmt_us(pause, &summary::max_us).c_str(), fmt_us(pause, &summary::p99_us).c_str(),
      fmt_us(pause, &summary::p50_us).c_str(), fmt_us(ttsp, &summary::max_us).c_str(),
      fmt_us(ttsp, &summary::p99_us).c_str(), fmt_us(ttsp, &summary::p50_us).c_str(),
      fmt_us(stopped, &summary::p50_us).c_str(), fmt_us(start, &summary::p50_us).c_str(),
      fmt_us(term, &summary::p50_us).c_str(), verified);
  if (opts.json) {
    std::printf(
        "%s, \"registered_min\": %" PRIu64 ", \"registered_max\": %" PRIu64
        ", \"stacks_bytes\": %" PRIu64 ", \"live_mib\": %.2f, \"pauses\": %zu, \"unseen_pauses\": %" PRIu64
        ", \"termination_retries\": %" PRIu64
        ", \"pause_us\": %s, \"ttsp_us\": %s, \"stopped_us\": %s, \"mark_start_us\": %s, "
        "\"mark_termination_us\": %s, \"result\": \"ok\", \"verify\": \"%s\"}\n",
        hang_json_prefix, registered_min, registered_max, stacks_bytes, live_mib, pause_ns.size(), unseen,
        retries, json_us(pause).c_str(), json_us(ttsp).c_str(), json_us(stopped).c_str(),
        json_us(start).c_str(), json_us(term).c_str(), verified);
  }
  std::fflush(stdout);
  return broken_tokens || broken_trees ? 1 : 0;
}
