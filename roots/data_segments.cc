// Static storage roots: the writable PT_LOAD segments (.data, .bss and
// relocated read-only data) of the executable and of every loaded shared
// object, found with dl_iterate_phdr at each cycle (so libraries loaded with
// dlopen are covered from their first cycle on). A plain `static gc_ptr<T>`
// is therefore a root without registration.
//
// One module is left out: mimalloc, the allocator of the collector's own
// metadata (and, through libmimalloc.so, of the process's malloc). Its
// writable data (about 290 KiB of heap and page-queue tables, 60 % of all
// data segments of a typical program) holds allocator bookkeeping, never a
// pointer a program stored, and scanning it would only lengthen the
// mark-start pause, which copies every root word.
#include <link.h>

#include <cstring>

#include "roots/root_set.hpp"

namespace tricolor::roots {

namespace {
struct segment_walk {
  root_visitor* visitor;
  std::uint64_t bytes = 0;
};

int visit_module(dl_phdr_info* info, std::size_t, void* data) {
  auto* walk = static_cast<segment_walk*>(data);
  const char* module = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name
                                                             : "(executable)";
  if (std::strstr(module, "/libmimalloc.so") != nullptr) return 0;
  root_identity identity{root_kind::global, module, "", 0, 0, info->dlpi_addr};
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W) || ph.p_memsz == 0) continue;
    auto begin = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    walk->visitor->conservative_range(identity, begin, begin + ph.p_memsz);
    walk->bytes += ph.p_memsz;
  }
  return 0;
}
}  // namespace

std::uint64_t visit_data_segments(root_visitor& visitor) {
  segment_walk walk{&visitor};
  dl_iterate_phdr(visit_module, &walk);
  return walk.bytes;
}

}  // namespace tricolor::roots
