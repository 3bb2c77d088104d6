// gc_chan<T>: a Go-style channel between threads, itself a managed object.
//
//     auto jobs = tricolor::make_chan<gc_ptr<job>>(16);   // buffered: 16 values
//     std::thread worker([jobs] {
//       while (std::optional<gc_ptr<job>> j = jobs.recv()) run(*j);  // until closed
//     });                                                            // and drained
//     jobs.send(tricolor::make_gc<job>());   // blocks while 16 values wait
//     jobs.close();
//     worker.join();
//
// make_chan<T>(capacity) allocates a channel<T> with make_gc and returns a
// gc_chan<T>: a one-word handle (a gc_ptr<channel<T>> with the operations),
// copied freely, held on stacks, in globals, in managed objects (traced:
// t(ch)), in a gc_root<channel<T>> (ch.get(); gc_chan<T>(root.get()) gives
// the handle back). A default-constructed gc_chan holds no channel; an
// operation on it throws std::logic_error (Go's nil channel would block for
// ever, which only makes sense with select).
//
// Semantics: Go's (the language specification's "Channel types", "Send
// statements", "Receive operator", "Close"):
//   * capacity 0: unbuffered. send returns once a receiver has the value;
//     recv takes the value of a blocked sender or waits for one.
//   * capacity n: send blocks while n values are buffered.
//   * tricolor::unbounded: send never blocks; the buffer grows as needed.
//   * recv() blocks until a value arrives (returns it) or the channel is
//     closed and its buffer drained (returns std::nullopt: Go's v, ok := <-ch).
//   * close(): receivers drain what is buffered and then get nullopt; every
//     thread blocked in send throws.
//   * try_send(v) returns false where send would block; try_recv() returns
//     recv_status::would_block where recv would block, recv_status::closed
//     where recv would return nullopt.
//   * Errors, Go's panics, throw channel_closed_error: send or try_send on a
//     closed channel (also to a sender blocked when close() happens), close
//     of a closed channel.
//   * Blocked senders and receivers are served in the order they blocked;
//     values leave the buffer in the order they entered it.
//   * len() is the number of buffered values (0 for an unbuffered channel);
//     cap() the capacity given to make_chan.
//
// Structure, as Go's runtime/chan.go hchan, with everything in managed
// memory:
//
//     channel<T>                                 gc_array<T> (the ring)
//     +------------------------+                 +----+----+----+----+
//     | lock_       std::mutex |      buffer_ -> |    | v0 | v1 |    |
//     | buffer_, head_, count_ |                 +----+----+----+----+
//     | capacity_, closed_     |                  head_ = 1, count_ = 2
//     | receivers_ first, last | -> waiter -> waiter -> null  (threads in recv)
//     | senders_   first, last | -> waiter -> ...              (threads in send)
//     +------------------------+
//
// A thread that must block allocates a waiter (managed, like Go's sudog):
// the value it offers (a sender) or is given (a receiver), the outcome, and
// the address of a condition variable on its own stack. It waits until a
// partner or close() takes the waiter out of its queue.
//
// Invariants, kept with lock_ held (every field but capacity_ is read and
// written only under lock_, except by trace(), below):
//   1. The buffered values are (*buffer_)[(head_ + i) % size] for
//      i < count_ <= capacity_; every other slot of the ring holds T().
//   2. At most one queue is non-empty. Receivers wait only while the buffer
//      is empty and no sender waits; senders only while the buffer is full
//      (count_ == capacity_; always, unbuffered) and no receiver waits. So a
//      full buffer has a ring of exactly capacity_ slots. A closed channel
//      has no waiters.
//   3. A queued waiter's outcome is `waiting`. Whoever takes it out of its
//      queue (a partner, or close()) sets the outcome and notifies its
//      condition variable, both with lock_ held: the waiter cannot return
//      and destroy the variable before the notification is over.
//
// The operations (chan.go's chansend, chanrecv, closechan):
//   send   closed: throw. A receiver waits: the value goes into its waiter.
//          Room in the buffer: appended. Else: block in senders_.
//   recv   Values buffered: take the head; if a sender waits (the buffer was
//          full), its value moves to the tail and it is released. A sender
//          waits (unbuffered): take its value. Closed: nullopt. Else: block
//          in receivers_.
//   close  closed: throw. Else closed_ = true and every waiter is released
//          with the outcome `closed` (no receiver waits while values are
//          buffered, invariant 2, so none loses one).
//
// Why the values stay alive. Every value the channel holds is in managed
// memory reached from trace(): in the ring (traced whole; invariant 1 makes
// the empty slots hold nothing), or in a queued waiter (its value and the
// next link). A value on its way in or out is in a local of a thread inside
// an operation, and stacks are roots.
//
// The write barrier. Every store of a value into managed memory is an
// assignment of T (so a gc_ptr::operator= for each gc_ptr it holds): into a
// ring slot, into a receiver's waiter, into a new ring when the buffer
// grows, and T() into a slot whose value leaves (which shades the value
// that was there). A grown ring, complete, is published by one barriered
// store of buffer_ (as gc_vector grows); the queues' links are gc_ptr
// stores too. Nothing is memcpy'd or constructed over a live slot: new
// waiters and rings are constructed before anything points to them.
//
// trace() takes no lock: it runs on the collector's threads while the
// program runs, and a marker must never wait for a lock that a thread
// stopped in a pause may hold. It reads only gc_ptr fields, with the
// collector's atomic loads; buffer_ and the queue links change only by
// barriered stores, so the snapshot-at-the-beginning argument of
// tricolor/internal/write_barrier.hpp covers them as any other field.
//
// What a blocked thread holds. The channel (`this` in its frame), its
// waiter and the values it moves are reached from its stack and registers,
// scanned conservatively (a word holding an object's header address counts
// too: GCC keeps just that once make_gc is inlined, heap/heap.hpp).
//
// Blocked threads never delay a collection. A thread waits for a partner in
// std::condition_variable::wait (pthread_cond_wait) and for lock_ in
// pthread_mutex_lock; the library interposes both (roots/blocking_calls.cc),
// so such a thread is SAFE: a pause neither signals it nor waits for it.
// The collector never takes lock_. A thread may allocate with lock_ held (a
// waiter, a bigger ring) and so be stopped at a safepoint holding it; the
// threads that wait for lock_ meanwhile are SAFE, as above.
//
// Where the lock and the condition variables live. lock_ is a member of the
// managed object. libstdc++'s std::mutex is trivially destructible, so a
// channel needs no finalizer; with a library whose mutex has a destructor,
// it runs on the finalizer thread (gc/finalizer.hpp) once the channel is
// unreachable, and then no thread holds or waits for the lock: a thread in
// an operation holds `this` in its frame (and the lock's address), and its
// stack is a root. The condition variables are one per blocked thread, on
// its stack: a partner wakes exactly the thread whose operation completed
// (no thundering herd), and invariant 3 keeps the variable alive for it.
//
// Threads leaked on channels (SPEC 2.6 point 3). A thread registers each
// wait (channel, type, direction, since when) for its duration, in a
// channel_wait_scope (gc/channel_waits.hpp has the registry).
//
// Element types: those make_gc_array accepts (gc_ptr<U>, values without
// gc_ptrs, structs with a trace(), gc_chan<U>), default-constructible (the
// empty slots hold T()) with a move that does not throw. Every state change
// comes after the operation's only throwing step, an allocation (a waiter,
// a bigger ring), so a std::bad_alloc leaves the channel as it was.
//
// The buffer of an unbounded channel does not shrink: it keeps the largest
// ring it needed. After fork() without exec, a channel in the child still
// queues the waiters of threads that do not exist there (as a mutex held by
// such a thread stays locked): do not use it in the child.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "tricolor/gc_array.hpp"
#include "tricolor/gc_ptr.hpp"
#include "tricolor/make_gc.hpp"
#include "tricolor/tracer.hpp"
#include "tricolor/internal/object_header.hpp"

