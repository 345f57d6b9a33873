//===- Codegen.cpp - LLVM dialect to a shared library -----------*- C++ -*-===//
//
// Translates the lowered module to LLVM IR, optimises it for the host CPU,
// emits an object file in-process (no llc needed) and links it into a
// shared library with the system C++ compiler driver.
//
//===----------------------------------------------------------------------===//

#include "Codegen.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

namespace {
const llvm::Target *hostTarget(llvm::Triple &triple, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  triple = llvm::Triple(llvm::sys::getProcessTriple());
  return llvm::TargetRegistry::lookupTarget(triple, error);
}

std::unique_ptr<llvm::TargetMachine> hostTargetMachine(const std::string &cpu,
                                                       std::string &error) {
  llvm::Triple triple;
  const llvm::Target *target = hostTarget(triple, error);
  if (!target)
    return nullptr;
  std::string features;
  if (cpu == "native")
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += (feature.second ? "+" : "-") + feature.first().str() + ",";
  llvm::TargetOptions options;
  return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
      triple, cpu == "native" ? llvm::sys::getHostCPUName() : cpu, features,
      options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
}
} // namespace

std::string fly::compile::resolveHostCpu(const std::string &cpu,
                                         std::string &error) {
  if (cpu == "native")
    return llvm::sys::getHostCPUName().str();
  llvm::Triple triple;
  const llvm::Target *target = hostTarget(triple, error);
  if (!target)
    return "";
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget(
      target->createMCSubtargetInfo(triple, "", ""));
  if (cpu.empty() || !subtarget || !subtarget->isCPUStringValid(cpu)) {
    error = "--host-cpu: '" + cpu + "' is not a CPU of " + triple.str() +
            " (e.g. native, x86-64, x86-64-v2, x86-64-v3, x86-64-v4)";
    return "";
  }
  return cpu;
}

bool fly::compile::emitHostCode(ModuleOp module, const std::string &llvmPath,
                                const std::string &objectPath,
                                std::string &error,
                                const std::string &hostCpu) {
  auto tm = hostTargetMachine(hostCpu, error);
  if (!tm) {
    error = "no LLVM target for this host: " + error;
    return false;
  }
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "fly_model");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return false;
  }
  llvmModule->setTargetTriple(tm->getTargetTriple());
  llvmModule->setDataLayout(tm->createDataLayout());
  auto optimize =
      makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0, tm.get());
  if (llvm::Error err = optimize(llvmModule.get())) {
    error = "LLVM optimisation failed: " + llvm::toString(std::move(err));
    return false;
  }
  if (!llvmPath.empty()) {
    std::error_code ec;
    llvm::raw_fd_ostream out(llvmPath, ec, llvm::sys::fs::OF_Text);
    if (ec) {
      error = llvmPath + ": " + ec.message();
      return false;
    }
    llvmModule->print(out, nullptr);
  }
  if (objectPath.empty())
    return true;
  std::error_code ec;
  llvm::raw_fd_ostream out(objectPath, ec, llvm::sys::fs::OF_None);
  if (ec) {
    error = objectPath + ": " + ec.message();
    return false;
  }
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    error = "the host target cannot emit object files";
    return false;
  }
  pm.run(*llvmModule);
  return true;
}

bool fly::compile::linkSharedLibrary(const std::string &objectPath,
                                     const std::string &libraryPath,
                                     const std::vector<std::string> &libs,
                                     std::string &error) {
  auto driver = llvm::sys::findProgramByName("c++");
  if (!driver)
    driver = llvm::sys::findProgramByName("cc");
  if (!driver) {
    error =
        "no C/C++ compiler driver (c++ or cc) on PATH to link " + libraryPath;
    return false;
  }
  std::vector<std::string> args = {*driver, "-shared", "-o", libraryPath,
                                   objectPath};
  args.insert(args.end(), libs.begin(), libs.end());
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*driver, argRefs, std::nullopt, {}, 0, 0,
                                     &message);
  if (rc != 0) {
    error = "linking " + libraryPath + " failed (" + *driver + " exit " +
            std::to_string(rc) + (message.empty() ? "" : ": " + message) + ")";
    return false;
  }
  return true;
}
