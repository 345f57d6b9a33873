//===- FlyDialect.cpp - fly dialect registration ---------------*- C++ -*-===//

#include "fly/Dialect/Fly/IR/FlyDialect.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"

using namespace mlir;
using namespace mlir::fly;

#include "fly/Dialect/Fly/IR/FlyOpsDialect.cpp.inc"

void FlyDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "fly/Dialect/Fly/IR/FlyOps.cpp.inc"
      >();
}
