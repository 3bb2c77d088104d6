// Leak tracking; see leak_tracker.hpp for attribution, the growth rule and
// the expectations' protocol, and leak_path.hpp for the path search.
#include "gc/leak_tracker.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>

#include <unistd.h>

#include "gc/channel_leaks.hpp"
#include "gc/config.hpp"
#include "gc/generations.hpp"
#include "gc/leak_path.hpp"
#include "gc/leak_report_text.hpp"
#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "gc/root_snapshot.hpp"
#include "gc/stats.hpp"
#include "roots/block_sites.hpp"
#include "roots/code_address.hpp"
#include "roots/data_symbols.hpp"
#include "roots/thread_registry.hpp"
#include "tricolor/leak_report.hpp"

namespace tricolor::gc::leaks {

namespace {

// What a root is, as reports name it.
enum class root_class : std::uint8_t {
  none, gc_root, module, variable, stack, tls, tls_variable, range
};

// Cycles an expected object may survive before it is reported.
constexpr std::uint64_t expected_death_cycles = 2;
// An address as the tables keep it: never a pointer to the object.
constexpr std::uintptr_t disguise = 0xa5a5'5a5a'a5a5'5a5aull;

struct history_point {
  std::uint64_t cycle;
  std::uint64_t bytes;
  std::uint64_t objects;
  std::uint64_t time_ns;
  bool blocked;  // a stack root: its thread was blocked at that cycle's start
  std::uint64_t wait;  // then, which wait (root_identity::wait)
  bool retained;  // marked last: bytes and objects are its retained size
};

struct root_record {
  root_class cls = root_class::none;
  leak_root identity;
  // What the root was looked up by (pointers that stay valid while the root
  // exists: gc_root names are literals or interned, files are literals).
  const void* key_name = nullptr;
  const void* key_file = nullptr;
  // Globals: the module's load bias and symbols (a module root), or the
  // variable's extent and module id (a variable root).
  std::uintptr_t load_bias = 0;
  std::unique_ptr<roots::module_symbols> symbols;
  std::string symbols_path;  // a tls root: its module (symbols shared by path)
  std::vector<std::uint32_t> variable_ids;  // per symbol; 0: none yet
  std::uint32_t module = 0;
  std::uintptr_t begin = 0, end = 0;
  // A root_allocator block's allocation site, named when first reported.
  const roots::block_site* site = nullptr;
  // History.
  std::uint64_t first_cycle = 0;
  std::uint64_t first_seen_ns = 0;
  std::deque<history_point> history;  // consecutive cycles, newest last
  std::uint64_t peak_dropped = 0;      // the most bytes of the points dropped
  // A stack root: the mark phase (marks_started) in which its thread was
  // last found blocked.
  std::uint64_t blocked_in_mark = 0;
  std::uint64_t wait_in_mark = 0;  // and in which wait
  // Growth suspect state.
  bool suspect = false;
  bool marked_last = false;  // this cycle (set when it begins)
  // Blocked-thread rule (a stack root): long enough in one wait with much
  // memory, to be measured (marked last) next cycle; and found so then.
  bool blocked_candidate = false;
  bool blocked_suspect = false;
  std::uint64_t quiet_cycles = 0;
  const void* sample = nullptr;  // this cycle's (disguised)
  std::vector<leak_path_hop> path;
  std::string frame;  // a stack root: the function whose frame holds the path's first word
  std::vector<leak_type_share> top_types;
  std::vector<leak_site_share> top_sites;
  std::vector<std::string> stack;  // a blocked-thread suspect's functions
};

struct root_key {
  root_class cls;
  const void* a;
  const void* b;
  unsigned line;
  pid_t thread;
  bool operator==(const root_key&) const = default;
};
struct root_key_hash {
  std::size_t operator()(const root_key& k) const noexcept {
    std::size_t h = static_cast<std::size_t>(k.cls);
    auto mix = [&](std::size_t v) { h = (h ^ v) * 0x9e3779b97f4a7c15ull; };
    mix(reinterpret_cast<std::uintptr_t>(k.a));
    mix(reinterpret_cast<std::uintptr_t>(k.b));
    mix(k.line);
    mix(static_cast<std::size_t>(k.thread));
    return h ^ (h >> 29);
  }
};

struct cycle_total {
  std::atomic<std::uint64_t> objects{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uintptr_t> sample{0};  // disguised
};

struct expectation {
  std::uintptr_t object = 0;  // disguised
  std::string why;
  std::string file;
  unsigned line = 0;
  std::uint64_t marks_at_call = 0;
  std::uint64_t registered_ns = 0;
  std::uint64_t cycles_alive = 0;
  bool suspect = false;
  bool searched = false;    // its path was looked for
  std::uint32_t root = 0;   // where the path starts (0: none found)
  std::vector<leak_path_hop> path;
};

using expectation_key = std::tuple<std::string, std::string, unsigned, std::uint32_t>;
struct expectation_group {
  bool reported = false;
  std::size_t searched_members = 0;
  std::uint64_t reached_bytes = 0;
  std::vector<leak_type_share> top_types;
  std::vector<leak_site_share> top_sites;
};

struct tracker {
  // The collector thread's (see leak_tracker.hpp); `lock` guards what the
  // report reads: published, and the records' identities.
  std::vector<root_record> records;
  std::unordered_map<root_key, std::uint32_t, root_key_hash> ids;
  // This cycle's totals: sized in roots_visited() for the ids known then
  // plus room for those made later in the cycle (a deferred thread's stack,
  // say); an id past the end is counted as "other roots".
  std::atomic<cycle_total*> totals{nullptr};
  std::atomic<std::size_t> totals_size{0};
  // Mark phases begun: written in the mark-start pause, read by expect_dead
  // in a runtime_section (which no pause overlaps).
  std::atomic<std::uint64_t> marks_started{0};
  // Some record is marked last this cycle (the collector thread's).
  bool any_marked_last = false;
  // Expectations: mutators add (in a runtime_section), the collector checks.
  std::mutex expectations_lock;
  std::vector<expectation> expectations;
  std::atomic<std::size_t> expectations_pending{0};  // expectations.size()
  // The last cycle's suspects, for leak_report().
  std::mutex published_lock;
  std::vector<leak_suspect> published;
  std::uint64_t published_cycle = 0;
  // Expectation suspects are reported by (reason, file, line, root).
  std::map<expectation_key, expectation_group> expectation_groups;
  // This cycle's threads leaked on channels, and those already printed (by
  // thread id and channel type).
  std::vector<leaked_channel_thread> channel_leaks;
  std::set<std::pair<pid_t, std::string>> channel_leaks_printed;
  // thread_local symbol tables, by module path (tls_variable_id).
  std::map<std::string, std::unique_ptr<roots::module_symbols>> tls_symbols;
};

tracker& the_tracker() {
  static auto* t = [] {
    auto* made = new tracker();  // never destroyed: used until exit
    made->records.resize(2);
    made->records[0].identity = {"unattributed", "reached through the write barrier", "", 0, 0};
    made->records[1].identity = {"other roots", "more roots than the table holds", "", 0, 0};
    return made;
  }();
  return *t;
}

root_class class_of(const roots::root_identity& root) {
  switch (root.kind) {
    case roots::root_kind::global: return root_class::module;
    case roots::root_kind::stack:
    case roots::root_kind::registers: return root_class::stack;
    case roots::root_kind::tls: return root_class::tls;
    case roots::root_kind::handle: return root_class::gc_root;
    case roots::root_kind::range: return root_class::range;
  }
  return root_class::none;
}

const char* kind_name(root_class c) {
  switch (c) {
    case root_class::gc_root: return "gc_root";
    case root_class::module: return "module data";
    case root_class::variable: return "global";
    case root_class::stack: return "thread stack";
    case root_class::tls: return "thread_local storage";
    case root_class::tls_variable: return "thread_local";
    case root_class::range: return "root range";
    case root_class::none: break;
  }
  return "unattributed";
}

std::uint32_t add_record(tracker& t, root_record record) {
  if (t.records.size() > max_root_ids) return 1;
  std::lock_guard guard(t.published_lock);
  t.records.push_back(std::move(record));
  return static_cast<std::uint32_t>(t.records.size() - 1);
}

std::uint64_t monotonic_now() { return monotonic_ns(); }

std::string executable_path() {
  char path[4096];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  return n > 0 ? std::string(path, static_cast<std::size_t>(n)) : "(executable)";
}

}  // namespace

bool tracking() {
  static const bool on = environment_config().leakreport;
  return on;
}

}  // namespace tricolor::gc::leaks

namespace tricolor::roots {
bool record_root_block_sites() { return gc::leaks::tracking(); }
}  // namespace tricolor::roots

namespace tricolor::gc::leaks {

bool keep_root_snapshot() {
  return tracking() || the_tracker().expectations_pending.load(std::memory_order_relaxed) > 0;
}

std::uint32_t root_id(const roots::root_identity& root) {
  tracker& t = the_tracker();
  root_class cls = class_of(root);
  root_key key{cls, nullptr, nullptr, 0, 0};
  switch (cls) {
    case root_class::stack: key.thread = root.thread; break;
    case root_class::tls:
      key.a = root.file;  // the module
      key.thread = root.thread;
      break;
    case root_class::module: key.a = root.name; break;
    case root_class::range: key = {cls, root.name, root.site, 0, 0}; break;
    default: key = {cls, root.name, root.file, root.line, 0};
  }
  auto found = t.ids.find(key);
  auto note_blocked = [&](root_record& r) {
    if (!root.blocked) return;
    r.blocked_in_mark = t.marks_started.load(std::memory_order_relaxed);
    r.wait_in_mark = root.wait;
  };
  if (found != t.ids.end()) {
    note_blocked(t.records[found->second]);
    return found->second;
  }
  root_record r;
  note_blocked(r);
  r.cls = cls;
  r.key_name = root.name;
  r.key_file = root.file;
  r.load_bias = root.load_bias;
  std::string name = root.name ? root.name : "";
  if (cls == root_class::range) r.identity.kind = name;
  else r.identity.kind = kind_name(cls);
  r.identity.name = cls == root_class::range ? "" : name;
  r.identity.file = root.file ? root.file : "";
  r.identity.line = root.line;
  r.identity.thread = root.thread;
  r.site = static_cast<const roots::block_site*>(root.site);
  if (cls == root_class::module) {
    r.identity.file = name == "(executable)" ? executable_path() : name;
    r.identity.name = "";
  }
  if (cls == root_class::tls) {
    std::string module = root.file ? root.file : "";
    r.symbols_path = module;
    r.identity.file = module == "(executable)" ? executable_path() : module;
  }
  std::uint32_t id = add_record(t, std::move(r));
  t.ids.emplace(key, id);
  return id;
}

// A tls root's variable: its module's thread_local symbols (read once per
// module, shared by every thread) at their offsets from the block's start.
std::uint32_t tls_variable_id(tracker& t, std::uint32_t block_root, std::uintptr_t address) {
  root_record& block = t.records[block_root];
  std::unique_ptr<roots::module_symbols>& symbols = t.tls_symbols[block.symbols_path];
  if (!symbols) symbols = std::make_unique<roots::module_symbols>(block.symbols_path, 0, true);
  if (block.variable_ids.empty()) block.variable_ids.assign(symbols->size(), 0);
  const roots::data_symbol* symbol = symbols->find(address - block.load_bias);
  if (symbol == nullptr) return block_root;
  std::uint32_t& id = block.variable_ids[symbols->index_of(symbol)];
  if (id == 0) {
    root_record r;
    r.cls = root_class::tls_variable;
    r.identity = {"thread_local", symbol->name, block.identity.file, 0, block.identity.thread};
    r.module = block_root;
    r.begin = block.load_bias + symbol->begin;
    r.end = block.load_bias + symbol->end;
    id = add_record(t, std::move(r));
  }
  return id;
}

std::uint32_t variable_id(std::uint32_t module_root, std::uintptr_t address) {
  tracker& t = the_tracker();
  root_record& module = t.records[module_root];
  if (module.cls == root_class::tls) return tls_variable_id(t, module_root, address);
  if (module.cls != root_class::module) return module_root;
  if (!module.symbols) {
    module.symbols = std::make_unique<roots::module_symbols>(
        static_cast<const char*>(module.key_name), module.load_bias);
    module.variable_ids.assign(module.symbols->size(), 0);
  }
  const roots::data_symbol* symbol = module.symbols->find(address);
  if (symbol == nullptr) return module_root;
  std::uint32_t& id = module.variable_ids[module.symbols->index_of(symbol)];
  if (id == 0) {
    root_record r;
    r.cls = root_class::variable;
    r.identity = {"global", symbol->name, module.identity.file, 0, 0};
    r.module = module_root;
    r.begin = symbol->begin;
    r.end = symbol->end;
    id = add_record(t, std::move(r));
  }
  return id;
}

void root_tally::first_credit(std::uint32_t root, std::size_t bytes, const void* payload) {
  if (root >= counts_.size()) counts_.resize(std::size_t{root} + 1);
  entry& e = counts_[root];
  if (e.objects == 0) touched_.push_back(root);
  e.objects++;
  e.bytes += bytes;
  e.sample = payload;
}

void root_tally::flush() {
  if (touched_.empty()) return;
  tracker& t = the_tracker();
  cycle_total* totals = t.totals.load(std::memory_order_acquire);
  const std::size_t size = t.totals_size.load(std::memory_order_relaxed);
  for (std::uint32_t root : touched_) {
    entry& e = counts_[root];
    if (totals != nullptr) {
      cycle_total& total = totals[root < size ? root : 1];
      total.objects.fetch_add(e.objects, std::memory_order_relaxed);
      total.bytes.fetch_add(e.bytes, std::memory_order_relaxed);
      total.sample.store(reinterpret_cast<std::uintptr_t>(e.sample) ^ disguise,
                         std::memory_order_relaxed);
    }
    e = entry{};
  }
  touched_.clear();
}

bool marked_last(std::uint32_t id) {
  tracker& t = the_tracker();
  return t.any_marked_last && id < t.records.size() && t.records[id].marked_last;
}

void begin_cycle() {
  tracker& t = the_tracker();
  t.marks_started.fetch_add(1, std::memory_order_relaxed);
  t.any_marked_last = false;
  for (root_record& r : t.records) {
    r.marked_last = r.suspect || r.blocked_candidate;
    t.any_marked_last |= r.marked_last;
  }
}

void roots_visited() {
  tracker& t = the_tracker();
  if (!tracking()) return;
  constexpr std::size_t room_for_later_ids = 4096;
  if (t.totals_size.load(std::memory_order_relaxed) < t.records.size() + room_for_later_ids / 2) {
    delete[] t.totals.load(std::memory_order_relaxed);
    std::size_t size = t.records.size() + t.records.size() / 2 + room_for_later_ids;
    t.totals_size.store(size, std::memory_order_relaxed);
    t.totals.store(new cycle_total[size], std::memory_order_release);
    return;
  }
  cycle_total* totals = t.totals.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < t.totals_size.load(std::memory_order_relaxed); ++i) {
    totals[i].objects.store(0, std::memory_order_relaxed);
    totals[i].bytes.store(0, std::memory_order_relaxed);
    totals[i].sample.store(0, std::memory_order_relaxed);
  }
}

void after_mark() {
  tracker& t = the_tracker();
  // The world is stopped and no thread holding the lock can be (leak_tracker.hpp).
  std::lock_guard guard(t.expectations_lock);
  std::erase_if(t.expectations, [&](expectation& e) {
    if (!is_marked(reinterpret_cast<const void*>(e.object ^ disguise))) return true;
    // A minor cycle leaves old objects marked, reachable or not
    // (gc/generations.hpp): only a full mark says the object lives.
    if (generations::minor_marking()) return false;
    if (t.marks_started.load(std::memory_order_relaxed) > e.marks_at_call &&
        ++e.cycles_alive >= expected_death_cycles)
      e.suspect = true;
    return false;
  });
  t.expectations_pending.store(t.expectations.size(), std::memory_order_relaxed);
}

namespace {

// The growth rule of leak_tracker.hpp: seen in the last 2 * window + 1
// cycles, growing over the newest window + 1 points.
bool grows(const root_record& r, std::size_t window) {
  if (r.history.size() < 2 * window + 1) return false;
  std::size_t first = r.history.size() - window - 1;
  if (r.history.back().cycle - r.history[first].cycle != window) return false;
  // A running thread's stack holds the work in progress (a structure being
  // built over many cycles, stale words of its frames): only a thread that
  // was blocked at the start of at least half the cycles of the window is
  // judged by its growth (a thread that mostly waits is caught running now
  // and then: leak_report_test's grower was, in up to 6 cycles of 20).
  if (r.cls == root_class::stack) {
    std::size_t blocked = 0;
    for (std::size_t i = first + 1; i < r.history.size(); ++i) blocked += r.history[i].blocked;
    if (blocked * 2 < window) return false;
  }
  std::size_t increases = 0;
  for (std::size_t i = first + 1; i < r.history.size(); ++i)
    increases += r.history[i].bytes > r.history[i - 1].bytes;
  std::uint64_t before = r.history[first].bytes, now = r.history.back().bytes;
  // A new high: above anything the root held before the window.
  std::uint64_t earlier_peak = r.peak_dropped;
  for (std::size_t i = 0; i < first; ++i) earlier_peak = std::max(earlier_peak, r.history[i].bytes);
  return increases * 4 >= window * 3 && now >= before + growth_threshold_bytes &&
         now >= before + before / 10 && now > earlier_peak;
}

leak_suspect describe(const root_record& r, std::size_t window) {
  leak_suspect s;
  s.why = leak_suspect::reason::growth;
  s.root = r.identity;
  const history_point& now = r.history.back();
  s.first_seen_cycle = r.first_cycle;
  s.age_cycles = now.cycle - r.first_cycle;
  s.age_seconds = static_cast<double>(now.time_ns - r.first_seen_ns) / 1e9;
  s.bytes = now.bytes;
  s.objects = now.objects;
  s.retained = now.retained;
  std::size_t span = std::min(window, r.history.size() - 1);
  const history_point& then = r.history[r.history.size() - 1 - span];
  s.window_cycles = span;
  if (span > 0) {
    double gained = static_cast<double>(now.bytes) - static_cast<double>(then.bytes);
    s.growth_bytes_per_cycle = gained / static_cast<double>(span);
    double seconds = static_cast<double>(now.time_ns - then.time_ns) / 1e9;
    s.growth_bytes_per_second = seconds > 0 ? gained / seconds : 0;
  }
  s.top_types = r.top_types;
  s.top_sites = r.top_sites;
  s.path = r.path;
  s.frame = r.frame;
  return s;
}

// The sources of a path search from record `id`, or from every root when
// id == 0 (records are made for roots not seen yet: this is the collector
// thread, which owns the table).
void add_sources(tracker& t, std::uint32_t id, path_search& search, bool stacks = true) {
  const root_record* only = id == 0 ? nullptr : &t.records[id];
  if (only == nullptr || only->cls == root_class::gc_root) {
    search.add_handles([&](const roots::root_identity& h) -> std::uint32_t {
      if (only == nullptr) return root_id(h);
      return h.name == only->key_name && h.file == only->key_file && h.line == only->identity.line
                 ? id
                 : 0;
    });
  }
  if (only == nullptr || only->cls == root_class::range) {
    search.add_root_ranges([&](const roots::root_identity& range) -> std::uint32_t {
      if (only == nullptr) return root_id(range);
      return range.name == only->key_name && range.site == only->site ? id : 0;
    });
  }
  if (!the_root_snapshot().kept()) {
    // No snapshot was kept (the cycle began before the first expect_dead):
    // the data segments as they are now (the stacks cannot be read while
    // their threads run).
    search.add_data_segments([&](const roots::root_identity& module, std::uintptr_t address) {
      return variable_id(root_id(module), address);
    });
    return;
  }
  // Stacks, TLS and data segments: the words of this cycle's root snapshot.
  search.add_snapshot([&](std::uint32_t segment_root, std::uintptr_t address) -> std::uint32_t {
    std::uint32_t root = segment_root;
    root_class cls = segment_root < t.records.size() ? t.records[segment_root].cls : root_class::none;
    if (!stacks && (cls == root_class::stack || cls == root_class::tls)) return 0;
    if (cls == root_class::module || cls == root_class::tls) root = variable_id(segment_root, address);
    return id == 0 || root == id ? root : 0;
  });
}

std::uint64_t offset_in_root(const tracker& t, std::uint32_t root, std::uintptr_t address,
                             std::uintptr_t range_begin) {
  const root_record& r = t.records[root];
  if (r.cls == root_class::variable || r.cls == root_class::tls_variable) return address - r.begin;
  return address - range_begin;
}

constexpr std::size_t frames_reported = 12;

// A root_allocator root's name: the function that allocated its blocks
// (named once, under the lock the report's readers take).
void name_block_site(tracker& t, root_record& r) {
  if (r.site == nullptr || !r.identity.name.empty()) return;
  std::string function = roots::describe_block_site(*r.site);
  std::lock_guard guard(t.published_lock);
  r.identity.name = std::move(function);
}

// The function whose frame holds the stack word at `word` (a range of the
// root snapshot beginning at `range_begin`): the one the nearest return
// address below the word returns into (a frame lies above the return
// address its callee pushed). With none below, the word is in the
// innermost frame, that of the call the thread stopped in (a blocking
// call): what it holds of the program's is a register of its caller,
// saved in its prologue, and the caller is the function the nearest
// return address above returns into. For a word of the thread's
// callee-saved registers, says so. Empty if nothing is found.
std::string frame_holding(std::uintptr_t word, std::uintptr_t range_begin) {
  std::string frame;
  the_root_snapshot().for_each_range([&](const root_snapshot::range& range) {
    if (!frame.empty() || range.global || range.address != range_begin) return;
    if (word < range.address || word >= range.address + range.count * sizeof(void*)) return;
    if (range.registers) {
      frame = "(a callee-saved register)";
      return;
    }
    constexpr std::size_t words_looked_at = 4096;
    std::size_t at = (word - range.address) / sizeof(void*);
    const std::size_t slot = at;
    for (std::size_t looked = 0; at > 0 && looked < words_looked_at && frame.empty(); ++looked)
      frame = roots::describe_return_address(range.words[--at]);
    if (!frame.empty() || at != 0) return;
    for (std::size_t above = slot + 1; above < range.count && above - slot < words_looked_at; ++above) {
      std::string caller = roots::describe_return_address(range.words[above]);
      if (caller.empty()) continue;
      frame = "(a register of " + caller.substr(0, caller.find(" in ")) +
              ", saved by the call it is blocked in)";
      return;
    }
  });
  return frame;
}

// The functions on the stack of stack root `id`, innermost first (its
// largest range of the root snapshot: the stack, not the registers).
std::vector<std::string> stack_functions(std::uint32_t id) {
  const std::uintptr_t* words = nullptr;
  std::size_t count = 0;
  the_root_snapshot().for_each_range([&](const root_snapshot::range& range) {
    if (range.root == id && !range.global && range.count > count) {
      words = range.words;
      count = range.count;
    }
  });
  return roots::functions_on_stack(words, count, frames_reported);
}

// Searches the path from root `id` to its sample object, and the types it
// reaches, into the record.
void search_path(tracker& t, std::uint32_t id) {
  root_record& r = t.records[id];
  name_block_site(t, r);
  path_search search;
  add_sources(t, id, search);
  path_result found = std::move(
      search.run({reinterpret_cast<std::uintptr_t>(r.sample) ^ disguise}, false).front());
  r.top_types = std::move(found.top_types);
  r.top_sites = std::move(found.top_sites);
  r.path = std::move(found.path);
  r.frame.clear();
  if (r.path.empty()) return;
  r.path.front().offset = offset_in_root(t, id, found.root_word, found.root_range_begin);
  if (r.cls == root_class::stack)
    r.frame = frame_holding(found.root_word, found.root_range_begin);
}

// The blocked-thread rule of leak_tracker.hpp for stack root `id`.
void judge_blocked_thread(tracker& t, std::uint32_t id, std::size_t window,
                          std::vector<leak_suspect>& suspects, std::vector<leak_suspect>& newly_found) {
  root_record& r = t.records[id];
  const history_point& now = r.history.back();
  std::size_t in_wait = 0;  // the newest consecutive points in this wait
  while (in_wait < r.history.size()) {
    const history_point& p = r.history[r.history.size() - 1 - in_wait];
    if (!p.blocked || p.wait != now.wait || now.cycle - p.cycle != in_wait) break;
    ++in_wait;
  }
  if (in_wait < window + 1 || now.bytes < blocked_thread_threshold_bytes) {
    r.blocked_candidate = r.blocked_suspect = false;
    return;
  }
  r.blocked_candidate = true;  // marked last from the next cycle on
  if (!now.retained) return;
  const bool found_now = !r.blocked_suspect;
  if (found_now) {
    r.blocked_suspect = true;
    search_path(t, id);
    r.stack = stack_functions(id);
  }
  leak_suspect s = describe(r, window);
  s.why = leak_suspect::reason::blocked_thread;
  s.growth_bytes_per_cycle = s.growth_bytes_per_second = 0;
  s.window_cycles = 0;
  s.blocked_seconds =
      static_cast<double>(now.time_ns - r.history[r.history.size() - in_wait].time_ns) / 1e9;
  s.age_cycles = in_wait - 1;
  s.stack = r.stack;
  if (found_now) newly_found.push_back(s);
  suspects.push_back(std::move(s));
}

void print_suspect(const leak_suspect& s) {
  std::string text = format_suspect(s);
  std::fwrite(text.data(), 1, text.size(), stderr);
}

void print_summary_at_exit() {
  std::vector<leak_suspect> suspects = tricolor::leak_report();
  std::string text = "tricolor: leak report at exit: " + std::to_string(suspects.size()) +
                     (suspects.size() == 1 ? " suspect\n" : " suspects\n");
  for (const leak_suspect& s : suspects) text += format_suspect(s);
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace

void end_cycle(const cycle_record& record) {
  tracker& t = the_tracker();
  const config& settings = environment_config();
  const std::size_t window = static_cast<std::size_t>(settings.leak_cycles);
  const std::uint64_t now_ns = monotonic_now();
  std::vector<leak_suspect> suspects;
  std::vector<leak_suspect> newly_found;

  if (tracking()) {
    static const bool summary_registered = [] { return std::atexit(print_summary_at_exit) == 0; }();
    (void)summary_registered;
    cycle_total* totals = t.totals.load(std::memory_order_relaxed);
    for (std::size_t id = 2; id < t.records.size() && id < t.totals_size.load(std::memory_order_relaxed);
         ++id) {
      std::uint64_t objects = totals[id].objects.load(std::memory_order_relaxed);
      if (objects == 0) continue;
      root_record& r = t.records[id];
      if (r.history.empty()) {
        r.first_cycle = record.number;
        r.first_seen_ns = now_ns;
      } else if (r.history.back().cycle + 1 != record.number) {
        r.history.clear();  // not seen in every cycle: a new streak
        r.peak_dropped = 0;
      }
      const bool blocked = r.blocked_in_mark == t.marks_started.load(std::memory_order_relaxed);
      r.history.push_back({record.number, totals[id].bytes.load(std::memory_order_relaxed),
                           objects, now_ns, blocked, blocked ? r.wait_in_mark : 0,
                           r.marked_last});
      while (r.history.size() > 2 * window + 1) {
        r.peak_dropped = std::max(r.peak_dropped, r.history.front().bytes);
        r.history.pop_front();
      }
      r.sample = reinterpret_cast<const void*>(totals[id].sample.load(std::memory_order_relaxed));
      if (grows(r, window)) {
        r.quiet_cycles = 0;
        if (!r.suspect) {
          r.suspect = true;
          search_path(t, static_cast<std::uint32_t>(id));
          newly_found.push_back(describe(r, window));
        }
      } else if (r.suspect && r.history.size() >= 2 &&
                 r.history.back().bytes <= r.history[r.history.size() - 2].bytes &&
                 ++r.quiet_cycles >= window) {
        r.suspect = false;
      }
      if (r.suspect) suspects.push_back(describe(r, window));
      if (r.cls == root_class::stack && !r.suspect) {
        judge_blocked_thread(t, static_cast<std::uint32_t>(id), window, suspects, newly_found);
      } else {
        r.blocked_candidate = r.blocked_suspect = false;
      }
    }
    // Roots not seen this cycle keep no streak.
    for (std::size_t id = 2; id < t.records.size(); ++id) {
      root_record& r = t.records[id];
      if (!r.history.empty() && r.history.back().cycle != record.number) {
        r.history.clear();
        r.peak_dropped = 0;
        r.suspect = r.blocked_candidate = r.blocked_suspect = false;
      }
    }
  }

  // Expectations (with or without tracking): one search for the paths of
  // all new suspects, then one report per (reason, call site, root).
  {
    std::lock_guard guard(t.expectations_lock);
    std::vector<expectation*> fresh;
    std::vector<std::uintptr_t> targets;
    for (expectation& e : t.expectations) {
      if (e.suspect && !e.searched) {
        fresh.push_back(&e);
        targets.push_back(e.object ^ disguise);
      }
    }
    // First from every root but the stacks, then what is left from all: a
    // stack word may be a stale copy in a frame (stacks are scanned
    // conservatively), so a path from a variable or a gc_root is the
    // better account of a leak when both exist.
    for (bool stacks : {false, true}) {
      if (fresh.empty()) break;
      path_search search;
      add_sources(t, 0, search, stacks);
      std::vector<path_result> found = search.run(targets, /*stop_when_found=*/true);
      std::vector<expectation*> left;
      std::vector<std::uintptr_t> left_targets;
      for (std::size_t i = 0; i < fresh.size(); ++i) {
        expectation& e = *fresh[i];
        if (found[i].path.empty() && !stacks) {
          left.push_back(&e);
          left_targets.push_back(targets[i]);
          continue;
        }
        e.searched = true;
        e.root = found[i].root;
        e.path = std::move(found[i].path);
        if (!e.path.empty())
          e.path.front().offset =
              offset_in_root(t, e.root, found[i].root_word, found[i].root_range_begin);
      }
      fresh = std::move(left);
      targets = std::move(left_targets);
    }
    std::map<expectation_key, leak_suspect> groups;
    std::map<expectation_key, std::vector<std::uintptr_t>> members;
    for (const expectation& e : t.expectations) {
      if (!e.suspect) continue;
      expectation_key key{e.why, e.file, e.line, e.root};
      members[key].push_back(e.object ^ disguise);
      leak_suspect& s = groups[key];
      if (s.objects == 0) {
        s.why = leak_suspect::reason::expected_dead;
        if (e.root != 0) name_block_site(t, t.records[e.root]);
        s.root = e.root != 0 ? t.records[e.root].identity
                             : leak_root{"unknown", "no path from a root was found", "", 0, 0};
        s.path = e.path;
        s.expectation = e.why;
        s.expected_at_file = e.file;
        s.expected_at_line = e.line;
      }
      s.objects++;
      s.age_cycles = std::max(s.age_cycles, e.cycles_alive);
      s.age_seconds = std::max(s.age_seconds, static_cast<double>(now_ns - e.registered_ns) / 1e9);
    }
    for (auto& [key, s] : groups) {
      // What the group's objects keep reachable, searched again when the
      // group changed.
      expectation_group& g = t.expectation_groups[key];
      const std::vector<std::uintptr_t>& objects = members[key];
      if (g.searched_members != objects.size()) {
        path_search search;
        search.add_objects(objects);
        path_result reached = std::move(search.run({}, false).front());
        g.searched_members = objects.size();
        g.reached_bytes = reached.reached_bytes;
        g.top_types = std::move(reached.top_types);
        g.top_sites = std::move(reached.top_sites);
      }
      s.bytes = g.reached_bytes;
      s.top_types = g.top_types;
      s.top_sites = g.top_sites;
      if (!g.reported) {
        g.reported = true;
        newly_found.push_back(s);
      }
      suspects.push_back(std::move(s));
    }
  }

  // Threads leaked on channels (found by this cycle's marking).
  for (const leaked_channel_thread& leak : t.channel_leaks) {
    leak_suspect s;
    s.why = leak_suspect::reason::leaked_thread;
    s.root = {"thread stack", leak.thread_name, "", 0, leak.thread};
    s.channel_type = leak.channel_type;
    s.sending = leak.sending;
    s.blocked_seconds = static_cast<double>(leak.blocked_ns) / 1e9;
    s.stack = leak.frames;
    if (t.channel_leaks_printed.insert({leak.thread, leak.channel_type}).second)
      newly_found.push_back(s);
    suspects.push_back(std::move(s));
  }
  t.channel_leaks.clear();

  {
    std::lock_guard guard(t.published_lock);
    t.published = std::move(suspects);
    t.published_cycle = record.number;
  }
  if (settings.leakreport)
    for (const leak_suspect& s : newly_found) print_suspect(s);
}

void note_channel_leaks(const std::vector<leaked_channel_thread>& threads) {
  the_tracker().channel_leaks = threads;
}

std::vector<leak_suspect> published_suspects(std::uint64_t& cycle) {
  tracker& t = the_tracker();
  std::lock_guard guard(t.published_lock);
  cycle = t.published_cycle;
  return t.published;
}

void add_expectation(const void* object, std::string_view why, const source_location& where) {
  tracker& t = the_tracker();
  if (object == nullptr) return;
  roots::runtime_section runtime;  // see "Expectations" in leak_tracker.hpp
  std::lock_guard guard(t.expectations_lock);
  expectation e;
  e.object = reinterpret_cast<std::uintptr_t>(object) ^ disguise;
  e.why = why;
  e.file = where.file;
  e.line = where.line;
  e.marks_at_call = t.marks_started.load(std::memory_order_relaxed);
  e.registered_ns = monotonic_now();
  t.expectations.push_back(std::move(e));
  t.expectations_pending.store(t.expectations.size(), std::memory_order_relaxed);
}

}  // namespace tricolor::gc::leaks

namespace tricolor {

void expect_dead(const void* object, std::string_view why, source_location where) {
  gc::leaks::add_expectation(object, why, where);
}

std::vector<leak_suspect> leak_report() {
  std::uint64_t cycle = 0;
  return gc::leaks::published_suspects(cycle);
}

void write_leak_report_json(std::ostream& out) {
  std::uint64_t cycle = 0;
  std::vector<leak_suspect> suspects = gc::leaks::published_suspects(cycle);
  gc::leaks::write_json(out, cycle, suspects);
}

}  // namespace tricolor
