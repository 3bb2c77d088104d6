// The names of static storage: which global or static variable a word of a
// data segment belongs to, for leak reports (gc/leak_tracker.hpp).
//
// A module's variables are its ELF symbols of type STT_OBJECT with a size:
// the full symbol table (.symtab, which keeps file-local statics and
// function-local statics such as `_ZZ4mainE5cache`) when the file has one,
// else the dynamic symbol table (.dynsym, exported symbols only, what a
// stripped library keeps). The file is read from disk (the executable from
// /proc/self/exe), names are demangled (abi::__cxa_demangle), and the
// symbols are kept sorted by address, so a lookup is one binary search.
// thread_local variables are the symbols of type STT_TLS, whose value is an
// offset in the module's TLS block (the same in every thread's copy).
//
// Reading a module's table costs milliseconds (a file read and a sort): it
// is done once per module, at its first lookup, never in a pause.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tricolor::roots {

struct data_symbol {
  std::uintptr_t begin;  // run-time address
  std::uintptr_t end;
  std::string name;      // demangled
};

class module_symbols {
 public:
  // Reads the symbol table of the module at `path` ("" or "(executable)":
  // the main program), loaded at `load_bias` (dl_phdr_info::dlpi_addr).
  // A file that cannot be read yields no symbols. With `thread_locals`, its
  // thread_local variables (STT_TLS) instead, at their offsets in the
  // module's TLS block plus `load_bias`.
  module_symbols(const std::string& path, std::uintptr_t load_bias, bool thread_locals = false);

  // The variable that holds the word at `address`, or nullptr.
  const data_symbol* find(std::uintptr_t address) const;

  std::size_t size() const { return symbols_.size(); }
  const data_symbol& operator[](std::size_t i) const { return symbols_[i]; }
  // The index of `symbol`, an element of this table.
  std::size_t index_of(const data_symbol* symbol) const {
    return static_cast<std::size_t>(symbol - symbols_.data());
  }

 private:
  std::vector<data_symbol> symbols_;
};

}  // namespace tricolor::roots
