// Naming a code address for diagnostics: "function+0x1c in /path/module".
//
// dladdr names only symbols in a module's dynamic symbol table, which for an
// executable holds almost nothing unless it was linked with -rdynamic: the
// very loops a user wants named live there. So the module is found with
// dl_iterate_phdr and its file's full symbol table (.symtab, present unless
// the file was stripped; else .dynsym) is searched for the function holding
// the address, and the name is demangled. Slow (reads the file); only for
// messages.
//
// Usable while the world is stopped: it takes no lock a stopped thread can
// hold. (dladdr takes the loader's lock, which dlopen holds across system
// calls; dl_iterate_phdr takes only the lock around the module list's
// updates, which no thread holds in a system call. stdio is not used: a
// thread stopped in write() holds its stream's lock.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace tricolor::roots {

std::string describe_code_address(std::uintptr_t pc);

// True if `address` lies in an executable segment of a loaded module.
bool in_code(std::uintptr_t address);

// The function a stack word returns into, as describe_code_address names
// it, or "" if the word cannot be a return address: outside the modules'
// code, in no named function, or at a function's first byte (a function
// pointer, not a return address).
std::string describe_return_address(std::uintptr_t word);

// The functions that the return addresses among `count` stack words
// (copied from the stack pointer upwards) return into, innermost first, at
// most `most`. Found by looking at every word, not by unwinding: a stale
// return address in a frame appears too.
std::vector<std::string> functions_on_stack(const std::uintptr_t* words, std::size_t count,
                                            std::size_t most);

// The function that allocated, from an allocation's call stack (return or
// call-site addresses, innermost first): below the library's own frames
// (what a sanitizer's interceptor adds above them is skipped), the
// innermost frame outside namespaces std, __gnu_cxx and tricolor, named
// without offset, module or a compiler's clone suffix.
// Slow (reads symbol tables): for reports.
std::string describe_allocation_site(const std::vector<std::uintptr_t>& stack);

}  // namespace tricolor::roots
