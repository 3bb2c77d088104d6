// Mark stack: last in, first out across many segments, empty when drained,
// and no growth of the C++ stack however many items it holds.
#include <gtest/gtest.h>

#include "gc/mark_stack.hpp"

namespace tricolor::gc {
namespace {

TEST(MarkStack, PopsInReverseOrderAcrossSegments) {
  mark_stack stack;
  constexpr std::size_t count = 100'000;  // ~25 segments
  for (std::size_t i = 0; i < count; ++i)
    stack.push(mark_item::make(reinterpret_cast<const void*>(i * 8), i, static_cast<std::uint32_t>(i % 1000)));
  mark_item item;
  for (std::size_t i = count; i-- > 0;) {
    ASSERT_TRUE(stack.pop(item)) << "ran out at " << i;
    ASSERT_EQ(item.next_element(), i);
    ASSERT_EQ(item.root(), i % 1000);  // the leak tracker's root id rides along
  }
  EXPECT_FALSE(stack.pop(item));
  EXPECT_TRUE(stack.empty());
}

TEST(MarkStack, OscillatingAroundASegmentBoundaryKeepsItems) {
  mark_stack stack;
  for (std::size_t i = 0; i < 4096; ++i) stack.push(mark_item::make(nullptr, i, 0));
  mark_item item;
  for (int round = 0; round < 1000; ++round) {
    stack.push(mark_item::make(nullptr, 99'999, 0));
    ASSERT_TRUE(stack.pop(item));
    ASSERT_EQ(item.next_element(), 99'999u);
    ASSERT_TRUE(stack.pop(item));
    stack.push(item);
  }
  std::size_t remaining = 0;
  while (stack.pop(item)) ++remaining;
  EXPECT_EQ(remaining, 4096u);
}

}  // namespace
}  // namespace tricolor::gc
