// Managed heap; see heap.hpp for the design.
#include "heap/heap.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "heap/arena.hpp"
#include "heap/sweeper.hpp"
#include "tricolor/internal/card_table.hpp"

namespace tricolor::heap {

constinit managed_heap the_heap;  // no constructor runs: usable from any static initializer
constinit thread_local thread_cache* tls_thread_cache = nullptr;
std::atomic<std::uint32_t> marking_epoch{0};

namespace {
// A refill (or a large allocation) made slots black while a generational
// cycle marks: see span::black_refill.
void note_black_refill(span* s, std::uint32_t word, std::uint64_t free) {
  std::uint32_t epoch = marking_epoch.load(std::memory_order_relaxed);
  if ((epoch & 1) == 0) return;
  s->black_free.store(free, std::memory_order_release);
  s->black_refill.store(std::uint64_t{epoch} << 8 | word, std::memory_order_release);
}
}  // namespace

void managed_heap::initialize() { reserve_arena(); }

void managed_heap::register_span(span* s) {
  std::lock_guard guard(all_spans_lock_);
  all_spans_.push_back(s);
}

void managed_heap::register_spans(span* const* spans, std::size_t count) {
  if (count == 0) return;
  std::lock_guard guard(all_spans_lock_);
  all_spans_.insert(all_spans_.end(), spans, spans + count);
}

void managed_heap::take_all_spans(std::vector<span*>& out) {
  std::lock_guard guard(all_spans_lock_);
  out.swap(all_spans_);
  all_spans_.clear();
}

void managed_heap::clear_mark_bits() {
  std::lock_guard guard(all_spans_lock_);
  for (span* s : all_spans_)
    for (std::uint32_t w = 0; w < s->bitmap_word_count(); ++w)
      s->mark_bits[w].store(0, std::memory_order_relaxed);
}

span* managed_heap::pop_partial(std::size_t cls) {
  partial_list& list = partial_[cls];
  std::lock_guard guard(list.lock);
  span* s = list.head;
  if (s != nullptr) {
    list.head = s->next;
    s->next = nullptr;
  }
  return s;
}

span* managed_heap::take_span(std::size_t cls) {
  // Lazy sweeping: before growing the heap, sweep unswept spans; each one
  // swept may land on this class's partial list.
  for (;;) {
    if (span* s = pop_partial(cls)) return s;
    if (!sweep_some(4)) break;
  }
  span* s = pages_.allocate(size_class_pages[cls]);
  if (s == nullptr) return nullptr;
  if (s->released || s->partly_released)
    fault_in_while_safe(s->start, s->bytes(), s->released);
  s->released = s->partly_released = false;
  s->size_class = static_cast<std::uint32_t>(cls);
  s->slot_size = size_class_bytes[cls];
  s->slot_count = static_cast<std::uint32_t>(s->bytes() / s->slot_size);
  s->div_magic = division_magic(s->slot_size);
  for (std::uint32_t w = 0; w < bitmap_words; ++w) {
    s->set_alloc_word(w, 0);
    s->mark_bits[w].store(0, std::memory_order_relaxed);
    s->aged_bits[w].store(0, std::memory_order_relaxed);
  }
  s->state.store(span_state::small, std::memory_order_release);
  counters_.heap_inuse.fetch_add(static_cast<std::int64_t>(s->bytes()),
                                 std::memory_order_relaxed);
  register_span(s);
  return s;
}

void* managed_heap::refill_and_allocate(thread_cache& cache, std::size_t cls) {
  alloc_cursor& cursor = cache.cursors[cls];
  for (;;) {
    if (span* s = cursor.owner) {
      for (std::uint32_t w = cursor.word_index + 1; w < s->bitmap_word_count();
           ++w) {
        std::uint64_t allocated = s->alloc_word(w);
        std::uint64_t free = ~allocated & s->valid_mask(w);
        if (free == 0) continue;
        if (clear_reserved_slots_.load(std::memory_order_relaxed)) [[unlikely]]
          for (std::uint64_t bits = free; bits != 0; bits &= bits - 1)
            std::memset(s->slot_address(w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits))),
                        0, s->slot_size);
        s->set_alloc_word(w, allocated | free);
        if (allocating_black()) {
          note_black_refill(s, w, free);
          s->mark_bits[w].fetch_or(free, std::memory_order_release);
        }
        cursor.free_bits = free;
        cursor.word_index = w;
        cursor.word_base = s->slot_address(w * 64);
        std::int64_t bytes =
            static_cast<std::int64_t>(std::popcount(free)) * s->slot_size;
        counters_.heap_alloc.fetch_add(bytes, std::memory_order_relaxed);
        counters_.total_alloc.fetch_add(static_cast<std::uint64_t>(bytes),
                                        std::memory_order_relaxed);
        return cache.try_allocate(cls);
      }
      // Span exhausted: drop it; it is on no list until sweeping relists it.
      s->in_cache = false;
      cursor.owner = nullptr;
    }
    span* s = take_span(cls);
    if (s == nullptr) return nullptr;
    s->in_cache = true;
    cursor.owner = s;
    cursor.word_index = static_cast<std::uint32_t>(-1);
    cursor.free_bits = 0;
  }
}

