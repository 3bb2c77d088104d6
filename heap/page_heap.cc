// Page heap; see page_heap.hpp for the design.
#include "heap/page_heap.hpp"

#include <sys/mman.h>

#include <mimalloc.h>

#include <new>

#include "heap/arena.hpp"

namespace tricolor::heap {

namespace {
constexpr std::size_t release_min_bytes = 64 * 1024;

span* neighbour(std::size_t page) {
  std::size_t frontier_pages =
      the_arena.frontier.load(std::memory_order_relaxed) >> page_shift;
  if (page == 0 || page >= frontier_pages) return nullptr;
  span* s = the_arena.page_table[page].load(std::memory_order_relaxed);
  return s != nullptr && s->free_listed ? s : nullptr;
}
}  // namespace

span* page_heap::new_record() {
  if (span* s = spare_records_) {
    spare_records_ = s->next;
    // The next spare is cold (records are recycled long after they were
    // last used): fetch it now, so the next call does not wait for it as
    // this one may have (nearly all of this function's time on
    // binary-trees, where a split of a free run takes a record).
    if (spare_records_ != nullptr) __builtin_prefetch(spare_records_, /*write=*/1);
    s->reset_for_reuse();
    return s;
  }
  void* memory = mi_malloc_aligned(sizeof(span), alignof(span));
  if (memory == nullptr) throw std::bad_alloc();
  return new (memory) span();
}

span*& page_heap::list_for(const span* run) {
  return lists_[run->released ? 1 : 0][run->npages < exact_lists ? run->npages : 0];
}

void page_heap::push(span* run) {
  span*& head = list_for(run);
  run->prev = nullptr;
  run->next = head;
  if (head) head->prev = run;
  head = run;
  run->free_listed = true;
  free_bytes_ += run->bytes();
  if (run->released) released_bytes_ += run->bytes();
}

void page_heap::unlink(span* run) {
  span*& head = list_for(run);
  if (run->prev) run->prev->next = run->next;
  else head = run->next;
  if (run->next) run->next->prev = run->prev;
  run->free_listed = false;
  free_bytes_ -= run->bytes();
  if (run->released) released_bytes_ -= run->bytes();
}

// Resident runs first: taking a released run while resident free pages
// remain would grow the resident set for nothing.
span* page_heap::take_fitting(std::uint32_t npages) {
  for (auto& lists : lists_) {
    for (std::uint32_t n = npages; n < exact_lists; ++n)
      if (lists[n]) return lists[n];
    span* best = nullptr;
    for (span* run = lists[0]; run; run = run->next)
      if (run->npages >= npages && (!best || run->npages < best->npages))
        best = run;
    if (best) return best;
  }
  return nullptr;
}

void page_heap::map_pages(span* s, bool every_page) {
  std::size_t first = page_index(s->start);
  std::size_t last = first + s->npages - 1;
  if (every_page) {
    for (std::size_t p = first; p <= last; ++p)
      the_arena.page_table[p].store(s, std::memory_order_release);
  } else {
    the_arena.page_table[first].store(s, std::memory_order_release);
    the_arena.page_table[last].store(s, std::memory_order_release);
  }
}

span* page_heap::allocate(std::uint32_t npages) {
  std::lock_guard guard(lock_);
  span* result;
  if (span* run = take_fitting(npages)) {
    unlink(run);
    if (run->npages > npages) {
      span* rest = new_record();
      rest->start = run->start + (std::size_t{npages} << page_shift);
      rest->npages = run->npages - npages;
      rest->released = run->released;
      rest->partly_released = run->partly_released;
      rest->free_age = run->free_age;
      run->npages = npages;
      map_pages(rest, false);
      push(rest);
    }
    result = run;
  } else {
    std::size_t bytes = std::size_t{npages} << page_shift;
    std::size_t frontier = the_arena.frontier.load(std::memory_order_relaxed);
    if (bytes > the_arena.reserved - frontier) return nullptr;
    result = new_record();
    result->start = the_arena.base + frontier;
    result->npages = npages;
    result->released = true;  // never touched: see span::released
    map_pages(result, true);
    the_arena.frontier.store(frontier + bytes, std::memory_order_release);
    return result;
  }
  result->free_age = 0;  // `released` stays: see span::released
  map_pages(result, true);
  return result;
}

void page_heap::free(span* s) { free(&s, 1); }

void page_heap::free(span* const* spans, std::size_t count) {
  if (count == 0) return;
  std::lock_guard guard(lock_);
  for (std::size_t i = 0; i < count; ++i) free_locked(spans[i]);
}

void page_heap::free_locked(span* s) {
  s->state.store(span_state::free, std::memory_order_release);
  s->has_finalizers.store(false, std::memory_order_relaxed);
  s->in_cache = false;
  s->released = false;  // it held objects: every page is resident
  s->partly_released = false;
  s->free_age = 0;
  // A released neighbour's pages join a run counted as resident (the limit
  // then over-counts, never under-counts, resident memory); its taker must
  // fault them in.
  auto absorb = [s](const span* neighbour) {
    s->partly_released |= neighbour->released || neighbour->partly_released;
  };
  std::size_t first = page_index(s->start);
  if (span* left = neighbour(first - 1);
      left && left->start + left->bytes() == s->start) {
    absorb(left);
    unlink(left);
    s->start = left->start;
    s->npages += left->npages;
    left->next = spare_records_;
    spare_records_ = left;
  }
  if (span* right = neighbour(page_index(s->start) + s->npages);
      right && s->start + s->bytes() == right->start) {
    absorb(right);
    unlink(right);
    s->npages += right->npages;
    right->next = spare_records_;
    spare_records_ = right;
  }
  map_pages(s, false);
  push(s);
}

std::size_t page_heap::release_idle(std::uint64_t in_use_bytes,
                                    std::uint64_t soft_target,
                                    std::uint64_t hard_target) {
  std::lock_guard guard(lock_);
  std::size_t released = 0;
  auto resident = [&] { return in_use_bytes + free_bytes_ - released_bytes_; };
  for (span*& head : lists_[0]) {
    for (span* run = head, *next; run; run = next) {
      next = run->next;
      bool idle = run->free_age++ >= 1 && run->bytes() >= release_min_bytes;
      if (!(resident() > hard_target || (idle && resident() > soft_target))) continue;
      madvise(run->start, run->bytes(), MADV_DONTNEED);
      unlink(run);
      run->released = true;
      run->partly_released = false;
      push(run);
      released += run->bytes();
    }
  }
  return released;
}

std::size_t page_heap::free_bytes() const {
  std::lock_guard guard(lock_);
  return free_bytes_;
}

std::size_t page_heap::released_bytes() const {
  std::lock_guard guard(lock_);
  return released_bytes_;
}

}  // namespace tricolor::heap
