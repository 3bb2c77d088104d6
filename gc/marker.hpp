// The marker: tri-color marking over the side mark bitmaps.
//
// Colors:
//     white  mark bit clear                      (not reached yet)
//     grey   mark bit set, item on the mark stack (reached, fields not scanned)
//     black  mark bit set, item popped and scanned (or noscan: black at once)
//
// shade(p) turns p's object grey: it sets the mark bit and pushes a
// mark_item. A noscan object is popped and dropped without being scanned, as
// black. drain() pops grey objects and scans them until no grey object is
// left; each scan shades the object's children. When drain() returns, every
// object reachable from what was shaded is black.
//
// Several markers run at once during a concurrent cycle: the mark workers
// (gc/mark_workers.hpp), the collector thread shading the roots, mutators
// assisting (assist()), mutators shading their barrier
// buffers (shade_recorded). Each has a private mark stack and exchanges work
// through the global pool (gc/work_pool.hpp); the mark bit is set with an
// atomic fetch_or (span::try_mark), so exactly one marker turns an object
// grey and pushes it. A stop-the-world cycle has a single marker, created
// `exclusive`, which sets mark bits without locked instructions.
//
// Scanning while mutators run: fields are read with atomic loads
// (gc_ptr::load_for_collector) and only from gc_ptrs a type's trace() visits,
// which must lie in managed memory (tracer.hpp); the header is read with an
// acquire load, pairing with make_gc's release store of the descriptor.
//
// How an object is scanned depends on its header (tricolor/internal/object_header.hpp):
//   * a type with trace(): trace() visits each gc_ptr (precise);
//   * a gc_array: elements in chunks of array_scan_chunk, the rest re-pushed
//     as an item with next_element, so a huge array is never one long step;
//   * header nullptr (constructor still running): every word of the slot is
//     a candidate pointer (conservative), as for stacks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_set>
#include <vector>

#include "gc/generations.hpp"
#include "gc/leak_tracker.hpp"
#include "gc/mark_stack.hpp"
#include "gc/work_pool.hpp"
#include "tricolor/tracer.hpp"
#include "heap/heap.hpp"
#include "roots/root_set.hpp"
#include "tricolor/internal/card_table.hpp"

namespace tricolor::gc {

inline constexpr std::size_t array_scan_chunk = 512;

class marker final : public tracer, public roots::root_visitor {
 public:
  explicit marker(bool exclusive);
  ~marker();

  // tracer: a precise edge from a managed object.
  void visit(const void* target) override;
  // root_visitor: roots found by roots::enumerate_roots.
  void conservative_range(const roots::root_identity& root, const void* begin,
                          const void* end) override;
  void precise(const roots::root_identity& root, const void* target) override;

  // Scans grey objects, from its own stack and from the pool, until both are
  // empty (the stop-the-world cycle's single marker).
  void drain();

  // Scans up to `budget` objects (taking work from the pool when its own
  // stack is empty); returns how many it scanned, fewer only when it found
  // no grey object left. `share` gives a batch to the pool when the pool is
  // dry while another thread wants work (an assist running, or an idle mark
  // worker that asked with request_work()).
  std::size_t drain_some(std::size_t budget, bool share = false);

  // Moves every grey object on this marker's stack into the pool.
  void give_all_to_pool();

  std::uint64_t objects_scanned() const { return scanned_; }

  // Judges `count` words copied from `address` (a root snapshot's range,
  // gc/root_snapshot.hpp) as a conservative root with leak-tracker id
  // `root`; `global`: a data segment, whose words are credited to the
  // variables that hold them.
  void scan_words(const std::uintptr_t* words, std::size_t count, std::uintptr_t address,
                  std::uint32_t root, bool global);

  // Generations (gc/generations.hpp). Pushes old object `index` of `s` for
  // scanning; its mark bit is set already and stays so.
  void push_old(heap::span* s, std::uint32_t index);
  // In a minor cycle: an old object under construction (header null) that
  // a root word points at is scanned too, once per marker (see
  // gc/generations.hpp, (b)).
  void trace_constructing_roots(bool on) { trace_constructing_roots_ = on; }

