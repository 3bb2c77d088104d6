// Sweeper; see sweeper.hpp for the algorithm and its invariants.
#include "heap/sweeper.hpp"

#include <algorithm>
#include <atomic>
#include <bit>
#include <vector>

#include "gc/finalizer.hpp"
#include "gc/heap_profile.hpp"
#include "heap/futex.hpp"
#include "heap/heap.hpp"

namespace tricolor::heap {

std::atomic<bool> sticky_marks{false};

namespace {

// The spans of the sweep in progress. `spans` is written only by
// begin_sweep, with the world stopped and the previous sweep finished; the
// stop-the-world handshake orders that write before every claim.
struct sweep_queue {
  std::vector<span*> spans;
  std::atomic<std::size_t> next_claim{0};
  std::atomic<std::size_t> swept{0};
  // 1 while finish_sweep sleeps until the last claimed span is swept.
  std::atomic<std::uint32_t> finish_waiting{0};
  std::atomic<std::uint64_t> spans_freed{0}, objects_freed{0}, bytes_freed{0},
      live_objects{0}, live_bytes{0};
};

sweep_queue& queue() {
  static auto* q = new sweep_queue();  // leaked: threads may sweep at exit
  return *q;
}

// Of the dead slots `dead` of word w of a span that holds objects with
// destructors, the ones free now. The others stay allocated: an object whose
// destructor has not run is handed to the finalizer thread here (its header
// becomes awaiting_finalizer first, so no later sweep queues it again), and
// one still waiting for it is kept.
std::uint64_t free_after_finalization(span* s, std::uint32_t w, std::uint64_t dead) {
  std::uint64_t kept = 0;
  gc::queued_destructor batch[64];  // one queue lock for the word's dead objects
  std::size_t queued = 0;
  for (std::uint64_t bits = dead; bits != 0; bits &= bits - 1) {
    std::uint64_t bit = bits & -bits;
    char* slot = s->slot_address(w * 64 + static_cast<std::uint32_t>(std::countr_zero(bits)));
    auto* header = reinterpret_cast<object_header*>(slot);
    // Acquire: pairs with the finalizer thread's release of finalized_object,
    // so the destructor's writes precede the slot's reuse.
    const type_descriptor* type = header->type.load(std::memory_order_acquire);
    if (type == &awaiting_finalizer) {
      kept |= bit;
    } else if (type != nullptr && type->destroy != nullptr) {
      // nullptr: the constructor threw; no destructor runs.
      header->type.store(&awaiting_finalizer, std::memory_order_relaxed);
      batch[queued++] = {payload_of(slot), type};
      kept |= bit;
    }
  }
  if (queued > 0) gc::queue_finalizers(batch, queued);  // its lock publishes the stores
  return dead & ~kept;
}

// What a batch of spans swept by one thread adds to the queue's totals,
// published once per batch (the counters are shared with every sweeper and
// heap_alloc with every allocating thread).
struct batch_totals {
  std::uint64_t spans_freed = 0, objects_freed = 0, bytes_freed = 0,
                live_objects = 0, live_bytes = 0;