namespace tricolor {

// The capacity of a channel whose send never blocks: make_chan<T>(unbounded).
inline constexpr std::size_t unbounded = std::numeric_limits<std::size_t>::max();

// Go's channel panics: send on a closed channel, close of a closed channel.
class channel_closed_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

enum class recv_status { received, would_block, closed };

// What try_recv found: the value is engaged exactly when status == received.
template <class T>
struct recv_result {
  recv_status status;
  std::optional<T> value;
};

namespace detail {

// The registry of threads blocked on channels (gc/channel_waits.cc): a
// thread registers before it waits and unregisters when it wakes.
void channel_wait_begin(const void* channel_payload, const heap::type_descriptor* channel_type,
                        bool sending);
void channel_wait_end() noexcept;

class channel_wait_scope {
 public:
  channel_wait_scope(const void* channel_payload, const heap::type_descriptor* channel_type,
                     bool sending) {
    channel_wait_begin(channel_payload, channel_type, sending);
  }
  ~channel_wait_scope() { channel_wait_end(); }
  channel_wait_scope(const channel_wait_scope&) = delete;
  channel_wait_scope& operator=(const channel_wait_scope&) = delete;
};

enum class waiter_outcome : unsigned char { waiting, completed, closed };

// A thread blocked in a channel operation (see the top of this file).
template <class T>
struct channel_waiter {
  channel_waiter(std::condition_variable* wake, T value) noexcept
      : value(std::move(value)), wake(wake) {}