  // Leak tracking: adds this marker's counts to the cycle's totals. Called
  // at the end of each marking session, before the marker says it is idle.
  void flush_tallies() {
    if (tracking_) tally_.flush();
  }

  // Leak tracking: the objects the roots marked last (leaks::marked_last:
  // the suspects' roots) point to are held back when those roots are
  // visited, and shaded only once everything reachable from the other
  // roots is marked, one root at a time: each is then credited with
  // exactly the objects no root marked before it reaches, its retained
  // size (leak_tracker.hpp, "Retained size"). Holding back is sound: the
  // words were read from the root as any root's are (in the pause, or as a
  // handle after it), and nothing is freed before marking terminates, which
  // it cannot do while a root is held (gc/collector.cc).
  bool holding_roots() const { return !held_.empty(); }
  // Shades the held words of one root (the root visited first of those
  // left).
  void shade_next_held_root();

 private:
  // The span of a gc_ptr's target (aborts if it is not a managed object).
  heap::span* span_of_traced(const void* target);
  void shade(heap::span* s, std::uint32_t index);
  template <bool tracked>
  void mark_and_push(heap::span* s, std::uint32_t index);
  // A root's word: shaded, or held back (see holding_roots).
  void shade_from_root(heap::span* s, std::uint32_t index);
  // A conservative root's word: shade_from_root, and in a minor cycle an
  // old object under construction it points at is scanned too.
  void shade_from_root_word(heap::span* s, std::uint32_t index);
  void scan(const mark_item& item);
  // Generations: an edge from the object being scanned, through the gc_ptr
  // or word at `field`, to slot `index` of `s`. See gc/generations.hpp,
  // "Aging": the field's card is dirtied when the object being scanned is
  // aged and the target is not.
  void note_edge(const void* field, heap::span* s, std::uint32_t index) {
    if (scanning_aged_ && !s->is_aged(index)) barriers::remember_store(field);
  }
  static void record_field(tracer& self, const void* field);
  void scan_conservatively(const void* begin, const void* end);
  bool take_from_pool();
  void give_batch_to_pool(std::size_t most);
  template <class Continue>
  void drain_while(Continue&& more);

  mark_stack stack_;
  bool exclusive_;
  std::uint64_t scanned_ = 0;
  // Leak tracking: the root of the object being scanned (or the root being
  // visited), passed on to every object shaded meanwhile.
  const bool tracking_ = leaks::tracking();
  std::uint32_t current_root_ = leaks::unattributed;
  leaks::root_tally tally_;
  struct held_word {
    heap::span* owner;
    std::uint32_t index;
    std::uint32_t root;
  };
  std::vector<held_word> held_;  // in the order visited
  bool trace_constructing_roots_ = false;
  // Generations: aging on; the object being scanned has survived a cycle;
  // the gc_ptr the tracer visits (field_hook_).
  const bool aging_ = generations::enabled();
  bool scanning_aged_ = false;
  const void* field_ = nullptr;
  std::unordered_set<const void*> constructing_roots_traced_;
};

// Help the concurrent mark: an allocating thread scans up to `budget`
// objects. Returns how many it scanned.
std::size_t assist(std::size_t budget);
// Number of threads inside assist() right now.
std::size_t assists_running();
// Asks the mark workers to put work into the pool (an assist or an idle
// worker found none).
void request_work();
// Background credit: objects the mark workers scanned, which allocating
// threads draw on before they assist. take returns how much of `wanted` it
// took.
void add_background_credit(std::int64_t scanned);
std::int64_t take_background_credit(std::int64_t wanted);
// Objects scanned by workers and assists since reset_mark_counters(), which
// also clears the credit (at the start of each mark).
std::uint64_t objects_scanned_this_cycle();
void reset_mark_counters();

// True if the object containing p (a managed address) is marked.
bool is_marked(const void* p);

}  // namespace tricolor::gc
