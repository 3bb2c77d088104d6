// binary-trees with explicit mi_malloc / mi_free (mimalloc): the speed
// anchor of the garbage collectors. See bench/binarytrees.hpp.
#include "allocators.hpp"
#include "binarytrees.hpp"
#include "binarytrees_explicit.hpp"

int main(int argc, char** argv) {
  bench::binarytrees<bench::explicit_tree<bench::mimalloc_allocator>>(
      bench::binarytrees_depth(argc, argv));
}
