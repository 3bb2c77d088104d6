// pprof's profile format and the process's symbols; see pprof_writer.hpp.
#include "gc/pprof_writer.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <ostream>
#include <unordered_map>

#include "roots/thread_registry.hpp"

namespace tricolor::gc::pprof {

// --- symbols -----------------------------------------------------------------

struct code_map::module {
  std::string path;
  std::string build_id;
  std::uintptr_t load_bias = 0;  // run-time address - ELF virtual address

  // The file's function symbols, sorted by address, their names pointing
  // into the read-only mapping of the file; read on the first lookup.
  struct symbol {
    std::uintptr_t start;  // ELF virtual address
    std::uint64_t size;
    const char* name;
  };
  bool symbols_read = false;
  std::vector<symbol> symbols;
  void* file = nullptr;
  std::size_t file_size = 0;

  // Demangled on first use: by index into `symbols`, or, for addresses
  // dladdr found, by the symbol's address.
  std::unordered_map<std::size_t, function_symbol> named;
  std::unordered_map<std::uintptr_t, function_symbol> named_by_dladdr;

  ~module() {
    if (file != nullptr) munmap(file, file_size);
  }

  void read_symbols();
  const function_symbol* lookup(std::uintptr_t address);
};

namespace {

function_symbol describe(const char* symbol) {
  function_symbol f;
  f.system_name = symbol;
  int status = 0;
  char* demangled = abi::__cxa_demangle(symbol, nullptr, nullptr, &status);
  f.name = status == 0 && demangled != nullptr ? demangled : symbol;
  std::free(demangled);
  return f;
}

// The GNU build ID from a loaded PT_NOTE segment, in hex, or "".
std::string build_id_in_notes(const char* notes, std::size_t bytes) {
  auto align4 = [](std::size_t n) { return (n + 3) & ~std::size_t{3}; };
  std::size_t at = 0;
  while (at + sizeof(ElfW(Nhdr)) <= bytes) {
    ElfW(Nhdr) note;
    std::memcpy(&note, notes + at, sizeof note);
    std::size_t name_at = at + sizeof note;
    std::size_t desc_at = name_at + align4(note.n_namesz);
    std::size_t next = desc_at + align4(note.n_descsz);
    if (next > bytes) break;
    if (note.n_type == NT_GNU_BUILD_ID && note.n_namesz == 4 &&
        std::memcmp(notes + name_at, "GNU", 4) == 0) {
      static constexpr char hex[] = "0123456789abcdef";
      std::string id;
      for (std::size_t i = 0; i < note.n_descsz; ++i) {
        auto byte = static_cast<unsigned char>(notes[desc_at + i]);
        id += hex[byte >> 4];
        id += hex[byte & 15];
      }
      return id;
    }
    at = next;
  }
  return {};
}

std::string executable_path() {
  char path[4096];
  ssize_t length = readlink("/proc/self/exe", path, sizeof path - 1);
  return length > 0 ? std::string(path, static_cast<std::size_t>(length)) : std::string();
}

}  // namespace

code_map::code_map() {
  struct module_scan {
    std::vector<std::unique_ptr<module>>* modules;
    std::vector<segment>* segments;
  } scan{&modules_, &segments_};
  // dl_iterate_phdr holds the loader's lock while the callback allocates,
  // and the mark-start pause takes that lock to find the data segments
  // (roots/data_segments.cc): the stop signal must not stop this thread
  // here.
  roots::runtime_section runtime;
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) -> int {
        auto* scan = static_cast<module_scan*>(data);
        auto m = std::make_unique<module>();
        m->path = info->dlpi_name != nullptr ? info->dlpi_name : "";
        m->load_bias = info->dlpi_addr;
        std::size_t index = scan->modules->size();
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_NOTE && m->build_id.empty()) {
            m->build_id = build_id_in_notes(
                reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr), ph.p_memsz);
          } else if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0) {
            constexpr std::uintptr_t page_mask = 4095;
            std::uintptr_t start = info->dlpi_addr + ph.p_vaddr;
            scan->segments->push_back({start & ~page_mask, start + ph.p_memsz,
                                       ph.p_offset & ~std::uint64_t{page_mask}, index});
          }
        }
        scan->modules->push_back(std::move(m));
        return 0;
      },
      &scan);
  // The program itself is the module without a name.
  for (auto& m : modules_)
    if (m->path.empty()) m->path = executable_path();
  by_address_.resize(segments_.size());
  for (std::size_t i = 0; i < segments_.size(); ++i) by_address_[i] = i;
  std::sort(by_address_.begin(), by_address_.end(), [&](std::size_t a, std::size_t b) {
    return segments_[a].start < segments_[b].start;
  });
}

