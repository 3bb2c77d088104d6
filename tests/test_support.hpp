// Helpers shared by the public-API tests.
//
// Why these helpers exist: the collector scans thread stacks and callee-saved
// registers conservatively. A test that wants to prove "object X was freed"
// must make sure that no stale copy of X's address survives in a dead stack
// frame or a register, or the collector will (correctly) keep X alive. The
// recipe used throughout the suite is:
//
//   1. allocate X inside a [[gnu::noinline]] helper, and hand back to the test
//      body only a weak_gc_ptr, an id, or nothing at all (a destructor counter
//      observes the death);
//   2. call collect_clean(), which first zeroes a large stretch of the stack
//      below the caller's frame (where the helper's dead frames were) and then
//      runs a full collection from a fresh frame;
//   3. look at the outcome only through other noinline helpers (alive(w)), so
//      the test body's own frame never holds X's address.
//
// The rule that follows: a test body that later expects X to be freed never
// touches X's address itself, not even through a temporary (a gc_ptr returned
// by value is materialized in the caller's frame, since gc_ptr is not
// trivially copyable). Code that must touch X runs inside isolated(...).
//
// The callee-saved registers of the test body are restored by every helper on
// return, and the test body never loads X's address itself, so they hold
// nothing of X either.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "tricolor/tricolor.hpp"

namespace tricolor_test {

// Sends this process's stderr to a temporary file from construction to
// restore() (or destruction); restore() returns what was written.
class captured_stderr {
 public:
  captured_stderr() {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    fd_ = mkstemp(path_);
    dup2(fd_, STDERR_FILENO);
  }
  ~captured_stderr() { restore(); }
  captured_stderr(const captured_stderr&) = delete;
  captured_stderr& operator=(const captured_stderr&) = delete;
  std::string restore() {
    if (saved_ >= 0) {
      std::fflush(stderr);
      dup2(saved_, STDERR_FILENO);
      close(saved_);
      close(fd_);
      saved_ = -1;
    }
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    unlink(path_);
    return text.str();
  }

 private:
  char path_[40] = "/tmp/tricolor_stderr_XXXXXX";
  int saved_ = -1;
  int fd_ = -1;
};

// Zeroes a large stretch of stack below the caller's frame. The empty asm
// statement with a memory clobber makes the compiler believe the buffer is
// read, so the memset cannot be elided. This also makes the kernel grow the
// main thread's stack that far, legitimately (see zero_below_stack_pointer).
[[gnu::noinline]] inline void clobber_stack() {
  constexpr std::size_t bytes = 128 * 1024;
  char buffer[bytes];
  std::memset(buffer, 0, bytes);
  asm volatile("" : : "r"(buffer) : "memory");
}

// Zeroes the 128 KiB just below the stack pointer of the function it is
// inlined into: exactly where the frames of the next function it calls will
// be. clobber_stack() alone is not enough: the slots of its own frame outside
// its buffer (saved registers, spill slots, padding) keep whatever an earlier
// call left there, and the next callee's frame may leave such a slot
// uninitialized and so scanned (seen at -O0 with collect(): one stale word at
// the top of its frame retained a dead object).
[[gnu::always_inline]] inline void zero_below_stack_pointer() {
#if defined(__x86_64__)
  asm volatile(
      "mov %%rsp, %%rdi\n\t"
      "sub $131072, %%rdi\n\t"
      "mov $16384, %%ecx\n\t"
      "xor %%eax, %%eax\n\t"
      "cld\n\t"
      "rep stosq"
      :
      :
      : "rax", "rcx", "rdi", "memory", "cc");
#elif defined(__aarch64__)
  asm volatile(
      "mov x9, sp\n\t"
      "sub x10, x9, #32, lsl #12\n\t"
      "1: str xzr, [x10], #8\n\t"
      "cmp x10, x9\n\t"
      "b.lo 1b"
      :
      :
      : "x9", "x10", "memory", "cc");
#else
#error "tests/test_support.hpp: zero_below_stack_pointer for x86-64 and AArch64 only"
#endif
}

// Zeroes the dead stack, then runs a full collection.
[[gnu::noinline]] inline void collect_clean() {
  clobber_stack();
  zero_below_stack_pointer();
  tricolor::collect();
}

// Runs f() in a frame of its own, below the caller's: whatever addresses f
// leaves in its frame die with it (and are zeroed by collect_clean()).
template <class F>
[[gnu::noinline]] decltype(auto) isolated(F&& f) {
  return std::forward<F>(f)();
}

// True while the weak reference's target is alive. Out of line so that the
// target's address (which lock() loads) never lands in the caller's frame.
template <class T>
[[gnu::noinline]] bool alive(const tricolor::weak_gc_ptr<T>& w) {
  return static_cast<bool>(w.lock());
}

// A managed type that counts its destructions in a caller-chosen counter and
// carries a value derived from its id, so a freed-and-reused slot is noticed.
// The counter must outlive the object (use a static): an object that outlives
// its test is destroyed during a later test's collection, and a counter on
// the first test's stack would then be a dangling pointer.
struct counted {
  static constexpr std::uint64_t mix(std::uint64_t id) {
    std::uint64_t x = id + 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }

