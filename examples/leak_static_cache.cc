// A leak a collector cannot free: a function-local static cache that only
// grows. Every response stays reachable from `response_cache`, so the heap
// climbs cycle after cycle; with TRICOLOR_DEBUG=leakreport=1 the collector
// names the variable, how fast it grows, and the path to a cached object.
//
//     TRICOLOR_DEBUG=leakreport=1,leakcycles=8 build/examples/leak_static_cache
//
// (The example sets that itself when TRICOLOR_DEBUG is unset: a window of 8
// cycles, the default 16 would take twice as long.)
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <tricolor/tricolor.hpp>

namespace {

struct response {
  int id;
  tricolor::gc_ptr<tricolor::gc_array<char>> body;
  void trace(tricolor::tracer& t) const { t(body); }
};

// Handles a request; remembers every response "for later" and never evicts.
tricolor::gc_ptr<response> handle_request(int id) {
  static tricolor::gc_vector<tricolor::gc_ptr<response>> response_cache;
  auto body = tricolor::make_gc_array<char>(2048);
  auto r = tricolor::make_gc<response>(id, body);
  response_cache.push_back(r);
  // Request-scoped garbage, freed as usual.
  for (int i = 0; i < 16; ++i) (void)tricolor::make_gc_array<char>(1024);
  return r;
}

}  // namespace

int main() {
  setenv("TRICOLOR_DEBUG", "leakreport=1,leakcycles=8", /*overwrite=*/0);
  for (int id = 0; id < 40'000; ++id) {
    handle_request(id);
    if (id % 2000 == 1999) tricolor::collect();  // a cycle every 2000 requests
  }
  std::vector<tricolor::leak_suspect> suspects = tricolor::leak_report();
  std::printf("leak_report(): %zu suspect(s)\n", suspects.size());
  tricolor::write_leak_report_json(std::cout);
  return suspects.empty() ? 1 : 0;
}
