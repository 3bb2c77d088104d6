// gctrace line formatting; see gctrace.hpp for the fields.
#include "gc/gctrace.hpp"

#include <unistd.h>

#include <cstdio>

namespace tricolor::gc {

namespace {
// Milliseconds the way Go's runtime prints them (fmtNSAsMS): whole numbers
// from 10 ms up; below, two significant digits with at most three decimals
// (15 us -> "0.015", 2.4 ms -> "2.4", under 1 us -> "0").
std::string ms(std::uint64_t ns) {
  if (ns >= 10'000'000) return std::to_string(ns / 1'000'000);
  std::uint64_t digits = ns / 1000;  // microseconds
  if (digits == 0) return "0";
  int decimals = 3;
  while (digits >= 100) {
    digits /= 10;
    --decimals;
  }
  std::string text = std::to_string(digits);
  if (text.size() <= static_cast<std::size_t>(decimals))
    text.insert(0, static_cast<std::size_t>(decimals) - text.size() + 1, '0');
  std::size_t point = text.size() - static_cast<std::size_t>(decimals);
  return text.substr(0, point) + "." + text.substr(point);
}

unsigned long long mb(std::uint64_t bytes) { return bytes >> 20; }
}  // namespace

std::string format_gctrace(const cycle_record& r, double fraction) {
  char line[512];
  std::snprintf(
      line, sizeof line,
      "gc %llu @%.3fs %d%%: %s+%s+%s ms clock, %s+%s/%s/%s+%s ms cpu, "
      "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, "
      "%llu P%s\n",
      static_cast<unsigned long long>(r.number), static_cast<double>(r.start_ns) / 1e9,
      static_cast<int>(fraction * 100), ms(r.sweep_termination_ns).c_str(),
      ms(r.mark_ns).c_str(), ms(r.mark_termination_ns).c_str(),
      ms(r.sweep_termination_cpu_ns).c_str(), ms(r.mark_assist_cpu_ns).c_str(),
      ms(r.mark_background_cpu_ns).c_str(), ms(r.mark_idle_cpu_ns).c_str(),
      ms(r.mark_termination_cpu_ns).c_str(), mb(r.heap_start), mb(r.heap_end),
      mb(r.heap_live), mb(r.heap_goal), mb(r.stacks_bytes), mb(r.globals_bytes),
      static_cast<unsigned long long>(r.threads), r.forced ? " (forced)" : "");
  return line;
}

void print_gctrace(const cycle_record& r, double fraction) {
  std::string line = format_gctrace(r, fraction);
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace tricolor::gc
