// Leak reports as text: the lines printed on stderr (leakreport=1) and the
// JSON of write_leak_report_json. Pure functions of a leak_suspect.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

#include "tricolor/leak_report.hpp"

namespace tricolor::gc::leaks {

// The report of one suspect: a headline and indented detail lines, each
// ending in '\n'.
std::string format_suspect(const leak_suspect& suspect);

// {"cycle": N, "suspects": [...]}: every field of leak_suspect.
void write_json(std::ostream& out, std::uint64_t cycle, const std::vector<leak_suspect>& suspects);

}  // namespace tricolor::gc::leaks
