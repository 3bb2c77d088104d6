// Where a root was created: file, line and function, captured by default
// arguments at the call site.
//
// This is std::source_location's information in a type of our own, because
// libstdc++ 12's <source_location> is empty under clang 14 (it needs
// __builtin_source_location); __builtin_FILE/LINE/FUNCTION work on both.
#pragma once

namespace tricolor {

struct source_location {
  const char* file = "";
  const char* function = "";
  unsigned line = 0;

  static constexpr source_location current(
      const char* file = __builtin_FILE(),
      const char* function = __builtin_FUNCTION(),
      unsigned line = __builtin_LINE()) noexcept {
    return {file, function, line};
  }
};

}  // namespace tricolor
