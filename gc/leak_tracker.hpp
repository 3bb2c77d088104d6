// Leak tracking: attribution of marked memory to roots, per-root history,
// suspects (include/tricolor/leak_report.hpp is the user's side).
//
// Root identity. Every root the collector marks from gets a small id (at
// most max_root_ids; 0 is "unattributed": objects shaded by the write
// barrier, which are reached from no root the collector can name). Roots
// are grouped the way a user names them:
//   * a gc_root by (name, file, line): every handle created at one place
//     under one name is one root (a std::vector<gc_root<T>> filled in a loop
//     is one root, not a million);
//   * a global or static variable by its ELF symbol (roots/data_symbols.hpp);
//     words of a data segment that no symbol covers go to the module;
//   * a thread's stack and registers by thread id; its thread_local
//     variables by their ELF symbol (STT_TLS) and the thread id, the words
//     of its TLS blocks no symbol covers by module and thread;
//   * root_allocator blocks, coroutine frames and exception objects by kind.
// Ids are handed out by the collector thread only (while it visits roots:
// in the mark-start pause for the root snapshot, after it for handles), so
// the table needs no lock for them; its readers (the report) take `lock`.
//
// Attribution ("first reached from", in marking order). A mark_item carries
// the id of the root its object was reached from; shading a child passes the
// id on. So each marked object is credited to exactly one root: the one
// whose traversal set its mark bit. An object reachable from two roots goes
// to whichever reached it first, which can change from cycle to cycle;
// objects allocated during marking are black without being scanned, and are
// credited in the next cycle. A root that alone holds a structure is
// credited with all of it that existed when marking began: its retained
// size. Each marker counts in a private tally (root_tally) and adds it to
// the cycle's totals at the end of each marking session, before the marker
// reports itself idle, so the totals are complete when marking terminates.
//
// Growth rule. At the end of each cycle every root seen gets a history
// point (bytes, objects). A root is a growth suspect when it has been seen
// in each of the last 2W + 1 cycles (W = leakcycles, default 16), and over
// the last W of them its bytes grew in at least 3W/4 and now exceed those
// W cycles ago by at least growth_threshold_bytes and by 10 %, and exceed
// every figure the root had before those W cycles (a new high). The first
// W cycles of a root are its warm-up, never judged: a program builds its
// long-lived structures at start (binary-trees' long-lived tree grows over
// its first 8 cycles, from its main thread's stack). The new high keeps a
// large temporary structure quiet when it is built over many cycles but
// never outgrows what the same root held before (binary-trees' deepest
// trees, from the same stack, after its larger stretch tree). A thread's
// stack is judged only if its thread was blocked at the start of at least
// half the cycles of the window (a worker that piles up buffers between
// waits): a
// running thread's stack holds its work in progress, and stale words of its
// frames (binary-trees' main thread grew past its earlier high in one run
// of four, with a default window, before this). A suspect stops being
// one when W cycles pass without growth. A steady program stays quiet: a
// bounded cache's bytes go up and down, and request-scoped memory belongs
// to stacks that grow and shrink.
//
// Retained size. Once a root is a growth suspect, every later cycle marks it
// after the other roots of its group: the objects its words point to are
// held back when it is visited and shaded only when marking from the rest
// of the group has terminated (gc/marker.hpp, holding_roots), one held
// root at a time. The groups are marked in order: named roots (variables,
// gc_roots, root ranges), then stacks and thread_locals. So a suspect
// variable or gc_root is credited with what no other named root reaches,
// and a suspect stack with what no other root at all reaches: what
// clearing it would free as of mark start, its retained size (as a
// dominator tree computes it for a heap dump), except that a named root's
// figure leaves out the stacks' references into its structure: words of
// the running code that uses it, transient, which would otherwise make the
// figure fall to nothing whenever a thread was using the structure at mark
// start. Two more exceptions: objects the write barrier shaded while the
// root was held are credited to no root (a structure being mutated while
// marked), and with several suspects, those released earlier are credited
// also with what they share with those released later (each is exact when
// they share nothing). The suspect's report says when its figure is the
// retained size (leak_suspect::retained).
//
// Blocked-thread rule. A stack root is a blocked-thread suspect when its
// thread was blocked in the same wait (root_identity::wait: it did not
// wake in between) at the start of each of the last W + 1 cycles, and its
// retained size is at least blocked_thread_threshold_bytes: once the first
// two hold with the bytes it was credited with, the stack is marked last
// from the next cycle on, and the rule is judged on that exact figure (a
// thread waiting on a structure other roots hold too is not reported). A
// stack that is a growth suspect is reported as such only.
//
// Expectations. expect_dead() records the object's address (disguised: the
// table is never scanned, but a copy of the address must not look like a
// pointer anywhere) and the count of mark phases started so far. In each
// mark termination pause the collector looks at the mark bit of each
// expected object: clear means it is garbage (the record is dropped before
// the sweep can reuse its slot); set in a cycle that began after the call
// counts; two such cycles make a suspect. The expectations' lock is taken by
// mutators inside a runtime_section, so no thread holding it can be stopped
// and the pause can take it.
//
// Paths. For a new suspect, after the sweep, the collector thread searches
// breadth-first from the root's referents (growth: from that root alone, to
// an object it was credited with; expectation: from every root, to the
// object) over at most path_search_limit objects. It runs with the world
// running, reading fields as the concurrent marker does; nothing is freed
// until the next cycle's sweep, which this thread itself starts, so every
// object it reaches stays allocated while it reads it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "roots/root_set.hpp"

