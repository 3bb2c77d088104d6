// A small callback object handed to a long-lived registry keeps its large
// owner alive: the "on exit" hook a document window registers captures the
// window, so every closed window and its image stay reachable from the
// static list of hooks. expect_dead() on close names the list, and the path
// shows the hop that drags the owner along: hooks -> [i] callback -> owner.
//
//     build/examples/leak_callback_owner
#include <cstdio>
#include <iostream>

#include <tricolor/tricolor.hpp>

namespace {

struct document_window {
  tricolor::gc_ptr<tricolor::gc_array<std::uint32_t>> pixels;  // 4 MiB
  void trace(tricolor::tracer& t) const { t(pixels); }
};

// 16 bytes of callback...
struct save_on_exit {
  tricolor::gc_ptr<document_window> window;  // ...that captures its window
  void trace(tricolor::tracer& t) const { t(window); }
};

// Hooks run at exit; nothing ever removes one.
tricolor::gc_vector<tricolor::gc_ptr<save_on_exit>> exit_hooks;

void open_and_close_window() {
  auto window = tricolor::make_gc<document_window>(tricolor::make_gc_array<std::uint32_t>(1 << 20));
  exit_hooks.push_back(tricolor::make_gc<save_on_exit>(window));
  tricolor::expect_dead(window, "window closed");
}

}  // namespace

int main() {
  for (int i = 0; i < 8; ++i) {
    open_and_close_window();
    tricolor::collect();
  }
  tricolor::collect();
  tricolor::collect();
  std::vector<tricolor::leak_suspect> suspects = tricolor::leak_report();
  std::printf("leak_report(): %zu suspect(s)\n", suspects.size());
  for (const tricolor::leak_suspect& s : suspects) {
    std::printf("  %s \"%s\" keeps an object of %zu hops away:", s.root.kind.c_str(),
                s.root.name.c_str(), s.path.size());
    for (const tricolor::leak_path_hop& hop : s.path) std::printf(" -> %s", hop.type.c_str());
    std::printf("\n");
  }
  tricolor::write_leak_report_json(std::cout);
  return suspects.empty() ? 1 : 0;
}
