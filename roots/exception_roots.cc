// Thrown exception objects as roots, with no ceremony from the program.
//
// The C++ runtime allocates the object of a throw expression with
// __cxa_allocate_exception (libstdc++: malloc, or its emergency pool) and
// frees it with __cxa_free_exception when the last handler or
// std::exception_ptr lets go of it. Both are interposed here, as
// pthread_create and the blocking calls are (dlsym(RTLD_NEXT), the next
// definition: the C++ runtime's): the block is asked for with room for a
// range header behind the object, and the object's bytes are a snapshot
// range (roots/root_ranges.hpp: copied in the mark-start pause, like a
// stack) from allocation to free. So a gc_ptr in a thrown object keeps its
// target alive while the exception propagates, inside the catch block, and
// in a std::exception_ptr (std::current_exception, std::make_exception_ptr,
// std::rethrow_exception).
//
// Checked against libstdc++ 12: its own throws (std::__throw_*) and its
// releases of a primary exception (end of a handler, exception_ptr's last
// copy) call both functions through the PLT, so they reach these
// definitions. std::rethrow_exception allocates a *dependent* exception
// (__cxa_allocate_dependent_exception), a small record that refers to the
// primary object and holds no program data: not interposed; the primary
// object stays registered while it is referred to. ASan and TSan intercept
// __cxa_throw, not these two.
#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "roots/root_ranges.hpp"

namespace tricolor::roots {

void link_exception_roots() noexcept {}

namespace {

using allocate_function = void* (*)(std::size_t) noexcept;
using free_function = void (*)(void*) noexcept;

std::atomic<allocate_function> next_allocate{nullptr};
std::atomic<free_function> next_free{nullptr};

// No function-local static: its guard may wait (see blocking_calls.cc).
template <class F>
F next_definition(std::atomic<F>& cached, const char* name) {
  if (F f = cached.load(std::memory_order_acquire)) return f;
  void* found = dlsym(RTLD_NEXT, name);
  if (found == nullptr) {
    std::fprintf(stderr, "tricolor: cannot find the C++ runtime's %s\n", name);
    std::abort();
  }
  cached.store(reinterpret_cast<F>(found), std::memory_order_release);
  return reinterpret_cast<F>(found);
}

// The header sits behind the object, 16-byte aligned.
constexpr std::size_t header_offset(std::size_t thrown_size) {
  return (thrown_size + 15) & ~std::size_t{15};
}

}  // namespace
}  // namespace tricolor::roots

using namespace tricolor::roots;

extern "C" void* __cxa_allocate_exception(std::size_t thrown_size) noexcept {
  auto next = next_definition(next_allocate, "__cxa_allocate_exception");
  std::size_t offset = header_offset(thrown_size);
  void* object = next(offset + sizeof(range_header));  // terminates on failure
  auto* header = reinterpret_cast<range_header*>(static_cast<char*>(object) + offset);
  register_range(header, object, thrown_size, range_kind::exception);
  return object;
}

extern "C" void __cxa_free_exception(void* object) noexcept {
  auto next = next_definition(next_free, "__cxa_free_exception");
  unregister_exception(object);
  next(object);
}
