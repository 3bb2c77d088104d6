// Allocation sites of root blocks; see block_sites.hpp.
#include "roots/block_sites.hpp"

#include <execinfo.h>

#include <memory>
#include <mutex>
#include <unordered_map>

#include "roots/code_address.hpp"

namespace tricolor::roots {

namespace {

struct stack_hash {
  std::size_t operator()(const std::vector<std::uintptr_t>& stack) const noexcept {
    std::uint64_t h = 0xcbf29ce484222325;  // FNV-1a over the addresses
    for (std::uintptr_t address : stack) h = (h ^ address) * 0x100000001b3;
    return static_cast<std::size_t>(h);
  }
};

struct site_table {
  std::mutex lock;
  std::unordered_map<std::vector<std::uintptr_t>, std::unique_ptr<block_site>, stack_hash> sites;
};

site_table& the_sites() {
  static auto* table = new site_table();  // never destroyed: blocks outlive statics
  return *table;
}


}  // namespace

const block_site* current_block_site() {
  void* frames[max_block_site_frames + 1];
  int depth = backtrace(frames, max_block_site_frames + 1);
  // frames[0] is this function; the rest are call sites' return addresses.
  std::vector<std::uintptr_t> stack;
  for (int i = 1; i < depth; ++i) stack.push_back(reinterpret_cast<std::uintptr_t>(frames[i]));
  site_table& t = the_sites();
  std::lock_guard guard(t.lock);
  auto [found, added] = t.sites.try_emplace(stack);
  if (added) found->second = std::make_unique<block_site>(block_site{std::move(stack)});
  return found->second.get();
}

std::string describe_block_site(const block_site& site) {
  return describe_allocation_site(site.stack);
}

}  // namespace tricolor::roots
