// gc_root handles: the registry of precise, named roots.
//
// A gc_root owns one handle_node (tricolor/internal/handle_nodes.hpp): its target, and
// its identity for leak reports (the name the caller passed, the file,
// function and line where it was created). Creating and destroying a
// gc_root must be about as cheap as a pair of pointer stores, from any
// thread, even when the root is destroyed by another thread than its
// creator (moved into a container another thread drains); the collector
// must enumerate every live root with its current target while that
// happens.
//
// Memory layout
// -------------
//
//     chunks (atomic head, pushed at the front, never freed or unlinked)
//       |
//       v
//     +-------+------------------------------+     +-------+-----------
//     | next  | node node node ... node (127) | --> | next  | node ...
//     +-------+------------------------------+     +-------+-----------
//
//     thread A's cache: free -> node -> node -> ... (count < limit)
//                       spare -> one full batch
//     thread B's cache: ...
//     pool (mutex):     batches -> [node -> node -> ...] -> [...] -> ...
//
// Nodes live in chunks of 127 (7 KiB) allocated with `new` and never
// returned: node memory is type-stable, so the collector may read any node
// of any chunk at any time, in use or free. A free node sits on exactly one
// free list: a thread's cache (`free` or `spare`) or a batch in the shared
// pool. The lists are singly linked through `next_free`, which only the
// list's owner touches.
//
// Operations
// ----------
//   1. acquire (gc_root created, copied, or set when empty), inline: pop the
//      thread's `free` list; write name, file, function, line, in_use, then
//      the target with release. No lock, no read-modify-write.
//   2. release (gc_root destroyed or move-assigned over), inline: if
//      marking, shade the current target (out of line); store null and
//      in_use = false; push the node on the thread's `free` list.
//   3. set (gc_root assigned), inline: if marking, shade the current
//      target; store the new one. (As the write barrier: the old target is
//      loaded only while marking, so the common path leaves no stale copy
//      of it in the caller's frame for the conservative stack scan.)
//   4. Slow paths, out of line, in a runtime_section: an empty `free` takes
//      `spare`, else a batch from the pool, else a new chunk (its nodes
//      become the thread's `free` list and, beyond one batch, a pool
//      batch). A full `free` (batch_size nodes) becomes `spare`, the old
//      spare goes to the pool as one batch. So a thread goes to the pool's
//      lock at most once per batch_size (64) operations, and never twice in
//      a row for a thread that alternates create and destroy.
//   5. A thread's first call sets its cache up (registers the thread with
//      the collector if it is not yet, and a pthread key destructor); the
//      destructor, at thread exit, gives the thread's nodes to the pool and
//      leaves the cache exited: later calls on that thread (from other key
//      destructors) go straight to the pool.
//   6. The scan (visit_handles), on the collector thread after the
//      mark-start pause, concurrently with all of the above, without a
//      lock: for each chunk (head loaded with acquire), for each node: skip
//      it unless in_use; count it; load its target (acquire); if non-null,
//      read the identity (relaxed) and visit the target precisely.
//
// Invariants
// ----------
//   I1. A node is never freed; once published in the chunk list it stays
//       there, and a chunk's `next` never changes after publication.
//   I2. A free node's target is null. A node is on at most one free list,
//       and a node on a free list is referenced by no gc_root.
//   I3. Whenever a node's target changes from X to something else (release,
//       set) while marking is on, X is shaded. Both fast paths test
//       `marking`, shade, then store, exactly as the write barrier
//       (tricolor/internal/write_barrier.hpp), and for the same reason that is
//       enough: neither contains a system call or a safepoint, so the stop
//       signal never stops a thread inside one (roots/stop_signal.hpp) and
//       each runs wholly before or wholly after a pause. The same argument
//       covers racing unsynchronized sets of one root ("Racing stores"
//       there).
//   I4. Names are not copied: a gc_root's name must stay valid and
//       unchanged as long as any root carries it, and the scan may still
//       read a destroyed root's name pointer, so in practice it must have
//       static storage duration (a string literal). For a name built at
//       run time, tricolor::intern_root_name(s) returns a copy that lives
//       until the process exits (a lock and a hash lookup: make it once,
//       not per root).
//
// Why the concurrent scan misses no root of the snapshot
// ------------------------------------------------------
// The SATB barrier (tricolor/internal/write_barrier.hpp) needs the handles' values
// at the snapshot, or the old values shaded. Take a root whose node N held
// X at the mark-start pause. Its creation happened before the pause, and
// the stop-the-world handshake (roots/thread_registry.hpp: sequentially
// consistent status and request words) orders everything every registered
// thread did before the pause before the collector's scan, including the
// publication of N's chunk (I1: the scan finds N) and N's target X. When
// the scan loads N's target it reads X or a later value in N's
// modification order. If X: X is visited. If later: some thread stored over
// X after the pause, through release or set, and by I3 that thread tested
// `marking` after the pause (the whole fast path ran after it), found it
// on, and shaded X. Either way X is
// shaded. (If the scan finds N free, the same holds: freeing stored null
// over X after the pause.) A root created during marking holds an object
// that the program could reach, hence one of the snapshot (shaded by the
// argument above, by induction along paths as in write_barrier.hpp) or one
// allocated black: it needs no shade of its own.
//
// Which threads: every thread's first handle operation goes through the
// slow path, which registers the thread (roots::current_thread) if the
// program did not create it through pthread_create; so the handshake covers
// every thread that ever touched a handle. A thread needs no registration
// call of its own.
//
// Memory ordering
// ---------------
//   * target: stored with release by acquire (so a scan that loads it with
//     acquire reads at least this incarnation's identity), relaxed
//     elsewhere. The marking argument needs only single-copy atomicity plus
//     the pause's handshake.
//   * in_use, name, file, function, line: relaxed. A node recycled while the
//     scan reads it may pair the target of one incarnation with the
//     identity of the next: the target is still marked (it was the node's
//     value at the time, or shaded by I3); only attribution, for a root
//     that was being destroyed during the scan, may go to its successor.
//   * chunks: a new chunk's nodes are initialized, its `next` set, then the
//     head stored with release (under the pool lock, which orders pushers);
//     the scan loads it with acquire.
//   * next_free / next_batch: plain, owned by one thread at a time; handed
//     between threads by the pool's mutex, or by whatever synchronization
//     the program used to hand a gc_root to another thread.
//   * marking: relaxed; it changes only while the world is stopped.
//
// Cost: an uncontended create and destroy is a thread-local pop, six
// stores, a load of `marking`, two stores and a push (bench/micro_gc_root.cc has the
// figures beside the old registry: one mutex-guarded doubly linked list of
// malloc'd nodes with a std::string name each).

