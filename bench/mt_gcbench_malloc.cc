// Multi-threaded GCBench with holes on glibc malloc / free
// (bench/mt_gcbench.hpp): trees freed node by node, holes freed at once.
#include <cstddef>

#include "allocators.hpp"
#include "gcbench_explicit.hpp"
#include "mt_gcbench.hpp"

namespace {
struct glibc_heap : bench::explicit_gcbench_heap<bench::glibc_allocator> {
  static void hole(std::size_t bytes) {
    bench::glibc_allocator::deallocate(bench::glibc_allocator::allocate(bytes));
  }
};
}  // namespace

int main(int argc, char** argv) { return bench::mt_gcbench<glibc_heap>(argc, argv); }
