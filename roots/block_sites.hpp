// Where root_allocator blocks were allocated: the call stack of each block's
// allocation, interned, so that a leak report can name a container's
// buffer by the code that grew it ("root_allocator blocks allocated in
// register_listener(int)") instead of by its kind alone.
//
// Recorded only with leak tracking on (record_root_block_sites): a
// backtrace() of at most max_block_site_frames frames per block, taken in
// a runtime_section (the unwinder reads the loader's module list, whose lock
// a thread stopped by the signal must not hold while the collector reads it
// too; roots/code_address.hpp), then looked up in a table under a mutex.
// Sites are never removed: the table grows with the number of distinct
// stacks that allocate root blocks, not with time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tricolor::roots {

inline constexpr int max_block_site_frames = 8;

struct block_site {
  std::vector<std::uintptr_t> stack;  // return addresses, innermost first
};

// Whether root blocks record their allocation site (leak tracking on;
// defined by gc/leak_tracker.cc).
bool record_root_block_sites();

// The calling thread's stack, interned (the caller is in a runtime_section).
const block_site* current_block_site();

// The function that allocated through the container: the innermost frame of
// the site outside namespaces std, __gnu_cxx and tricolor, as
// describe_code_address names it without its offset and module; the
// innermost frame if all are. Slow (reads symbol tables): for reports.
std::string describe_block_site(const block_site& site);

}  // namespace tricolor::roots
