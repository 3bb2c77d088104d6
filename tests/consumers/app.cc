// A program that uses tricolor the way its README shows, built by each
// consumption path that run.py tests. It also includes headers of its own
// named like the collector's internal ones (heap/heap.hpp, gc/config.hpp):
// the installed headers live under tricolor/ and must not collide with them.
#include <cstdio>
#include <thread>
#include <vector>

#include <tricolor/tricolor.hpp>

#include "gc/config.hpp"
#include "heap/heap.hpp"

struct node {
  int value;
  tricolor::gc_ptr<node> next;
  node(int v, tricolor::gc_ptr<node> n) : value(v), next(n) {}
  void trace(tricolor::tracer& t) const { t(next); }
};

int main() {
  static_assert(app_heap_marker == 1 && app_config_marker == 2);
  std::vector<std::thread> threads;
  std::vector<long> sums(4);
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([k, &sums] {
      tricolor::gc_ptr<node> list;
      for (int i = 1; i <= 20000; ++i) {
        list = tricolor::make_gc<node>(i, list);
        if (i % 5000 == 0) tricolor::collect();
      }
      for (auto p = list; p; p = p->next) sums[k] += p->value;
    });
  for (auto& t : threads) t.join();
  tricolor::collect();
  for (long s : sums)
    if (s != 20000L * 20001 / 2) {
      std::printf("wrong sum %ld\n", s);
      return 1;
    }
  std::printf("ok: 4 threads, %llu collections\n",
              static_cast<unsigned long long>(tricolor::read_stats().num_gc));
  return 0;
}