  void trace(tracer& t) const {
    if constexpr (element_scanned<T>) t(value);
    t(next);
  }

  T value;                        // offered by a sender, given to a receiver
  gc_ptr<channel_waiter> next;    // the next waiter of the same queue
  std::condition_variable* wake;  // on the blocked thread's stack
  waiter_outcome outcome = waiter_outcome::waiting;
};

// A FIFO of waiters, linked through their gc_ptr `next` (barriered stores).
template <class T>
class waiter_queue {
 public:
  using waiter = channel_waiter<T>;

  bool empty() const noexcept { return first_ == nullptr; }

  void push(const gc_ptr<waiter>& w) noexcept {
    if (last_ == nullptr) first_ = w;
    else last_->next = w;
    last_ = w;
  }

  // Takes out the first waiter; it no longer links to the rest.
  gc_ptr<waiter> pop() noexcept {
    gc_ptr<waiter> w = first_;
    first_ = w->next;
    if (first_ == nullptr) last_ = nullptr;
    w->next = nullptr;
    return w;
  }

  void trace(tracer& t) const { t(first_, last_); }

 private:
  gc_ptr<waiter> first_;
  gc_ptr<waiter> last_;
};

}  // namespace detail

// The managed channel. Reached through a gc_chan<T> (or any gc_ptr to it);
// its member functions are gc_chan's operations.
template <class T>
class channel {
  static_assert(std::is_default_constructible_v<T>,
                "tricolor::gc_chan<T>: T must be default-constructible (an empty "
                "buffer slot holds T())");
  static_assert(std::is_nothrow_move_constructible_v<T> && std::is_nothrow_move_assignable_v<T>,
                "tricolor::gc_chan<T>: T's move constructor and move assignment must "
                "not throw (a channel changes its state only after its allocations, "
                "and a value moved half-way would be lost)");

 public:
  explicit channel(std::size_t capacity) noexcept : capacity_(capacity) {}
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  void send(T value) {
    std::unique_lock guard(lock_);
    if (closed_) throw channel_closed_error("tricolor::gc_chan: send on closed channel");
    if (deliver(value)) return;
    if (block_in(senders_, std::move(value), guard, /*sending=*/true)->outcome ==
        detail::waiter_outcome::closed)
      throw channel_closed_error(
          "tricolor::gc_chan: send on closed channel (closed while the sender was blocked)");
  }

