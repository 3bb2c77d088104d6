// Naming a code address; see code_address.hpp.
#include "roots/code_address.hpp"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace tricolor::roots {

namespace {

struct symbol_match {
  std::string name;
  std::uintptr_t offset = 0;
};

// The function symbol of the ELF file at `path` whose range holds the
// module-relative address `address`, from its table of type `wanted_table`
// (SHT_SYMTAB or SHT_DYNSYM; empty if none).
symbol_match find_in_symbol_table(const char* path, std::uintptr_t address,
                                  std::uint32_t wanted_table) {
  symbol_match match;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return match;
  struct stat st;
  void* image = MAP_FAILED;
  if (fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(sizeof(ElfW(Ehdr))))
    image = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (image == MAP_FAILED) return match;
  const auto* bytes = static_cast<const unsigned char*>(image);
  const auto size = static_cast<std::size_t>(st.st_size);
  const auto* header = static_cast<const ElfW(Ehdr)*>(image);
  bool sane = std::memcmp(header->e_ident, ELFMAG, SELFMAG) == 0 &&
              header->e_shoff + header->e_shnum * sizeof(ElfW(Shdr)) <= size;
  const auto* sections = reinterpret_cast<const ElfW(Shdr)*>(bytes + header->e_shoff);
  for (unsigned i = 0; sane && i < header->e_shnum; ++i) {
    const ElfW(Shdr)& table = sections[i];
    if (table.sh_type != wanted_table || table.sh_link >= header->e_shnum) continue;
    const ElfW(Shdr)& strings = sections[table.sh_link];
    if (table.sh_offset + table.sh_size > size || strings.sh_offset + strings.sh_size > size)
      break;
    const auto* symbols = reinterpret_cast<const ElfW(Sym)*>(bytes + table.sh_offset);
    std::size_t count = table.sh_size / sizeof(ElfW(Sym));
    for (std::size_t k = 0; k < count; ++k) {
      const ElfW(Sym)& s = symbols[k];
      if (ELF64_ST_TYPE(s.st_info) != STT_FUNC || s.st_value == 0) continue;
      if (address < s.st_value || address >= s.st_value + (s.st_size ? s.st_size : 1)) continue;
      if (s.st_name >= strings.sh_size) continue;
      match.name = reinterpret_cast<const char*>(bytes + strings.sh_offset + s.st_name);
      match.offset = address - s.st_value;
      break;
    }
    break;
  }
  munmap(image, size);
  return match;
}

std::string demangled(const std::string& name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status);
  std::string result = status == 0 && readable ? readable : name;
  std::free(readable);
  return result;
}

struct module_lookup {
  std::uintptr_t pc = 0;
  std::uintptr_t base = 0;
  std::string path;
  bool found = false;
};

int find_module(dl_phdr_info* info, std::size_t, void* data) {
  auto* lookup = static_cast<module_lookup*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    if (lookup->pc < begin || lookup->pc >= begin + ph.p_memsz) continue;
    lookup->base = info->dlpi_addr;
    lookup->path = info->dlpi_name ? info->dlpi_name : "";
    lookup->found = true;
    return 1;
  }
  return 0;
}

}  // namespace

std::string describe_code_address(std::uintptr_t pc) {
  char text[64];
  std::snprintf(text, sizeof text, "%#lx", static_cast<unsigned long>(pc));
  module_lookup module;
  module.pc = pc;
  dl_iterate_phdr(find_module, &module);
  if (!module.found) return text;
  // The vDSO has no file; the main program's name is empty.
  bool has_file = module.path.empty() || module.path[0] == '/';
  const char* file = module.path.empty() ? "/proc/self/exe" : module.path.c_str();
  symbol_match match;
  if (has_file) {
    match = find_in_symbol_table(file, pc - module.base, SHT_SYMTAB);
    if (match.name.empty()) match = find_in_symbol_table(file, pc - module.base, SHT_DYNSYM);
  }
  std::string where = text;
  if (!match.name.empty()) {
    std::snprintf(text, sizeof text, "+%#lx", static_cast<unsigned long>(match.offset));
    where = demangled(match.name) + text;
  }
  where += " in " + (module.path.empty() ? std::string("the executable") : module.path);
  return where;
}

bool in_code(std::uintptr_t address) {
  struct lookup {
    std::uintptr_t address;
    bool found = false;
  } l{address};
  dl_iterate_phdr(
      [](dl_phdr_info* info, std::size_t, void* data) {
        auto* l = static_cast<lookup*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
          if (l->address >= begin && l->address < begin + ph.p_memsz) {
            l->found = true;
            return 1;
          }
        }
        return 0;
      },
      &l);
  return l.found;
}

std::string describe_return_address(std::uintptr_t word) {
  if (word <= 4096 || !in_code(word)) return "";
  std::string frame = describe_code_address(word);
  std::size_t offset = frame.find("+0x");
  if (offset == std::string::npos || offset > frame.find(" in ")) return "";
  return frame;
}

std::vector<std::string> functions_on_stack(const std::uintptr_t* words, std::size_t count,
                                            std::size_t most) {
  std::vector<std::string> found;
  for (std::size_t i = 0; i < count && found.size() < most; ++i) {
    std::string frame = describe_return_address(words[i]);
    if (!frame.empty()) found.push_back(std::move(frame));
  }
  return found;
}

namespace {

// A demangled function's qualified name: without its parameters and, for a
// template function, without the return type in front.
std::string_view qualified_name(std::string_view function) {
  int depth = 0;
  std::size_t name_begin = 0;
  for (std::size_t i = 0; i < function.size(); ++i) {
    char c = function[i];
    if (c == '<') ++depth;
    else if (c == '>') --depth;
    else if (depth == 0 && c == ' ') name_begin = i + 1;
    else if (depth == 0 && c == '(' && i > name_begin) return function.substr(name_begin, i - name_begin);
  }
  return function.substr(name_begin);
}

bool in_namespace(std::string_view function, std::initializer_list<std::string_view> prefixes) {
  std::string_view name = qualified_name(function);
  for (std::string_view prefix : prefixes)
    if (name.substr(0, prefix.size()) == prefix) return true;
  return false;
}

}  // namespace

std::string describe_allocation_site(const std::vector<std::uintptr_t>& stack) {
  std::vector<std::string> functions;
  for (std::uintptr_t address : stack) {
    std::string frame = describe_return_address(address);
    if (frame.empty()) continue;
    std::string function = frame.substr(0, frame.rfind("+0x"));
    functions.push_back(function.substr(0, function.find(" [clone ")));  // a compiler's copy
  }
  if (functions.empty()) return "(unknown)";
  // Frames above the library's own (a sanitizer's interceptor of
  // backtrace) are not the caller: the search starts at the first frame in
  // namespace tricolor, if there is one. Then the first frame outside both
  // libraries; else outside this one (code inlined into a standard library
  // function, such as a thread's lambda into std::thread's _M_run); else
  // the innermost.
  std::size_t first = 0;
  while (first < functions.size() && !in_namespace(functions[first], {"tricolor::"})) ++first;
  if (first == functions.size()) first = 0;
  std::string outside_tricolor;
  for (std::size_t i = first; i < functions.size(); ++i) {
    if (in_namespace(functions[i], {"tricolor::"})) continue;
    if (!in_namespace(functions[i], {"std::", "__gnu_cxx::"})) return functions[i];
    if (outside_tricolor.empty()) outside_tricolor = functions[i];
  }
  return outside_tricolor.empty() ? functions.front() : outside_tricolor;
}

}  // namespace tricolor::roots