  counted(std::atomic<int>* counter, std::uint64_t id)
      : counter(counter), id(id), check(mix(id)) {}
  ~counted() {
    // Poison the fields so a use after the destructor is visible.
    check = 0xdeaddeaddeaddeadull;
    if (counter) counter->fetch_add(1, std::memory_order_relaxed);
  }

  bool intact() const { return check == mix(id); }

  std::atomic<int>* counter;
  std::uint64_t id;
  std::uint64_t check;
};

// Allocates a counted object and returns a weak reference to it; the strong
// reference is stored wherever `store` puts it.
template <class Store>
[[gnu::noinline]] tricolor::weak_gc_ptr<counted> make_stored(std::atomic<int>* counter,
                                                             std::uint64_t id, Store&& store) {
  tricolor::gc_ptr<counted> object = tricolor::make_gc<counted>(counter, id);
  store(object);
  return tricolor::weak_gc_ptr<counted>(object);
}

// Allocates and discards garbage (counted objects and small arrays), so slots
// freed by a previous cycle are handed out again and overwritten: a test that
// afterwards finds its object intact knows the object was not freed and
// recycled.
[[gnu::noinline]] inline void churn(std::size_t count = 20000) {
  for (std::size_t i = 0; i < count; ++i) {
    auto junk = tricolor::make_gc<counted>(nullptr, ~std::uint64_t{0} - i);
    asm volatile("" : : "r"(junk.get()) : "memory");
    if (i % 4 == 0) {
      auto bytes = tricolor::make_gc_array<std::uint64_t>(1 + i % 64, 0xababababababababull);
      asm volatile("" : : "r"(bytes.get()) : "memory");
    }
  }
}

// A positive scale factor from the environment (e.g. TRICOLOR_TORTURE_SCALE),
// 1 when unset or malformed.
inline double env_scale(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return 1.0;
  char* end = nullptr;
  double scale = std::strtod(value, &end);
  if (end == value || *end != '\0' || !(scale > 0) || scale > 1000) return 1.0;
  return scale;
}

// Message building for watchdogs and fatal-signal reporters, which may use
// only async-signal-safe calls: text and decimal numbers appended by hand,
// written to stderr with write(2).
inline void append(char*& out, const char* end, const char* text) {
  while (*text && out < end) *out++ = *text++;
}
inline void append(char*& out, const char* end, std::uint64_t value) {
  char digits[24];
  int n = 0;
  do digits[n++] = char('0' + value % 10); while ((value /= 10) != 0);
  while (n > 0 && out < end) *out++ = digits[--n];
}
inline void write_all(const char* begin, const char* end) {
  while (begin < end) {
    ssize_t n = write(2, begin, std::size_t(end - begin));
    if (n <= 0) return;
    begin += n;
  }
}

// Installs `handler` for SIGSEGV, SIGBUS and SIGABRT for the lifetime of the
// object (the torture tests say which object and thread were involved before
// the process dies), and restores the previous handlers.
class fatal_signal_reporter {
 public:
  explicit fatal_signal_reporter(void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < 3; ++i) sigaction(signals_[i], &action, &previous_[i]);
  }
  ~fatal_signal_reporter() {
    for (int i = 0; i < 3; ++i) sigaction(signals_[i], &previous_[i], nullptr);
  }
  fatal_signal_reporter(const fatal_signal_reporter&) = delete;
  fatal_signal_reporter& operator=(const fatal_signal_reporter&) = delete;

 private:
  const int signals_[3] = {SIGSEGV, SIGBUS, SIGABRT};
  struct sigaction previous_[3];
};

}  // namespace tricolor_test
