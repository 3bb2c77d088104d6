// Compiled with -std=c++17 (tests/compile_fail/meson.build): the public
// header must stop at once and say which language mode it needs, instead of
// failing deep inside on concepts or std::source_location.
// expect-error: tricolor needs C++20: compile with -std=c++20
#include <tricolor/tricolor.hpp>

int main() {}
