// Size classes: the slot sizes of small objects, computed at compile time.
//
// A small object (header + payload <= max_small_size) is rounded up to one of
// num_size_classes - 1 slot sizes; class 0 means "large" (a span of its own).
// Classes step by 8-16 bytes up to 128 and then by a quarter of each power of
// two, so internal fragmentation stays under 25 % (under 12.5 % on average).
//
//     class : 1  2  3  4  5  6  7   8   9   10  ... 41
//     slot  : 16 24 32 48 64 80 96 112 128 160 ... 32768 bytes
//
// Every span of a class has the same number of 8 KiB pages, chosen so that the
// tail left over after the last slot wastes at most 1/8 of the span.
//
// The object index of an address inside a span is offset / slot_size, computed
// as (offset * div_magic) >> 32 with div_magic = floor((2^32 - 1) / size) + 1;
// tests/size_classes_test.cc checks the identity for every offset of every
// class.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace tricolor::heap {

inline constexpr std::size_t page_shift = 13;
inline constexpr std::size_t page_size = std::size_t{1} << page_shift;  // 8 KiB
inline constexpr std::size_t max_small_size = 32768;

inline constexpr std::array<std::uint32_t, 42> size_class_bytes = {
    0,     16,    24,    32,    48,    64,    80,    96,    112,   128,
    160,   192,   224,   256,   320,   384,   448,   512,   640,   768,
    896,   1024,  1280,  1536,  1792,  2048,  2560,  3072,  3584,  4096,
    5120,  6144,  7168,  8192,  10240, 12288, 14336, 16384, 20480, 24576,
    28672, 32768};
inline constexpr std::size_t num_size_classes = size_class_bytes.size();

namespace detail {
// Classes for sizes <= 1024 indexed by (size + 7) / 8, above by
// (size + 127) / 128, as in Go's size_to_class8 / size_to_class128.
constexpr std::size_t small_step_limit = 1024;

template <std::size_t N, std::size_t Step, std::size_t Base>
constexpr std::array<std::uint8_t, N> make_lookup() {
  std::array<std::uint8_t, N> table{};
  std::size_t cls = 1;
  for (std::size_t i = 0; i < N; ++i) {
    std::size_t bytes = Base + i * Step;
    while (size_class_bytes[cls] < bytes) ++cls;
    table[i] = static_cast<std::uint8_t>(cls);
  }
  return table;
}

inline constexpr auto class_by_8 = make_lookup<small_step_limit / 8 + 1, 8, 0>();
inline constexpr auto class_by_128 =
    make_lookup<(max_small_size - small_step_limit) / 128 + 1, 128,
                small_step_limit>();

constexpr std::uint32_t pages_for_class(std::size_t cls) {
  std::size_t size = size_class_bytes[cls];
  for (std::size_t pages = 1;; ++pages) {
    std::size_t bytes = pages * page_size;
    if (bytes < size * 8 && pages < 64) continue;  // at least 8 slots a span
    if ((bytes % size) * 8 <= bytes) return static_cast<std::uint32_t>(pages);
  }
}

template <std::size_t... I>
constexpr std::array<std::uint32_t, num_size_classes> make_pages(
    std::index_sequence<I...>) {
  return {(I == 0 ? 0u : pages_for_class(I))...};
}
}  // namespace detail

// Size class of a slot of `bytes` bytes (header included); bytes must be in
// [1, max_small_size].
constexpr std::size_t size_class_of(std::size_t bytes) {
  return bytes <= detail::small_step_limit
             ? detail::class_by_8[(bytes + 7) / 8]
             : detail::class_by_128[(bytes - detail::small_step_limit + 127) /
                                    128];
}

inline constexpr std::array<std::uint32_t, num_size_classes> size_class_pages =
    detail::make_pages(std::make_index_sequence<num_size_classes>{});

constexpr std::uint32_t division_magic(std::uint32_t size) {
  return static_cast<std::uint32_t>(0xFFFFFFFFu / size + 1);
}

static_assert(size_class_of(16) == 1 && size_class_of(17) == 2);
static_assert(size_class_of(max_small_size) == num_size_classes - 1);

}  // namespace tricolor::heap
