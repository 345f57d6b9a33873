//===- WeightGemms.cpp - fly.linear as generated Hopper GEMM kernels ------===//
//
// Runs on tensors, after 16-bit storage conversion and before
// bufferization. Each supported fly.linear, with the GELU and the residual
// add that consume it, becomes one launch of a generated kernel
// (WgmmaGemm.h). The launcher works on buffers, so the tensors cross over
// through bufferization.to_buffer / to_tensor, which One-Shot Bufferize
// turns into the tensors' own buffers.
//
//===----------------------------------------------------------------------===//

#include "KernelCalls.h"
#include "LayerNormMatch.h"

#include "fly/Conversion/FlyToGPU/WgmmaGemm.h"
#include "fly/Conversion/Passes.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/Parser/Parser.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPUWEIGHTGEMMS
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {

using mlir::fly::kernels::isElementwise;
using mlir::fly::kernels::matchResidualAdd;
using mlir::fly::kernels::singleGenericUser;
using mlir::fly::kernels::stripCasts;

struct FlyGpuWeightGemmsPass
    : mlir::fly::impl::FlyGpuWeightGemmsBase<FlyGpuWeightGemmsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The string options: each value one of its choices.
    auto known = [&](StringRef what, StringRef value,
                     ArrayRef<StringRef> choices) {
      if (llvm::is_contained(choices, value))
        return true;
      InFlightDiagnostic diag = module.emitError()
                                << getArgument() << ": unknown " << what << " '"
                                << value << "' (expected ";
      for (size_t i = 0; i < choices.size(); ++i)
        diag << (i == 0                    ? ""
                 : i + 1 == choices.size() ? " or "
                                           : ", ")
             << choices[i];
      diag << ")";
      return false;
    };
    if (!known("schedule", schedule,
               {"auto", "multistage", "warp-specialized"}) ||
        !known("epilogue", epilogue, {"auto", "register", "staging"}) ||
        !known("producer", producer, {"warp", "warpgroup"}))
      return signalPassFailure();
    if (persistentCtas < 0) {
      module.emitError() << getArgument() << ": persistent-ctas must not be "
                         << "negative (got " << persistentCtas << ")";
      return signalPassFailure();
    }
    // A low-rank map (x·uᵀ)·vᵀ is two GEMMs: split it into two linears.
    SmallVector<mlir::fly::LowRankMatmulOp> lowRanks;
    module.walk([&](mlir::fly::LowRankMatmulOp op) { lowRanks.push_back(op); });
    for (mlir::fly::LowRankMatmulOp op : lowRanks) {
      auto x = cast<RankedTensorType>(op.getX().getType());
      auto u = cast<RankedTensorType>(op.getU().getType());
      if (x.getRank() != 2 ||
          (!x.getElementType().isF16() && !x.getElementType().isBF16()))
        continue; // the reference lowering takes it
      OpBuilder b(op);
      Location loc = op.getLoc();
      // The GEMM kernel needs n and k in multiples of 64: a rank that is not
      // (GPT-2's 768 / 8 = 96) is padded with zero rows of u and zero
      // columns of v, which adds exact zeros only.
      int64_t rank = u.getDimSize(0), padded = (rank + 63) / 64 * 64;
      Value uu = op.getU(), vv = op.getV();
      if (padded != rank) {
        Type element = x.getElementType();
        Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(element));
        auto v = cast<RankedTensorType>(vv.getType());
        uu = tensor::createPadHighOp(
            RankedTensorType::get({padded, u.getDimSize(1)}, element), uu, zero,
            /*nofold=*/false, loc, b);
        vv = tensor::createPadHighOp(
            RankedTensorType::get({v.getDimSize(0), padded}, element), vv, zero,
            /*nofold=*/false, loc, b);
      }
      auto mid =
          RankedTensorType::get({x.getDimSize(0), padded}, x.getElementType());
      Value t =
          mlir::fly::LinearOp::create(b, loc, mid, op.getX(), uu, Value());
      auto y =
          mlir::fly::LinearOp::create(b, loc, op.getType(), t, vv, Value());
      y->setDiscardableAttrs(op->getDiscardableAttrDictionary());
      op.getResult().replaceAllUsesWith(y.getResult());
      op->erase();
    }
    SmallVector<mlir::fly::LinearOp> linears;
    module.walk([&](mlir::fly::LinearOp op) { linears.push_back(op); });
    for (mlir::fly::LinearOp op : linears)
      if (failed(rewrite(op)))
        return signalPassFailure();
  }

  /// Leaves `op` to the generic path, saying why when asked.
  LogicalResult skip(mlir::fly::LinearOp op, const Twine &why) {
    if (remarks)
      op.emitRemark("generic GPU path: ") << why;
    return success();
  }

  LogicalResult rewrite(mlir::fly::LinearOp op) {
    auto x = cast<RankedTensorType>(op.getX().getType());
    auto w = cast<RankedTensorType>(op.getW().getType());
    Type element = x.getElementType();
    if (!element.isF16() && !element.isBF16())
      return skip(op, "wgmma kernels need f16/bf16 storage (--dtype)");
    if (x.getRank() != 2)
      return skip(op, "the input is not a matrix");
    if (w.getElementType() != element ||
        (op.getBias() &&
         cast<RankedTensorType>(op.getBias().getType()).getElementType() !=
             element))
      return skip(op, "mixed element types");

    ::fly::gpu::GemmSpec spec;
    spec.m = x.getDimSize(0);
    spec.k = x.getDimSize(1);
    spec.n = w.getDimSize(0);
    spec.elementType = element.isF16() ? "f16" : "bf16";
    spec.epilogue = op.getBias() ? ::fly::gpu::GemmEpilogue::Bias
                                 : ::fly::gpu::GemmEpilogue::None;
    spec.tileN = ::fly::gpu::defaultGemmTileN(spec.n);

    // Fuse what consumes the product: a folded LayerNorm's statistics
    // (fly-gpu-fold-layernorm), GELU (tanh form, marked by fly-raise-linear)
    // after a bias, then a residual add.
    Operation *last = op;
    Value result = op.getResult();
    SmallVector<Operation *> fused;
    Value bias = op.getBias(), colsum;
    if (linalg::GenericOp ln = singleGenericUser(result);
        ln && ln->hasAttr(mlir::fly::kernels::kLayerNormEpilogueAttr) &&
        !bias && ln.getNumDpsInputs() == 5 && ln.getDpsInputs()[0] == result) {
      std::optional<mlir::fly::kernels::LayerNormMatch> stats =
          mlir::fly::kernels::matchRowStatistics(ln.getDpsInputs()[1],
                                                 ln.getDpsInputs()[2]);
      if (!stats || stats->x != op.getX())
        return op.emitError("a LayerNorm epilogue whose statistics are not "
                            "those of the linear's input");
      spec.layerNormInput = true;
      spec.layerNormEps = stats->eps;
      spec.epilogue = ::fly::gpu::GemmEpilogue::Bias;
      colsum = ln.getDpsInputs()[3];
      bias = ln.getDpsInputs()[4];
      fused.push_back(ln);
      last = ln;
      result = ln.getResult(0);
    }
    auto activation = op->getAttrOfType<StringAttr>("fly.activation");
    if (activation && activation.getValue() == "gelu_tanh" && bias)
      if (linalg::GenericOp gelu = singleGenericUser(result);
          gelu && isElementwise(gelu, 1)) {
        spec.epilogue = ::fly::gpu::GemmEpilogue::BiasGeluTanh;
        fused.push_back(gelu);
        last = gelu;
        result = gelu.getResult(0);
      }
    Value residual;
    if (linalg::GenericOp add = singleGenericUser(result))
      if (std::optional<Value> other = matchResidualAdd(add, result);
          other && other->getType() == result.getType()) {
        residual = *other;
        spec.residual = true;
        fused.push_back(add);
        last = add;
        result = add.getResult(0);
      }
    spec.warpSpecialized =
        schedule == "warp-specialized" ||
        (schedule == "auto" && ::fly::gpu::gemmWarpSpecializationPays(spec));
    if (spec.warpSpecialized) {
      spec.persistentCtas = persistentCtas;
      spec.producerWarpgroup = producer == "warpgroup";
      spec.stagingEpilogue =
          epilogue == "staging" ||
          (epilogue == "auto" && !::fly::gpu::gemmRegisterEpiloguePays(spec));
    }
    if (std::string why = ::fly::gpu::verifyGemmSpec(spec); !why.empty())
      return skip(op, why);
    if (failed(mlir::fly::kernels::checkKernelChip(op, getArgument(), chip)))
      return failure();

    func::FuncOp launcher = mlir::fly::kernels::declareGemmLauncher(
        getOperation(), op.getLoc(), spec);
    if (remarks)
      op.emitRemark("wgmma GEMM ") << ::fly::gpu::gemmKernelName(spec);

    OpBuilder b(last);
    SmallVector<Value> inputs = {op.getX(), op.getW()};
    if (bias)
      inputs.push_back(bias);
    if (colsum) {
      inputs.push_back(colsum);
      Value stats = mlir::fly::kernels::rowStatistics(
          b, op.getLoc(), getOperation(), op.getX());
      if (!stats)
        return op.emitError("no row-statistics kernel for the folded "
                            "LayerNorm's input");
      inputs.push_back(stats);
    }
    if (residual)
      inputs.push_back(residual);
    Value y = mlir::fly::kernels::callLauncher(
        b, op.getLoc(), launcher, inputs,
        cast<RankedTensorType>(result.getType()));
    result.replaceAllUsesWith(y);
    for (Operation *f : llvm::reverse(fused))
      f->erase();
    op->erase();
    return success();
  }
};

} // namespace
