// Loaded modules the collector treats apart from the program's own.
//
// Sanitizer runtimes (ASan, TSan, UBSan, LSan). Their code makes system calls
// with the runtime's own locks held, so the stop signal never parks a thread
// there (roots/stop_signal.hpp). Their writable data and static TLS hold the
// runtime's bookkeeping (TSan's is 47 MiB of .bss and 767 KiB of TLS per
// thread on Debian 12's GCC 12), never a pointer the program stored: what
// the interceptors are handed passes through to the program's own memory
// or the C library's, and a thread's start argument is a root of its own
// (roots/thread_creation.hpp). So they are not roots.
//
// mimalloc, the allocator of the collector's metadata (and, through
// libmimalloc.so, of the process's malloc). Its writable data (about 290 KiB
// of heap and page-queue tables) and its TLS (the thread's heap) hold
// allocator bookkeeping, never a pointer the program stored. Not roots
// either: scanning them would only lengthen the mark-start pause, which
// copies every root word.
#pragma once

#include <cstring>

namespace tricolor::roots {

// `path` is a module's path as dl_iterate_phdr gives it.
inline bool is_sanitizer_runtime(const char* path) {
  for (const char* runtime : {"/libtsan.so", "/libasan.so", "/libubsan.so", "/liblsan.so"})
    if (std::strstr(path, runtime) != nullptr) return true;
  return false;
}

// Whether the module's data segments and static TLS are left out of the roots.
inline bool holds_no_program_pointers(const char* path) {
  return is_sanitizer_runtime(path) || std::strstr(path, "/libmimalloc.so") != nullptr;
}

}  // namespace tricolor::roots
