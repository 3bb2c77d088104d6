// Deep structures: a singly linked list of 10 million nodes (and a chain of
// 2 million two-element arrays) survives collection intact, then is freed
// entirely. Marking such a structure recursively would need a C++ stack tens
// of millions of frames deep: the marker must use an explicit work list.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc_array;
using tricolor::gc_ptr;
using tricolor::gc_root;
using tricolor::make_gc;
using tricolor::make_gc_array;
using tricolor_test::collect_clean;
using tricolor_test::counted;

struct list_node {
  gc_ptr<list_node> next;
  std::uint64_t value;
  void trace(tricolor::tracer& t) const { t(next); }
};

// Builds the list by prepending: node i holds mix(i), the head is the last.
// Collections triggered by pacing meanwhile mark ever longer prefixes.
[[gnu::noinline]] void build_list(gc_root<list_node>* head, std::uint64_t n) {
  gc_ptr<list_node> first;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto node = make_gc<list_node>();
    node->value = counted::mix(i);
    node->next = first;
    first = node;
  }
  *head = first;
}

// Walks the list; returns "" or a sentence saying what is wrong.
[[gnu::noinline]] std::string check_list(const gc_root<list_node>& head,
                                         std::uint64_t n) {
  gc_ptr<list_node> node = head.get();
  for (std::uint64_t i = n; i-- > 0;) {
    if (!node)
      return "the list ends after " + std::to_string(n - 1 - i) +
             " nodes instead of " + std::to_string(n);
    if (node->value != counted::mix(i))
      return "node " + std::to_string(i) + " (at depth " +
             std::to_string(n - 1 - i) + ") holds " +
             std::to_string(node->value) + " instead of " +
             std::to_string(counted::mix(i)) + ": freed and reused?";
    node = node->next;
  }
  if (node) return "the list is longer than " + std::to_string(n) + " nodes";
  return "";
}

TEST(DeepList, TenMillionNodesSurviveAndAreFreed) {
  constexpr std::uint64_t n = 10'000'000;
  collect_clean();
  const auto base = tricolor::read_stats();
  gc_root<list_node> head(nullptr, "deep_list_test.head");
  build_list(&head, n);
  for (int cycle = 0; cycle < 2; ++cycle) {
    collect_clean();
    const auto stats = tricolor::read_stats();
    EXPECT_EQ(stats.live_objects, base.live_objects + n)
        << "after cycle " << cycle;
    const std::string problem = check_list(head, n);
    ASSERT_EQ(problem, "") << "after cycle " << cycle;
  }
  head.reset();
  collect_clean();
  EXPECT_EQ(tricolor::read_stats().live_objects, base.live_objects)
      << "the dropped 10-million-node list was not entirely freed";
}

// A chain of arrays: element 0 points to the next array, element 1 to a
// value. Arrays are scanned by the chunked array path, not through trace().
struct chain_link {
  gc_ptr<gc_array<gc_ptr<chain_link>>> rest;
  gc_ptr<counted> value;
  void trace(tricolor::tracer& t) const { t(rest, value); }
};
using chain = gc_array<gc_ptr<chain_link>>;

[[gnu::noinline]] void build_chain(gc_root<chain>* head, std::uint64_t n) {
  gc_ptr<chain> first;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto array = make_gc_array<gc_ptr<chain_link>>(2);
    auto link = make_gc<chain_link>();
    link->rest = first;
    link->value = make_gc<counted>(nullptr, i);
    (*array)[0] = link;
    first = array;
  }
  *head = first;
}

[[gnu::noinline]] std::string check_chain(const gc_root<chain>& head,
                                          std::uint64_t n) {
  gc_ptr<chain> array = head.get();
  for (std::uint64_t i = n; i-- > 0;) {
    if (!array || array->size() != 2 || !(*array)[0])
      return "the chain is broken at depth " + std::to_string(n - 1 - i);
    const gc_ptr<chain_link>& link = (*array)[0];
    if (!link->value || link->value->id != i || !link->value->intact())
      return "link " + std::to_string(i) + " lost or corrupted its value";
    array = link->rest;
  }
  return array ? "the chain is too long" : "";
}

TEST(DeepList, TwoMillionArrayLinksSurvive) {
  constexpr std::uint64_t n = 2'000'000;
  gc_root<chain> head(nullptr, "deep_list_test.chain");
  build_chain(&head, n);
  collect_clean();
  ASSERT_EQ(check_chain(head, n), "");
  collect_clean();
  ASSERT_EQ(check_chain(head, n), "");
}

}  // namespace
