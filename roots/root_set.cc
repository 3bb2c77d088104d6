// Root enumeration; see root_set.hpp.
#include "roots/root_set.hpp"

#include "roots/registers.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::roots {

const char* root_kind_name(root_kind kind) {
  switch (kind) {
    case root_kind::global: return "global";
    case root_kind::stack: return "stack";
    case root_kind::registers: return "registers";
    case root_kind::tls: return "thread-local";
    case root_kind::handle: return "gc_root";
  }
  return "?";
}

namespace {
std::uint64_t visit_thread(thread_state& t, const register_snapshot& registers,
                           root_visitor& visitor) {
  const char* name = t.name.c_str();
  root_identity regs{root_kind::registers, name, "", 0, t.tid};
  visitor.conservative_range(regs, std::begin(registers.callee_saved),
                             std::end(registers.callee_saved));
  root_identity stack{root_kind::stack, name, "", 0, t.tid};
  auto low = registers.stack_pointer;
  visitor.conservative_range(stack, reinterpret_cast<const void*>(low),
                             reinterpret_cast<const void*>(t.stack_high));
  root_identity tls{root_kind::tls, name, "", 0, t.tid};
  for (const memory_range& block : t.tls_blocks)
    visitor.conservative_range(tls, reinterpret_cast<const void*>(block.begin),
                               reinterpret_cast<const void*>(block.end));
  return t.stack_high - low;
}
}  // namespace

root_scan_totals enumerate_roots(thread_state* self, root_visitor& visitor) {
  root_scan_totals totals;
  totals.globals_bytes = visit_data_segments(visitor);
  register_snapshot own;
  capture_registers(own);
  for_each_thread([&](thread_state& t) {
    totals.stacks_bytes += visit_thread(t, &t == self ? own : t.saved, visitor);
    totals.threads++;
  });
  totals.handles = visit_handles(visitor);
  return totals;
}

}  // namespace tricolor::roots
