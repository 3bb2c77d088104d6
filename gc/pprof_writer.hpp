// pprof's profile format (github.com/google/pprof/proto/profile.proto),
// written by hand, with the running process's own symbols.
//
// A profile is a list of samples, each a stack of code addresses and one
// value per sample type. The writer turns it into profile.proto's tables:
//
//     Profile   sample_type[], sample[], mapping[], location[], function[],
//               string_table[] (every string once; index 0 is ""),
//               period_type, period, time_nanos, default_sample_type
//     Sample    location_id[] (innermost first), value[]
//     Location  one per distinct address: mapping_id, address, line ->
//               function_id (no line numbers)
//     Function  one per distinct symbol: name (demangled), system_name
//               (the symbol), filename "" (no debug information is read)
//     Mapping   one per executable segment of each loaded module: address
//               range, file offset, file name, GNU build ID; has_functions
//               when every address in it was found in a symbol table
//
// encoded in protobuf's wire format (varints, length-delimited fields,
// packed repeated integers; fields at their zero default are left out, as
// proto3 does) and compressed with zlib as a gzip stream. With the function
// names inside, `go tool pprof` reads the profile without the binaries.
//
// Symbols (code_map): the loaded modules come from dl_iterate_phdr; a
// module's function symbols from its file's .symtab (which holds static and
// hidden functions too, unlike the dynamic symbols dladdr reads), or its
// .dynsym when stripped, read through a read-only mapping of the file the
// first time an address in it is looked up. dladdr is the fallback for a
// module whose file cannot be read (the vDSO, a deleted file).
//
// Thread safety: a code_map belongs to one thread; nothing here is shared.
// A module loaded or unloaded while a code_map exists is not seen by it. Its
// constructor walks the loaded modules in a runtime_section: the walk holds
// the loader's lock, which the collector's mark-start pause needs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tricolor::gc::pprof {

struct function_symbol {
  std::string name;         // demangled (the symbol itself if not C++)
  std::string system_name;  // the symbol as the linker sees it
};

// The code of the running process, a snapshot taken by the constructor.
class code_map {
 public:
  code_map();
  ~code_map();
  code_map(const code_map&) = delete;
  code_map& operator=(const code_map&) = delete;

  // The function whose code contains `address`, or nullptr.
  const function_symbol* function_at(std::uintptr_t address);

  // An executable segment of a loaded module, as a pprof Mapping.
  struct segment {
    std::uintptr_t start;  // page-aligned, as in /proc/self/maps
    std::uintptr_t limit;
    std::uint64_t file_offset;  // of `start`
    std::size_t module;
  };
  // In the loader's order, the program's first (pprof takes the first
  // mapping for the main binary).
  const std::vector<segment>& segments() const { return segments_; }
  // The segment containing `address`, or nullptr.
  const segment* segment_at(std::uintptr_t address) const;
  std::string_view module_path(std::size_t module) const;
  std::string_view module_build_id(std::size_t module) const;  // hex, or ""

 private:
  struct module;
  std::vector<std::unique_ptr<module>> modules_;
  std::vector<segment> segments_;
  std::vector<std::size_t> by_address_;  // indices into segments_, by start
};

struct value_type {
  std::string type;
  std::string unit;
};

struct sample {
  std::vector<std::uintptr_t> stack;  // code addresses, innermost first
  std::vector<std::int64_t> values;   // one per profile::sample_types
};

struct profile {
  std::vector<value_type> sample_types;
  std::string default_sample_type;  // one of sample_types' types
  value_type period_type;
  std::int64_t period = 0;
  std::int64_t time_nanos = 0;  // since the Unix epoch
  std::vector<sample> samples;
};

// Writes `p` to `out` as a gzip-compressed profile.proto, naming each
// address through `code`. A write error sets out's badbit; throws
// std::bad_alloc if zlib cannot get memory.
void write_profile(const profile& p, code_map& code, std::ostream& out);

}  // namespace tricolor::gc::pprof
