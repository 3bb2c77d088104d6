// The explicit allocators that the *_mimalloc and *_malloc benchmarks and the
// micro-benchmarks compare against: allocate(bytes) / deallocate(p) pairs.
//
// glibc_allocator calls glibc's own entry points (__libc_malloc /
// __libc_free), so it measures glibc malloc even in an executable that links
// libmimalloc.so, whose exported malloc/free interpose on glibc's.
#pragma once

#include <mimalloc.h>

#include <cstddef>

extern "C" void* __libc_malloc(std::size_t size);
extern "C" void __libc_free(void* p);

namespace bench {

struct mimalloc_allocator {
  static void* allocate(std::size_t bytes) { return mi_malloc(bytes); }
  static void deallocate(void* p) { mi_free(p); }
};

struct glibc_allocator {
  static void* allocate(std::size_t bytes) { return __libc_malloc(bytes); }
  static void deallocate(void* p) { __libc_free(p); }
};

}  // namespace bench