code_map::~code_map() = default;

const code_map::segment* code_map::segment_at(std::uintptr_t address) const {
  auto after = std::upper_bound(
      by_address_.begin(), by_address_.end(), address,
      [&](std::uintptr_t a, std::size_t s) { return a < segments_[s].start; });
  if (after == by_address_.begin()) return nullptr;
  const segment& s = segments_[*(after - 1)];
  return address < s.limit ? &s : nullptr;
}

std::string_view code_map::module_path(std::size_t module) const {
  return modules_[module]->path;
}

std::string_view code_map::module_build_id(std::size_t module) const {
  return modules_[module]->build_id;
}

const function_symbol* code_map::function_at(std::uintptr_t address) {
  const segment* s = segment_at(address);
  if (s == nullptr) return nullptr;
  return modules_[s->module]->lookup(address);
}

// Maps the file and collects its function symbols: .symtab, or .dynsym in a
// stripped file. Leaves `symbols` empty if the file is not a readable ELF
// file of this process's class.
void code_map::module::read_symbols() {
  symbols_read = true;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) == 0 && st.st_size >= static_cast<off_t>(sizeof(ElfW(Ehdr)))) {
    file_size = static_cast<std::size_t>(st.st_size);
    file = mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (file == MAP_FAILED) file = nullptr;
  }
  close(fd);
  if (file == nullptr) return;

  const char* bytes = static_cast<const char*>(file);
  auto fits = [&](std::uint64_t offset, std::uint64_t length) {
    return offset <= file_size && length <= file_size - offset;
  };
  ElfW(Ehdr) header;
  std::memcpy(&header, bytes, sizeof header);
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
      header.e_ident[EI_CLASS] != (sizeof(void*) == 8 ? ELFCLASS64 : ELFCLASS32) ||
      header.e_shentsize != sizeof(ElfW(Shdr)) ||
      !fits(header.e_shoff, std::uint64_t{header.e_shnum} * sizeof(ElfW(Shdr))))
    return;
  auto section = [&](std::size_t i) {
    ElfW(Shdr) s;
    std::memcpy(&s, bytes + header.e_shoff + i * sizeof s, sizeof s);
    return s;
  };
  std::size_t table = 0;
  for (std::size_t i = 1; i < header.e_shnum; ++i) {
    ElfW(Word) type = section(i).sh_type;
    if (type == SHT_SYMTAB) table = i;
    if (type == SHT_DYNSYM && table == 0) table = i;
  }
  if (table == 0) return;
  ElfW(Shdr) symtab = section(table);
  if (symtab.sh_link >= header.e_shnum) return;
  ElfW(Shdr) strtab = section(symtab.sh_link);
  if (!fits(symtab.sh_offset, symtab.sh_size) || !fits(strtab.sh_offset, strtab.sh_size))
    return;
  const char* names = bytes + strtab.sh_offset;
  std::size_t count = symtab.sh_size / sizeof(ElfW(Sym));
  for (std::size_t i = 0; i < count; ++i) {
    ElfW(Sym) sym;
    std::memcpy(&sym, bytes + symtab.sh_offset + i * sizeof sym, sizeof sym);
    unsigned type = sym.st_info & 0xf;  // ELF64_ST_TYPE and ELF32_ST_TYPE alike
    if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
        sym.st_size == 0 || sym.st_name >= strtab.sh_size)
      continue;
    // The name must end inside the string table.
    const char* name = names + sym.st_name;
    if (std::memchr(name, '\0', strtab.sh_size - sym.st_name) == nullptr) continue;
    symbols.push_back({sym.st_value, sym.st_size, name});
  }
  std::sort(symbols.begin(), symbols.end(),
            [](const symbol& a, const symbol& b) { return a.start < b.start; });
}