  bool try_send(T value) {
    std::lock_guard guard(lock_);
    if (closed_) throw channel_closed_error("tricolor::gc_chan: send on closed channel");
    return deliver(value);
  }

  std::optional<T> recv() {
    std::unique_lock guard(lock_);
    if (std::optional<T> value = take()) return value;
    if (closed_) return std::nullopt;
    gc_ptr<waiter> self = block_in(receivers_, T(), guard, /*sending=*/false);
    if (self->outcome == detail::waiter_outcome::closed) return std::nullopt;
    return std::optional<T>(std::move(self->value));
  }

  recv_result<T> try_recv() {
    std::lock_guard guard(lock_);
    if (std::optional<T> value = take()) return {recv_status::received, std::move(value)};
    return {closed_ ? recv_status::closed : recv_status::would_block, std::nullopt};
  }

  void close() {
    std::lock_guard guard(lock_);
    if (closed_) throw channel_closed_error("tricolor::gc_chan: close of closed channel");
    closed_ = true;
    while (!receivers_.empty()) release(receivers_.pop(), detail::waiter_outcome::closed);
    while (!senders_.empty()) release(senders_.pop(), detail::waiter_outcome::closed);
  }

  std::size_t len() const {
    std::lock_guard guard(lock_);
    return count_;
  }
  std::size_t cap() const noexcept { return capacity_; }

  void trace(tracer& t) const { t(buffer_, receivers_, senders_); }

 private:
  using waiter = detail::channel_waiter<T>;

  // The ring's first allocation (at most capacity_ slots); it doubles from
  // there up to capacity_.
  static constexpr std::size_t first_ring_size = 8;

  // Hands `value` to the first waiting receiver or appends it to the buffer;
  // false, with `value` untouched, when neither is possible.
  bool deliver(T& value) {
    if (!receivers_.empty()) {
      gc_ptr<waiter> receiver = receivers_.pop();
      receiver->value = std::move(value);
      release(receiver, detail::waiter_outcome::completed);
      return true;
    }
    if (count_ < capacity_) {
      append(std::move(value));
      return true;
    }
    return false;
  }

  // The next value, if one is available without waiting: the buffer's head
  // (and the first blocked sender's value moves to the buffer's tail), or
  // the value of the first blocked sender of an unbuffered channel.
  std::optional<T> take() noexcept {
    if (count_ > 0) {
      std::optional<T> value(remove_head());
      if (!senders_.empty()) {
        gc_ptr<waiter> sender = senders_.pop();
        append(std::move(sender->value));  // the slot just freed: no allocation
        release(sender, detail::waiter_outcome::completed);
      }
      return value;
    }
    if (!senders_.empty()) {
      gc_ptr<waiter> sender = senders_.pop();
      std::optional<T> value(std::move(sender->value));
      release(sender, detail::waiter_outcome::completed);
      return value;
    }
    return std::nullopt;
  }

  // Queues a waiter for the calling thread and waits, lock_ held by `guard`
  // (released while it sleeps), until a partner or close() releases it.
  // Never inlined: the stack of a thread blocked on a channel (a leak
  // report's, a debugger's) then always names the channel's wait, whatever
  // the compiler inlines around it (under AddressSanitizer it inlined this
  // too into the caller's thread function once make_gc grew).
  [[gnu::noinline]] gc_ptr<waiter> block_in(detail::waiter_queue<T>& queue, T value,
                          std::unique_lock<std::mutex>& guard, bool sending) {
    std::condition_variable wake;
    gc_ptr<waiter> self = make_gc<waiter>(&wake, std::move(value));
    queue.push(self);
    detail::channel_wait_scope registered(this, &detail::descriptor_of<channel>, sending);
    while (self->outcome == detail::waiter_outcome::waiting) wake.wait(guard);
    return self;
  }

