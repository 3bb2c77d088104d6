// binary-trees with explicit glibc malloc / free. See bench/binarytrees.hpp.
#include "allocators.hpp"
#include "binarytrees.hpp"
#include "binarytrees_explicit.hpp"

int main(int argc, char** argv) {
  bench::binarytrees<bench::explicit_tree<bench::glibc_allocator>>(
      bench::binarytrees_depth(argc, argv));
}
