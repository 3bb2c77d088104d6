// Address -> object lookup, the query behind conservative root scanning:
// every address from just after a slot's start to one past its end (the
// payload, and one past the end of an object that fills its slot) maps to
// that slot, for small objects of every size class and for large objects; a
// slot's start maps to the slot before it, never to its own (no pointer
// points at a header), including across a span boundary; addresses outside
// the heap map to nothing.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "tricolor/tricolor.hpp"
#include "heap/heap.hpp"

namespace tricolor::heap {
namespace {

template <std::size_t Bytes>
struct blob {
  std::array<char, Bytes> bytes{};
};

template <std::size_t Bytes>
void expect_every_address_maps_to_its_slot() {
  gc_root<blob<Bytes>> keep(make_gc<blob<Bytes>>(), "lookup test");
  const char* payload = reinterpret_cast<const char*>(keep.get().get());
  const char* slot = payload - header_size;
  span* owner = find_span(payload);
  ASSERT_NE(owner, nullptr) << Bytes << "-byte object not found";
  std::size_t slot_bytes =
      owner->state.load() == span_state::large ? owner->bytes() : owner->slot_size;
  ASSERT_GE(slot_bytes, Bytes + header_size);
  // (slot, slot + slot_bytes]: the last one is one past the end.
  for (std::size_t offset = 1; offset <= slot_bytes; ++offset) {
    object_ref ref;
    ASSERT_TRUE(find_object(slot + offset, ref))
        << Bytes << "-byte object: offset " << offset << " not found";
    ASSERT_EQ(ref.owner->slot_address(ref.index), slot)
        << Bytes << "-byte object: offset " << offset << " maps to another slot";
  }
  // The slot's start is the header: it belongs to the slot before, if any.
  object_ref ref;
  if (find_object(slot, ref)) {
    const char* before = ref.owner->slot_address(ref.index);
    std::size_t before_bytes = ref.owner->state.load() == span_state::large
                                   ? ref.owner->bytes()
                                   : ref.owner->slot_size;
    ASSERT_EQ(before + before_bytes, slot)
        << Bytes << "-byte object: its slot's start maps to a slot that does not end there";
  }
}

TEST(ObjectLookup, EveryAddressOfSmallObjectsOfEveryClass) {
  expect_every_address_maps_to_its_slot<8>();
  expect_every_address_maps_to_its_slot<16>();
  expect_every_address_maps_to_its_slot<40>();
  expect_every_address_maps_to_its_slot<120>();
  expect_every_address_maps_to_its_slot<200>();
  expect_every_address_maps_to_its_slot<1000>();
  expect_every_address_maps_to_its_slot<3000>();
  expect_every_address_maps_to_its_slot<20000>();
  expect_every_address_maps_to_its_slot<32760>();
}

TEST(ObjectLookup, EveryAddressOfALargeObject) {
  expect_every_address_maps_to_its_slot<32761>();
  expect_every_address_maps_to_its_slot<200000>();
  expect_every_address_maps_to_its_slot<40960 - header_size>();  // fills 5 pages
}

// Two neighbouring allocated slots A, B of one span: B's start is one past
// A's end, and maps to A.
TEST(ObjectLookup, SlotBoundaryMapsToTheSlotBefore) {
  gc_root<gc_array<gc_ptr<blob<40>>>> keep(make_gc_array<gc_ptr<blob<40>>>(256), "lookup test");
  for (auto& p : *keep) p = make_gc<blob<40>>();
  bool checked = false;
  for (const auto& a : *keep) {
    const char* a_slot = reinterpret_cast<const char*>(a.get()) - header_size;
    span* s = find_span(a_slot);
    ASSERT_NE(s, nullptr);
    std::uint32_t index = s->slot_index(a_slot);
    if (index + 1 >= s->slot_count || !s->is_allocated(index + 1)) continue;
    object_ref ref;
    ASSERT_TRUE(find_object(s->slot_address(index + 1), ref));
    EXPECT_EQ(ref.owner, s);
    EXPECT_EQ(ref.index, index) << "the start of slot " << index + 1
                                << " must map to slot " << index << " (one past its end)";
    ASSERT_TRUE(find_object(s->slot_address(index + 1) + 1, ref));
    EXPECT_EQ(ref.index, index + 1);
    checked = true;
  }
  EXPECT_TRUE(checked) << "no two of 256 objects of one class were neighbours";
}

// The last slot of a span whose slots fill it exactly (the 16-byte class:
// 512 slots in 8 KiB): one past its end is the first byte after the span,
// and must map back to it, whatever follows the span.
TEST(ObjectLookup, OnePastTheLastSlotOfASpan) {
  gc_root<gc_array<gc_ptr<blob<8>>>> keep(make_gc_array<gc_ptr<blob<8>>>(2048), "lookup test");
  bool checked = false;
  for (auto& p : *keep) {
    p = make_gc<blob<8>>();
    const char* slot = reinterpret_cast<const char*>(p.get()) - header_size;
    span* s = find_span(slot);
    ASSERT_NE(s, nullptr);
    ASSERT_EQ(s->slot_size, 16u);
    ASSERT_EQ(std::size_t{s->slot_count} * s->slot_size, s->bytes());
    if (s->slot_index(slot) != s->slot_count - 1) continue;
    object_ref ref;
    ASSERT_TRUE(find_object(s->start + s->bytes(), ref))
        << "one past the end of a span's last slot is not found";
    EXPECT_EQ(ref.owner, s);
    EXPECT_EQ(ref.index, s->slot_count - 1);
    checked = true;
    break;
  }
  EXPECT_TRUE(checked) << "none of 2048 16-byte objects took the last slot of its span";
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
  EXPECT_FALSE(find_object(the_arena.base + 1, ref));
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
