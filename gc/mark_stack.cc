// Mark stack segments; see mark_stack.hpp.
#include "gc/mark_stack.hpp"

#include <mimalloc.h>

#include <cstdlib>
#include <new>

namespace tricolor::gc {

namespace {
// Segments come from mimalloc, like the collector's other metadata. Under
// ThreadSanitizer they come from malloc instead: TSan does not intercept
// mimalloc, so a segment freed by one marker and reused by another would look
// like a race between them.
#if defined(__SANITIZE_THREAD__)
#define TRICOLOR_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TRICOLOR_TSAN 1
#endif
#endif

void* allocate_segment(std::size_t bytes) {
#ifdef TRICOLOR_TSAN
  return std::malloc(bytes);
#else
  return mi_malloc(bytes);
#endif
}

void free_segment(void* p) {
#ifdef TRICOLOR_TSAN
  std::free(p);
#else
  mi_free(p);
#endif
}
}  // namespace

mark_stack::~mark_stack() {
  while (top_) {
    segment* below = top_->below;
    free_segment(top_);
    top_ = below;
  }
  free_segment(spare_);
}

void mark_stack::add_segment() {
  segment* s = spare_;
  spare_ = nullptr;
  if (s == nullptr) {
    s = static_cast<segment*>(allocate_segment(sizeof(segment)));
    if (s == nullptr) throw std::bad_alloc();
  }
  s->below = top_;
  s->count = 0;
  top_ = s;
}

bool mark_stack::drop_segment() {
  while (top_ != nullptr && top_->count == 0) {
    segment* empty = top_;
    top_ = empty->below;
    if (spare_ == nullptr) spare_ = empty;
    else free_segment(empty);
  }
  return top_ != nullptr;
}

}  // namespace tricolor::gc
