//===- MemRefCopyToLinalg.cpp - memref.copy as linalg.copy ------*- C++ -*-===//

#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYMEMREFCOPYTOLINALG
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {
struct FlyMemRefCopyToLinalgPass
    : mlir::fly::impl::FlyMemRefCopyToLinalgBase<FlyMemRefCopyToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp op) { copies.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp op : copies) {
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                  op.getTarget());
    }
  }
};
} // namespace
