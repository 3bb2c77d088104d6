// ELF symbol tables of loaded modules; see data_symbols.hpp.
#include "roots/data_symbols.hpp"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace tricolor::roots {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || readable == nullptr) return name;
  std::string out(readable);
  std::free(readable);
  return out;
}

// A read-only mapping of a whole file, unmapped on destruction.
class mapped_file {
 public:
  explicit mapped_file(const char* path) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const unsigned char*>(p);
        size_ = static_cast<std::size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~mapped_file() {
    if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  mapped_file(const mapped_file&) = delete;
  mapped_file& operator=(const mapped_file&) = delete;

  // The bytes [offset, offset + count), or nullptr if the file is shorter.
  const unsigned char* at(std::uint64_t offset, std::uint64_t count) const {
    if (data_ == nullptr || offset > size_ || count > size_ - offset) return nullptr;
    return data_ + offset;
  }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// The section header of the first section of `type`, or nullptr.
const Elf64_Shdr* find_section(const mapped_file& file, const Elf64_Ehdr& elf, std::uint32_t type) {
  for (unsigned i = 0; i < elf.e_shnum; ++i) {
    auto* section = reinterpret_cast<const Elf64_Shdr*>(
        file.at(elf.e_shoff + std::uint64_t{i} * elf.e_shentsize, sizeof(Elf64_Shdr)));
    if (section == nullptr) return nullptr;
    if (section->sh_type == type) return section;
  }
  return nullptr;
}

}  // namespace

module_symbols::module_symbols(const std::string& path, std::uintptr_t load_bias,
                               bool thread_locals) {
  const int wanted_type = thread_locals ? STT_TLS : STT_OBJECT;
  const char* file_path = path.empty() || path == "(executable)" ? "/proc/self/exe" : path.c_str();
  mapped_file file(file_path);
  auto* elf = reinterpret_cast<const Elf64_Ehdr*>(file.at(0, sizeof(Elf64_Ehdr)));
  if (elf == nullptr || std::memcmp(elf->e_ident, ELFMAG, SELFMAG) != 0 ||
      elf->e_ident[EI_CLASS] != ELFCLASS64 || elf->e_shentsize != sizeof(Elf64_Shdr))
    return;
  const Elf64_Shdr* table = find_section(file, *elf, SHT_SYMTAB);
  if (table == nullptr) table = find_section(file, *elf, SHT_DYNSYM);
  if (table == nullptr || table->sh_entsize != sizeof(Elf64_Sym) || table->sh_link >= elf->e_shnum)
    return;
  auto* strings = reinterpret_cast<const Elf64_Shdr*>(
      file.at(elf->e_shoff + std::uint64_t{table->sh_link} * elf->e_shentsize, sizeof(Elf64_Shdr)));
  if (strings == nullptr) return;
  const auto* names = reinterpret_cast<const char*>(file.at(strings->sh_offset, strings->sh_size));
  auto* symbols = reinterpret_cast<const Elf64_Sym*>(file.at(table->sh_offset, table->sh_size));
  if (names == nullptr || symbols == nullptr) return;
  std::size_t count = table->sh_size / sizeof(Elf64_Sym);
  for (std::size_t i = 0; i < count; ++i) {
    const Elf64_Sym& sym = symbols[i];
    if (ELF64_ST_TYPE(sym.st_info) != wanted_type || sym.st_size == 0 ||
        sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE || sym.st_name >= strings->sh_size)
      continue;
    const char* name = names + sym.st_name;
    if (::strnlen(name, strings->sh_size - sym.st_name) == strings->sh_size - sym.st_name) continue;
    std::uintptr_t begin = load_bias + sym.st_value;
    symbols_.push_back({begin, begin + sym.st_size, demangle(name)});
  }
  // Sorted by address; of aliases (one variable under two names), the first.
  std::sort(symbols_.begin(), symbols_.end(),
            [](const data_symbol& a, const data_symbol& b) { return a.begin < b.begin; });
  symbols_.erase(std::unique(symbols_.begin(), symbols_.end(),
                             [](const data_symbol& a, const data_symbol& b) {
                               return a.begin == b.begin;
                             }),
                 symbols_.end());
}

const data_symbol* module_symbols::find(std::uintptr_t address) const {
  auto after = std::upper_bound(symbols_.begin(), symbols_.end(), address,
                                [](std::uintptr_t a, const data_symbol& s) { return a < s.begin; });
  if (after == symbols_.begin()) return nullptr;
  const data_symbol& candidate = *(after - 1);
  return address < candidate.end ? &candidate : nullptr;
}

}  // namespace tricolor::roots
