// Threads leaked on channels; see channel_leaks.hpp.
#include "gc/channel_leaks.hpp"

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

// A stopped thread's stack, from its stack pointer up, at most
// stack_words_described words.
constexpr std::size_t stack_words_described = 64 * 1024;
__attribute__((no_sanitize("address", "thread")))
std::vector<std::uintptr_t> stack_words(const roots::thread_state& t) {
  std::vector<std::uintptr_t> words;
  for (std::uintptr_t at = t.saved.stack_pointer & ~std::uintptr_t{7};
       at + sizeof(void*) <= t.stack_high && words.size() < stack_words_described;
       at += sizeof(void*)) {
    // Read here, into a local: push_back takes a reference, and the
    // standard library's code that reads through it is instrumented.
    const std::uintptr_t word = *reinterpret_cast<const std::uintptr_t*>(at);
    words.push_back(word);
  }
  return words;
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
    std::vector<std::uintptr_t> words = stack_words(*h.thread);
    leak.frames = roots::functions_on_stack(words.data(), words.size(), frames_reported);
    leaked_.push_back(std::move(leak));
  }
  leaked_held_.clear();
}

}  // namespace tricolor::gc
