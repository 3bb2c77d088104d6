// Address -> object lookup, the query behind conservative root scanning:
// every byte of an allocated slot (header included) maps to that slot, for
// small objects of every size class and for large objects; addresses outside
// the heap map to nothing.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "gc/tricolor.hpp"
#include "heap/heap.hpp"

namespace tricolor::heap {
namespace {

template <std::size_t Bytes>
struct blob {
  std::array<char, Bytes> bytes{};
};

template <std::size_t Bytes>
void expect_every_byte_maps_to_its_slot() {
  gc_root<blob<Bytes>> keep(make_gc<blob<Bytes>>(), "lookup test");
  const char* payload = reinterpret_cast<const char*>(keep.get().get());
  const char* slot = payload - header_size;
  span* owner = find_span(payload);
  ASSERT_NE(owner, nullptr) << Bytes << "-byte object not found";
  std::size_t slot_bytes =
      owner->state.load() == span_state::large ? owner->bytes() : owner->slot_size;
  ASSERT_GE(slot_bytes, Bytes + header_size);
  for (std::size_t offset = 0; offset < slot_bytes; ++offset) {
    object_ref ref;
    ASSERT_TRUE(find_object(slot + offset, ref))
        << Bytes << "-byte object: offset " << offset << " not found";
    ASSERT_EQ(ref.owner->slot_address(ref.index), slot)
        << Bytes << "-byte object: offset " << offset << " maps to another slot";
  }
}

TEST(ObjectLookup, EveryByteOfSmallObjectsOfEveryClass) {
  expect_every_byte_maps_to_its_slot<8>();
  expect_every_byte_maps_to_its_slot<16>();
  expect_every_byte_maps_to_its_slot<40>();
  expect_every_byte_maps_to_its_slot<120>();
  expect_every_byte_maps_to_its_slot<200>();
  expect_every_byte_maps_to_its_slot<1000>();
  expect_every_byte_maps_to_its_slot<3000>();
  expect_every_byte_maps_to_its_slot<20000>();
  expect_every_byte_maps_to_its_slot<32760>();
}

TEST(ObjectLookup, EveryByteOfALargeObject) {
  expect_every_byte_maps_to_its_slot<32761>();
  expect_every_byte_maps_to_its_slot<200000>();
}

TEST(ObjectLookup, AddressesOutsideTheHeapMapToNothing) {
  make_gc<int>(1);  // makes sure the arena exists
  object_ref ref;
  int local = 0;
  static int global = 0;
  EXPECT_FALSE(find_object(nullptr, ref));
  EXPECT_FALSE(find_object(&local, ref));
  EXPECT_FALSE(find_object(&global, ref));
  EXPECT_FALSE(find_object(the_arena.base, ref)) << "page 0 must never hold objects";
  EXPECT_FALSE(find_object(the_arena.base + the_arena.reserved - 1, ref));
  EXPECT_FALSE(find_object(reinterpret_cast<void*>(~std::uintptr_t{0}), ref));
}

TEST(SpanBits, TryMarkExclusiveWinsOnceAndIsMarkedReportsIt) {
  span s;
  s.slot_count = 512;
  for (std::uint32_t i = 0; i < 512; i += 37) {
    EXPECT_FALSE(s.is_marked(i));
    EXPECT_TRUE(s.try_mark_exclusive(i)) << "slot " << i;
    EXPECT_FALSE(s.try_mark_exclusive(i)) << "slot " << i << " marked twice";
    EXPECT_TRUE(s.is_marked(i));
  }
  EXPECT_FALSE(s.is_marked(1));
}

TEST(SpanBits, ValidMaskCoversExactlyTheSlots) {
  span s;
  s.slot_count = 341;  // the 24-byte class
  EXPECT_EQ(s.bitmap_word_count(), 6u);
  EXPECT_EQ(s.valid_mask(0), ~std::uint64_t{0});
  EXPECT_EQ(s.valid_mask(5), (std::uint64_t{1} << (341 - 320)) - 1);
}

}  // namespace
}  // namespace tricolor::heap
