//===- LayerNormKernels.cpp - LayerNorm's generics to one kernel ----------===//
//
// Replaces the last generic of each LayerNorm the importers build
// (LayerNormMatch.h) by a call of the LayerNorm kernel's launcher on x,
// gamma and beta.
//
//===----------------------------------------------------------------------===//

#include "KernelCalls.h"
#include "LayerNormMatch.h"

#include "fly/Conversion/FlyToGPU/LayerNormKernel.h"
#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <optional>

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPULAYERNORMKERNELS
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
namespace gen = ::fly::gpu;

namespace {

using mlir::fly::kernels::LayerNormMatch;
using mlir::fly::kernels::matchLayerNorm;

struct FlyGpuLayerNormKernelsPass
    : mlir::fly::impl::FlyGpuLayerNormKernelsBase<FlyGpuLayerNormKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk([&](linalg::GenericOp g) {
      if (g.getNumDpsInputs() == 4 && g.getNumLoops() == 2)
        candidates.push_back(g);
    });
    for (linalg::GenericOp y : candidates)
      if (failed(rewrite(y)))
        return signalPassFailure();
  }

  LogicalResult rewrite(linalg::GenericOp y) {
    std::optional<LayerNormMatch> match = matchLayerNorm(y);
    if (!match)
      return success();
    auto xType = cast<RankedTensorType>(match->x.getType());
    auto outType = cast<RankedTensorType>(y.getResult(0).getType());
    Type element = xType.getElementType();
    gen::LayerNormSpec spec;
    spec.rows = xType.getDimSize(0);
    spec.cols = xType.getDimSize(1);
    spec.eps = match->eps;
    spec.elementType = element.isF16() ? "f16" : element.isBF16() ? "bf16" : "";
    bool sameTypes =
        outType == xType &&
        cast<RankedTensorType>(match->gamma.getType()).getElementType() ==
            element &&
        cast<RankedTensorType>(match->beta.getType()).getElementType() ==
            element;
    std::string why = sameTypes ? gen::verifyLayerNormSpec(spec)
                                : "x, gamma, beta and y need one 16-bit type";
    if (!why.empty()) {
      if (remarks)
        y.emitRemark("LayerNorm on the generic path: ") << why;
      return success();
    }
    if (failed(mlir::fly::kernels::checkKernelChip(y, getArgument(), chip)))
      return failure();
    if (remarks)
      y.emitRemark("LayerNorm kernel ") << gen::layerNormKernelName(spec);
    OpBuilder b(&getContext());
    auto memref = [](Type t) {
      auto tt = cast<RankedTensorType>(t);
      return MemRefType::get(tt.getShape(), tt.getElementType());
    };
    func::FuncOp launcher = mlir::fly::kernels::declareLauncher(
        getOperation(), y.getLoc(), gen::layerNormLauncherName(spec),
        {memref(xType), memref(match->gamma.getType()),
         memref(match->beta.getType()), memref(outType)},
        mlir::fly::kernels::kLayerNormKernelAttr,
        mlir::fly::kernels::layerNormSpecToAttr(b, spec));
    b.setInsertionPoint(y);
    Value out = mlir::fly::kernels::callLauncher(
        b, y.getLoc(), launcher, {match->x, match->gamma, match->beta},
        outType);
    y.getResult(0).replaceAllUsesWith(out);
    return success();
  }
};

} // namespace
