// Arena reservation; see arena.hpp for the layout and its invariants.
#include "heap/arena.hpp"

#include <sys/mman.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace tricolor::heap {

constinit arena the_arena;

namespace {
// 64 GiB of address space by default; halved until the kernel accepts it.
constexpr std::size_t preferred_reservation = std::size_t{64} << 30;
constexpr std::size_t minimum_reservation = std::size_t{256} << 20;
constexpr std::size_t huge_pages_from = std::size_t{64} << 20;

void* reserve(std::size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}
}  // namespace

namespace {
void reserve_once() {
  for (std::size_t bytes = preferred_reservation; bytes >= minimum_reservation;
       bytes /= 2) {
    std::size_t pages = bytes >> page_shift;
    void* table = reserve(pages * sizeof(std::atomic<span*>));
    if (table == nullptr) continue;
    void* base = reserve(bytes);
    if (base == nullptr) {
      munmap(table, pages * sizeof(std::atomic<span*>));
      continue;
    }
    // Transparent huge pages for object memory beyond the first 64 MiB: in a
    // large heap the marker's accesses are scattered and with 4 KiB pages
    // nearly each one would also miss the TLB, while a small heap fits the
    // TLB anyway and would only pay for faulting in and zeroing 2 MiB pages
    // it barely uses (binary-trees depth 21: -18 % time with huge pages;
    // GCBench, a 30 MiB heap: +28 % with them everywhere). Advice only:
    // ignored where THP is off. The page heap hands out low addresses first.
    if (bytes > huge_pages_from)
      madvise(static_cast<char*>(base) + huge_pages_from, bytes - huge_pages_from,
              MADV_HUGEPAGE);
    the_arena.page_table = static_cast<std::atomic<span*>*>(table);
    the_arena.reserved = bytes;
    the_arena.base = static_cast<char*>(base);
    the_arena.frontier.store(page_size, std::memory_order_release);  // page 0 unused
    return;
  }
  std::fprintf(stderr,
               "tricolor: cannot reserve address space for the managed heap "
               "(tried %zu MiB down to %zu MiB)\n",
               preferred_reservation >> 20, minimum_reservation >> 20);
  std::abort();
}
}  // namespace

// The first threads may allocate at the same moment: exactly one reserves,
// the others wait for it (call_once synchronizes them with its writes).
void reserve_arena() {
  static std::once_flag reserved;
  std::call_once(reserved, reserve_once);
}

}  // namespace tricolor::heap
