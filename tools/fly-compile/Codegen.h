//===- Codegen.h - LLVM dialect to a shared library -------------*- C++ -*-===//

#ifndef FLY_TOOLS_FLYCOMPILE_CODEGEN_H
#define FLY_TOOLS_FLYCOMPILE_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace fly::compile {

/// The host CPU the code is compiled for: `cpu` "native" is this machine's
/// CPU with its features (getHostCPUName / getHostCPUFeatures); any other
/// name is an LLVM CPU of the host triple (e.g. x86-64-v3) with its
/// default features, for artifacts that run on other machines. Returns ""
/// (and sets `error`) for a name the host target does not know.
std::string resolveHostCpu(const std::string &cpu, std::string &error);

/// Translates `module` (LLVM dialect) to LLVM IR, optimises it (O3) for
/// `hostCpu` ("native" or a name resolveHostCpu accepted: callers check it
/// once, before compiling) and writes the IR to `llvmPath` and/or an object
/// file to `objectPath` (either may be empty).
bool emitHostCode(mlir::ModuleOp module, const std::string &llvmPath,
                  const std::string &objectPath, std::string &error,
                  const std::string &hostCpu = "native");

/// Links an object into a shared library with the system compiler driver;
/// `linkArgs` are passed after the object (-L, -l, -Wl,... flags).
bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &libraryPath,
                       const std::vector<std::string> &linkArgs,
                       std::string &error);

} // namespace fly::compile

#endif // FLY_TOOLS_FLYCOMPILE_CODEGEN_H
