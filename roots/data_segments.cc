// Static storage roots: the writable PT_LOAD segments (.data, .bss and
// relocated read-only data) of the executable and of every loaded shared
// object, found with dl_iterate_phdr at each cycle (so libraries loaded with
// dlopen are covered from their first cycle on). A plain `static gc_ptr<T>`
// is therefore a root without registration.
//
// Left out: the modules of roots/runtime_modules.hpp (mimalloc, the
// sanitizers' runtimes), whose data holds no pointer the program stored.
#include <link.h>

#include <cstring>

#include "roots/root_set.hpp"
#include "roots/runtime_modules.hpp"

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
  if (holds_no_program_pointers(module)) return 0;
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
