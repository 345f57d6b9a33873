//===- MemRefCopyToLinalg.cpp - memref.copy as linalg.copy ------*- C++ -*-===//

#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYMEMREFCOPYTOLINALG
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {

/// Removes `copy` if it only moves a freshly allocated result into an
/// output argument (see the pass description); returns true if it did.
bool forwardOutputCopy(IRRewriter &rewriter, memref::CopyOp copy) {
  auto out = dyn_cast<BlockArgument>(copy.getTarget());
  Block *block = copy->getBlock();
  if (!out || !out.hasOneUse() || out.getOwner() != block ||
      !isa<FunctionOpInterface>(block->getParentOp()))
    return false;
  // The source: alloc, or one reshape of it.
  Value src = copy.getSource();
  Operation *view = src.getDefiningOp();
  memref::AllocOp alloc;
  if (isa_and_nonnull<memref::ExpandShapeOp, memref::CollapseShapeOp>(view)) {
    alloc = view->getOperand(0).getDefiningOp<memref::AllocOp>();
    if (!src.hasOneUse())
      return false;
  } else {
    alloc = dyn_cast_or_null<memref::AllocOp>(view);
    view = nullptr;
  }
  if (!alloc || alloc->getBlock() != block || !alloc.getDynamicSizes().empty())
    return false;
  auto outType = dyn_cast<MemRefType>(out.getType());
  if (!outType || !outType.getLayout().isIdentity() ||
      !alloc.getType().getLayout().isIdentity() ||
      outType.getMemorySpace() != alloc.getType().getMemorySpace())
    return false;
  // Every use of the alloc precedes the copy (or deallocates it after).
  SmallVector<Operation *> deallocs;
  for (Operation *user : alloc->getUsers()) {
    if (isa<memref::DeallocOp>(user)) {
      deallocs.push_back(user);
      continue;
    }
    if (user->getBlock() != block || !user->isBeforeInBlock(copy))
      return false;
  }
  rewriter.setInsertionPoint(alloc);
  Value replacement = out;
  if (auto expand = dyn_cast_or_null<memref::ExpandShapeOp>(view))
    replacement = memref::CollapseShapeOp::create(
        rewriter, alloc.getLoc(), alloc.getType(), out,
        expand.getReassociationIndices());
  else if (auto collapse = dyn_cast_or_null<memref::CollapseShapeOp>(view))
    replacement = memref::ExpandShapeOp::create(
        rewriter, alloc.getLoc(), alloc.getType().getShape(), out,
        collapse.getReassociationIndices());
  if (replacement.getType() != alloc.getType())
    return false; // (an unused view is removed by later canonicalisation)
  for (Operation *dealloc : deallocs)
    rewriter.eraseOp(dealloc);
  rewriter.eraseOp(copy);
  if (view)
    rewriter.eraseOp(view);
  rewriter.replaceOp(alloc, replacement);
  return true;
}

struct FlyMemRefCopyToLinalgPass
    : mlir::fly::impl::FlyMemRefCopyToLinalgBase<FlyMemRefCopyToLinalgPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation()->walk([&](memref::CopyOp op) { copies.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (memref::CopyOp op : copies) {
      if (forwardOutputCopy(rewriter, op))
        continue;
      rewriter.setInsertionPoint(op);
      rewriter.replaceOpWithNewOp<linalg::CopyOp>(op, op.getSource(),
                                                  op.getTarget());
    }
  }
};
} // namespace
