//===- FlyToLinalgPass.cpp - convert-fly-to-linalg pass ---------*- C++ -*-===//

#include "fly/Conversion/FlyToLinalg/FlyToLinalg.h"
#include "fly/Conversion/Passes.h"
#include "fly/Dialect/Fly/IR/FlyDialect.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"

#include "mlir/Transforms/DialectConversion.h"

namespace mlir::fly {
#define GEN_PASS_DEF_CONVERTFLYTOLINALG
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
using namespace mlir::fly;

void mlir::fly::populateFlyToLinalgConversionPatterns(
    RewritePatternSet &patterns) {
  populateFlyLinearMapToLinalgPatterns(patterns);
  populateFlyAttentionToLinalgPatterns(patterns);
}

namespace {
struct ConvertFlyToLinalgPass
    : mlir::fly::impl::ConvertFlyToLinalgBase<ConvertFlyToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    ConversionTarget target(getContext());
    // Every fly op must go (but the ops GPU kernels take, when asked to keep
    // them); anything else may stay as it is.
    target.addIllegalDialect<FlyDialect>();
    if (keepKernelOps)
      target.addLegalOp<
          mlir::fly::LinearOp, mlir::fly::AttentionOp,
          mlir::fly::LocalAttentionOp, mlir::fly::ScatterbrainAttentionOp,
          mlir::fly::MonarchMatmulOp, mlir::fly::LowRankMatmulOp>();
    target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
    RewritePatternSet patterns(&getContext());
    populateFlyToLinalgConversionPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
