// Root enumeration; see root_set.hpp.
#include "roots/root_set.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <vector>

#include "tricolor/internal/registers.hpp"
#include "roots/root_ranges.hpp"
#include "roots/thread_creation.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::roots {

namespace {
std::uint64_t visit_thread(thread_state& t, const register_snapshot& registers,
                           root_visitor& visitor) {
  const char* name = t.name.c_str();
  // Blocked: SAFE when the pause began, or stopped by the signal in a
  // system call (leak reports judge a stack's growth only then).
  const bool blocked = t.safe_at_stop || t.stopped_by_signal.load(std::memory_order_relaxed);
  const std::uint64_t wait = t.safe_at_stop ? 2 * t.waits.load(std::memory_order_relaxed)
                             : blocked      ? 2 * std::uint64_t{registers.stack_pointer} + 1
                                            : 0;
  root_identity stack{root_kind::stack, name, "", 0, t.tid, 0, blocked, wait};
  // The start argument's heap block (roots/thread_creation.hpp), scanned as
  // part of the thread's stack, whose frames it belongs to. The thread may
  // be stopped just after the block was freed (std::thread frees it before
  // the start routine returns): scanned only while the allocator still has
  // its memory (conservatively; a freed block's words are harmless).
  if (t.start_argument.end > t.start_argument.begin && still_in_heap(t.start_argument)) {
    visitor.conservative_range(stack, reinterpret_cast<const void*>(t.start_argument.begin),
                               reinterpret_cast<const void*>(t.start_argument.end));
  }
  // The TLS blocks first: glibc places a thread's static TLS at the top of
  // its stack mapping, inside [sp, stack top), and the leak tracker credits
  // what a thread_local holds to the variable, not to the stack.
  for (const tls_block& block : t.tls_blocks) {
    root_identity tls{root_kind::tls, name, block.module.c_str(), 0, t.tid, block.begin, blocked, wait};
    visitor.conservative_range(tls, reinterpret_cast<const void*>(block.begin),
                               reinterpret_cast<const void*>(block.end));
  }
  if (registers.stack_pointer == 0) return 0;  // created, not started yet
  root_identity regs{root_kind::registers, name, "", 0, t.tid, 0, blocked, wait};
  visitor.conservative_range(regs, std::begin(registers.callee_saved),
                             std::end(registers.callee_saved));
  auto low = registers.stack_pointer;
  if (low < t.stack_low || low > t.stack_high) {
    // Scanning [sp, stack top) would read memory that is not this stack.
    std::fprintf(stderr,
                 "tricolor: thread %d (%s) stopped on a stack other than its own "
                 "(sp %#lx, stack %#lx-%#lx): coroutine, fiber and signal stacks "
                 "are not supported as roots; stop for the collector only on the "
                 "thread's own stack\n",
                 static_cast<int>(t.tid), name, static_cast<unsigned long>(low),
                 static_cast<unsigned long>(t.stack_low),
                 static_cast<unsigned long>(t.stack_high));
    std::abort();
  }
  visitor.conservative_range(stack, reinterpret_cast<const void*>(low),
                             reinterpret_cast<const void*>(t.stack_high));
  return t.stack_high - low;
}
}  // namespace

namespace {
// The threads whose scan the last mark-start pause deferred. Only the
// collector thread uses it (in the pause, then right after).
std::vector<thread_state*>& deferred_threads() {
  static auto* threads = new std::vector<thread_state*>();
  return *threads;
}
}  // namespace

root_scan_totals enumerate_roots(thread_state* self, root_visitor& visitor,
                                 bool handles, bool defer_blocked) {
  root_scan_totals totals;
  totals.globals_bytes = visit_data_segments(visitor);
  register_snapshot own;
  capture_registers(own);
  for_each_thread([&](thread_state& t) {
    totals.threads++;
    if (defer_blocked && &t != self && t.safe_at_stop) {
      t.stack_scan_pending.store(true, std::memory_order_seq_cst);
      deferred_threads().push_back(&t);
      return;
    }
    totals.stacks_bytes += visit_thread(t, &t == self ? own : t.saved, visitor);
  });
  // Coroutine frames and exception objects are copied with the stacks; the
  // root_allocator blocks, like the handles, are left to the concurrent
  // collector's visit_root_ranges when `handles` is off (root_ranges.hpp).
  totals.stacks_bytes += visit_snapshot_ranges(visitor, /*scanned=*/handles);
  if (handles) totals.handles = visit_handles(visitor);
  return totals;
}

std::uint64_t scan_deferred_stacks(root_visitor& visitor,
                                   const std::function<bool(const thread_state&)>& now) {
  // No lock: a pending thread is SAFE and stays so (it cannot exit) until
  // finish_stack_scan, and it may hold any lock when it wakes (the registry
  // lock, if it was waiting for it), so the scan must not take one.
  std::uint64_t bytes = 0;
  std::vector<thread_state*>& pending = deferred_threads();
  std::erase_if(pending, [&](thread_state* t) {
    if (now && !now(*t)) return false;
    bytes += visit_thread(*t, t->saved, visitor);
    finish_stack_scan(*t);
    return true;
  });
  return bytes;
}

bool deferred_stacks_left() { return !deferred_threads().empty(); }

}  // namespace tricolor::roots
