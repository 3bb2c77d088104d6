// Handle nodes: the memory behind each gc_root, and the per-thread cache that
// hands nodes out and takes them back without a lock.
//
// roots/handles.cc has the design (chunks, the shared pool, the collector's
// scan) and the argument for why a scan concurrent with these fast paths
// misses no root of the snapshot. This header holds only what the fast paths
// need, inline, because a gc_root's constructor and destructor are the
// program's code:
//
//     acquire: pop a node from the thread's free list, write its identity,
//              then its target (release);
//     release: if marking, shade the old target; store null and "free";
//              push the node on the thread's free list.
//
// Neither contains a system call or a safepoint, so no pause can split them
// (roots/stop_signal.hpp); the slow cases (an empty or full free list, a
// thread's first use, shading) are out of line.
#pragma once

#include <atomic>
#include <cstdint>

#include "tricolor/internal/write_barrier.hpp"
#include "tricolor/internal/source_location.hpp"

namespace tricolor::roots {

// One gc_root's registration. Type-stable: a node is never freed, only
// recycled, so the collector may read any node at any time. Every field the
// collector reads is atomic; `next_free` is read only by the node's owner (a
// thread's free list or the shared pool, under its lock).
struct handle_node {
  std::atomic<void*> target{nullptr};       // null when free
  std::atomic<bool> in_use{false};
  std::atomic<unsigned> line{0};
  std::atomic<const char*> name{nullptr};   // the caller's, never copied
  std::atomic<const char*> file{nullptr};
  std::atomic<const char*> function{nullptr};
  handle_node* next_free = nullptr;   // free list link (owner only)
  handle_node* next_batch = nullptr;  // the pool's batch stack (under its lock)
};

// A thread's free nodes: `free` is popped by acquire and pushed by release
// while it holds fewer than `limit` nodes; `spare` is one full batch kept
// back so that a thread hovering around a batch boundary does not go to the
// pool on every call. `limit` is 0 until the thread's first slow path sets it
// up, and again once the thread is exiting, so every call then takes the
// slow path.
struct handle_cache {
  handle_node* free = nullptr;
  handle_node* spare = nullptr;
  std::uint32_t count = 0;   // nodes on `free`
  std::uint32_t limit = 0;   // 0: not set up, or the thread is exiting
  std::uint8_t state = 0;    // handles.cc: new, ready, exited
};

[[gnu::tls_model("initial-exec")]] extern thread_local constinit handle_cache
    tls_handle_cache;

// GCC 12's -fsanitize=null check of a member access through a reference to
// this initial-exec thread_local struct sometimes computes the address as 0
// (seen in the stress test's threads: UBSan reports "member access within
// null pointer of type 'struct handle_cache'" while fs_base and the access
// itself are fine). UBSan is off in the functions that touch it.
#if defined(__clang__)
#define TRICOLOR_TLS_CACHE_ACCESS
#else
#define TRICOLOR_TLS_CACHE_ACCESS __attribute__((no_sanitize_undefined))
#endif

// Slow paths (roots/handles.cc).
[[gnu::noinline]] handle_node* acquire_handle_slow();
[[gnu::noinline]] void release_handle_slow(handle_node* node) noexcept;

TRICOLOR_TLS_CACHE_ACCESS inline handle_node* acquire_handle(void* target, const char* name,
                                   const source_location& where) {
  handle_cache& cache = tls_handle_cache;
  handle_node* node = cache.free;
  if (node != nullptr) [[likely]] {
    cache.free = node->next_free;
    --cache.count;
  } else {
    node = acquire_handle_slow();
  }
  node->name.store(name ? name : "", std::memory_order_relaxed);
  node->file.store(where.file, std::memory_order_relaxed);
  node->function.store(where.function, std::memory_order_relaxed);
  node->line.store(where.line, std::memory_order_relaxed);
  node->in_use.store(true, std::memory_order_relaxed);
  // Release: a scan that reads this target (acquire) reads this identity.
  node->target.store(target, std::memory_order_release);
  return node;
}

// While marking, records the node's current target (if any) for shading:
// the SATB rule for a handle about to be overwritten or freed
// (roots/handles.cc, invariant I3). Out of line, as the write barrier's slow
// path; the fast paths never load the old target when not marking, so no
// stale copy of it is left in the caller's frame for the conservative stack
// scan to find.
[[gnu::noinline]] void shade_handle_target(const handle_node* node) noexcept;

TRICOLOR_TLS_CACHE_ACCESS inline void release_handle(handle_node* node) noexcept {
  if (barriers::marking.load(std::memory_order_relaxed)) [[unlikely]]
    shade_handle_target(node);
  node->target.store(nullptr, std::memory_order_relaxed);
  node->in_use.store(false, std::memory_order_relaxed);
  handle_cache& cache = tls_handle_cache;
  if (cache.count < cache.limit) [[likely]] {
    node->next_free = cache.free;
    cache.free = node;
    ++cache.count;
  } else {
    release_handle_slow(node);
  }
}

inline void set_handle_target(handle_node* node, void* target) noexcept {
  if (barriers::marking.load(std::memory_order_relaxed)) [[unlikely]]
    shade_handle_target(node);
  node->target.store(target, std::memory_order_relaxed);
}

}  // namespace tricolor::roots
