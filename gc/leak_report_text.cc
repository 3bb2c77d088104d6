// Leak reports as text; see leak_report_text.hpp.
#include "gc/leak_report_text.hpp"

#include <cinttypes>
#include <cstdio>
#include <ostream>

namespace tricolor::gc::leaks {

namespace {

std::string size_text(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  double magnitude = bytes < 0 ? -bytes : bytes;
  while (magnitude >= 1024 && unit < 4) {
    magnitude /= 1024;
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

std::string where(const std::string& file, unsigned line) {
  return line == 0 ? file : file + ":" + std::to_string(line);
}

std::string describe_root(const leak_root& root) {
  if (root.kind == "gc_root")
    return (root.name.empty() ? std::string("gc_root") : "gc_root \"" + root.name + "\"") +
           " (" + where(root.file, root.line) + ")";
  if (root.kind == "global") return "global `" + root.name + "` in " + root.file;
  if (root.kind == "module data") return "data of " + root.file + " (no symbol covers the word)";
  if (root.kind == "thread_local")
    return "thread_local `" + root.name + "` of thread " + std::to_string(root.thread) + " in " + root.file;
  if (root.kind == "thread stack" || root.kind == "thread_local storage")
    return (root.kind == "thread stack" ? "stack" : "thread_local storage") + std::string(" of thread ") +
           std::to_string(root.thread) + " \"" + root.name + "\"";
  if (root.kind == "root_allocator block" && !root.name.empty())
    return "root_allocator blocks allocated in " + root.name;
  return root.kind + (root.name.empty() ? "" : " \"" + root.name + "\"");
}

std::string describe_path(const leak_suspect& s) {
  std::string text = "    path: " + describe_root(s.root);
  if (!s.frame.empty())
    text += s.frame[0] == '(' ? " " + s.frame : ", frame of " + s.frame.substr(0, s.frame.find(" in "));
  auto hop = [&](std::size_t i) {
    const leak_path_hop& h = s.path[i];
    text += (h.index ? " [" + std::to_string(h.offset) + "]" : " @+" + std::to_string(h.offset)) +
            " -> " + h.type + " (" + size_text(static_cast<double>(h.bytes)) + ")";
  };
  constexpr std::size_t shown_at_each_end = 5;
  if (s.path.size() <= 2 * shown_at_each_end + 1) {
    for (std::size_t i = 0; i < s.path.size(); ++i) hop(i);
  } else {
    for (std::size_t i = 0; i < shown_at_each_end; ++i) hop(i);
    text += " -> ... " + std::to_string(s.path.size() - 2 * shown_at_each_end) + " more hops ...";
    for (std::size_t i = s.path.size() - shown_at_each_end; i < s.path.size(); ++i) hop(i);
  }
  return text + "\n";
}

void json_string(std::ostream& out, const std::string& s) {
  out << '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\n': out << "\\n"; break;
      case '\t': out << "\\t"; break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out << escaped;
        } else {
          out << c;
        }
    }
  }
  out << '"';
}

}  // namespace

std::string format_suspect(const leak_suspect& s) {
  std::string text;
  if (s.why == leak_suspect::reason::growth) {
    text = "tricolor: leak suspect: " + describe_root(s.root) + " grew in " +
           std::to_string(s.window_cycles) + " cycles\n";
    char line[256];
    std::snprintf(line, sizeof line, "    %s %s in %" PRIu64 " objects%s; %+.0f B (%s) per cycle, %s per second\n",
                  s.retained ? "retains" : "reached first", size_text(static_cast<double>(s.bytes)).c_str(),
                  s.objects,
                  s.retained ? " (its retained size: what clearing it would free)"
                             : " (its retained size is measured from the next cycle on)",
                  s.growth_bytes_per_cycle, size_text(s.growth_bytes_per_cycle).c_str(),
                  size_text(s.growth_bytes_per_second).c_str());
    text += line;
    std::snprintf(line, sizeof line, "    first seen at gc %" PRIu64 ", %" PRIu64 " cycles and %.1f s ago\n",
                  s.first_seen_cycle, s.age_cycles, s.age_seconds);
    text += line;
  } else if (s.why == leak_suspect::reason::blocked_thread) {
    char line[256];
    std::snprintf(line, sizeof line,
                  "tricolor: leak suspect: thread %d \"%s\" has been blocked in one wait for %" PRIu64
                  " cycles (%.1f s)\n    retains %s in %" PRIu64 " objects (its retained size: what its stack alone keeps alive)\n",
                  s.root.thread, s.root.name.c_str(), s.age_cycles, s.blocked_seconds,
                  size_text(static_cast<double>(s.bytes)).c_str(), s.objects);
    text = line;
    if (!s.stack.empty()) text += "    functions on its stack (return addresses, innermost first; a stale one may appear):\n";
    for (const std::string& frame : s.stack) text += "      " + frame + "\n";
  } else if (s.why == leak_suspect::reason::leaked_thread) {
    char line[128];
    std::snprintf(line, sizeof line, " (blocked %.1f s)", s.blocked_seconds);
    text = "tricolor: leaked thread: " + std::to_string(s.root.thread) + " \"" + s.root.name +
           "\" is blocked for good in " + (s.sending ? "send" : "recv") + " on a " + s.channel_type +
           " that nothing else can reach" + line + "\n";
    if (!s.stack.empty()) text += "    functions on its stack (return addresses, innermost first; a stale one may appear):\n";
    for (const std::string& frame : s.stack) text += "      " + frame + "\n";
    return text;
  } else {
    text = "tricolor: leak suspect: " +
           (s.objects > 1 ? std::to_string(s.objects) + " objects expected dead (\""
                          : std::string("an object expected dead (\"")) +
           s.expectation + "\", " + where(s.expected_at_file, s.expected_at_line) + ") " +
           (s.objects > 1 ? "are" : "is") + " still reachable after " +
           std::to_string(s.age_cycles) + " cycles\n";
    text += "    " + size_text(static_cast<double>(s.bytes)) + " reachable from " +
            (s.objects > 1 ? "them" : "it") + "\n";
    text += "    held by " + describe_root(s.root) + "\n";
  }
  if (!s.top_types.empty()) {
    text += s.why == leak_suspect::reason::expected_dead ? "    types reachable from them:"
                                                           : "    types reachable from it when found:";
    for (std::size_t i = 0; i < s.top_types.size(); ++i) {
      const leak_type_share& t = s.top_types[i];
      text += (i ? ", " : " ") + size_text(static_cast<double>(t.bytes)) + " " + t.type + " (" +
              std::to_string(t.objects) + ")";
    }
    text += "\n";
  }
  if (!s.top_sites.empty()) {
    text += "    allocated in (sampled objects among them):";
    for (std::size_t i = 0; i < s.top_sites.size(); ++i) {
      const leak_site_share& site = s.top_sites[i];
      text += (i ? ", " : " ") + site.function + " (~" + size_text(static_cast<double>(site.bytes)) +
              ", " + std::to_string(site.samples) + (site.samples == 1 ? " sample)" : " samples)");
    }
    text += "\n";
  }
  if (!s.path.empty()) text += describe_path(s);
  return text;
}

