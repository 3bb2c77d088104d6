// GCBench with explicit glibc malloc / free: every dropped tree is freed node
// by node. See bench/gcbench.hpp.
#include "allocators.hpp"
#include "gcbench.hpp"
#include "gcbench_explicit.hpp"

int main() {
  return bench::gcbench<bench::explicit_gcbench_heap<bench::glibc_allocator>>();
}
