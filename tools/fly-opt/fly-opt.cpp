//===- fly-opt.cpp - mlir-opt with the fly dialect and passes ---*- C++ -*-===//
//
// MlirOptMain with every upstream dialect, pass and extension, the GPU to
// LLVM IR translations (so gpu.module can be serialised), and fly's dialect,
// passes and pipelines.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/Passes.h"
#include "fly/Dialect/Fly/IR/FlyDialect.h"
#include "fly/Pipelines/Pipelines.h"
#include "fly/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::fly::registerFlyConversionPasses();
  mlir::fly::registerFlyPipelines();
  mlir::fly::registerFlyTransformsPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<mlir::fly::FlyDialect>();

  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "fly optimizer driver\n", registry));
}
