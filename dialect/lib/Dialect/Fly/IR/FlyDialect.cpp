//===- FlyDialect.cpp - fly dialect registration ---------------*- C++ -*-===//

#include "fly/Dialect/Fly/IR/FlyDialect.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"

#include "mlir/Transforms/InliningUtils.h"

using namespace mlir;
using namespace mlir::fly;

#include "fly/Dialect/Fly/IR/FlyOpsDialect.cpp.inc"

namespace {
/// fly ops are pure functions of their operands (no regions, no side
/// effects), so calls of functions holding them may be inlined: e.g. a
/// destination-passing entry point into the function it wraps, which lets
/// bufferization write the result straight into the output argument.
struct FlyInlinerInterface : public DialectInlinerInterface {
  using DialectInlinerInterface::DialectInlinerInterface;
  bool isLegalToInline(Operation *, Operation *, bool) const final {
    return true;
  }
  bool isLegalToInline(Operation *, Region *, bool, IRMapping &) const final {
    return true;
  }
};
} // namespace

void FlyDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "fly/Dialect/Fly/IR/FlyOps.cpp.inc"
      >();
  addInterfaces<FlyInlinerInterface>();
}
