// Threads leaked on channels; see channel_leaks.hpp.
#include "gc/channel_leaks.hpp"

#include <link.h>

#include <algorithm>
#include <fstream>

#include "gc/channel_waits.hpp"
#include "gc/marker.hpp"
#include "gc/pacer.hpp"
#include "roots/code_address.hpp"
#include "roots/thread_registry.hpp"
#include "tricolor/internal/object_header.hpp"

namespace tricolor::gc {

namespace {

constexpr std::size_t frames_reported = 12;

// True if `address` lies in an executable segment of a loaded module.
bool in_code(std::uintptr_t address) {
  struct lookup {
    std::uintptr_t address;
    bool found = false;
  } l{address};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* l = static_cast<lookup*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
          if (l->address >= begin && l->address < begin + ph.p_memsz) {
            l->found = true;
            return 1;
          }
        }
        return 0;
      },
      &l);
  return l.found;
}

// The words of a stopped thread's stack that point into code, innermost
// first: its return addresses, and any code pointer a frame holds.
__attribute__((no_sanitize("address", "thread")))
std::vector<std::uintptr_t> code_words(const roots::thread_state& t) {
  std::vector<std::uintptr_t> found;
  for (std::uintptr_t at = t.saved.stack_pointer & ~std::uintptr_t{7};
       at + sizeof(void*) <= t.stack_high && found.size() < 4 * frames_reported; at += sizeof(void*)) {
    std::uintptr_t word = *reinterpret_cast<const std::uintptr_t*>(at);
    if (word > 4096 && in_code(word)) found.push_back(word);
  }
  return found;
}

}  // namespace

void channel_leak_finder::hold_back_blocked_threads() {
  for_each_channel_wait([&](const channel_wait& wait) {
    if (!wait.thread->stack_scan_pending.load(std::memory_order_seq_cst)) return;
    held_.push_back({wait.thread, wait.channel(), wait.channel_type ? wait.channel_type->name : "",
                     wait.sending, wait.since_ns});
  });
}

bool channel_leak_finder::holds(const roots::thread_state& t) const {
  return std::any_of(held_.begin(), held_.end(), [&](const held_thread& h) { return h.thread == &t; });
}

std::vector<roots::thread_state*> channel_leak_finder::release_woken() {
  std::vector<roots::thread_state*> next;
  auto woken = std::stable_partition(held_.begin(), held_.end(),
                                     [](const held_thread& h) { return !is_marked(h.channel); });
  for (auto h = woken; h != held_.end(); ++h) next.push_back(h->thread);
  held_.erase(woken, held_.end());
  return next;
}

std::vector<roots::thread_state*> channel_leak_finder::release_leaked() {
  std::vector<roots::thread_state*> next;
  for (const held_thread& h : held_) {
    next.push_back(h.thread);
    leaked_held_.push_back(h);
  }
  held_.clear();
  return next;
}

// The thread's name now (a thread often names itself after it started),
// else the one it had when it registered.
std::string current_name(const roots::thread_state& t) {
  std::ifstream comm("/proc/self/task/" + std::to_string(t.tid) + "/comm");
  std::string name;
  if (std::getline(comm, name) && !name.empty()) return name;
  return t.name;
}

void channel_leak_finder::describe_leaked() {
  std::uint64_t now = monotonic_ns();
  for (const held_thread& h : leaked_held_) {
    leaked_channel_thread leak{h.thread->tid, current_name(*h.thread), h.channel_type, h.sending,
                               now > h.since_ns ? now - h.since_ns : 0, {}};
    for (std::uintptr_t word : code_words(*h.thread)) {
      std::string frame = roots::describe_code_address(word);
      // A return address lies inside a named function ("name+0x1c in ..."):
      // a word in no symbol, or at a function's first byte (a function
      // pointer, not a return address), is left out.
      std::size_t offset = frame.find("+0x");
      if (offset == std::string::npos || offset > frame.find(" in ")) continue;
      leak.frames.push_back(std::move(frame));
      if (leak.frames.size() == frames_reported) break;
    }
    leaked_.push_back(std::move(leak));
  }
  leaked_held_.clear();
}

}  // namespace tricolor::gc