void write_json(std::ostream& out, std::uint64_t cycle, const std::vector<leak_suspect>& suspects) {
  out << "{\"cycle\": " << cycle << ", \"suspects\": [";
  for (std::size_t i = 0; i < suspects.size(); ++i) {
    const leak_suspect& s = suspects[i];
    out << (i ? ", " : "") << "{\"reason\": "
        << (s.why == leak_suspect::reason::growth           ? "\"growth\""
            : s.why == leak_suspect::reason::expected_dead  ? "\"expected_dead\""
            : s.why == leak_suspect::reason::blocked_thread ? "\"blocked_thread\""
                                                             : "\"leaked_thread\"");
    out << ", \"root\": {\"kind\": ";
    json_string(out, s.root.kind);
    out << ", \"name\": ";
    json_string(out, s.root.name);
    out << ", \"file\": ";
    json_string(out, s.root.file);
    out << ", \"line\": " << s.root.line << ", \"thread\": " << s.root.thread << "}";
    out << ", \"first_seen_cycle\": " << s.first_seen_cycle << ", \"age_cycles\": " << s.age_cycles
        << ", \"age_seconds\": " << s.age_seconds << ", \"bytes\": " << s.bytes
        << ", \"objects\": " << s.objects << ", \"retained\": " << (s.retained ? "true" : "false")
        << ", \"growth_bytes_per_cycle\": " << s.growth_bytes_per_cycle
        << ", \"growth_bytes_per_second\": " << s.growth_bytes_per_second
        << ", \"window_cycles\": " << s.window_cycles << ", \"top_types\": [";
    for (std::size_t k = 0; k < s.top_types.size(); ++k) {
      out << (k ? ", " : "") << "{\"type\": ";
      json_string(out, s.top_types[k].type);
      out << ", \"objects\": " << s.top_types[k].objects << ", \"bytes\": " << s.top_types[k].bytes << "}";
    }
    out << "], \"top_sites\": [";
    for (std::size_t k = 0; k < s.top_sites.size(); ++k) {
      out << (k ? ", " : "") << "{\"function\": ";
      json_string(out, s.top_sites[k].function);
      out << ", \"samples\": " << s.top_sites[k].samples << ", \"bytes\": " << s.top_sites[k].bytes << "}";
    }
    out << "], \"path\": [";
    for (std::size_t k = 0; k < s.path.size(); ++k) {
      out << (k ? ", " : "") << "{\"type\": ";
      json_string(out, s.path[k].type);
      out << ", \"bytes\": " << s.path[k].bytes << ", \""
          << (s.path[k].index ? "index" : "offset") << "\": " << s.path[k].offset << "}";
    }
    out << "], \"frame\": ";
    json_string(out, s.frame);
    out << ", \"expectation\": ";
    json_string(out, s.expectation);
    out << ", \"expected_at\": {\"file\": ";
    json_string(out, s.expected_at_file);
    out << ", \"line\": " << s.expected_at_line << "}";
    out << ", \"channel_type\": ";
    json_string(out, s.channel_type);
    out << ", \"sending\": " << (s.sending ? "true" : "false")
        << ", \"blocked_seconds\": " << s.blocked_seconds << ", \"stack\": [";
    for (std::size_t k = 0; k < s.stack.size(); ++k) {
      out << (k ? ", " : "");
      json_string(out, s.stack[k]);
    }
    out << "]}";
  }
  out << "]}\n";
}

}  // namespace tricolor::gc::leaks
