// Generations by sticky mark bits; see generations.hpp for the algorithm and
// its soundness argument.
#include "gc/generations.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "gc/leak_tracker.hpp"
#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "heap/arena.hpp"
#include "heap/heap.hpp"
#include "heap/sweeper.hpp"
#include "tricolor/internal/card_table.hpp"
#include "tricolor/internal/write_barrier.hpp"

namespace tricolor::barriers {
constinit card_table the_card_table;
}  // namespace tricolor::barriers

namespace tricolor::heap {

void remember_constructed(void* slot) noexcept {
  const std::uintptr_t covered =
      barriers::the_card_table.covered.load(std::memory_order_relaxed);
  if (covered == 0) return;
  span* s = find_span(slot);
  if (s == nullptr || !s->is_marked(s->slot_index(slot))) return;
  std::size_t bytes =
      s->state.load(std::memory_order_relaxed) == span_state::large ? s->bytes() : s->slot_size;
  for (std::size_t offset = 0; offset < bytes; offset += barriers::card_bytes)
    barriers::remember_store(static_cast<char*>(slot) + offset);
  barriers::remember_store(static_cast<char*>(slot) + bytes - 1);
}

}  // namespace tricolor::heap

namespace tricolor::gc::generations {

namespace {
// A major runs when the live bytes reach this multiple of the last major's,
// and at the latest after this many minors in a row: old objects that died
// without adding to the live bytes (a structure the program dropped) are
// otherwise freed by no cycle.
constexpr std::uint64_t major_growth = 2;
constexpr std::uint32_t max_minors_in_a_row = 16;

bool on = false;
// Set when a sweep kept marks; cleared when choose_minor clears them. Collector
// thread only, as are the two below.
bool marks_kept = false;
std::uint64_t live_after_major = 0;
std::uint64_t live_after_last = 0;
std::uint32_t minors_in_a_row = 0;
bool current_minor = false;
}  // namespace

void enable() {
  heap::reserve_arena();
  const std::size_t cards = heap::the_arena.reserved >> barriers::card_shift;
  void* table = mmap(nullptr, cards, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (table == MAP_FAILED) {
    std::fprintf(stderr, "tricolor: cannot reserve the card table (%zu MiB); "
                         "generational=1 ignored\n", cards >> 20);
    return;
  }
  barriers::card_table& t = barriers::the_card_table;
  t.base.store(reinterpret_cast<std::uintptr_t>(heap::the_arena.base), std::memory_order_relaxed);
  t.cards.store(static_cast<std::uint8_t*>(table), std::memory_order_relaxed);
  t.covered.store(heap::the_arena.reserved, std::memory_order_release);
  barriers::store_work.fetch_or(barriers::dirty_card, std::memory_order_relaxed);
  heap::sticky_marks.store(true, std::memory_order_relaxed);
  on = true;
}

bool enabled() { return on; }

bool choose_minor(cycle_trigger trigger) {
  bool minor = on && marks_kept && trigger == cycle_trigger::heap_goal &&
               !leaks::tracking() && the_pacer.limit_goal() > the_pacer.heap_goal() &&
               live_after_last < major_growth * live_after_major &&
               minors_in_a_row < max_minors_in_a_row;
  if (!minor && marks_kept) {
    heap::the_heap.clear_mark_bits();
    marks_kept = false;
  }
  return minor;
}

void begin_marking(bool minor) {
  current_minor = minor;
  if (on) heap::marking_epoch.fetch_add(1, std::memory_order_relaxed);
}

bool minor_marking() { return current_minor; }

void end_marking() {
  if (on) heap::marking_epoch.fetch_add(1, std::memory_order_relaxed);
}

bool allocated_before_marking(const heap::span* s, std::uint32_t index) {
  const std::uint32_t word = index / 64;
  const std::uint64_t bit = std::uint64_t{1} << (index % 64);
  if ((s->mark_bits[word].load(std::memory_order_acquire) & bit) == 0) return false;
  if ((s->alloc_word(word) & bit) == 0) return false;
  const std::uint64_t refill = s->black_refill.load(std::memory_order_acquire);
  const std::uint64_t free = s->black_free.load(std::memory_order_acquire);
  const std::uint64_t current =
      std::uint64_t{heap::marking_epoch.load(std::memory_order_relaxed)} << 8 | word;
  return refill != current || (free & bit) == 0;
}

std::uint64_t scan_dirty_cards(marker& m) {
  const barriers::card_table& t = barriers::the_card_table;
  std::uint8_t* cards = t.cards.load(std::memory_order_relaxed);
  const std::uintptr_t base = t.base.load(std::memory_order_relaxed);
  const std::size_t count =
      heap::the_arena.frontier.load(std::memory_order_acquire) >> barriers::card_shift;
  std::uint64_t dirty = 0;
  // The last object pushed: an object that spans several dirty cards (a
  // large one, or a slot across a card boundary) is pushed once.
  const heap::span* last_span = nullptr;
  std::uint32_t last_index = 0;
  for (std::size_t first = 0; first < count; first += 8) {
    std::uint64_t eight;
    __atomic_load(reinterpret_cast<std::uint64_t*>(cards + first), &eight, __ATOMIC_RELAXED);
    if (eight == 0) continue;
    for (std::size_t c = first; c < first + 8 && c < count; ++c) {
      if (__atomic_load_n(cards + c, __ATOMIC_RELAXED) == 0) continue;
      __atomic_store_n(cards + c, 0, __ATOMIC_RELAXED);
      ++dirty;
      const char* card_start = reinterpret_cast<const char*>(base + (c << barriers::card_shift));
      heap::span* s = heap::find_span(card_start);
      if (s == nullptr) continue;
      const char* end = s->start + s->bytes();
      const char* card_end = card_start + barriers::card_bytes;
      std::uint32_t from = s->slot_index(card_start);
      std::uint32_t to = s->slot_index(std::min(card_end, end) - 1);
      if (to >= s->slot_count) to = s->slot_count - 1;
      for (std::uint32_t i = from; i <= to && from < s->slot_count; ++i) {
        if (s == last_span && i == last_index) continue;
        if (!allocated_before_marking(s, i)) continue;
        last_span = s;
        last_index = i;
        m.push_old(s, i);
      }
    }
  }
  return dirty;
}

void end_cycle(bool minor, std::uint64_t live_bytes) {
  if (!on) return;
  marks_kept = true;
  live_after_last = live_bytes;
  minors_in_a_row = minor ? minors_in_a_row + 1 : 0;
  if (!minor) live_after_major = live_bytes;
}

}  // namespace tricolor::gc::generations
