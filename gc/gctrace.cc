// gctrace line formatting; see gctrace.hpp for the fields.
#include "gc/gctrace.hpp"

#include <unistd.h>

#include <cstdio>

#include "gc/pacer.hpp"

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
      static_cast<unsigned long long>(r.threads),
      r.forced ? " (forced)" : r.minor ? " (minor)" : "");
  return line;
}

std::string format_gctrace_detail(const cycle_record& r) {
  char line[512];
  std::snprintf(
      line, sizeof line,
      "gc %llu detail: %s ms to safepoint, %llu spans swept (%llu freed), "
      "%llu objects freed (%llu MB), %llu MB released, %llu weak refs cleared, "
      "%llu gc_roots, %llu MB in use, %llu termination retries, %llu objects "
      "verified, %llu mark workers, %llu B at mark end, %llu B goal\n",
      static_cast<unsigned long long>(r.number), ms(r.time_to_safepoint_ns).c_str(),
      static_cast<unsigned long long>(r.spans_swept),
      static_cast<unsigned long long>(r.spans_freed),
      static_cast<unsigned long long>(r.objects_freed), mb(r.bytes_freed),
      mb(r.bytes_released), static_cast<unsigned long long>(r.weak_cleared),
      static_cast<unsigned long long>(r.handle_roots), mb(r.heap_inuse_after),
      static_cast<unsigned long long>(r.termination_retries),
      static_cast<unsigned long long>(r.objects_verified),
      static_cast<unsigned long long>(r.mark_workers),
      static_cast<unsigned long long>(r.heap_end),
      static_cast<unsigned long long>(r.heap_goal));
  return line;
}

std::string format_pacer_trace(const cycle_record& r, const pacer& p) {
  auto goal_text = [](std::uint64_t goal) {
    return goal == unlimited ? std::string("none") : std::to_string(mb(goal)) + " MB";
  };
  std::string percent = p.gc_percent() < 0 ? "off" : std::to_string(p.gc_percent()) + "%";
  std::int64_t limit = p.memory_limit();
  std::string limit_text =
      limit == INT64_MAX ? "no limit" : "limit " + std::to_string(mb(static_cast<std::uint64_t>(limit))) + " MB";
  const char* by = p.limit_goal() < p.gogc_goal() ? "limit" : "GOGC";
  // The CPU limiter's decision for the next cycle: a limit-triggered one may
  // not start before the mutators have run as long as this cycle paused.
  std::string limiter = limit == INT64_MAX
                            ? ""
                            : "; limit-triggered cycles wait " + ms(r.pause_ns) + " ms";
  char line[512];
  std::snprintf(line, sizeof line,
                "pacer: gc %llu live %llu MB, in use %llu MB; GOGC %s goal %s; %s goal "
                "%s; next goal %s (%s); cons/mark %.3f, runway %llu MB, trigger %llu MB%s\n",
                static_cast<unsigned long long>(r.number), mb(r.heap_live),
                mb(r.heap_inuse_after), percent.c_str(), goal_text(p.gogc_goal()).c_str(),
                limit_text.c_str(), goal_text(p.limit_goal()).c_str(),
                goal_text(p.heap_goal()).c_str(), by, p.cons_mark(), mb(p.runway()),
                mb(p.trigger()), limiter.c_str());
  return line;
}

namespace {
void write_line(const std::string& line) {
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}
}  // namespace

void print_gctrace(const cycle_record& r, double fraction, int level) {
  std::string lines = format_gctrace(r, fraction);
  if (level >= 2) lines += format_gctrace_detail(r);
  write_line(lines);
}

void print_pacer_trace(const cycle_record& r, const pacer& p) {
  write_line(format_pacer_trace(r, p));
}

}  // namespace tricolor::gc
