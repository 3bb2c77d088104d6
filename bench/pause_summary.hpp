// Pause statistics shared by the pause benchmarks: nearest-rank
// percentiles of a list of nanosecond figures, in microseconds, and their
// text and JSON forms.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace bench {

struct summary {
  bool valid = false;
  double max_us = 0, p99_us = 0, p50_us = 0;
};

inline summary summarize(std::vector<std::uint64_t> v) {
  summary s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double p) {
    std::size_t k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size()) + 0.999999);
    return static_cast<double>(v[std::clamp<std::size_t>(k, 1, v.size()) - 1]) / 1e3;
  };
  s.valid = true;
  s.max_us = static_cast<double>(v.back()) / 1e3;
  s.p99_us = rank(99);
  s.p50_us = rank(50);
  return s;
}

inline std::string fmt_us(const summary& s, double summary::*field) {
  if (!s.valid) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", s.*field);
  return buf;
}

inline std::string json_us(const summary& s) {
  if (!s.valid) return "null";
  char buf[128];
  std::snprintf(buf, sizeof buf, "{\"max\": %.3f, \"p99\": %.3f, \"p50\": %.3f}", s.max_us,
                s.p99_us, s.p50_us);
  return buf;
}

}  // namespace bench
