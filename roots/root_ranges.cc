// Root ranges; see root_ranges.hpp for the two kinds, the protocol of a
// scanned range and why it is sound.
#include "roots/root_ranges.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include <sched.h>
#include <new>

#include "tricolor/internal/write_barrier.hpp"
#include "heap/heap.hpp"
#include "roots/block_sites.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::roots {

// roots/exception_roots.cc: referenced so that a program linking the static
// library gets the exception interposers with the collector.
void link_exception_roots() noexcept;

namespace {

// A stripe's lock: held for a few list operations by mutators, and for one
// chunk (64 KiB, tens of microseconds) by the marker. A spin lock: one atomic
// exchange and one store per registration, where a std::mutex costs two
// atomic operations and a call through the interposed pthread_mutex_lock
// (roots/blocking_calls.cc). Waiters yield the CPU after a short spin.
class stripe_lock {
 public:
  void lock() noexcept {
    for (int spins = 0; held_.exchange(true, std::memory_order_acquire);) {
      while (held_.load(std::memory_order_relaxed)) {
        if (++spins < 64) pause_cpu();
        else sched_yield();
      }
    }
  }
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  static void pause_cpu() noexcept {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }
  std::atomic<bool> held_{false};
};

constexpr int stripe_count = 64;
constexpr std::size_t chunk_bytes = 64 * 1024;  // read per lock hold

struct alignas(64) stripe {
  stripe_lock lock;
  range_header* heads[range_kinds] = {};
  // The marker's position in the scanned list: the range it reads next, and
  // how far into it (bytes from begin).
  range_header* cursor = nullptr;
  std::uintptr_t cursor_offset = 0;
  std::size_t counts[range_kinds] = {};
};

stripe stripes[stripe_count];

// Starts at 1 and skips 0: a range stamped 0 is never "scanned this cycle".
// Written only with the world stopped; read by threads inside a
// runtime_section (which a pause cannot overlap) and by the collector thread.
std::atomic<std::uint32_t> epoch{1};

// Registered ranges of the snapshot kinds (coroutine frames, exception
// objects), over all stripes: with none, the mark-start pause skips the 64
// stripes (their locks and cache lines cost it microseconds).
std::atomic<std::int64_t> snapshot_range_count{0};

stripe& stripe_of(const void* begin) {
  auto address = reinterpret_cast<std::uintptr_t>(begin) >> 4;
  return stripes[(address * 0x9E3779B97F4A7C15ull) >> 58];
}

// A runtime_section when the calling thread is registered (see "Locks" in
// root_ranges.hpp); nothing for a thread the collector does not know. Only
// the thread itself writes its runtime_depth, and only its own signal
// handler reads it besides: a load and a store (ordered with the handler by
// signal fences) do what runtime_section's atomic increment does, without a
// locked instruction (two of them per registration were a sixth of
// root_allocator's cost in bench/micro_root_allocator.cc).
class maybe_runtime_section {
 public:
  maybe_runtime_section() : self_(tls_thread_state) {
    if (self_ == nullptr) return;
    self_->runtime_depth.store(self_->runtime_depth.load(std::memory_order_relaxed) + 1,
                               std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ~maybe_runtime_section() {
    if (self_ == nullptr) return;
    std::atomic_signal_fence(std::memory_order_seq_cst);
    self_->runtime_depth.store(self_->runtime_depth.load(std::memory_order_relaxed) - 1,
                               std::memory_order_relaxed);
  }
  maybe_runtime_section(const maybe_runtime_section&) = delete;
  maybe_runtime_section& operator=(const maybe_runtime_section&) = delete;

 private:
  thread_state* self_;
};

void link(stripe& s, range_header* h) {
  auto k = static_cast<int>(h->kind);
  h->prev = nullptr;
  h->next = s.heads[k];
  if (h->next) h->next->prev = h;
  s.heads[k] = h;
  ++s.counts[k];
  if (h->kind != range_kind::scanned) snapshot_range_count.fetch_add(1, std::memory_order_relaxed);
}

void unlink(stripe& s, range_header* h) {
  auto k = static_cast<int>(h->kind);
  if (s.cursor == h) {
    s.cursor = h->next;
    s.cursor_offset = 0;
  }
  if (h->prev) h->prev->next = h->next;
  else s.heads[k] = h->next;
  if (h->next) h->next->prev = h->prev;
  --s.counts[k];
  if (h->kind != range_kind::scanned) snapshot_range_count.fetch_sub(1, std::memory_order_relaxed);
}

const root_identity& identity_of(range_kind kind) {
  static const root_identity identities[range_kinds] = {  // blocks without a site
      {root_kind::range, "root_allocator block", "", 0, 0},
      {root_kind::range, "coroutine frame", "", 0, 0},
      {root_kind::range, "exception object", "", 0, 0},
  };
  return identities[static_cast<int>(kind)];
}

}  // namespace

void register_range(range_header* header, const void* begin, std::size_t bytes,
                    range_kind kind, const block_site* site) noexcept {
  maybe_runtime_section runtime;
  header->site = site;
  header->begin = reinterpret_cast<std::uintptr_t>(begin);
  header->end = header->begin + bytes;
  header->kind = kind;
  // Registered while marking: nothing in it for this cycle's marker.
  header->scanned_epoch = barriers::marking.load(std::memory_order_relaxed)
                              ? epoch.load(std::memory_order_relaxed)
                              : 0;
  stripe& s = stripe_of(begin);
  std::lock_guard guard(s.lock);
  link(s, header);
}

void unregister_range(range_header* header) noexcept {
  maybe_runtime_section runtime;
  bool shade;
  {
    stripe& s = stripe_of(reinterpret_cast<const void*>(header->begin));
    std::lock_guard guard(s.lock);
    unlink(s, header);
    shade = header->kind == range_kind::scanned &&
            barriers::marking.load(std::memory_order_relaxed) &&
            header->scanned_epoch != epoch.load(std::memory_order_relaxed);
  }
  // The block is still the caller's: no marker reads it any more, and its
  // words are shaded before malloc may hand it to anyone else.
  if (shade) shade_words(reinterpret_cast<const void*>(header->begin),
                         header->end - header->begin);
}

range_header* unregister_exception(const void* begin) noexcept {
  maybe_runtime_section runtime;
  stripe& s = stripe_of(begin);
  std::lock_guard guard(s.lock);
  auto address = reinterpret_cast<std::uintptr_t>(begin);
  for (range_header* h = s.heads[static_cast<int>(range_kind::exception)]; h; h = h->next) {
    if (h->begin == address) {
      unlink(s, h);
      return h;
    }
  }
  return nullptr;
}

// Reads the block word by word as the marker does (sanitizers' redzones and
// a container's unused capacity included).
__attribute__((no_sanitize("address", "thread")))
void shade_words(const void* begin, std::size_t bytes) noexcept {
  auto word = (reinterpret_cast<std::uintptr_t>(begin) + 7) & ~std::uintptr_t{7};
  auto stop = reinterpret_cast<std::uintptr_t>(begin) + bytes;
  for (; word + sizeof(void*) <= stop; word += sizeof(void*)) {
    const void* candidate = *reinterpret_cast<void* const*>(word);
    // Recorded as a payload address, which shading maps to its own slot
    // (a slot-start word may stand for the slot before it or the one
    // starting there: heap/heap.hpp).
    heap::for_each_object_a_word_may_point_into(candidate, [](const heap::object_ref& ref) {
      barriers::record_for_shading(heap::payload_of(ref.owner->slot_address(ref.index)));
    });
  }
}

std::uint64_t visit_snapshot_ranges(root_visitor& visitor, bool scanned) {
  std::uint32_t next = epoch.load(std::memory_order_relaxed) + 1;
  epoch.store(next == 0 ? 1 : next, std::memory_order_relaxed);
  std::uint64_t bytes = 0;
  // World stopped: no registered thread links or unlinks a range meanwhile.
  if (!scanned && snapshot_range_count.load(std::memory_order_relaxed) == 0) return 0;
  for (stripe& s : stripes) {
    std::lock_guard guard(s.lock);
    for (int k = 0; k < range_kinds; ++k) {
      if (k == static_cast<int>(range_kind::scanned) && !scanned) continue;
      for (range_header* h = s.heads[k]; h; h = h->next) {
        root_identity identity = identity_of(h->kind);
        identity.site = h->site;
        visitor.conservative_range(identity, reinterpret_cast<const void*>(h->begin),
                                   reinterpret_cast<const void*>(h->end));
        bytes += h->end - h->begin;
      }
    }
  }
  return bytes;
}

std::uint64_t visit_root_ranges(root_visitor& visitor) {
  link_exception_roots();
  const std::uint32_t current = epoch.load(std::memory_order_relaxed);
  root_identity identity = identity_of(range_kind::scanned);
  std::uint64_t bytes = 0;
  for (stripe& s : stripes) {
    std::unique_lock guard(s.lock);
    s.cursor = s.heads[static_cast<int>(range_kind::scanned)];
    s.cursor_offset = 0;
    std::size_t held = 0;  // bytes read in this hold of the lock
    while (range_header* h = s.cursor) {
      if (h->scanned_epoch == current) {
        s.cursor = h->next;
        continue;
      }
      std::uintptr_t from = h->begin + s.cursor_offset;
      std::uintptr_t to = std::min<std::uintptr_t>(h->end, from + chunk_bytes - held);
      identity.site = h->site;
      visitor.conservative_range(identity, reinterpret_cast<const void*>(from),
                                 reinterpret_cast<const void*>(to));
      held += to - from;
      bytes += to - from;
      if (to == h->end) {
        h->scanned_epoch = current;
        s.cursor = h->next;
        s.cursor_offset = 0;
      } else {
        s.cursor_offset = to - h->begin;
      }
      if (held >= chunk_bytes) {
        // Let an owner waiting to free a range of this stripe go; if it
        // frees the one under the cursor, unlink moves the cursor on.
        guard.unlock();
        guard.lock();
        held = 0;
      }
    }
  }
  return bytes;
}

void visit_every_range(root_visitor& visitor) {
  for (stripe& s : stripes) {
    std::lock_guard guard(s.lock);
    for (int k = 0; k < range_kinds; ++k) {
      for (range_header* h = s.heads[k]; h; h = h->next) {
        root_identity identity = identity_of(h->kind);
        identity.site = h->site;
        visitor.conservative_range(identity, reinterpret_cast<const void*>(h->begin),
                                   reinterpret_cast<const void*>(h->end));
      }
    }
  }
}

std::size_t registered_ranges(range_kind kind) noexcept {
  std::size_t count = 0;
  for (stripe& s : stripes) {
    std::lock_guard guard(s.lock);
    count += s.counts[static_cast<int>(kind)];
  }
  return count;
}

}  // namespace tricolor::roots

// The allocation entry points of the public headers (tricolor/root_allocator.hpp,
// tricolor/coroutine.hpp): a block with the range header in front.
namespace tricolor::detail {

using roots::range_header;
using roots::range_kind;

void* allocate_root_block(std::size_t bytes, bool frame) {
  void* block = ::operator new(sizeof(range_header) + bytes);
  auto* header = static_cast<range_header*>(block);
  void* payload = header + 1;
  const roots::block_site* site = nullptr;
  if (!frame && roots::record_root_block_sites()) [[unlikely]] {
    roots::maybe_runtime_section runtime;  // roots/block_sites.hpp says why
    site = roots::current_block_site();
  }
  roots::register_range(header, payload, bytes, frame ? range_kind::frame : range_kind::scanned,
                        site);
  return payload;
}

void free_root_block(void* payload) noexcept {
  if (payload == nullptr) return;
  auto* header = static_cast<range_header*>(payload) - 1;
  roots::unregister_range(header);
  ::operator delete(header);
}

void shade_destroyed(const void* object, std::size_t bytes) noexcept {
  roots::shade_words(object, bytes);
}

}  // namespace tricolor::detail
