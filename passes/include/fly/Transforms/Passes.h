//===- Passes.h - fly detection passes --------------------------*- C++ -*-===//
//
// fly-raise-linear and fly-raise-attention, declared from Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_TRANSFORMS_PASSES_H
#define FLY_TRANSFORMS_PASSES_H

#include "fly/Dialect/Fly/IR/FlyDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace mlir::fly {

#define GEN_PASS_DECL
#include "fly/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "fly/Transforms/Passes.h.inc"

} // namespace mlir::fly

#endif // FLY_TRANSFORMS_PASSES_H
