// Marker; see marker.hpp for the color invariant.
#include "gc/marker.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "barriers/barrier_buffer.hpp"
#include "gc/generations.hpp"
#include "tricolor/internal/object_header.hpp"

namespace tricolor::gc {

using heap::object_header;
using heap::scan_kind;
using heap::span;
using heap::type_descriptor;

namespace {
std::atomic<std::size_t> running_assists{0};
std::atomic<bool> work_requested{false};
}

std::atomic<std::int64_t> background_credit{0};
std::atomic<std::uint64_t> scanned_this_cycle{0};

void add_background_credit(std::int64_t scanned) {
  background_credit.fetch_add(scanned, std::memory_order_relaxed);
  scanned_this_cycle.fetch_add(static_cast<std::uint64_t>(scanned), std::memory_order_relaxed);
}

void request_work() { work_requested.store(true, std::memory_order_relaxed); }

std::int64_t take_background_credit(std::int64_t wanted) {
  std::int64_t available = background_credit.load(std::memory_order_relaxed);
  while (available > 0) {
    std::int64_t taken = std::min(available, wanted);
    if (background_credit.compare_exchange_weak(available, available - taken,
                                                std::memory_order_relaxed))
      return taken;
  }
  return 0;
}

std::uint64_t objects_scanned_this_cycle() {
  return scanned_this_cycle.load(std::memory_order_relaxed);
}

void reset_mark_counters() {
  background_credit.store(0, std::memory_order_relaxed);
  scanned_this_cycle.store(0, std::memory_order_relaxed);
}

marker::marker(bool exclusive) : exclusive_(exclusive) {
  if (aging_) field_hook_ = &marker::record_field;
}

marker::~marker() { give_all_to_pool(); }

void marker::record_field(tracer& self, const void* field) {
  static_cast<marker&>(self).field_ = field;
}

// Two copies of the marking step, so that the one without leak tracking is
// what it was before leak tracking (two saved registers, a plain item):
// crediting a root in the same function made every shade save six
// registers, and an out-of-line credit cost tracking a call per object
// (bench/README.md, "Leak tracking's cost").
template <bool tracked>
[[gnu::noinline]] void marker::mark_and_push(span* s, std::uint32_t index) {
  if (!(exclusive_ ? s->try_mark_exclusive(index) : s->try_mark(index)))
    return;  // already grey or black
  // The object's header is not read here: that load would miss the cache
  // for nearly every object. drain() prefetches it instead and scan() reads
  // it (a noscan object then turns black without being scanned).
  const void* payload = heap::payload_of(s->slot_address(index));
  if constexpr (tracked) {
    std::size_t bytes = s->state.load(std::memory_order_relaxed) == heap::span_state::large
                            ? s->bytes()
                            : s->slot_size;
    tally_.credit(current_root_, bytes, payload);
  }
  stack_.push(mark_item::make(payload, 0, tracked ? current_root_ : leaks::unattributed));
}

inline void marker::shade(span* s, std::uint32_t index) {
  if (tracking_) [[unlikely]]
    mark_and_push<true>(s, index);
  else
    mark_and_push<false>(s, index);
}

void marker::shade_from_root(span* s, std::uint32_t index) {
  if (tracking_ && leaks::marked_last(current_root_)) [[unlikely]] {
    held_.push_back({s, index, current_root_});
    return;
  }
  shade(s, index);
}

void marker::push_old(span* s, std::uint32_t index) {
  stack_.push(mark_item::make(heap::payload_of(s->slot_address(index)), 0, leaks::unattributed));
}

void marker::shade_from_root_word(span* s, std::uint32_t index) {
  if (trace_constructing_roots_) [[unlikely]] {
    const void* payload = heap::payload_of(s->slot_address(index));
    if (generations::allocated_before_marking(s, index) &&
        heap::header_of(payload)->type.load(std::memory_order_acquire) == nullptr &&
        constructing_roots_traced_.insert(payload).second)
      push_old(s, index);
  }
  shade_from_root(s, index);
}

void marker::shade_next_held_root() {
  if (held_.empty()) return;
  const std::uint32_t root = held_.front().root;
  for (const held_word& word : held_) {
    if (word.root != root) continue;
    current_root_ = root;
    shade(word.owner, word.index);
  }
  std::erase_if(held_, [&](const held_word& word) { return word.root == root; });
}

[[gnu::always_inline]] inline span* marker::span_of_traced(const void* target) {
  // A traced gc_ptr points into an in-use span, so its page-table entry is
  // exact: one range check and one load, without find_span's stale-entry
  // filtering (kept for the diagnostic below). The acquire loads pair with
  // the release stores that publish a span (page heap, take_span), so the
  // span's fields read below are the ones its allocator wrote.
  std::size_t page = heap::page_index(target);
  span* s = page < (heap::the_arena.frontier.load(std::memory_order_acquire) >> heap::page_shift)
                ? heap::the_arena.page_table[page].load(std::memory_order_acquire)
                : nullptr;
  if (s == nullptr || s->state.load(std::memory_order_acquire) == heap::span_state::free)
      [[unlikely]] {
    std::fprintf(stderr,
                 "tricolor: a traced gc_ptr holds %p, which is not a managed "
                 "object (heap corrupted, or a trace() visited a dangling "
                 "pointer)\n",
                 target);
    std::abort();
  }
  return s;
}

void marker::visit(const void* target) {
  span* s = span_of_traced(target);
  const std::uint32_t index = s->slot_index(target);
  if (aging_) [[unlikely]] note_edge(field_, s, index);
  shade(s, index);
}

void marker::precise(const roots::root_identity& root, const void* target) {
  current_root_ = tracking_ ? leaks::root_id(root) : leaks::unattributed;
  span* s = span_of_traced(target);
  shade_from_root(s, s->slot_index(target));
}

// Reads every word of [begin, end): stacks and data segments contain
// sanitizer redzones and other threads' frames, which are read on purpose.
__attribute__((no_sanitize("address", "thread")))
void marker::scan_conservatively(const void* begin, const void* end) {
  auto word = reinterpret_cast<std::uintptr_t>(begin) & ~std::uintptr_t{7};
  auto stop = reinterpret_cast<std::uintptr_t>(end);
  for (; word + sizeof(void*) <= stop; word += sizeof(void*)) {
    const void* candidate = *reinterpret_cast<void* const*>(word);
    heap::for_each_object_a_word_may_point_into(candidate, [&](const heap::object_ref& ref) {
      // An object under construction's word (scan), or a root's.
      if (scanning_aged_) note_edge(reinterpret_cast<const void*>(word), ref.owner, ref.index);
      shade_from_root_word(ref.owner, ref.index);
    });
  }
}

// Reads a data segment in place in the stop-the-world cycle: see
// scan_conservatively.
__attribute__((no_sanitize("address", "thread")))
void marker::scan_words(const std::uintptr_t* words, std::size_t count, std::uintptr_t address,
                        std::uint32_t root, bool global) {
  current_root_ = root;
  for (std::size_t i = 0; i < count; ++i) {
    heap::for_each_object_a_word_may_point_into(
        reinterpret_cast<const void*>(words[i]), [&](const heap::object_ref& ref) {
          if (global && tracking_)
            current_root_ = leaks::variable_id(root, address + i * sizeof(void*));
          shade_from_root_word(ref.owner, ref.index);
        });
  }
}

void marker::conservative_range(const roots::root_identity& root, const void* begin,
                                const void* end) {
  if (!tracking_) {
    scan_conservatively(begin, end);
    return;
  }
  current_root_ = leaks::root_id(root);
  if (root.kind != roots::root_kind::global && root.kind != roots::root_kind::tls) {
    scan_conservatively(begin, end);
    return;
  }
  // A data segment or a TLS block (the stop-the-world cycle reads it in
  // place): each word is credited to the variable that holds it.
  auto first = reinterpret_cast<std::uintptr_t>(begin) & ~std::uintptr_t{7};
  auto stop = reinterpret_cast<std::uintptr_t>(end);
  if (first + sizeof(void*) <= stop)
    scan_words(reinterpret_cast<const std::uintptr_t*>(first), (stop - first) / sizeof(void*),
               first, current_root_, true);
}

void marker::scan(const mark_item& item) {
  current_root_ = item.root();
  // Generations: edges from an aged object are noted (note_edge) while it
  // is scanned, and only then.
  struct aged_scan {
    bool& flag;
    ~aged_scan() { flag = false; }
  } aged{scanning_aged_};
  if (aging_) [[unlikely]] {
    span* s = span_of_traced(item.payload);
    scanning_aged_ = s->is_aged(s->slot_index(item.payload));
  }
  const type_descriptor* type =
      heap::header_of(item.payload)->type.load(std::memory_order_acquire);
  if (type == nullptr) {
    // Under construction: the slot's extent comes from its span.
    span* s = heap::find_span(item.payload);
    const char* slot = s->slot_address(s->slot_index(item.payload));
    std::size_t slot_bytes = s->state.load(std::memory_order_relaxed) ==
                                     heap::span_state::large
                                 ? s->bytes()
                                 : s->slot_size;
    scan_conservatively(item.payload, slot + slot_bytes);
    return;
  }
  switch (type->kind) {
    case scan_kind::noscan:
      return;
    case scan_kind::object:
      type->trace(item.payload, *this);
      return;
    case scan_kind::array: {
      std::size_t length = type->array_length(item.payload);
      std::size_t end = item.next_element() + array_scan_chunk;
      if (end < length) stack_.push(mark_item::make(item.payload, end, item.root()));
      else end = length;
      type->trace_elements(item.payload, *this, item.next_element(), end);
      return;
    }
  }
}

// Grey objects pass through a small FIFO between the mark stack and scan():
// each is prefetched when it enters and scanned prefetch_distance pops later,
// when its header and fields are in cache (buffered prefetching: Cher, Hosking
// and Vijaykumar, ASPLOS 2004). The order in which grey objects are scanned
// does not matter to correctness: every order reaches the same black set.
// `more()` is asked before each scan; when it says stop, the objects still in
// the window go back on the stack.
template <class Continue>
void marker::drain_while(Continue&& more) {
  constexpr std::size_t prefetch_distance = 8;
  mark_item window[prefetch_distance];
  std::size_t head = 0, count = 0;
  for (;;) {
    while (count < prefetch_distance) {
      mark_item item;
      if (!stack_.pop(item)) break;
      __builtin_prefetch(heap::header_of(item.payload));
      window[(head + count++) % prefetch_distance] = item;
    }
    if (count == 0) return;
    if (!more()) {
      for (; count > 0; --count, head = (head + 1) % prefetch_distance)
        stack_.push(window[head]);
      return;
    }
    mark_item item = window[head];
    head = (head + 1) % prefetch_distance;
    --count;
    scan(item);
    ++scanned_;
  }
}

bool marker::take_from_pool() {
  work_batch* batch = the_work_pool.take();
  if (batch == nullptr) return false;
  for (std::size_t i = 0; i < batch->count; ++i) stack_.push(batch->items[i]);
  the_work_pool.recycle(batch);
  return true;
}

void marker::give_batch_to_pool(std::size_t most) {
  work_batch* batch = the_work_pool.empty_batch();
  most = std::min(most, work_batch::capacity);
  mark_item item;
  while (batch->count < most && stack_.pop(item))
    batch->items[batch->count++] = item;
  if (batch->count == 0) the_work_pool.recycle(batch);
  else the_work_pool.put(batch);
}

void marker::give_all_to_pool() {
  while (!stack_.empty()) give_batch_to_pool(work_batch::capacity);
}

void marker::drain() {
  do {
    drain_while([] { return true; });
  } while (take_from_pool());
}

std::size_t marker::drain_some(std::size_t budget, bool share) {
  constexpr std::uint64_t share_interval = 256;  // scans between checks
  const std::uint64_t start = scanned_;
  const std::uint64_t stop = scanned_ + budget;
  std::uint64_t next_check = scanned_ + share_interval;
  do {
    drain_while([&] {
      if (scanned_ >= stop) return false;
      if (share && scanned_ >= next_check) {
        next_check = scanned_ + share_interval;
        // Half of what it holds, at most a batch: a stack of a few huge
        // subtrees (a binary tree's depth-first path) given away whole
        // leaves the giver idle and the taker with all the work.
        std::size_t half = stack_.size_at_least() / 2;
        if (half > 0 && the_work_pool.empty() &&
            (running_assists.load(std::memory_order_relaxed) > 0 ||
             work_requested.load(std::memory_order_relaxed))) {
          work_requested.store(false, std::memory_order_relaxed);
          give_batch_to_pool(half);
        }
      }
      return true;
    });
  } while (scanned_ < stop && take_from_pool());
  return static_cast<std::size_t>(scanned_ - start);
}

std::size_t assist(std::size_t budget) {
  // One marker per assisting thread, kept between assists for its stack
  // segments; it holds no work between them.
  thread_local marker helper(/*exclusive=*/false);
  running_assists.fetch_add(1, std::memory_order_relaxed);
  std::size_t scanned = helper.drain_some(budget);
  scanned_this_cycle.fetch_add(scanned, std::memory_order_relaxed);
  helper.give_all_to_pool();
  helper.flush_tallies();
  running_assists.fetch_sub(1, std::memory_order_release);
  return scanned;
}

std::size_t assists_running() {
  return running_assists.load(std::memory_order_acquire);
}

bool is_marked(const void* p) {
  span* s = heap::find_span(p);
  return s != nullptr && s->is_marked(s->slot_index(p));
}

}  // namespace tricolor::gc

namespace tricolor::barriers {

// Greying happens on the mutator that recorded the pointers, straight into
// work batches for the pool, where the mark workers find them.
void shade_recorded(barrier_buffer& buffer) {
  gc::work_batch* batch = nullptr;
  for (std::size_t i = 0; i < buffer.count; ++i) {
    heap::object_ref ref;
    if (!heap::find_object(buffer.entries[i], ref) || !ref.owner->try_mark(ref.index))
      continue;
    if (batch == nullptr) batch = gc::the_work_pool.empty_batch();
    batch->items[batch->count++] = gc::mark_item::make(
        heap::payload_of(ref.owner->slot_address(ref.index)), 0, gc::leaks::unattributed);
    if (batch->count == gc::work_batch::capacity) {
      gc::the_work_pool.put(batch);
      batch = nullptr;
    }
  }
  if (batch != nullptr) gc::the_work_pool.put(batch);
  buffer.count = 0;
}

}  // namespace tricolor::barriers