  void publish(sweep_queue& q) const {
    the_heap.counters().heap_alloc.fetch_sub(static_cast<std::int64_t>(bytes_freed),
                                             std::memory_order_relaxed);
    q.spans_freed.fetch_add(spans_freed, std::memory_order_relaxed);
    q.objects_freed.fetch_add(objects_freed, std::memory_order_relaxed);
    q.bytes_freed.fetch_add(bytes_freed, std::memory_order_relaxed);
    q.live_objects.fetch_add(live_objects, std::memory_order_relaxed);
    q.live_bytes.fetch_add(live_bytes, std::memory_order_relaxed);
  }
};

// What sweeping left of a span, which the caller files in one batch.
enum class swept_span { empty, full, partial };

swept_span sweep_span(span* s, batch_totals& totals) {
  const bool keep_marks = sticky_marks.load(std::memory_order_relaxed);
  bool finalizers = s->has_finalizers.load(std::memory_order_relaxed);
  std::uint64_t live = 0;
  std::uint64_t dead_count = 0;
  std::uint64_t finalizing = 0;
  // The heap profile's samples of the objects the mark left unmarked leave
  // in-use, read from the bitmaps before the loop changes them (nearly every
  // span has none: one load).
  if (s->samples.load(std::memory_order_relaxed) != nullptr) gc::heap_profile::sweep_samples(*s);
  for (std::uint32_t w = 0; w < s->bitmap_word_count(); ++w) {
    std::uint64_t allocated = s->alloc_word(w);
    std::uint64_t marked = s->mark_bits[w].load(std::memory_order_relaxed) & allocated;
    std::uint64_t dead = allocated & ~marked;
    if (finalizers && dead != 0) dead = free_after_finalization(s, w, dead);
    // Kept: the marked, and the unreachable ones waiting for their
    // destructor, which count neither as live nor as freed (their bytes stay
    // in heap_alloc until a later sweep frees them).
    std::uint64_t kept = allocated & ~dead;
    dead_count += static_cast<std::uint64_t>(std::popcount(dead));
    live += static_cast<std::uint64_t>(std::popcount(marked));
    finalizing += static_cast<std::uint64_t>(std::popcount(kept & ~marked));
    s->set_alloc_word(w, kept);
    if (keep_marks) {
      // Generations: the marked objects that had survived a cycle before
      // are old (marked); those that had not become young survivors.
      s->mark_bits[w].store(marked & s->aged_bits[w].load(std::memory_order_relaxed),
                            std::memory_order_relaxed);
      s->aged_bits[w].store(marked, std::memory_order_relaxed);
    } else {
      s->mark_bits[w].store(0, std::memory_order_relaxed);
    }
  }
  std::uint64_t slot_bytes = s->state.load(std::memory_order_relaxed) == span_state::large
                                 ? s->bytes()
                                 : s->slot_size;
  totals.objects_freed += dead_count;
  totals.bytes_freed += dead_count * slot_bytes;
  totals.live_objects += live;
  totals.live_bytes += live * slot_bytes;
  if (live + finalizing == 0) {
    totals.spans_freed++;
    return swept_span::empty;
  }
  return live + finalizing < s->slot_count ? swept_span::partial : swept_span::full;
}

// The spans one sweep_some call swept, filed at its end with one lock per
// list: spans left with objects go back into the registry, those with free
// slots onto their class's partial list (spliced as one chain per class),
// empty ones to the page heap. Filing span by span took these shared locks
// several thousand times a cycle, contended by every allocating thread and
// the background sweeper: a lock convoy (futex waits and wakes, context
// switches) once threads outnumber CPUs.
class swept_batch {
 public:
  static constexpr std::size_t capacity = 64;

  void add(span* s, swept_span what) {
    if (what == swept_span::empty) {
      emptied_[emptied_count_++] = s;
      return;
    }
    survivors_[survivor_count_++] = s;
    if (what == swept_span::full) return;
    partial_chain& chain = partial_[s->size_class];
    s->next = chain.head;
    if (chain.head == nullptr) chain.tail = s;
    chain.head = s;
  }

  void file() {
    managed_heap& h = the_heap;
    h.register_spans(survivors_, survivor_count_);
    for (std::size_t cls = 1; cls < num_size_classes; ++cls)
      if (partial_[cls].head != nullptr)
        h.push_partial_chain(cls, partial_[cls].head, partial_[cls].tail);
    h.free_spans(emptied_, emptied_count_);
  }

