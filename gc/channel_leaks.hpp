// Threads leaked on channels: a thread blocked in a gc_chan operation whose
// channel is reachable from no root but the stacks of threads blocked on
// channels can never be woken (the mechanism of Go 1.26's goroutine leak
// profile, for C++ threads).
//
// The algorithm, inside one concurrent cycle:
//   1. Mark start pause: among the threads whose stack scan is deferred
//      (blocked when the pause began: roots/thread_registry.hpp), those
//      blocked in a channel operation (gc/channel_waits.hpp) are held back:
//      their stacks are not roots yet.
//   2. Marking runs from every other root. In a termination pause that finds
//      no grey object left (barrier buffers shaded and drained), every
//      object reachable from the other roots is marked.
//   3. A held-back thread whose channel is marked may be woken by a thread
//      that can reach the channel: its stack becomes a root (scanned after
//      the pause), marking resumes, and step 2 repeats. When no held-back
//      thread's channel is marked, every one left is leaked for certain:
//      nothing that runs can reach its channel, and a thread blocked on a
//      channel can only be woken through it (a close or a matching send or
//      receive). They are recorded, then their stacks are scanned too: the
//      threads exist, and what they hold stays alive.
//
// Why "marked" is the right test in step 3: marking is snapshot-at-the-
// beginning (tricolor/internal/write_barrier.hpp), so with no grey object
// left every object reachable at mark start from the roots scanned so far
// is marked, and a channel first reached after mark start was reached by a
// running thread, whose stack is a root. Conservative scanning can only
// mark more: a leak may be missed, never invented.
//
// The held-back threads are SAFE with their stack scans pending, so none
// can leave SAFE (return from its wait) until its stack is scanned; each is
// scanned before the cycle ends. The stop-the-world cycle runs the same
// steps inside its one pause (step 2 is its marker's drain).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tricolor::roots {
struct thread_state;
}

namespace tricolor::gc {

struct leaked_channel_thread {
  pid_t thread;
  std::string thread_name;
  std::string channel_type;
  bool sending;
  std::uint64_t blocked_ns;  // how long it had been blocked when found
  std::vector<std::string> frames;  // return addresses found on its stack
};

class channel_leak_finder {
 public:
  // Step 1, in the mark-start pause, after the roots were enumerated.
  void hold_back_blocked_threads();
  bool holds(const roots::thread_state& t) const;
  bool holding() const { return !held_.empty(); }

  // Step 3, in a termination pause that found no grey object: the held-back
  // threads whose channel is marked, to scan next.
  std::vector<roots::thread_state*> release_woken();
  // Step 3 when release_woken() found none (and every other root has been
  // marked through, the leak tracker's suspects included): all the threads
  // still held back, recorded as leaked, to scan next.
  std::vector<roots::thread_state*> release_leaked();
  // After that pause, before the released threads are scanned (they are
  // still SAFE and stopped): their names and stacks, for the report.
  void describe_leaked();

  const std::vector<leaked_channel_thread>& leaked() const { return leaked_; }

 private:
  struct held_thread {
    roots::thread_state* thread;
    const void* channel;
    std::string channel_type;
    bool sending;
    std::uint64_t since_ns;
  };
  std::vector<held_thread> held_;
  std::vector<held_thread> leaked_held_;  // released as leaked, not yet described
  std::vector<leaked_channel_thread> leaked_;
};

}  // namespace tricolor::gc
