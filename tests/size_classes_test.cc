// Size classes: every size maps to the smallest class that fits, spans waste
// at most 1/8, and the division magic gives the exact slot index for every
// byte offset of every class's span.
#include <gtest/gtest.h>

#include "tricolor/internal/size_classes.hpp"
#include "heap/span.hpp"

namespace tricolor::heap {
namespace {

TEST(SizeClasses, EverySizeGetsTheSmallestClassThatFits) {
  for (std::size_t bytes = 1; bytes <= max_small_size; ++bytes) {
    std::size_t cls = size_class_of(bytes);
    ASSERT_GE(cls, 1u) << "size " << bytes;
    ASSERT_LT(cls, num_size_classes) << "size " << bytes;
    ASSERT_GE(size_class_bytes[cls], bytes) << "class " << cls << " is too small for " << bytes;
    if (cls > 1) {
      ASSERT_LT(size_class_bytes[cls - 1], bytes)
          << "size " << bytes << " would fit class " << cls - 1;
    }
  }
}

TEST(SizeClasses, ClassesAreIncreasingAndEightByteAligned) {
  for (std::size_t cls = 1; cls < num_size_classes; ++cls) {
    EXPECT_EQ(size_class_bytes[cls] % 8, 0u) << "class " << cls;
    if (cls > 1) {
      EXPECT_GT(size_class_bytes[cls], size_class_bytes[cls - 1]);
    }
  }
}

TEST(SizeClasses, SpansHoldAtLeastEightSlotsAndWasteAtMostAnEighth) {
  for (std::size_t cls = 1; cls < num_size_classes; ++cls) {
    std::size_t span_bytes = size_class_pages[cls] * page_size;
    std::size_t slots = span_bytes / size_class_bytes[cls];
    EXPECT_GE(slots, 8u) << "class " << cls;
    EXPECT_LE(slots, max_slots_per_span) << "class " << cls;
    EXPECT_LE((span_bytes % size_class_bytes[cls]) * 8, span_bytes) << "class " << cls;
  }
}

TEST(SizeClasses, DivisionMagicIsExactForEveryOffsetOfEverySpan) {
  for (std::size_t cls = 1; cls < num_size_classes; ++cls) {
    std::uint32_t size = size_class_bytes[cls];
    std::uint32_t magic = division_magic(size);
    std::uint64_t span_bytes = std::uint64_t{size_class_pages[cls]} * page_size;
    for (std::uint64_t offset = 0; offset < span_bytes; ++offset) {
      std::uint64_t index = (offset * magic) >> 32;
      ASSERT_EQ(index, offset / size) << "class " << cls << " (" << size
                                      << " bytes), offset " << offset;
    }
  }
}

}  // namespace
}  // namespace tricolor::heap
