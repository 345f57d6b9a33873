//===- ApproximateAttention.cpp - efficient attention -----------*- C++ -*-===//
//
// fly-approximate-attention: fly.attention becomes local, Performer or
// Scatterbrain attention. The random features are Performer's Gaussian
// orthogonal ones, drawn by fly::structure (plain C++) so that the tests
// reproduce them from the same seed.
//
//===----------------------------------------------------------------------===//

#include "fly/Dialect/Fly/IR/FlyOps.h"
#include "fly/Structure/RandomFeatures.h"
#include "fly/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FormatVariadic.h"

#include <optional>

namespace mlir::fly {
#define GEN_PASS_DEF_FLYAPPROXIMATEATTENTION
#include "fly/Transforms/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
using namespace mlir::fly;

namespace {
enum class Kind { Local, Performer, Scatterbrain };

struct Config {
  Kind kind;
  int64_t window, features;
  uint64_t seed;
  bool remarks;
};

StringRef kindName(Kind kind) {
  switch (kind) {
  case Kind::Local:
    return "local";
  case Kind::Performer:
    return "performer";
  case Kind::Scatterbrain:
    return "scatterbrain";
  }
  llvm_unreachable("unknown kind");
}

struct ApproximateAttentionPattern : OpRewritePattern<AttentionOp> {
  ApproximateAttentionPattern(MLIRContext *ctx, const Config &config)
      : OpRewritePattern(ctx), config(config) {}

  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    // Every fly.attention is a candidate: say why one stays exact.
    if (op.getMask())
      return skip(rewriter, op, "it has a mask (the approximations take none)");
    auto q = cast<RankedTensorType>(op.getQ().getType());
    auto k = cast<RankedTensorType>(op.getK().getType());
    int64_t t = q.getDimSize(2), s = k.getDimSize(2), d = q.getDimSize(3);
    if (s != t)
      return skip(rewriter, op,
                  llvm::formatv("it has {0} keys for {1} queries (the "
                                "windows need S == T)",
                                s, t));

    Location loc = op.getLoc();
    rewriter.setInsertionPoint(op);
    // The default 1/sqrt(D) is made explicit: it is what was computed.
    FloatAttr scale = rewriter.getF64FloatAttr(op.getScaleOrDefault());
    UnitAttr causal = op.getCausalAttr();
    IntegerAttr window = rewriter.getI64IntegerAttr(config.window);
    int64_t index = attentionIndex++;
    Value proj;
    if (config.kind != Kind::Local)
      proj = createProjection(rewriter, loc, q.getElementType(), d, index);

    Operation *approx = nullptr;
    switch (config.kind) {
    case Kind::Local:
      approx =
          LocalAttentionOp::create(rewriter, loc, op.getType(), op.getQ(),
                                   op.getK(), op.getV(), window, causal, scale);
      break;
    case Kind::Performer:
      approx = PerformerAttentionOp::create(rewriter, loc, op.getType(),
                                            op.getQ(), op.getK(), op.getV(),
                                            proj, causal, scale);
      break;
    case Kind::Scatterbrain:
      approx = ScatterbrainAttentionOp::create(rewriter, loc, op.getType(),
                                               op.getQ(), op.getK(), op.getV(),
                                               proj, window, causal, scale);
      break;
    }
    approx->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    if (config.remarks) {
      InFlightDiagnostic diag = op.emitRemark();
      diag << "replaced attention T=" << t << " D=" << d
           << (causal ? " causal" : "") << " by " << kindName(config.kind);
      if (config.kind != Kind::Performer)
        diag << " window " << config.window;
      if (config.kind != Kind::Local)
        diag << " with " << config.features << " features (fly.attention_proj."
             << index << ", seed " << config.seed + index << ")";
    }
    rewriter.replaceOp(op, approx);
    return success();
  }

private:
  LogicalResult skip(PatternRewriter &rewriter, AttentionOp op,
                     const Twine &why) const {
    if (config.remarks)
      op.emitRemark() << "left exact: " << why;
    return rewriter.notifyMatchFailure(op, why);
  }

  /// proj [features, d] of the index-th attention as
  /// `arith.constant dense_resource<fly.attention_proj.index>`. Each
  /// attention gets its own draw (seed + index), as independent layers do.
  Value createProjection(PatternRewriter &rewriter, Location loc,
                         Type elementType, int64_t d, int64_t index) const {
    std::vector<float> proj = ::fly::structure::gaussianOrthogonalFeatures(
        config.features, d, config.seed + uint64_t(index));
    auto type = RankedTensorType::get({config.features, d}, elementType);
    Attribute attr;
    if (elementType.isF32()) {
      AsmResourceBlob blob =
          HeapAsmResourceBlob::allocateAndCopyInferAlign<float>(proj);
      attr = DenseResourceElementsAttr::get(
          type, llvm::formatv("fly.attention_proj.{0}", index).str(),
          std::move(blob));
    } else {
      // f16 / bf16 attention: an inline constant, rounded by the attribute.
      SmallVector<APFloat> values;
      auto &semantics = cast<FloatType>(elementType).getFloatSemantics();
      for (float x : proj) {
        APFloat v(x);
        bool lost = false;
        v.convert(semantics, APFloat::rmNearestTiesToEven, &lost);
        values.push_back(v);
      }
      attr = DenseElementsAttr::get(type, values);
    }
    return arith::ConstantOp::create(rewriter, loc, cast<TypedAttr>(attr));
  }

  const Config &config;
  /// Program-order index of the next replaced attention.
  mutable int64_t attentionIndex = 0;
};

struct FlyApproximateAttentionPass
    : mlir::fly::impl::FlyApproximateAttentionBase<
          FlyApproximateAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<Kind> k = llvm::StringSwitch<std::optional<Kind>>(kind)
                                .Case("local", Kind::Local)
                                .Case("performer", Kind::Performer)
                                .Case("scatterbrain", Kind::Scatterbrain)
                                .Default(std::nullopt);
    if (!k) {
      getOperation()->emitError()
          << "fly-approximate-attention: unknown kind '" << kind
          << "' (expected local, performer or scatterbrain)";
      return signalPassFailure();
    }
    if (window < 1 || features < 1) {
      getOperation()->emitError()
          << "fly-approximate-attention: window and features must be >= 1";
      return signalPassFailure();
    }
    Config config{*k, window, features, seed, remarks};
    RewritePatternSet patterns(&getContext());
    patterns.add<ApproximateAttentionPattern>(&getContext(), config);
    // One walk in program order: projection indices and seeds follow
    // program order.
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};
} // namespace
