// Mark verifier; see verifier.hpp for what it checks and why.
#include "gc/verifier.hpp"

#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tricolor/make_gc.hpp"
#include "tricolor/tracer.hpp"
#include "heap/heap.hpp"
#include "roots/root_set.hpp"

namespace tricolor::gc::verifier {

namespace {
using heap::object_ref;
using heap::span;

const char* kind_name(roots::root_kind kind) {
  switch (kind) {
    case roots::root_kind::global: return "data segment";
    case roots::root_kind::stack: return "stack";
    case roots::root_kind::registers: return "registers";
    case roots::root_kind::tls: return "thread-local storage";
    case roots::root_kind::handle: return "gc_root";
    case roots::root_kind::range: return "root range";
  }
  return "root";
}

std::string describe_root(const roots::root_identity& root) {
  std::string text = std::string(kind_name(root.kind)) + " \"" + root.name + "\"";
  if (root.thread != 0) text += " of thread " + std::to_string(root.thread);
  if (root.file != nullptr && root.file[0] != '\0')
    text += " (" + std::string(root.file) + ":" + std::to_string(root.line) + ")";
  return text;
}

const char* type_name(const void* slot) {
  const heap::type_descriptor* type =
      reinterpret_cast<const heap::object_header*>(slot)->type.load(std::memory_order_acquire);
  return type != nullptr ? type->name : "(under construction)";
}

// How a traversal first reached an object.
struct origin {
  const void* parent_slot;  // nullptr: reached from a root
  std::string root;         // the root's description when parent_slot is null
};

// A stop-the-world traversal with its own visited set.
class traversal final : public tracer, public roots::root_visitor {
 public:
  // Decides, for an object first reached, whether to follow it.
  // `conservative`: reached through a conservative word.
  using admit_fn = bool (*)(const object_ref& ref, bool conservative, const origin& from);

  explicit traversal(admit_fn admit) : admit_(admit) {}

  void run() {
    roots::enumerate_roots(nullptr, *this);
    while (!pending_.empty()) {
      const void* slot = pending_.back();
      pending_.pop_back();
      parent_ = slot;
      scan(slot);
    }
    parent_ = nullptr;
  }

  std::unordered_map<const void*, origin>& reached() { return reached_; }

  void visit(const void* target) override { reach(target, /*conservative=*/false, true); }
  void precise(const roots::root_identity& root, const void* target) override {
    root_ = &root;
    reach(target, false, true);
    root_ = nullptr;
  }
  void conservative_range(const roots::root_identity& root, const void* begin,
                          const void* end) override {
    root_ = &root;
    scan_words(begin, end);
    root_ = nullptr;
  }

 private:
  void reach(const void* p, bool conservative, bool must_exist) {
    if (conservative) {
      // As the marker: a word on a slot boundary may stand for either slot.
      heap::for_each_object_a_word_may_point_into(p, [&](const object_ref& ref) { reach(ref, true); });
      return;
    }
    object_ref ref;
    if (!heap::find_object(p, ref)) {
      if (!must_exist) return;
      std::fprintf(stderr, "tricolor: verify: a traced gc_ptr holds %p, not an allocated object\n", p);
      std::abort();
    }
    reach(ref, false);
  }

  void reach(const object_ref& ref, bool conservative) {
    const void* slot = ref.owner->slot_address(ref.index);
    if (reached_.count(slot)) return;
    origin from{parent_, parent_ ? std::string() : describe_root(*root_)};
    if (!admit_(ref, conservative, from)) return;
    reached_.emplace(slot, std::move(from));
    pending_.push_back(slot);
  }

  __attribute__((no_sanitize("address", "thread")))
  void scan_words(const void* begin, const void* end) {
    auto word = reinterpret_cast<std::uintptr_t>(begin) & ~std::uintptr_t{7};
    auto stop = reinterpret_cast<std::uintptr_t>(end);
    for (; word + sizeof(void*) <= stop; word += sizeof(void*))
      reach(*reinterpret_cast<void* const*>(word), /*conservative=*/true, false);
  }

