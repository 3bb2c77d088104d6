// Root snapshot; see root_snapshot.hpp.
#include "gc/root_snapshot.hpp"

namespace tricolor::gc {

// Reads stacks and data segments word by word, sanitizer redzones and other
// threads' frames included, as the conservative scanner does.
__attribute__((no_sanitize("address", "thread")))
void root_snapshot::conservative_range(const roots::root_identity&, const void* begin,
                                       const void* end) {
  auto word = reinterpret_cast<std::uintptr_t>(begin) & ~std::uintptr_t{7};
  auto stop = reinterpret_cast<std::uintptr_t>(end);
  if (word + sizeof(void*) > stop) return;
  std::size_t count = (stop - word) / sizeof(void*);
  std::size_t at = words_.size();
  words_.resize(at + count);
  const auto* from = reinterpret_cast<const std::uintptr_t*>(word);
  for (std::size_t i = 0; i < count; ++i) words_[at + i] = from[i];
}

void root_snapshot::precise(const roots::root_identity&, const void* target) {
  words_.push_back(reinterpret_cast<std::uintptr_t>(target));
}

void root_snapshot::scan(roots::root_visitor& visitor) {
  roots::root_identity snapshot{roots::root_kind::stack, "root snapshot", "", 0, 0};
  if (!words_.empty())
    visitor.conservative_range(snapshot, words_.data(), words_.data() + words_.size());
  words_.clear();
}

}  // namespace tricolor::gc
