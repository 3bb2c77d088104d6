// Retention paths; see leak_path.hpp.
#include "gc/leak_path.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <string>
#include <unordered_map>

#include "gc/heap_profile.hpp"
#include "gc/root_snapshot.hpp"
#include "heap/heap.hpp"
#include "roots/code_address.hpp"
#include "roots/root_ranges.hpp"
#include "tricolor/internal/object_header.hpp"
#include "tricolor/tracer.hpp"

namespace tricolor::gc::leaks {

namespace {

using heap::type_descriptor;

std::uint64_t slot_bytes(const heap::object_ref& ref) {
  return ref.owner->state.load(std::memory_order_relaxed) == heap::span_state::large
             ? ref.owner->bytes()
             : ref.owner->slot_size;
}

const void* payload_of(const heap::object_ref& ref) {
  return heap::payload_of(ref.owner->slot_address(ref.index));
}

// Calls `visit` with each root handed to it.
class source_visitor final : public roots::root_visitor {
 public:
  explicit source_visitor(std::function<void(const roots::root_identity&, const void*, const void*,
                                             bool)> visit)
      : visit_(std::move(visit)) {}
  void conservative_range(const roots::root_identity& root, const void* begin,
                          const void* end) override {
    visit_(root, begin, end, false);
  }
  void precise(const roots::root_identity& root, const void* target) override {
    visit_(root, target, nullptr, true);
  }

 private:
  std::function<void(const roots::root_identity&, const void*, const void*, bool)> visit_;
};

struct visit_record {
  const void* parent;     // nullptr: a source
  std::uint64_t offset;   // of the field in the parent's payload, or the
                          // element index (array parent); source: its index
  bool index;
};

// Visits the gc_ptrs of one object, noting each field's address.
class edge_tracer final : public tracer {
 public:
  template <class F>
  edge_tracer(const void* object, F&& on_edge) : object_(object), on_edge_(on_edge) {
    field_hook_ = [](tracer& self, const void* field) {
      static_cast<edge_tracer&>(self).field_ = field;
    };
  }
  // Array elements are traced one at a time, to name each by its index.
  void set_element(std::size_t index) { element_ = index; }
  void visit(const void* target) override {
    if (element_ != no_element) {
      on_edge_(target, element_, true);
      return;
    }
    auto offset = reinterpret_cast<std::uintptr_t>(field_) - reinterpret_cast<std::uintptr_t>(object_);
    on_edge_(target, offset, false);
  }

