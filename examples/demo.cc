// demo: the collector at work, with one gctrace line per cycle.
//
// Builds a long-lived cache of sessions held by a named gc_root, then serves
// "requests" that each allocate a short-lived graph (with a cycle in it) and
// drop it. Garbage is reclaimed cycle after cycle while the live heap stays
// flat; at the end, closing the sessions frees them and their destructors
// run. Run with TRICOLOR_DEBUG=gctrace=1 to see each cycle.
#include <cstdio>
#include <string>
#include <vector>

#include <tricolor/tricolor.hpp>

using tricolor::gc_ptr;
using tricolor::make_gc;

namespace {
int sessions_destroyed = 0;

struct request {
  gc_ptr<request> next;  // a ring: every request graph is cyclic
  tricolor::gc_vector<int> payload;
  void trace(tricolor::tracer& t) const { t(next, payload); }
};

struct session {
  explicit session(int id) : name("session-" + std::to_string(id)) {}
  ~session() { ++sessions_destroyed; }
  std::string name;
  gc_ptr<request> last_request;
  void trace(tricolor::tracer& t) const { t(last_request); }
};

gc_ptr<request> serve(int size) {
  auto first = make_gc<request>();
  auto current = first;
  for (int i = 1; i < size; ++i) {
    current->next = make_gc<request>();
    current = current->next;
    current->payload.push_back(i);
  }
  current->next = first;  // close the cycle
  return first;
}

constexpr int session_count = 100;

[[gnu::noinline]] void open_sessions(std::vector<tricolor::gc_root<session>>& sessions) {
  for (int i = 0; i < session_count; ++i)
    sessions.push_back(tricolor::gc_root<session>(make_gc<session>(i), "open sessions"));
}

[[gnu::noinline]] void serve_requests(std::vector<tricolor::gc_root<session>>& sessions) {
  for (int round = 0; round < 200'000; ++round) {
    gc_ptr<request> r = serve(16);
    sessions[static_cast<std::size_t>(round) % sessions.size()]->last_request = r;
  }
}
}  // namespace

int main() {
  std::vector<tricolor::gc_root<session>> sessions;
  open_sessions(sessions);
  serve_requests(sessions);
  tricolor::gc_stats before = tricolor::read_stats();
  std::printf("served 200000 requests: %llu collections, live heap %.1f MiB, "
              "%llu objects freed, longest pause %.3f ms\n",
              static_cast<unsigned long long>(before.num_gc), before.live_bytes / 1048576.0,
              static_cast<unsigned long long>(before.objects_freed),
              [&] {
                std::uint64_t longest = 0;
                for (auto p : before.pause_ns) longest = p > longest ? p : longest;
                return longest / 1e6;
              }());

  sessions.clear();  // close every session
  tricolor::collect();
  tricolor::gc_stats after = tricolor::read_stats();
  // Stacks are scanned conservatively: a stale copy of a session's address
  // left in a dead stack slot may keep that one session alive a while longer.
  std::printf("closed the sessions: %d of %d session destructors ran, live heap %.1f KiB\n",
              sessions_destroyed, session_count, after.live_bytes / 1024.0);
  return 0;
}
