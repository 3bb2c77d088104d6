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

#include <cstdint>
#include <string>

namespace tricolor::roots {

std::string describe_code_address(std::uintptr_t pc);

}  // namespace tricolor::roots