 private:
  struct partial_chain {
    span* head = nullptr;
    span* tail = nullptr;
  };
  span* survivors_[capacity];
  span* emptied_[capacity];
  std::size_t survivor_count_ = 0, emptied_count_ = 0;
  partial_chain partial_[num_size_classes];
};
}  // namespace

const type_descriptor awaiting_finalizer{"(awaiting its destructor)", scan_kind::noscan,
                                         nullptr, nullptr, nullptr, nullptr};
const type_descriptor finalized_object{"(destroyed, free at the next sweep)",
                                       scan_kind::noscan, nullptr, nullptr, nullptr,
                                       nullptr};

void begin_sweep() {
  sweep_queue& q = queue();
  the_heap.clear_partial_lists();
  q.spans.clear();
  the_heap.take_all_spans(q.spans);
  q.spans_freed = q.objects_freed = q.bytes_freed = q.live_objects = q.live_bytes = 0;
  q.swept.store(0, std::memory_order_relaxed);
  q.next_claim.store(0, std::memory_order_relaxed);
}

bool sweep_some(std::size_t spans) {
  sweep_queue& q = queue();
  std::size_t total = q.spans.size();
  if (q.next_claim.load(std::memory_order_relaxed) >= total) return false;
  // Claim up to `spans` at once: one atomic for the batch.
  spans = std::min(spans, swept_batch::capacity);
  std::size_t first = q.next_claim.fetch_add(spans, std::memory_order_relaxed);
  if (first >= total) return false;
  std::size_t end = std::min(total, first + spans);
  batch_totals totals;
  swept_batch batch;
  constexpr std::size_t prefetch_distance = 4;  // spans
  for (std::size_t i = first; i < std::min(end, first + prefetch_distance); ++i)
    q.spans[i]->prefetch_record();
  for (std::size_t i = first; i < end; ++i) {
    if (i + prefetch_distance < end) q.spans[i + prefetch_distance]->prefetch_record();
    batch.add(q.spans[i], sweep_span(q.spans[i], totals));
  }
  batch.file();
  totals.publish(q);
  std::size_t swept = q.swept.fetch_add(end - first, std::memory_order_seq_cst) + (end - first);
  if (swept >= total && q.finish_waiting.load(std::memory_order_seq_cst) != 0) {
    q.finish_waiting.store(0, std::memory_order_relaxed);
    futex_wake_all(&q.finish_waiting);
  }
  return true;
}

bool sweep_finished() {
  sweep_queue& q = queue();
  return q.swept.load(std::memory_order_acquire) >= q.spans.size();
}

sweep_result finish_sweep() {
  sweep_queue& q = queue();
  while (sweep_some(64)) {
  }
  // A span claimed by an allocating thread is finished by that thread; the
  // last one wakes this wait. No lost wakeup: this thread sets the flag and
  // then reads `swept`, the sweeper adds to `swept` and then reads the flag
  // (sequentially consistent, both), and the futex sleeps only while the
  // flag is still 1. (Waiting with sched_yield made some 30,000 system
  // calls in a 2-second run of 2-thread mt_gcbench, issue 12.)
  while (!sweep_finished()) {
    q.finish_waiting.store(1, std::memory_order_seq_cst);
    if (q.swept.load(std::memory_order_seq_cst) >= q.spans.size()) break;
    futex_wait(&q.finish_waiting, 1);
  }
  q.finish_waiting.store(0, std::memory_order_relaxed);
  gc::heap_profile::after_sweep();
  sweep_result r;
  r.spans_swept = q.spans.size();
  r.spans_freed = q.spans_freed.load(std::memory_order_relaxed);
  r.objects_freed = q.objects_freed.load(std::memory_order_relaxed);
  r.bytes_freed = q.bytes_freed.load(std::memory_order_relaxed);
  r.live_objects = q.live_objects.load(std::memory_order_relaxed);
  r.live_bytes = q.live_bytes.load(std::memory_order_relaxed);
  return r;
}

sweep_result sweep_heap() {
  begin_sweep();
  return finish_sweep();
}

}  // namespace tricolor::heap