void* managed_heap::allocate_large(std::size_t bytes) {
  std::size_t npages = (bytes + page_size - 1) >> page_shift;
  if (npages > UINT32_MAX) return nullptr;
  span* s = pages_.allocate(static_cast<std::uint32_t>(npages));
  if (s == nullptr) return nullptr;
  if (s->released || s->partly_released)
    fault_in_while_safe(s->start, s->bytes(), s->released);
  s->released = s->partly_released = false;
  if (clear_reserved_slots_.load(std::memory_order_relaxed)) [[unlikely]]
    std::memset(s->start, 0, s->bytes());
  s->size_class = 0;
  s->slot_size = static_cast<std::uint32_t>(std::min<std::size_t>(s->bytes(), UINT32_MAX));
  s->slot_count = 1;
  s->div_magic = 0;  // every address of the span is slot 0
  for (std::uint32_t w = 0; w < bitmap_words; ++w) {
    s->set_alloc_word(w, 0);
    s->mark_bits[w].store(0, std::memory_order_relaxed);
    s->aged_bits[w].store(0, std::memory_order_relaxed);
  }
  if (allocating_black()) {
    note_black_refill(s, 0, 1);
    s->mark_bits[0].store(1, std::memory_order_release);
  }
  s->set_alloc_word(0, 1);
  s->state.store(span_state::large, std::memory_order_release);
  counters_.heap_inuse.fetch_add(static_cast<std::int64_t>(s->bytes()),
                                 std::memory_order_relaxed);
  counters_.heap_alloc.fetch_add(static_cast<std::int64_t>(s->bytes()),
                                 std::memory_order_relaxed);
  counters_.total_alloc.fetch_add(s->bytes(), std::memory_order_relaxed);
  register_span(s);
  return s->start;
}

void managed_heap::flush_cache(thread_cache& cache, bool relist) {
  for (std::size_t cls = 1; cls < num_size_classes; ++cls) {
    alloc_cursor& cursor = cache.cursors[cls];
    span* s = cursor.owner;
    if (s == nullptr) continue;
    if (cursor.free_bits != 0) {
      s->set_alloc_word(cursor.word_index,
                        s->alloc_word(cursor.word_index) & ~cursor.free_bits);
      s->mark_bits[cursor.word_index].fetch_and(~cursor.free_bits,
                                                std::memory_order_relaxed);
      counters_.heap_alloc.fetch_sub(
          static_cast<std::int64_t>(std::popcount(cursor.free_bits)) *
              s->slot_size,
          std::memory_order_relaxed);
    }
    s->in_cache = false;
    if (relist) push_partial(s);
    cursor = alloc_cursor{};
  }
}

void managed_heap::clear_partial_lists() {
  for (partial_list& list : partial_) {
    std::lock_guard guard(list.lock);
    list.head = nullptr;
  }
}

void managed_heap::push_partial(span* s) {
  partial_list& list = partial_[s->size_class];
  std::lock_guard guard(list.lock);
  s->next = list.head;
  list.head = s;
}

void managed_heap::push_partial_chain(std::size_t cls, span* head, span* tail) {
  partial_list& list = partial_[cls];
  std::lock_guard guard(list.lock);
  tail->next = list.head;
  list.head = head;
}

void managed_heap::free_spans(span* const* spans, std::size_t count) {
  std::int64_t bytes = 0;
  for (std::size_t i = 0; i < count; ++i) bytes += static_cast<std::int64_t>(spans[i]->bytes());
  counters_.heap_inuse.fetch_sub(bytes, std::memory_order_relaxed);
  pages_.free(spans, count);
}

}  // namespace tricolor::heap
