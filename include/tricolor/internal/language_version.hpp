// Every public header includes this first: tricolor's API uses concepts,
// std::source_location and coroutines, so an older language mode would fail
// deep inside a header with a message about something else.
#pragma once

#if !defined(__cplusplus) || __cplusplus < 202002L
#error "tricolor needs C++20: compile with -std=c++20 (or gnu++20), CMake's cxx_std_20, or meson's cpp_std=c++20"
#endif
