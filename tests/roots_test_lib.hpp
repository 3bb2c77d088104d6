// Interface of roots_test_lib.cc (a shared library holding a static gc_ptr).
#pragma once

#include "tricolor/gc_ptr.hpp"
#include "tests/test_support.hpp"

namespace roots_test_lib {

// Stores into / loads from a gc_ptr defined in the shared library's .bss.
[[gnu::visibility("default")]] void store(
    tricolor::gc_ptr<tricolor_test::counted> p);
[[gnu::visibility("default")]] tricolor::gc_ptr<tricolor_test::counted> load();

}  // namespace roots_test_lib
