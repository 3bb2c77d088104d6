// Listeners registered in a global registry and never removed: every
// session that subscribes to "config changed" events stays reachable from
// the registry after it closes, with its buffers. Two ways to see it:
//   * expect_dead(session) when a session closes: two cycles later the
//     report names the gc_root that still holds it and the path;
//   * leakreport=1 growth: the registry's gc_root grows every cycle.
//
//     TRICOLOR_DEBUG=leakreport=1,leakcycles=8 build/examples/leak_listeners
//
// The fix is the commented line in close_session().
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <vector>

#include <tricolor/tricolor.hpp>

namespace {

struct session {
  int id;
  tricolor::gc_ptr<tricolor::gc_array<char>> receive_buffer;
  void trace(tricolor::tracer& t) const { t(receive_buffer); }
  void on_config_changed() {}
};

// The event source: a registry of subscribers, held by gc_roots.
class config_events {
 public:
  void subscribe(tricolor::gc_ptr<session> s) {
    std::lock_guard guard(lock_);
    subscribers_.push_back(tricolor::gc_root<session>(s, "config_events subscribers"));
  }
  void unsubscribe(const tricolor::gc_ptr<session>& s) {
    std::lock_guard guard(lock_);
    std::erase_if(subscribers_, [&](const tricolor::gc_root<session>& r) { return r.get() == s; });
  }

 private:
  std::mutex lock_;
  std::vector<tricolor::gc_root<session>> subscribers_;
};

config_events events;

tricolor::gc_ptr<session> open_session(int id) {
  auto s = tricolor::make_gc<session>(id, tricolor::make_gc_array<char>(8192));
  events.subscribe(s);
  return s;
}

void close_session(const tricolor::gc_ptr<session>& s) {
  // events.unsubscribe(s);   <- the missing line
  tricolor::expect_dead(s, "session closed");
}

}  // namespace

int main() {
  setenv("TRICOLOR_DEBUG", "leakreport=1,leakcycles=8", /*overwrite=*/0);
  for (int id = 0; id < 12'000; ++id) {
    tricolor::gc_ptr<session> s = open_session(id);
    close_session(s);
    if (id % 500 == 499) tricolor::collect();
  }
  std::vector<tricolor::leak_suspect> suspects = tricolor::leak_report();
  std::printf("leak_report(): %zu suspect(s)\n", suspects.size());
  tricolor::write_leak_report_json(std::cout);
  return suspects.empty() ? 1 : 0;
}
