//===- Codegen.h - LLVM dialect to a shared library -------------*- C++ -*-===//

#ifndef FLY_TOOLS_FLYCOMPILE_CODEGEN_H
#define FLY_TOOLS_FLYCOMPILE_CODEGEN_H

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace fly::compile {

/// Translates `module` (LLVM dialect) to LLVM IR, optimises it (O3) for the
/// host CPU and writes the IR to `llvmPath` and/or an object file to
/// `objectPath` (either may be empty).
bool emitHostCode(mlir::ModuleOp module, const std::string &llvmPath,
                  const std::string &objectPath, std::string &error);

/// Links an object into a shared library with the system compiler driver;
/// `linkArgs` are passed after the object (-L, -l, -Wl,... flags).
bool linkSharedLibrary(const std::string &objectPath,
                       const std::string &libraryPath,
                       const std::vector<std::string> &linkArgs,
                       std::string &error);

} // namespace fly::compile

#endif // FLY_TOOLS_FLYCOMPILE_CODEGEN_H
