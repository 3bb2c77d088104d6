// A worker thread blocked forever on a channel nobody else can reach: the
// dispatcher that owned the job channel went away without closing it, and
// the worker, with its 1 MiB of buffers, waits for a job that can never
// come. The collector finds it: the channel is reachable from no root but
// the worker's own stack (gc/channel_leaks.hpp), so the worker is leaked
// for certain; the report names the thread, the channel's type and the
// functions on its stack.
//
//     TRICOLOR_DEBUG=leakreport=1,leakcycles=8 build/examples/leak_blocked_worker
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <tricolor/tricolor.hpp>

namespace {

struct job {
  int id;
};

class dispatcher {
 public:
  dispatcher() : jobs_(tricolor::make_chan<tricolor::gc_ptr<job>>(0)) {
    auto jobs = jobs_;
    std::thread([jobs] {
      pthread_setname_np(pthread_self(), "image-worker");
      auto buffers = tricolor::make_gc_array<char>(1 << 20);  // held while it waits
      while (auto j = jobs.recv()) (*buffers)[0] = static_cast<char>((*j)->id);
    }).detach();
  }
  void submit(int id) { jobs_.send(tricolor::make_gc<job>(id)); }
  // No destructor closing jobs_: the bug.

 private:
  tricolor::gc_chan<tricolor::gc_ptr<job>> jobs_;
};

[[gnu::noinline]] void use_a_dispatcher_and_drop_it() {
  dispatcher d;
  for (int i = 0; i < 10; ++i) d.submit(i);
}

}  // namespace

int main() {
  setenv("TRICOLOR_DEBUG", "leakreport=1,leakcycles=8", /*overwrite=*/0);
  std::thread(use_a_dispatcher_and_drop_it).join();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the worker is in recv()
  tricolor::collect();
  tricolor::collect();
  std::size_t leaked = 0;
  for (const tricolor::leak_suspect& s : tricolor::leak_report())
    leaked += s.why == tricolor::leak_suspect::reason::leaked_thread;
  std::printf("leaked threads: %zu\n", leaked);
  tricolor::write_leak_report_json(std::cout);
  return leaked == 1 ? 0 : 1;
}