const function_symbol* code_map::module::lookup(std::uintptr_t address) {
  if (!symbols_read) read_symbols();
  if (!symbols.empty()) {
    std::uintptr_t file_address = address - load_bias;
    auto after = std::upper_bound(
        symbols.begin(), symbols.end(), file_address,
        [](std::uintptr_t a, const symbol& s) { return a < s.start; });
    if (after == symbols.begin()) return nullptr;
    std::size_t index = static_cast<std::size_t>(after - symbols.begin()) - 1;
    const symbol& s = symbols[index];
    if (file_address - s.start >= s.size) return nullptr;
    auto [it, inserted] = named.try_emplace(index);
    if (inserted) it->second = describe(s.name);
    return &it->second;
  }
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(address), &info) == 0 || info.dli_sname == nullptr)
    return nullptr;
  auto [it, inserted] =
      named_by_dladdr.try_emplace(reinterpret_cast<std::uintptr_t>(info.dli_saddr));
  if (inserted) it->second = describe(info.dli_sname);
  return &it->second;
}

// --- protobuf wire format ----------------------------------------------------

namespace {

class proto_message {
 public:
  void uint_field(int field, std::uint64_t value) {
    if (value == 0) return;
    key(field, wire_varint);
    varint(value);
  }
  void int_field(int field, std::int64_t value) {
    uint_field(field, static_cast<std::uint64_t>(value));
  }
  void bool_field(int field, bool value) { uint_field(field, value ? 1 : 0); }
  // Always written, empty or not: repeated strings keep their places.
  void bytes_field(int field, std::string_view value) {
    key(field, wire_length_delimited);
    varint(value.size());
    bytes_.append(value);
  }
  void message_field(int field, const proto_message& m) { bytes_field(field, m.bytes_); }
  template <class Int>
  void packed_field(int field, const std::vector<Int>& values) {
    if (values.empty()) return;
    proto_message packed;
    for (Int v : values) packed.varint(static_cast<std::uint64_t>(v));
    message_field(field, packed);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  static constexpr int wire_varint = 0;
  static constexpr int wire_length_delimited = 2;
  void key(int field, int wire_type) {
    varint(static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint64_t>(wire_type));
  }
  void varint(std::uint64_t value) {
    while (value >= 0x80) {
      bytes_ += static_cast<char>(value | 0x80);
      value >>= 7;
    }
    bytes_ += static_cast<char>(value);
  }
  std::string bytes_;
};

// Field numbers of profile.proto, message by message.
namespace profile_field {
enum : int {
  sample_type = 1, sample = 2, mapping = 3, location = 4, function = 5,
  string_table = 6, time_nanos = 9, period_type = 11, period = 12,
  default_sample_type = 14,
};
}
namespace value_type_field {
enum : int { type = 1, unit = 2 };
}
namespace sample_field {
enum : int { location_id = 1, value = 2 };
}
namespace mapping_field {
enum : int {
  id = 1, memory_start = 2, memory_limit = 3, file_offset = 4, filename = 5,
  build_id = 6, has_functions = 7,
};
}
namespace location_field {
enum : int { id = 1, mapping_id = 2, address = 3, line = 4 };
}
namespace line_field {
enum : int { function_id = 1 };
}
namespace function_field {
enum : int { id = 1, name = 2, system_name = 3 };
}

class string_table {
 public:
  string_table() { index(""); }
  std::int64_t index(std::string_view s) {
    auto [it, inserted] = indices_.try_emplace(std::string(s), strings_.size());
    if (inserted) strings_.push_back(it->first);
    return static_cast<std::int64_t>(it->second);
  }
  void write(proto_message& profile) const {
    for (const std::string& s : strings_) profile.bytes_field(profile_field::string_table, s);
  }

 private:
  std::unordered_map<std::string, std::size_t> indices_;
  std::vector<std::string> strings_;
};

// Writes `data` gzip-compressed.
void write_gzip(const std::string& data, std::ostream& out) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16 /* gzip */, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::bad_alloc();
  const char* next = data.data();
  std::size_t remaining = data.size();
  char buffer[16384];
  int status = Z_OK;
  while (status != Z_STREAM_END) {
    if (z.avail_in == 0 && remaining > 0) {
      std::size_t chunk = std::min<std::size_t>(remaining, std::numeric_limits<uInt>::max());
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(next));
      z.avail_in = static_cast<uInt>(chunk);
      next += chunk;
      remaining -= chunk;
    }
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    status = deflate(&z, remaining == 0 ? Z_FINISH : Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END && status != Z_BUF_ERROR) {
      out.setstate(std::ios::badbit);
      break;
    }
    out.write(buffer, static_cast<std::streamsize>(sizeof buffer - z.avail_out));
  }
  deflateEnd(&z);
}

}  // namespace

