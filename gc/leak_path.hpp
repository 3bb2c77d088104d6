// The retention path of a leak report: the shortest chain of references
// from a root to an object, found breadth-first.
//
// Sources are the objects the chosen roots point to: gc_root targets, words
// of root_allocator blocks and other root ranges, and the words of the last
// root snapshot (stacks, registers, TLS, data segments). The search reads
// objects as the concurrent marker does (atomic loads of gc_ptr fields,
// acquire loads of headers) with the world running; it is run by the
// collector thread after a sweep, when nothing can be freed before it
// returns (gc/leak_tracker.hpp). It visits at most path_search_limit
// objects, and also counts the types of those it visits.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "roots/root_set.hpp"
#include "tricolor/leak_report.hpp"

namespace tricolor::gc::leaks {

struct path_result {
  std::uint32_t root = 0;               // the root the path starts from; 0: none
  std::uintptr_t root_word = 0;         // where that root held the first object
  std::uintptr_t root_range_begin = 0;  // the start of the range holding root_word
  std::vector<leak_path_hop> path;      // first object ... target
  // Everything the search visited (the same in every result of a run).
  std::vector<leak_type_share> top_types;
  std::vector<leak_site_share> top_sites;  // of the sampled objects visited
  std::uint64_t reached_objects = 0;
  std::uint64_t reached_bytes = 0;
};

class path_search {
 public:
  // Each takes a function from a root (or a snapshot range's root id and a
  // word's address) to the leak-tracker id the source gets; 0 leaves it out.
  void add_handles(const std::function<std::uint32_t(const roots::root_identity&)>& root_of);
  void add_root_ranges(const std::function<std::uint32_t(const roots::root_identity&)>& root_of);
  void add_snapshot(const std::function<std::uint32_t(std::uint32_t, std::uintptr_t)>& root_of);
  // Objects themselves (addresses into them) as sources.
  void add_objects(const std::vector<std::uintptr_t>& objects);
  // The data segments read in place (a module's identity and a word's
  // address to an id).
  void add_data_segments(
      const std::function<std::uint32_t(const roots::root_identity&, std::uintptr_t)>& root_of);

  // Searches from the sources for the objects at `targets`: one result
  // each, in order (an empty path if not reached); one result, with the
  // totals only, when `targets` is empty. With `stop_when_found`,
  // stops as soon as every target is reached; otherwise visits everything
  // reachable (up to the limit), for the type counts.
  std::vector<path_result> run(const std::vector<std::uintptr_t>& targets, bool stop_when_found);

  struct source {
    const void* payload;
    std::uint32_t root;
    std::uintptr_t word;
    std::uintptr_t range_begin;
  };

 private:
  void add_word(std::uintptr_t value, std::uint32_t root, std::uintptr_t word,
                std::uintptr_t range_begin);
  std::vector<source> sources_;
};

}  // namespace tricolor::gc::leaks