 private:
  static constexpr std::size_t no_element = ~std::size_t{0};
  const void* object_;
  const void* field_ = nullptr;
  std::size_t element_ = no_element;
  std::function<void(const void*, std::uint64_t, bool)> on_edge_;
};

}  // namespace

void path_search::add_word(std::uintptr_t value, std::uint32_t root, std::uintptr_t word,
                           std::uintptr_t range_begin) {
  heap::for_each_object_a_word_may_point_into(
      reinterpret_cast<const void*>(value),
      [&](const heap::object_ref& ref) { sources_.push_back({payload_of(ref), root, word, range_begin}); });
}

// A word of a root range or a data segment, read as the marker reads them:
// sanitizer redzones, a container's unused capacity and words another
// thread writes meanwhile included. (The attribute does not reach a lambda
// defined in an attributed function, so the reads go through this.)
__attribute__((no_sanitize("address", "thread"), noinline))
static std::uintptr_t read_root_word(std::uintptr_t at) {
  return *reinterpret_cast<const std::uintptr_t*>(at);
}

void path_search::add_handles(
    const std::function<std::uint32_t(const roots::root_identity&)>& root_of) {
  source_visitor visitor([&](const roots::root_identity& root, const void* target, const void*,
                             bool) {
    if (std::uint32_t id = root_of(root)) add_word(reinterpret_cast<std::uintptr_t>(target), id, 0, 0);
  });
  roots::visit_handles(visitor);
}

// Root ranges are read as the concurrent marker reads them (read_root_word).
void path_search::add_root_ranges(
    const std::function<std::uint32_t(const roots::root_identity&)>& root_of) {
  source_visitor visitor([&](const roots::root_identity& root, const void* begin, const void* end,
                             bool precise) {
    std::uint32_t id = root_of(root);
    if (id == 0) return;
    if (precise) {
      add_word(reinterpret_cast<std::uintptr_t>(begin), id, 0, 0);
      return;
    }
    auto first = reinterpret_cast<std::uintptr_t>(begin) & ~std::uintptr_t{7};
    for (auto w = first; w + sizeof(void*) <= reinterpret_cast<std::uintptr_t>(end); w += sizeof(void*))
      add_word(read_root_word(w), id, w, first);
  });
  roots::visit_every_range(visitor);
}

void path_search::add_objects(const std::vector<std::uintptr_t>& objects) {
  for (std::uintptr_t object : objects) add_word(object, 0, 0, 0);
}

// Data segments are read as the stop-the-world marker reads them
// (read_root_word).
void path_search::add_data_segments(
    const std::function<std::uint32_t(const roots::root_identity&, std::uintptr_t)>& root_of) {
  source_visitor visitor([&](const roots::root_identity& module, const void* begin, const void* end,
                             bool) {
    auto first = reinterpret_cast<std::uintptr_t>(begin) & ~std::uintptr_t{7};
    for (auto w = first; w + sizeof(void*) <= reinterpret_cast<std::uintptr_t>(end); w += sizeof(void*)) {
      std::uintptr_t value = read_root_word(w);
      heap::object_ref ref;
      if (!heap::find_object(reinterpret_cast<const void*>(value), ref) &&
          !heap::find_object_starting_at(reinterpret_cast<const void*>(value), ref))
        continue;
      if (std::uint32_t id = root_of(module, w)) add_word(value, id, w, first);
    }
  });
  roots::visit_data_segments(visitor);
}

void path_search::add_snapshot(
    const std::function<std::uint32_t(std::uint32_t, std::uintptr_t)>& root_of) {
  the_root_snapshot().for_each_range([&](const root_snapshot::range& r) {
    for (std::size_t i = 0; i < r.count; ++i) {
      heap::object_ref ref;
      if (!heap::find_object(reinterpret_cast<const void*>(r.words[i]), ref) &&
          !heap::find_object_starting_at(reinterpret_cast<const void*>(r.words[i]), ref))
        continue;
      std::uintptr_t word = r.address == 0 ? 0 : r.address + i * sizeof(void*);
      if (std::uint32_t id = root_of(r.root, word)) add_word(r.words[i], id, word, r.address);
    }
  });
}

std::vector<path_result> path_search::run(const std::vector<std::uintptr_t>& targets,
                                          bool stop_when_found) {
  std::unordered_map<const void*, visit_record> visited;
  visited.reserve(std::min<std::size_t>(path_search_limit, 1 << 16));
  std::unordered_map<const type_descriptor*, leak_type_share> types;
  std::map<std::vector<std::uintptr_t>, leak_site_share> sites;  // by allocation stack
  std::vector<std::uintptr_t> sampled_stack;
  double sampled_bytes = 0;
  std::deque<const void*> queue;
  // The targets' payloads (an address may be interior), and how many are
  // still to be reached.
  std::unordered_map<const void*, bool> wanted;
  std::vector<const void*> target_payloads(targets.size(), nullptr);
  for (std::size_t i = 0; i < targets.size(); ++i) {
    heap::object_ref ref;
    if (heap::find_object(reinterpret_cast<const void*>(targets[i]), ref)) {
      target_payloads[i] = payload_of(ref);
      wanted.emplace(target_payloads[i], false);
    }
  }
  std::size_t left = wanted.size();
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    if (visited.emplace(sources_[i].payload, visit_record{nullptr, i, false}).second)
      queue.push_back(sources_[i].payload);
  }
  while (!queue.empty() && !(stop_when_found && left == 0)) {
    const void* object = queue.front();
    queue.pop_front();
    heap::object_ref self;
    if (!heap::find_object(object, self)) continue;
    const type_descriptor* type = heap::header_of(object)->type.load(std::memory_order_acquire);
    if (type != nullptr) {
      leak_type_share& share = types[type];
      share.objects++;
      share.bytes += slot_bytes(self);
    }
    if (heap_profile::sampled_allocation(*self.owner, self.index, sampled_stack, sampled_bytes)) {
      leak_site_share& site = sites[sampled_stack];
      site.samples++;
      site.bytes += static_cast<std::uint64_t>(sampled_bytes);
    }
    if (auto target = wanted.find(object); target != wanted.end() && !target->second) {
      target->second = true;
      --left;
    }
    if (type == nullptr || type->kind == heap::scan_kind::noscan) continue;
    edge_tracer edges(object, [&](const void* to, std::uint64_t offset, bool index) {
      if (visited.size() >= path_search_limit) return;
      heap::object_ref ref;
      if (!heap::find_object(to, ref)) return;
      const void* child = payload_of(ref);
      if (visited.emplace(child, visit_record{object, offset, index}).second) queue.push_back(child);
    });
    if (type->kind == heap::scan_kind::object) {
      type->trace(object, edges);
    } else {
      std::size_t length = type->array_length(object);
      for (std::size_t i = 0; i < length; ++i) {
        edges.set_element(i);
        type->trace_elements(object, edges, i, i + 1);
      }
    }
  }

