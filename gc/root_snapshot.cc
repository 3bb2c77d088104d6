// Root snapshot; see root_snapshot.hpp.
#include "gc/root_snapshot.hpp"

#include "gc/leak_tracker.hpp"
#include "gc/marker.hpp"

namespace tricolor::gc {

void root_snapshot::clear() {
  words_.clear();
  segments_.clear();
  scanned_segments_ = 0;
  keep_ = leaks::keep_root_snapshot();
}

void root_snapshot::start_segment(const roots::root_identity& root, std::uintptr_t address) {
  if (!keep_) return;
  segments_.push_back({leaks::root_id(root), root.kind == roots::root_kind::global, address,
                       words_.size()});
}

// Reads stacks and data segments word by word, sanitizer redzones and other
// threads' frames included, as the conservative scanner does.
__attribute__((no_sanitize("address", "thread")))
void root_snapshot::conservative_range(const roots::root_identity& root, const void* begin,
                                       const void* end) {
  auto word = reinterpret_cast<std::uintptr_t>(begin) & ~std::uintptr_t{7};
  auto stop = reinterpret_cast<std::uintptr_t>(end);
  if (word + sizeof(void*) > stop) return;
  start_segment(root, word);
  std::size_t count = (stop - word) / sizeof(void*);
  std::size_t at = words_.size();
  words_.resize(at + count);
  const auto* from = reinterpret_cast<const std::uintptr_t*>(word);
  for (std::size_t i = 0; i < count; ++i) words_[at + i] = from[i];
}

void root_snapshot::precise(const roots::root_identity& root, const void* target) {
  start_segment(root, 0);
  words_.push_back(reinterpret_cast<std::uintptr_t>(target));
}

void root_snapshot::scan(marker& m) {
  if (!keep_) {
    m.scan_words(words_.data(), words_.size(), 0, leaks::unattributed, false);
    words_.clear();
    return;
  }
  std::size_t index = 0;
  for_each_range([&](const range& r) {
    if (index++ >= scanned_segments_) m.scan_words(r.words, r.count, r.address, r.root, r.global);
  });
  scanned_segments_ = segments_.size();
}

root_snapshot& the_root_snapshot() {
  static auto* snapshot = new root_snapshot();  // never destroyed
  return *snapshot;
}

}  // namespace tricolor::gc