#include <pthread.h>

#include <mutex>
#include <new>
#include <string>
#include <string_view>
#include <unordered_set>

#include "tricolor/internal/write_barrier.hpp"
#include "tricolor/gc_root.hpp"
#include "tricolor/internal/handle_nodes.hpp"
#include "roots/root_set.hpp"
#include "roots/thread_registry.hpp"

namespace tricolor::roots {

thread_local constinit handle_cache tls_handle_cache{};

namespace {

constexpr std::uint32_t batch_size = 64;
constexpr std::size_t nodes_per_chunk = 127;  // with `next`: 7 KiB

enum cache_state : std::uint8_t { cache_new = 0, cache_ready = 1, cache_exited = 2 };

struct handle_chunk {
  handle_chunk* next = nullptr;
  handle_node nodes[nodes_per_chunk];
};

struct handle_pool {
  std::mutex lock;
  handle_node* batches = nullptr;  // linked through each batch's first node
  std::atomic<handle_chunk*> chunks{nullptr};
  pthread_key_t exit_key{};
};

handle_pool& pool() {
  static auto* p = [] {
    auto* fresh = new handle_pool();  // leaked: roots may die at exit
    pthread_key_create(&fresh->exit_key, [](void* cache) {
      auto* c = static_cast<handle_cache*>(cache);
      handle_pool& hp = pool();
      std::lock_guard guard(hp.lock);
      for (handle_node* list : {c->free, c->spare}) {
        if (list == nullptr) continue;
        list->next_batch = hp.batches;
        hp.batches = list;
      }
      *c = handle_cache{};
      c->state = cache_exited;
    });
    return fresh;
  }();
  return *p;
}

// A new chunk, published; returns its nodes as one list. Under the pool lock.
handle_node* new_chunk(handle_pool& p) {
  auto* chunk = new handle_chunk();
  for (std::size_t i = 0; i + 1 < nodes_per_chunk; ++i)
    chunk->nodes[i].next_free = &chunk->nodes[i + 1];
  chunk->next = p.chunks.load(std::memory_order_relaxed);
  p.chunks.store(chunk, std::memory_order_release);
  return &chunk->nodes[0];
}

// Splits `list` after `n` nodes; returns the rest (or null).
handle_node* split_after(handle_node* list, std::uint32_t n) {
  for (std::uint32_t i = 1; i < n && list->next_free; ++i) list = list->next_free;
  handle_node* rest = list->next_free;
  list->next_free = nullptr;
  return rest;
}

// One list of free nodes from the pool (a batch, or a fresh chunk's nodes
// beyond the first batch_size, which become a batch). Under the pool lock.
handle_node* take_list(handle_pool& p) {
  if (handle_node* batch = p.batches) {
    p.batches = batch->next_batch;
    return batch;
  }
  handle_node* list = new_chunk(p);
  if (handle_node* rest = split_after(list, batch_size)) {
    rest->next_batch = p.batches;
    p.batches = rest;
  }
  return list;
}

std::uint32_t length(const handle_node* list) {
  std::uint32_t n = 0;
  for (; list; list = list->next_free) ++n;
  return n;
}

void set_up(handle_cache& cache) {
  handle_pool& p = pool();
  pthread_setspecific(p.exit_key, &cache);
  cache.state = cache_ready;
  cache.limit = batch_size;
}

// An exiting thread's operations: straight to and from the pool.
handle_node* acquire_exited(handle_pool& p) {
  std::lock_guard guard(p.lock);
  handle_node* list = take_list(p);
  if (handle_node* rest = list->next_free) {
    rest->next_batch = p.batches;
    p.batches = rest;
  }
  list->next_free = nullptr;
  return list;
}

}  // namespace

TRICOLOR_TLS_CACHE_ACCESS handle_node* acquire_handle_slow() {
  handle_cache& cache = tls_handle_cache;
  handle_pool& p = pool();
  if (cache.state == cache_exited) return acquire_exited(p);
  runtime_section runtime;  // registers the thread on its first call
  if (cache.state == cache_new) set_up(cache);
  handle_node* list = std::exchange(cache.spare, nullptr);
  if (list == nullptr) {
    std::lock_guard guard(p.lock);
    list = take_list(p);
  }
  handle_node* node = list;
  cache.free = node->next_free;
  cache.count = length(cache.free);
  return node;
}

TRICOLOR_TLS_CACHE_ACCESS void release_handle_slow(handle_node* node) noexcept {
  handle_cache& cache = tls_handle_cache;
  handle_pool& p = pool();
  if (cache.state == cache_exited) {
    node->next_free = nullptr;
    std::lock_guard guard(p.lock);
    node->next_batch = p.batches;
    p.batches = node;
    return;
  }
  runtime_section runtime;
  if (cache.state == cache_new) set_up(cache);
  if (cache.count >= cache.limit) {
    // `free` is full: it becomes the spare, the old spare a pool batch.
    if (handle_node* old_spare = std::exchange(cache.spare, cache.free)) {
      std::lock_guard guard(p.lock);
      old_spare->next_batch = p.batches;
      p.batches = old_spare;
    }
    cache.free = nullptr;
    cache.count = 0;
  }
  node->next_free = cache.free;
  cache.free = node;
  ++cache.count;
}

void shade_handle_target(const handle_node* node) noexcept {
  if (void* old = node->target.load(std::memory_order_relaxed))
    barriers::record_for_shading(old);
}

std::uint64_t visit_handles(root_visitor& visitor) {
  std::uint64_t count = 0;
  for (handle_chunk* chunk = pool().chunks.load(std::memory_order_acquire); chunk;
       chunk = chunk->next) {
    for (handle_node& node : chunk->nodes) {
      if (!node.in_use.load(std::memory_order_relaxed)) continue;
      ++count;
      void* target = node.target.load(std::memory_order_acquire);
      if (target == nullptr) continue;
      root_identity identity{root_kind::handle,
                             node.name.load(std::memory_order_relaxed),
                             node.file.load(std::memory_order_relaxed),
                             node.line.load(std::memory_order_relaxed), 0};
      visitor.precise(identity, target);
    }
  }
  return count;
}

}  // namespace tricolor::roots

namespace tricolor {

const char* intern_root_name(std::string_view name) {
  static auto* lock = new std::mutex();                               // leaked:
  static auto* names = new std::unordered_set<std::string>();         // names live
  std::lock_guard guard(*lock);                                       // to the end
  return names->emplace(name).first->c_str();
}

}  // namespace tricolor