  std::vector<leak_type_share> top_types;
  std::uint64_t reached_objects = 0, reached_bytes = 0;
  for (auto& [type, share] : types) {
    share.type = type->name;
    top_types.push_back(share);
    reached_objects += share.objects;
    reached_bytes += share.bytes;
  }
  std::sort(top_types.begin(), top_types.end(),
            [](const leak_type_share& a, const leak_type_share& b) { return a.bytes > b.bytes; });
  if (top_types.size() > 5) top_types.resize(5);
  // Sites by the function that allocated (stacks that differ above it are
  // one site).
  std::map<std::string, leak_site_share> by_function;
  for (auto& [stack, share] : sites) {
    std::string function = roots::describe_allocation_site(stack);
    leak_site_share& merged = by_function[function];
    merged.function = function;
    merged.samples += share.samples;
    merged.bytes += share.bytes;
  }
  std::vector<leak_site_share> top_sites;
  for (auto& [function, share] : by_function) top_sites.push_back(share);
  std::sort(top_sites.begin(), top_sites.end(),
            [](const leak_site_share& a, const leak_site_share& b) { return a.bytes > b.bytes; });
  if (top_sites.size() > 5) top_sites.resize(5);

  std::vector<path_result> results(std::max<std::size_t>(targets.size(), 1));
  for (std::size_t i = 0; i < results.size(); ++i) {
    path_result& result = results[i];
    result.top_types = top_types;
    result.top_sites = top_sites;
    result.reached_objects = reached_objects;
    result.reached_bytes = reached_bytes;
    if (i >= targets.size()) break;
    auto target = wanted.find(target_payloads[i]);
    if (target == wanted.end() || !target->second) continue;
    for (const void* at = target_payloads[i];;) {
      const visit_record& record = visited.at(at);
      heap::object_ref ref;
      if (!heap::find_object(at, ref)) break;  // it was found allocated above
      const type_descriptor* type = heap::header_of(at)->type.load(std::memory_order_acquire);
      result.path.push_back({type ? type->name : "(under construction)", slot_bytes(ref),
                             record.parent ? record.offset : 0, record.parent && record.index});
      if (record.parent == nullptr) {
        const source& s = sources_[record.offset];
        result.root = s.root;
        result.root_word = s.word;
        result.root_range_begin = s.range_begin;
        break;
      }
      at = record.parent;
    }
    std::reverse(result.path.begin(), result.path.end());
  }
  return results;
}

}  // namespace tricolor::gc::leaks