  // Invariant 3: with lock_ held, after taking `w` out of its queue.
  static void release(const gc_ptr<waiter>& w, detail::waiter_outcome outcome) noexcept {
    w->outcome = outcome;
    w->wake->notify_one();
  }

  std::size_t ring_size() const noexcept { return buffer_ ? buffer_->size() : 0; }

  void append(T&& value) {
    if (count_ == ring_size()) grow();
    (*buffer_)[(head_ + count_) % ring_size()] = std::move(value);
    ++count_;
  }

  T remove_head() noexcept {
    T& slot = (*buffer_)[head_];
    T value(std::move(slot));
    slot = T();  // barriered: the slot no longer keeps the value alive
    head_ = (head_ + 1) % ring_size();
    --count_;
    return value;
  }

  // A bigger ring with the buffered values from its start, published by one
  // barriered store; called only when count_ < capacity_.
  void grow() {
    std::size_t old_size = ring_size();
    std::size_t new_size = std::min(capacity_, std::max(first_ring_size, old_size * 2));
    gc_ptr<gc_array<T>> bigger = make_gc_array<T>(new_size);
    for (std::size_t i = 0; i < count_; ++i)
      (*bigger)[i] = std::move((*buffer_)[(head_ + i) % old_size]);
    buffer_ = bigger;
    head_ = 0;
  }

  mutable std::mutex lock_;
  gc_ptr<gc_array<T>> buffer_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
  const std::size_t capacity_;
  bool closed_ = false;
  detail::waiter_queue<T> receivers_;
  detail::waiter_queue<T> senders_;
};

// The handle: one gc_ptr to a channel<T>, with its operations.
template <class T>
class gc_chan {
 public:
  using value_type = T;

  gc_chan() noexcept = default;
  explicit gc_chan(gc_ptr<channel<T>> channel) noexcept : channel_(channel) {}

  // Blocks while the buffer is full (unbuffered: until a receiver has the
  // value). Throws channel_closed_error if the channel is or gets closed.
  void send(T value) const { checked().send(std::move(value)); }
  // send() without blocking: false where send() would block.
  bool try_send(T value) const { return checked().try_send(std::move(value)); }
  // The next value; nullopt once the channel is closed and drained.
  std::optional<T> recv() const { return checked().recv(); }
  // recv() without blocking.
  recv_result<T> try_recv() const { return checked().try_recv(); }
  // Throws channel_closed_error if already closed.
  void close() const { checked().close(); }
  std::size_t len() const { return checked().len(); }
  std::size_t cap() const { return checked().cap(); }

  gc_ptr<channel<T>> get() const noexcept { return channel_; }
  explicit operator bool() const noexcept { return static_cast<bool>(channel_); }

  void trace(tracer& t) const { t(channel_); }

 private:
  channel<T>& checked() const {
    if (!channel_)
      throw std::logic_error("tricolor::gc_chan: operation on an empty gc_chan (no channel)");
    return *channel_;
  }

  gc_ptr<channel<T>> channel_;
};

// A new channel of `capacity` values: 0 (the default) unbuffered, n
// buffered, tricolor::unbounded never full.
template <class T>
gc_chan<T> make_chan(std::size_t capacity = 0) {
  return gc_chan<T>(make_gc<channel<T>>(capacity));
}

// A std container of gc_chans with std::allocator would hold them in memory
// the collector does not scan: refused, as for gc_ptr (the end of
// tricolor/gc_ptr.hpp), with the same message.
namespace detail {
template <class T>
inline constexpr bool is_gc_ptr_value<gc_chan<T>> = true;
template <class T>
inline constexpr bool holds_gc_ptr_directly<gc_chan<T>> = true;
}  // namespace detail

}  // namespace tricolor
