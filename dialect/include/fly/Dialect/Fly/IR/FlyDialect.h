//===- FlyDialect.h - fly dialect -------------------------------*- C++ -*-===//
//
// The fly dialect declaration (generated from FlyDialect.td).
//
//===----------------------------------------------------------------------===//

#ifndef FLY_DIALECT_FLY_IR_FLYDIALECT_H
#define FLY_DIALECT_FLY_IR_FLYDIALECT_H

#include "mlir/IR/Dialect.h"

#include "fly/Dialect/Fly/IR/FlyOpsDialect.h.inc"

#endif // FLY_DIALECT_FLY_IR_FLYDIALECT_H