namespace tricolor::gc {
struct cycle_record;
struct leaked_channel_thread;
}

namespace tricolor::gc::leaks {

inline constexpr std::uint32_t unattributed = 0;
inline constexpr std::uint32_t max_root_ids = (1u << 20) - 1;  // mark_item::root

// leakreport=1 (fixed at the first use of the collector).
bool tracking();

// The collector thread, in the mark-start pause: whether the root snapshot
// keeps its ranges' identities and words for the path search (tracking on,
// or expect_dead objects waiting to be judged).
bool keep_root_snapshot();

// The collector thread, while visiting roots: the id of a root (made at its
// first sight). For a global range, the module's id.
std::uint32_t root_id(const roots::root_identity& root);

// The collector thread: the id of the variable that holds the word at
// `address` of the module whose id is `module_root`; the module's own id if
// no symbol covers the word. Reads the module's symbols at the first call.
std::uint32_t variable_id(std::uint32_t module_root, std::uintptr_t address);

// A marker's private counts: bytes and objects per root id, and a sample
// object per root.
class root_tally {
 public:
  void credit(std::uint32_t root, std::size_t bytes, const void* payload) {
    if (root < counts_.size()) [[likely]] {
      entry& e = counts_[root];
      if (e.objects != 0) [[likely]] {
        e.objects++;
        e.bytes += bytes;
        e.sample = payload;
        return;
      }
    }
    first_credit(root, bytes, payload);  // out of line: the marker's step stays small
  }
  // Adds the counts to the cycle's totals and clears them.
  void flush();

 private:
  struct entry {
    std::uint64_t objects = 0;
    std::uint64_t bytes = 0;
    const void* sample = nullptr;
  };
  void first_credit(std::uint32_t root, std::size_t bytes, const void* payload);
  std::vector<entry> counts_;
  std::vector<std::uint32_t> touched_;
};

// The collector thread, while visiting roots: whether root `id` is marked
// after every other root this cycle (a suspect's; "Retained size" above).
bool marked_last(std::uint32_t id);

// The collector thread, in the mark-start pause: a new cycle's totals.
void begin_cycle();
// The collector thread, before any other marker can see an item of this
// cycle (before the mark workers are first released): the totals are reset
// and sized for the ids known, with room for more.
void roots_visited();
// The collector thread, in the mark termination pause (every object
// reachable is marked): expectations checked.
void after_mark();
// The collector thread, after the sweep: history points, suspects, reports.
void end_cycle(const cycle_record& record);

// The collector thread, before end_cycle: the threads this cycle found
// leaked on channels (gc/channel_leaks.hpp).
void note_channel_leaks(const std::vector<leaked_channel_thread>& threads);

}  // namespace tricolor::gc::leaks
