// Sweeper; see sweeper.hpp for the algorithm and its invariants.
#include "heap/sweeper.hpp"

#include <bit>
#include <vector>

#include "heap/heap.hpp"

namespace tricolor::heap {

namespace {
const type_descriptor* current_finalizing_type = nullptr;

void run_destructor(char* slot) {
  auto* header = reinterpret_cast<object_header*>(slot);
  const type_descriptor* type = header->type.load(std::memory_order_acquire);
  if (type == nullptr || type->destroy == nullptr) return;  // never finished construction, or trivial
  current_finalizing_type = type;
  type->destroy(payload_of(slot));
  current_finalizing_type = nullptr;
}

// Sweeps one span; returns how many objects it still holds.
std::uint64_t sweep_span(span* s, sweep_result& result) {
  bool finalizers = s->has_finalizers.load(std::memory_order_relaxed);
  std::uint64_t live = 0;
  std::uint64_t dead_count = 0;
  for (std::uint32_t w = 0; w < s->bitmap_word_count(); ++w) {
    std::uint64_t marked = s->mark_bits[w].load(std::memory_order_relaxed);
    std::uint64_t dead = s->alloc_bits[w] & ~marked;
    if (finalizers) {
      for (std::uint64_t bits = dead; bits != 0; bits &= bits - 1)
        run_destructor(s->slot_address(w * 64 + static_cast<std::uint32_t>(
                                                    std::countr_zero(bits))));
    }
    dead_count += static_cast<std::uint64_t>(std::popcount(dead));
    live += static_cast<std::uint64_t>(std::popcount(marked));
    s->alloc_bits[w] = marked;
    s->mark_bits[w].store(0, std::memory_order_relaxed);
  }
  std::uint64_t slot_bytes = s->state.load(std::memory_order_relaxed) == span_state::large
                                 ? s->bytes()
                                 : s->slot_size;
  result.spans_swept++;
  result.objects_freed += dead_count;
  result.bytes_freed += dead_count * slot_bytes;
  result.live_objects += live;
  result.live_bytes += live * slot_bytes;
  return live;
}
}  // namespace

const type_descriptor* finalizing_type() { return current_finalizing_type; }

sweep_result sweep_heap() {
  sweep_result result;
  managed_heap& h = the_heap;
  h.clear_partial_lists();
  std::vector<span*>& spans = h.all_spans();
  std::size_t kept = 0;
  for (span* s : spans) {
    std::uint64_t live = sweep_span(s, result);
    if (live == 0) {
      result.spans_freed++;
      h.free_span(s);
      continue;
    }
    if (live < s->slot_count) h.push_partial(s);
    spans[kept++] = s;
  }
  spans.resize(kept);
  h.counters().heap_alloc.store(static_cast<std::int64_t>(result.live_bytes),
                                std::memory_order_relaxed);
  return result;
}

}  // namespace tricolor::heap