  void scan(const void* slot) {
    const void* payload = static_cast<const char*>(slot) + heap::header_size;
    const heap::type_descriptor* type =
        heap::header_of(payload)->type.load(std::memory_order_acquire);
    if (type == nullptr) {
      span* s = heap::find_span(slot);
      std::size_t bytes = s->state.load(std::memory_order_relaxed) == heap::span_state::large
                              ? s->bytes()
                              : s->slot_size;
      scan_words(payload, static_cast<const char*>(slot) + bytes);
      return;
    }
    switch (type->kind) {
      case heap::scan_kind::noscan: return;
      case heap::scan_kind::object: type->trace(payload, *this); return;
      case heap::scan_kind::array:
        type->trace_elements(payload, *this, 0, type->array_length(payload));
        return;
    }
  }

  admit_fn admit_;
  std::unordered_map<const void*, origin> reached_;
  std::vector<const void*> pending_;
  const void* parent_ = nullptr;
  const roots::root_identity* root_ = nullptr;
};

// The words of a payload that trace() visits: the address of each gc_ptr the
// tracer is given (tracer::field_hook_), inside [payload, payload + bytes).
class field_recorder final : public tracer {
 public:
  field_recorder(const void* payload, std::size_t bytes)
      : begin_(reinterpret_cast<std::uintptr_t>(payload)), visited_(bytes / sizeof(void*)) {
    field_hook_ = [](tracer& self, const void* field) {
      auto& recorder = static_cast<field_recorder&>(self);
      std::uintptr_t at = reinterpret_cast<std::uintptr_t>(field) - recorder.begin_;
      if (at / sizeof(void*) < recorder.visited_.size()) recorder.visited_[at / sizeof(void*)] = true;
    };
  }
  void visit(const void*) override {}
  bool visited(std::size_t word) const { return visited_[word]; }

