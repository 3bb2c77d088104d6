// Environment parsing; see config.hpp.
#include "gc/config.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "heap/heap.hpp"

namespace tricolor::gc {

namespace {
// The value in double quotes with control characters escaped, so that a
// diagnostic stays one line whatever the environment holds.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '"' || c == '\\') (out += '\\') += c;
    else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out + "\"";
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
  if (equals_ignoring_case(value, "off")) return -1;
  int percent = 0;
  if (parse_non_negative_int(value, percent)) return percent;
  if (diagnostic) {
    *diagnostic = "tricolor: TRICOLOR_GC_PERCENT=" + quoted(value) +
                  " is not a percentage (a whole number >= 0, or \"off\"); "
                  "using " + std::to_string(default_gc_percent);
  }
  return default_gc_percent;
}

std::int64_t parse_memory_limit(std::string_view value, std::string* diagnostic) {
  if (equals_ignoring_case(value, "off")) return no_memory_limit;
  struct unit {
    std::string_view suffix;
    int shift;
  };
  // Longest suffixes first, so "MiB" is not read as "B".
  constexpr unit units[] = {{"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40}, {"B", 0}};
  std::string_view digits = value;
  int shift = 0;
  for (const unit& u : units) {
    if (digits.size() > u.suffix.size() && digits.ends_with(u.suffix)) {
      digits.remove_suffix(u.suffix.size());
      shift = u.shift;
      break;
    }
  }
  std::int64_t count = 0;
  const char* end = digits.data() + digits.size();
  bool ok = !digits.empty() && digits.front() != '+' && digits.front() != '-';
  if (ok) {
    auto [ptr, error] = std::from_chars(digits.data(), end, count);
    ok = error == std::errc() && ptr == end && count <= (no_memory_limit >> shift);
  }
  if (ok) return count << shift;
  if (diagnostic) {
    *diagnostic = "tricolor: TRICOLOR_MEMORY_LIMIT=" + quoted(value) +
                  " is not a byte count (a whole number with an optional B, "
                  "KiB, MiB, GiB or TiB, at most 8 EiB, or \"off\"); using off";
  }
  return no_memory_limit;
}

int parse_mark_workers(std::string_view value, std::string* diagnostic) {
  constexpr int max_mark_workers = 1024;
  int workers = 0;
  if (parse_non_negative_int(value, workers) && workers >= 1 &&
      workers <= max_mark_workers)
    return workers;
  if (diagnostic) {
    *diagnostic = "tricolor: TRICOLOR_MARK_WORKERS=" + quoted(value) +
                  " is not a thread count (a whole number from 1 to " +
                  std::to_string(max_mark_workers) +
                  "); using the default (one per CPU)";
  }
  return 0;
}

void parse_debug(std::string_view value, config& out, std::string* diagnostics) {
  auto complain = [&](std::string_view item, std::string_view why) {
    if (diagnostics)
      *diagnostics += "tricolor: TRICOLOR_DEBUG item " + quoted(item) + " " +
                      std::string(why) + "\n";
  };
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    if (item.empty()) continue;
    std::size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      complain(item, "is not key=value; ignored");
      continue;
    }
    std::string_view key = item.substr(0, eq);
    std::string_view number = item.substr(eq + 1);
    int level = 0;
    if (key == "gctrace") {
      if (parse_non_negative_int(number, level) && level <= 2) out.gctrace = level;
      else complain(item, "needs gctrace=0, 1 or 2; keeping gctrace=" + std::to_string(out.gctrace));
    } else if (key == "gcpacertrace") {
      if (parse_non_negative_int(number, level) && level <= 1) out.gcpacertrace = level == 1;
      else complain(item, std::string("needs gcpacertrace=0 or 1; keeping gcpacertrace=") +
                              (out.gcpacertrace ? "1" : "0"));
    } else if (key == "gcstoptheworld" || key == "verify" || key == "generational") {
      bool& flag = key == "verify"         ? out.verify
                   : key == "generational" ? out.generational
                                           : out.gcstoptheworld;
      if (parse_non_negative_int(number, level) && level <= 1) flag = level == 1;
      else complain(item, "needs " + std::string(key) + "=0 or 1; keeping " +
                              std::string(key) + (flag ? "=1" : "=0"));
    } else if (key == "safepointwarn") {
      if (parse_non_negative_int(number, level) && level >= 1) out.safepoint_warn_ms = level;
      else complain(item, "needs safepointwarn=MS, a whole number of milliseconds >= 1; keeping " +
                              std::to_string(out.safepoint_warn_ms));
    } else if (key == "leakreport") {
      if (parse_non_negative_int(number, level) && level <= 1) out.leakreport = level == 1;
      else complain(item, std::string("needs leakreport=0 or 1; keeping leakreport=") +
                              (out.leakreport ? "1" : "0"));
    } else if (key == "leakcycles") {
      if (parse_non_negative_int(number, level) && level >= 2 && level <= max_leak_cycles)
        out.leak_cycles = level;
      else complain(item, "needs leakcycles=N, a whole number of cycles from 2 to " +
                              std::to_string(max_leak_cycles) + "; keeping " +
                              std::to_string(out.leak_cycles));
    } else if (key == "memprofilerate") {
      if (parse_non_negative_int(number, level)) out.mem_profile_rate = level;
      else complain(item, "needs memprofilerate=N, a whole number of bytes >= 0 (0: off); keeping " +
                              std::to_string(out.mem_profile_rate));
    } else {
      complain(item, "names an unknown key (known: gctrace, gcpacertrace, "
                     "gcstoptheworld, verify, generational, safepointwarn, leakreport, "
                     "leakcycles, memprofilerate); ignored");
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
    if (const char* limit = std::getenv("TRICOLOR_MEMORY_LIMIT")) {
      std::string line;
      c.memory_limit = parse_memory_limit(limit, &line);
      if (!line.empty()) diagnostics += line + "\n";
    }
    if (const char* workers = std::getenv("TRICOLOR_MARK_WORKERS")) {
      std::string line;
      c.mark_workers = parse_mark_workers(workers, &line);
      if (!line.empty()) diagnostics += line + "\n";
    }
    if (const char* debug = std::getenv("TRICOLOR_DEBUG")) parse_debug(debug, c, &diagnostics);
    if (!diagnostics.empty()) std::fputs(diagnostics.c_str(), stderr);
    // The verifier's scan for untraced pointers needs clean slots.
    if (c.verify) heap::the_heap.set_clear_reserved_slots(true);
    return c;
  }();
  return loaded;
}

}  // namespace tricolor::gc