void write_profile(const profile& p, code_map& code, std::ostream& out) {
  string_table strings;
  auto value_type_message = [&](const value_type& v) {
    proto_message m;
    m.int_field(value_type_field::type, strings.index(v.type));
    m.int_field(value_type_field::unit, strings.index(v.unit));
    return m;
  };
  proto_message head;  // sample types and samples
  for (const value_type& v : p.sample_types)
    head.message_field(profile_field::sample_type, value_type_message(v));

  // Locations and functions get their ids (1, 2, ...) as samples name them.
  // A segment's functions are known (has_functions) if every address in it
  // was named.
  const std::vector<code_map::segment>& segments = code.segments();
  std::unordered_map<std::uintptr_t, std::uint64_t> location_ids;
  std::unordered_map<const function_symbol*, std::uint64_t> function_ids;
  proto_message locations, functions;
  std::vector<bool> segment_used(segments.size(), false);
  std::vector<bool> segment_unnamed(segments.size(), false);
  auto location_id = [&](std::uintptr_t address) {
    auto [it, inserted] = location_ids.try_emplace(address, location_ids.size() + 1);
    if (!inserted) return it->second;
    proto_message location;
    location.uint_field(location_field::id, it->second);
    const code_map::segment* s = code.segment_at(address);
    std::size_t segment_index = s != nullptr ? static_cast<std::size_t>(s - segments.data()) : 0;
    if (s != nullptr) {
      location.uint_field(location_field::mapping_id, segment_index + 1);
      segment_used[segment_index] = true;
    }
    location.uint_field(location_field::address, address);
    if (const function_symbol* f = code.function_at(address)) {
      auto [fit, new_function] = function_ids.try_emplace(f, function_ids.size() + 1);
      if (new_function) {
        proto_message function;
        function.uint_field(function_field::id, fit->second);
        function.int_field(function_field::name, strings.index(f->name));
        function.int_field(function_field::system_name, strings.index(f->system_name));
        functions.message_field(profile_field::function, function);
      }
      proto_message line;
      line.uint_field(line_field::function_id, fit->second);
      location.message_field(location_field::line, line);
    } else if (s != nullptr) {
      segment_unnamed[segment_index] = true;
    }
    locations.message_field(profile_field::location, location);
    return it->second;
  };
  for (const sample& s : p.samples) {
    std::vector<std::uint64_t> ids;
    ids.reserve(s.stack.size());
    for (std::uintptr_t address : s.stack) ids.push_back(location_id(address));
    proto_message m;
    m.packed_field(sample_field::location_id, ids);
    m.packed_field(sample_field::value, s.values);
    head.message_field(profile_field::sample, m);
  }

  proto_message mappings;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const code_map::segment& s = segments[i];
    proto_message m;
    m.uint_field(mapping_field::id, i + 1);
    m.uint_field(mapping_field::memory_start, s.start);
    m.uint_field(mapping_field::memory_limit, s.limit);
    m.uint_field(mapping_field::file_offset, s.file_offset);
    m.int_field(mapping_field::filename, strings.index(code.module_path(s.module)));
    m.int_field(mapping_field::build_id, strings.index(code.module_build_id(s.module)));
    m.bool_field(mapping_field::has_functions, segment_used[i] && !segment_unnamed[i]);
    mappings.message_field(profile_field::mapping, m);
  }

  proto_message tail;  // the scalars, then every string named above
  tail.int_field(profile_field::time_nanos, p.time_nanos);
  tail.message_field(profile_field::period_type, value_type_message(p.period_type));
  tail.int_field(profile_field::period, p.period);
  tail.int_field(profile_field::default_sample_type, strings.index(p.default_sample_type));
  strings.write(tail);

  // A message is the concatenation of its fields, in any order.
  write_gzip(head.bytes() + mappings.bytes() + locations.bytes() + functions.bytes() +
                 tail.bytes(),
             out);
}

}  // namespace tricolor::gc::pprof
