// Mark stack segments; see mark_stack.hpp.
#include "gc/mark_stack.hpp"

#include <mimalloc.h>

#include <new>

namespace tricolor::gc {

mark_stack::~mark_stack() {
  while (top_) {
    segment* below = top_->below;
    mi_free(top_);
    top_ = below;
  }
  mi_free(spare_);
}

void mark_stack::add_segment() {
  segment* s = spare_;
  spare_ = nullptr;
  if (s == nullptr) {
    s = static_cast<segment*>(mi_malloc(sizeof(segment)));
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
    else mi_free(empty);
  }
  return top_ != nullptr;
}

}  // namespace tricolor::gc