 private:
  std::uintptr_t begin_;
  std::vector<bool> visited_;
};

// Untraced pointers found in one check, by (type, offset).
struct untraced_key {
  const heap::type_descriptor* type;
  std::size_t offset;
  bool operator==(const untraced_key&) const = default;
};
struct untraced_key_hash {
  std::size_t operator()(const untraced_key& k) const {
    return std::hash<const void*>()(k.type) * 31 + k.offset;
  }
};
struct untraced_finding {
  const char* target_type;  // of the first object found
  std::size_t objects = 0;
};

std::size_t payload_bytes(const void* slot) {
  span* s = heap::find_span(slot);
  std::size_t bytes = s->state.load(std::memory_order_relaxed) == heap::span_state::large
                          ? s->bytes()
                          : s->slot_size;
  return bytes - heap::header_size;
}

// Scans the words of one reached object that its trace() does not visit (all
// of them when it is noscan) for payload starts of other allocated objects.
__attribute__((no_sanitize("address", "thread")))
void scan_untraced(const void* slot,
                   std::unordered_map<untraced_key, untraced_finding, untraced_key_hash>& found) {
  const void* payload = static_cast<const char*>(slot) + heap::header_size;
  const heap::type_descriptor* type = heap::header_of(payload)->type.load(std::memory_order_acquire);
  if (type == nullptr) return;  // under construction: scanned conservatively anyway
  // A dead object whose destructor is queued or has run (gc/finalizer.hpp),
  // kept alive one more cycle by a stale conservative word: its words are
  // the dead object's, and the finalizer thread may be destroying it.
  if (type == &heap::awaiting_finalizer || type == &heap::finalized_object) return;
  std::size_t bytes = payload_bytes(slot);
  field_recorder fields(payload, bytes);
  if (type->kind == heap::scan_kind::object) type->trace(payload, fields);
  if (type->kind == heap::scan_kind::array)
    type->trace_elements(payload, fields, 0, type->array_length(payload));
  const auto* words = static_cast<void* const*>(payload);
  for (std::size_t i = 0; i < bytes / sizeof(void*); ++i) {
    if (fields.visited(i)) continue;
    const void* word = words[i];
    object_ref ref;
    if (word == nullptr || !heap::find_object(word, ref)) continue;
    const char* target_slot = ref.owner->slot_address(ref.index);
    if (target_slot == slot || target_slot + heap::header_size != word) continue;
    untraced_finding& f = found[{type, i * sizeof(void*)}];
    if (f.objects++ == 0) f.target_type = type_name(target_slot);
  }
}

// Reports each (type, offset) once per process, with the count of objects of
// the first cycle that found it.
void report_untraced(const std::unordered_map<const void*, origin>& reached) {
  static std::unordered_set<untraced_key, untraced_key_hash> reported;
  std::unordered_map<untraced_key, untraced_finding, untraced_key_hash> found;
  for (const auto& [slot, from] : reached) scan_untraced(slot, found);
  for (const auto& [key, finding] : found) {
    if (!reported.insert(key).second) continue;
    std::fprintf(stderr,
                 "tricolor: verify: object of type %s at offset %zu holds a pointer "
                 "to a managed object of type %s that its trace() does not visit "
                 "(%zu object%s this cycle%s)\n",
                 key.type->name, key.offset, finding.target_type, finding.objects,
                 finding.objects == 1 ? "" : "s",
                 key.type->kind == heap::scan_kind::noscan ? "; the type has no trace(): noscan"
                                                           : "");
  }
}

// S, recorded at the snapshot.
std::unordered_map<const void*, origin>* snapshot_set = nullptr;

bool is_marked(const object_ref& ref) { return ref.owner->is_marked(ref.index); }

[[noreturn]] void fail(const char* check, const object_ref& ref, const origin& from,
                       const std::unordered_map<const void*, origin>& chain) {
  const void* slot = ref.owner->slot_address(ref.index);
  std::fprintf(stderr,
               "tricolor: verify: %s: object %p of type %s (span %p, size class "
               "%u, slot %u) is reachable but the concurrent mark left it white\n",
               check, static_cast<const char*>(slot) + heap::header_size,
               type_name(slot), static_cast<void*>(ref.owner), ref.owner->size_class,
               ref.index);
  const origin* step = &from;
  for (int depth = 0; depth < 8 && step != nullptr; ++depth) {
    if (step->parent_slot == nullptr) {
      std::fprintf(stderr, "  reached from root: %s\n", step->root.c_str());
      break;
    }
    object_ref parent;
    // Looked up by its payload: find_object maps a slot's start to the slot
    // before it (one past that slot's end, heap/heap.hpp).
    bool found = heap::find_object(
        static_cast<const char*>(step->parent_slot) + heap::header_size, parent);
    std::fprintf(stderr, "  reached from object %p of type %s (%s)\n",
                 static_cast<const char*>(step->parent_slot) + heap::header_size,
                 type_name(step->parent_slot),
                 found && is_marked(parent) ? "marked" : "white");
    auto next = chain.find(step->parent_slot);
    step = next == chain.end() ? nullptr : &next->second;
  }
  std::abort();
}
}  // namespace

void record_snapshot() {
  traversal t([](const object_ref&, bool, const origin&) { return true; });
  t.run();
  delete snapshot_set;
  snapshot_set = new std::unordered_map<const void*, origin>(std::move(t.reached()));
}

std::size_t check_mark() {
  if (snapshot_set == nullptr) return 0;
  // (a) S is marked.
  for (const auto& [slot, from] : *snapshot_set) {
    object_ref ref;
    // By its payload: a slot's start maps to the slot before (heap/heap.hpp).
    if (!heap::find_object(static_cast<const char*>(slot) + heap::header_size, ref)) {
      std::fprintf(stderr, "tricolor: verify: object %p of the snapshot is no longer allocated\n", slot);
      std::abort();
    }
    if (!is_marked(ref)) fail("snapshot object not marked", ref, from, *snapshot_set);
  }
  // (b) Re-mark: precise edges and handles must lead to marked objects;
  // conservative words to marked objects or objects of S.
  static std::unordered_map<const void*, origin>* reached_now = nullptr;
  traversal t([](const object_ref& ref, bool conservative, const origin& from) {
    if (is_marked(ref)) return true;
    const void* slot = ref.owner->slot_address(ref.index);
    if (conservative) return snapshot_set->count(slot) != 0;  // stale word: skip
    fail("re-mark", ref, from, *reached_now);
  });
  reached_now = &t.reached();
  t.run();
  // (c) The words of reached objects that trace() does not visit.
  report_untraced(t.reached());
  std::size_t checked = snapshot_set->size() + t.reached().size();
  reached_now = nullptr;
  delete snapshot_set;
  snapshot_set = nullptr;
  return checked;
}

}  // namespace tricolor::gc::verifier
