// A shared library with a gc_ptr in its data segment, for roots_test.cc:
// "the data segments of the executable and loaded shared objects are scanned"
// (SPEC §2.2). The library only stores into its global (an inline relaxed
// store); it does not allocate, so it needs no link to tricolor itself.
#include "tests/roots_test_lib.hpp"

namespace roots_test_lib {

namespace {
tricolor::gc_ptr<tricolor_test::counted> library_global;
}

void store(tricolor::gc_ptr<tricolor_test::counted> p) { library_global = p; }

tricolor::gc_ptr<tricolor_test::counted> load() { return library_global; }

}  // namespace roots_test_lib
