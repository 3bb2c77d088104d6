// A producer outrunning its consumer through an unbounded channel: the
// backlog piles up inside the channel, reachable from the global that holds
// it, and the heap grows. leakreport=1 names the global; the same program
// with a bounded channel (the producer waits when 64 messages wait) stays
// quiet.
//
//     TRICOLOR_DEBUG=leakreport=1,leakcycles=8 build/examples/leak_channel_backlog
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <tricolor/tricolor.hpp>

namespace {

using message = tricolor::gc_ptr<tricolor::gc_array<char>>;

tricolor::gc_chan<message> unbounded_log_queue;  // the leak
tricolor::gc_chan<message> bounded_log_queue;    // the fix

// Sends `count` 4 KiB messages as fast as it can, collecting every 500, while
// a consumer takes one every 20 us; then closes the channel.
void run(tricolor::gc_chan<message>& queue, std::size_t capacity, int count) {
  queue = tricolor::make_chan<message>(capacity);
  std::thread consumer([&queue] {
    while (auto m = queue.recv()) std::this_thread::sleep_for(std::chrono::microseconds(20));
  });
  for (int i = 0; i < count; ++i) {
    queue.send(tricolor::make_gc_array<char>(4096));
    if (i % 500 == 499) tricolor::collect();
  }
  queue.close();
  consumer.join();
}

bool reported(const char* name) {
  for (const tricolor::leak_suspect& s : tricolor::leak_report())
    if (s.root.name.find(name) != std::string::npos) return true;
  return false;
}

}  // namespace

int main() {
  setenv("TRICOLOR_DEBUG", "leakreport=1,leakcycles=8", /*overwrite=*/0);
  run(unbounded_log_queue, tricolor::unbounded, 10'000);
  bool leak_found = reported("unbounded_log_queue");
  run(bounded_log_queue, 64, 10'000);
  bool fix_quiet = !reported("bounded_log_queue");
  std::printf("unbounded queue reported: %s; bounded queue reported: %s\n", leak_found ? "yes" : "no",
              fix_quiet ? "no" : "yes");
  tricolor::write_leak_report_json(std::cout);
  return leak_found && fix_quiet ? 0 : 1;
}
