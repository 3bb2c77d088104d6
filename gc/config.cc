// Environment parsing; see config.hpp.
#include "gc/config.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace tricolor::gc {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// A non-negative decimal integer that fits an int, nothing else.
bool parse_non_negative_int(std::string_view s, int& out) {
  if (s.empty() || s.front() == '+' || s.front() == '-') return false;
  const char* end = s.data() + s.size();
  auto [ptr, error] = std::from_chars(s.data(), end, out);
  return error == std::errc() && ptr == end;
}
}  // namespace

int parse_gc_percent(std::string_view value, std::string* diagnostic) {
  std::string_view v = trim(value);
  if (equals_ignoring_case(v, "off")) return -1;
  int percent = 0;
  if (parse_non_negative_int(v, percent)) return percent;
  if (diagnostic) {
    *diagnostic = "tricolor: TRICOLOR_GC_PERCENT=\"" + std::string(value) +
                  "\" is not a percentage (a whole number >= 0, or \"off\"); "
                  "using " + std::to_string(default_gc_percent);
  }
  return default_gc_percent;
}

void parse_debug(std::string_view value, config& out, std::string* diagnostics) {
  auto complain = [&](std::string_view item, std::string_view why) {
    if (diagnostics)
      *diagnostics += "tricolor: TRICOLOR_DEBUG item \"" + std::string(item) +
                      "\" " + std::string(why) + "\n";
  };
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      complain(item, "is not key=value; ignored");
      continue;
    }
    std::string_view key = trim(item.substr(0, eq));
    std::string_view number = trim(item.substr(eq + 1));
    int level = 0;
    if (key == "gctrace") {
      if (parse_non_negative_int(number, level) && level <= 2) out.gctrace = level;
      else complain(item, "needs gctrace=0, 1 or 2; keeping gctrace=" + std::to_string(out.gctrace));
    } else {
      complain(item, "names an unknown key (known: gctrace); ignored");
    }
  }
}

const config& environment_config() {
  static const config loaded = [] {
    config c;
    std::string diagnostics;
    if (const char* percent = std::getenv("TRICOLOR_GC_PERCENT")) {
      std::string line;
      c.gc_percent = parse_gc_percent(percent, &line);
      if (!line.empty()) diagnostics += line + "\n";
    }
    if (const char* debug = std::getenv("TRICOLOR_DEBUG")) parse_debug(debug, c, &diagnostics);
    if (!diagnostics.empty()) std::fputs(diagnostics.c_str(), stderr);
    return c;
  }();
  return loaded;
}

}  // namespace tricolor::gc
