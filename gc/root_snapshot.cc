// Root snapshot; see root_snapshot.hpp.
#include "gc/root_snapshot.hpp"

#include "gc/leak_tracker.hpp"
#include "gc/marker.hpp"

namespace tricolor::gc {

void root_snapshot::clear() {
  words_.clear();
  segments_.clear();
  keep_ = leaks::keep_root_snapshot();
}

void root_snapshot::start_segment(const roots::root_identity& root, std::uintptr_t address) {
  if (!keep_) return;
  // Words of a data segment or a TLS block belong to variables.
  segments_.push_back({leaks::root_id(root),
                       root.kind == roots::root_kind::global || root.kind == roots::root_kind::tls,
                       root.kind == roots::root_kind::registers, address, words_.size()});
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
  scan_where(m, false);
}

void root_snapshot::scan_globals(marker& m) { scan_where(m, true); }

void root_snapshot::scan_where(marker& m, bool globals_only) {
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    segment& seg = segments_[i];
    if (seg.scanned || (globals_only && !seg.global)) continue;
    std::size_t end = i + 1 < segments_.size() ? segments_[i + 1].first_word : words_.size();
    m.scan_words(words_.data() + seg.first_word, end - seg.first_word, seg.address, seg.root,
                 seg.global);
    seg.scanned = true;
  }
}

namespace {
// Counts the words of the ranges handed to it.
class range_counter final : public roots::root_visitor {
 public:
  void conservative_range(const roots::root_identity&, const void* begin,
                          const void* end) override {
    words += (reinterpret_cast<std::uintptr_t>(end) - reinterpret_cast<std::uintptr_t>(begin)) /
             sizeof(void*) + 1;
  }
  void precise(const roots::root_identity&, const void*) override { ++words; }
  std::size_t words = 0;
};
}  // namespace

void root_snapshot::prepare(std::size_t extra_words) {
  range_counter globals;
  roots::visit_data_segments(globals);
  std::size_t wanted = globals.words + extra_words;
  if (words_.capacity() >= wanted) return;
  words_.resize(wanted);  // writes every word: the pages are faulted in now
  words_.clear();         // keeps the capacity
}

root_snapshot& the_root_snapshot() {
  static auto* snapshot = new root_snapshot();  // never destroyed
  return *snapshot;
}

}  // namespace tricolor::gc
