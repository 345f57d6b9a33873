//===- FusedKernels.cpp - fly.attention / fly.monarch_matmul kernels ------===//
//
// Like fly-gpu-weight-gemms for the other fused kernels: on tensors, after
// 16-bit storage conversion, a supported op becomes a call of a launcher
// declaration (KernelCalls.h) that fly-gpu-define-kernels defines later.
// fly.attention and fly.local_attention (sliding window) share the flash
// attention generator (FlashAttention.h); so does non-causal
// fly.scatterbrain_attention, as two kernels around a small reduction.
//
//===----------------------------------------------------------------------===//

#include "KernelCalls.h"
#include "LayerNormMatch.h"

#include "fly/Conversion/Passes.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"
#include "fly/Utils/WeightConstants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseSet.h"

#include <type_traits>
#include <vector>

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPUATTENTIONKERNELS
#define GEN_PASS_DEF_FLYGPUMONARCHKERNELS
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
namespace gen = ::fly::gpu;

namespace {

using mlir::fly::kernels::singleGenericUser;
using mlir::fly::kernels::stripCasts;

Type storageElement(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}

bool isStorage16(Type t) { return t.isF16() || t.isBF16(); }

std::string typeName(Type t) { return t.isF16() ? "f16" : "bf16"; }

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

struct FlyGpuAttentionKernelsPass
    : mlir::fly::impl::FlyGpuAttentionKernelsBase<FlyGpuAttentionKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<mlir::fly::AttentionOp, mlir::fly::LocalAttentionOp,
              mlir::fly::ScatterbrainAttentionOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      LogicalResult done =
          isa<mlir::fly::AttentionOp>(op)
              ? rewrite(cast<mlir::fly::AttentionOp>(op))
          : isa<mlir::fly::LocalAttentionOp>(op)
              ? rewrite(cast<mlir::fly::LocalAttentionOp>(op))
              : rewriteScatterbrain(
                    cast<mlir::fly::ScatterbrainAttentionOp>(op));
      if (failed(done))
        return signalPassFailure();
    }
  }

  LogicalResult skip(Operation *op, const Twine &why) {
    if (remarks)
      op->emitRemark("generic GPU path: ") << why;
    return success();
  }

  /// fly.attention (dense, causal or full) or fly.local_attention (window).
  template <typename AttentionOpT> LogicalResult rewrite(AttentionOpT op) {
    constexpr bool local =
        std::is_same_v<AttentionOpT, mlir::fly::LocalAttentionOp>;
    auto q = cast<RankedTensorType>(op.getQ().getType());
    if constexpr (!local)
      if (op.getMask())
        return skip(op, "explicit masks are not supported by the kernel");
    if (q != op.getK().getType() || q != op.getV().getType() ||
        q != op.getType())
      return skip(op, "q, k, v and the output must have one shape "
                      "(self-attention)");
    if (!isStorage16(q.getElementType()))
      return skip(op, "the kernel needs f16/bf16 storage (--dtype)");
    if (q.getRank() != 4)
      return skip(op, "expected [batch, heads, seq, head_dim]");
    gen::AttentionSpec spec;
    spec.batchHeads = q.getDimSize(0) * q.getDimSize(1);
    spec.seq = q.getDimSize(2);
    spec.headDim = q.getDimSize(3);
    spec.elementType = typeName(q.getElementType());
    spec.causal = op.getCausal();
    spec.scale = op.getScale() ? op.getScale()->convertToDouble() : 0.0;
    if constexpr (local)
      spec.window = static_cast<int64_t>(op.getWindow());
    if (std::string why = gen::verifyAttentionSpec(spec); !why.empty())
      return skip(op, why);
    if (failed(mlir::fly::kernels::checkKernelChip(op, getArgument(), chip)))
      return failure();

    Location loc = op.getLoc();
    OpBuilder b(&getContext());
    Type element = q.getElementType();

    // GPT-2's form: q, k, v are head-split views of one fused projection
    // [B*T, 3*H*D] and the output is merged back to [B*T, H*D]. The kernel
    // then reads and writes those layouts itself: no transpose kernels.
    if (std::optional<PackedQkv> packed = matchPackedQkv(op)) {
      spec.packedQkv = true;
      spec.heads = q.getDimSize(1);
      if (std::string why = gen::verifyAttentionSpec(spec); why.empty()) {
        auto qkvType = cast<RankedTensorType>(packed->qkv.getType());
        auto outType = cast<RankedTensorType>(packed->merged.getType());
        func::FuncOp launcher = mlir::fly::kernels::declareLauncher(
            getOperation(), loc, gen::attentionLauncherName(spec),
            {MemRefType::get(qkvType.getShape(), element),
             MemRefType::get(outType.getShape(), element)},
            mlir::fly::kernels::kAttentionKernelAttr,
            mlir::fly::kernels::attentionSpecToAttr(b, spec));
        b.setInsertionPoint(packed->merged.getDefiningOp());
        Value o = mlir::fly::kernels::callLauncher(b, loc, launcher,
                                                   {packed->qkv}, outType);
        packed->merged.replaceAllUsesWith(o);
        if (remarks)
          op.emitRemark("flash attention kernel ")
              << gen::attentionKernelName(spec)
              << " (reads the fused q/k/v projection, writes merged heads)";
        return success();
      }
      spec.packedQkv = false;
      spec.heads = 0;
    }

    if (remarks)
      op.emitRemark("flash attention kernel ")
          << gen::attentionKernelName(spec);
    auto flat = RankedTensorType::get({spec.batchHeads, spec.seq, spec.headDim},
                                      element);
    auto memref = MemRefType::get(flat.getShape(), flat.getElementType());
    func::FuncOp launcher = mlir::fly::kernels::declareLauncher(
        getOperation(), loc, gen::attentionLauncherName(spec),
        {memref, memref, memref, memref},
        mlir::fly::kernels::kAttentionKernelAttr,
        mlir::fly::kernels::attentionSpecToAttr(b, spec));
    b.setInsertionPoint(op);
    SmallVector<ReassociationIndices> heads = {{0, 1}, {2}, {3}};
    SmallVector<Value> inputs;
    for (Value t : {op.getQ(), op.getK(), op.getV()})
      inputs.push_back(tensor::CollapseShapeOp::create(b, loc, flat, t, heads));
    Value o = mlir::fly::kernels::callLauncher(b, loc, launcher, inputs, flat);
    Value out = tensor::ExpandShapeOp::create(b, loc, q, o, heads);
    op.getResult().replaceAllUsesWith(out);
    op->erase();
    return success();
  }

  /// Non-causal fly.scatterbrain_attention: the key-feature kernel, the
  /// combination of its chunk groups per head, then the windowed flash
  /// kernel with the feature correction and the linear part
  /// (FlashAttention.h describes the three steps and their operands).
  LogicalResult rewriteScatterbrain(mlir::fly::ScatterbrainAttentionOp op) {
    auto q = cast<RankedTensorType>(op.getQ().getType());
    auto proj = cast<RankedTensorType>(op.getProj().getType());
    if (op.getCausal())
      return skip(op, "causal Scatterbrain has no kernel (it needs prefix "
                      "sums of the linear part)");
    if (q != op.getK().getType() || q != op.getV().getType() ||
        q != op.getType())
      return skip(op, "q, k, v and the output must have one shape "
                      "(self-attention)");
    if (!isStorage16(q.getElementType()) ||
        proj.getElementType() != q.getElementType())
      return skip(op, "the kernel needs f16/bf16 storage (--dtype)");
    if (q.getRank() != 4 || proj.getRank() != 2 ||
        proj.getDimSize(1) != q.getDimSize(3))
      return skip(op, "expected [batch, heads, seq, head_dim] and proj "
                      "[features, head_dim]");
    gen::AttentionSpec spec;
    spec.batchHeads = q.getDimSize(0) * q.getDimSize(1);
    spec.seq = q.getDimSize(2);
    spec.headDim = q.getDimSize(3);
    spec.elementType = typeName(q.getElementType());
    spec.causal = false;
    spec.scale = op.getScale() ? op.getScale()->convertToDouble() : 0.0;
    spec.window = static_cast<int64_t>(op.getWindow());
    spec.features = proj.getDimSize(0);
    if (std::string why = gen::verifyAttentionSpec(spec); !why.empty())
      return skip(op, why);
    if (failed(mlir::fly::kernels::checkKernelChip(op, getArgument(), chip)))
      return failure();
    if (remarks)
      op.emitRemark("Scatterbrain kernels ")
          << gen::scatterbrainKeyFeaturesName(spec) << " + "
          << gen::attentionKernelName(spec);

    Location loc = op.getLoc();
    OpBuilder b(&getContext());
    Type element = q.getElementType(), f32 = b.getF32Type();
    int64_t bh = spec.batchHeads, t = spec.seq, d = spec.headDim;
    int64_t f = spec.features, chunks = t / 64;
    int64_t groups = gen::scatterbrainGroups(spec);
    auto tensor = [](ArrayRef<int64_t> shape, Type type) {
      return RankedTensorType::get(shape, type);
    };
    auto memref = [](RankedTensorType type) {
      return MemRefType::get(type.getShape(), type.getElementType());
    };
    RankedTensorType flat = tensor({bh, t, d}, element);
    RankedTensorType phik = tensor({bh, t, f}, element);
    RankedTensorType mc = tensor({bh, chunks}, f32);
    RankedTensorType kvg = tensor({bh, groups, d, f}, f32);
    RankedTensorType zg = tensor({bh, groups, f}, f32);
    RankedTensorType mg = tensor({bh, groups}, f32);
    RankedTensorType kvt = tensor({bh, d, f}, element);
    RankedTensorType z = tensor({bh, f}, f32);
    RankedTensorType stab = tensor({bh}, f32);

    func::FuncOp keys = mlir::fly::kernels::declareLauncher(
        getOperation(), loc, gen::scatterbrainKeyFeaturesLauncherName(spec),
        {memref(flat), memref(flat), memref(proj), memref(phik), memref(mc),
         memref(kvg), memref(zg), memref(mg)},
        mlir::fly::kernels::kScatterbrainKeysAttr,
        mlir::fly::kernels::attentionSpecToAttr(b, spec));
    func::FuncOp combine = mlir::fly::kernels::declareLauncher(
        getOperation(), loc, gen::scatterbrainCombineLauncherName(spec),
        {memref(mg), memref(kvg), memref(zg), memref(kvt), memref(z),
         memref(stab)},
        mlir::fly::kernels::kScatterbrainCombineAttr,
        mlir::fly::kernels::attentionSpecToAttr(b, spec));
    func::FuncOp attention = mlir::fly::kernels::declareLauncher(
        getOperation(), loc, gen::attentionLauncherName(spec),
        {memref(flat), memref(flat), memref(flat), memref(proj), memref(phik),
         memref(mc), memref(kvt), memref(z), memref(stab), memref(flat)},
        mlir::fly::kernels::kAttentionKernelAttr,
        mlir::fly::kernels::attentionSpecToAttr(b, spec));

    IRRewriter rewriter(&getContext());
    rewriter.setInsertionPoint(op);
    SmallVector<ReassociationIndices> heads = {{0, 1}, {2}, {3}};
    SmallVector<Value> qkv;
    for (Value x : {op.getQ(), op.getK(), op.getV()})
      qkv.push_back(
          tensor::CollapseShapeOp::create(rewriter, loc, flat, x, heads));
    SmallVector<Value> feats = mlir::fly::kernels::callLauncher(
        rewriter, loc, keys, {qkv[1], qkv[2], op.getProj()},
        ArrayRef<RankedTensorType>{phik, mc, kvg, zg, mg});

    SmallVector<Value> perHead = mlir::fly::kernels::callLauncher(
        rewriter, loc, combine, {feats[4], feats[2], feats[3]},
        ArrayRef<RankedTensorType>{kvt, z, stab});
    Value o = mlir::fly::kernels::callLauncher(
        rewriter, loc, attention,
        {qkv[0], qkv[1], qkv[2], op.getProj(), feats[0], feats[1], perHead[0],
         perHead[1], perHead[2]},
        flat);
    Value out = tensor::ExpandShapeOp::create(rewriter, loc, q, o, heads);
    op.getResult().replaceAllUsesWith(out);
    op->erase();
    return success();
  }

  struct PackedQkv {
    Value qkv;    ///< [B*T, 3*H*D]
    Value merged; ///< the [B*T, H*D] value the attention output becomes
  };

  /// A generic that only permutes [b, x, y, d] -> [b, y, x, d].
  static Value matchHeadTranspose(Value v) {
    auto g = v.getDefiningOp<linalg::GenericOp>();
    if (!g || g.getNumDpsInputs() != 1 || g.getNumLoops() != 4 ||
        g.getNumReductionLoops() != 0)
      return nullptr;
    auto yield = cast<linalg::YieldOp>(g.getBody()->getTerminator());
    if (yield.getValues()[0] != g.getBody()->getArgument(0))
      return nullptr;
    SmallVector<AffineMap> maps = g.getIndexingMapsArray();
    AffineMap swap = AffineMap::getPermutationMap(
        ArrayRef<unsigned>{0, 2, 1, 3}, g.getContext());
    if (!maps[1].isIdentity() || maps[0] != swap)
      return nullptr;
    return g.getDpsInputs()[0];
  }

  /// q/k/v = swap(expand(slice(qkv, column c*H*D))) with c = 0, 1, 2 and the
  /// output's only use = collapse(swap(o)).
  template <typename AttentionOpT>
  static std::optional<PackedQkv> matchPackedQkv(AttentionOpT op) {
    auto q = cast<RankedTensorType>(op.getQ().getType());
    int64_t batch = q.getDimSize(0), heads = q.getDimSize(1);
    int64_t seq = q.getDimSize(2), dim = q.getDimSize(3);
    Value base;
    int64_t index = 0;
    for (Value t : {op.getQ(), op.getK(), op.getV()}) {
      Value split = matchHeadTranspose(t);
      auto expand = split ? split.getDefiningOp<tensor::ExpandShapeOp>()
                          : tensor::ExpandShapeOp();
      if (!expand || expand.getReassociationIndices() !=
                         SmallVector<ReassociationIndices>{{0, 1}, {2, 3}})
        return std::nullopt;
      auto slice = expand.getSrc().getDefiningOp<tensor::ExtractSliceOp>();
      if (!slice || !slice.hasUnitStride() ||
          slice.getStaticOffsets() !=
              ArrayRef<int64_t>{0, index * heads * dim} ||
          slice.getStaticSizes() != ArrayRef<int64_t>{batch * seq, heads * dim})
        return std::nullopt;
      auto src = cast<RankedTensorType>(slice.getSource().getType());
      if (src.getShape() != ArrayRef<int64_t>{batch * seq, 3 * heads * dim} ||
          (base && base != slice.getSource()))
        return std::nullopt;
      base = slice.getSource();
      ++index;
    }
    Value o = op.getResult();
    if (!o.hasOneUse())
      return std::nullopt;
    auto back = dyn_cast<linalg::GenericOp>(*o.getUsers().begin());
    if (!back || matchHeadTranspose(back.getResult(0)) != o ||
        !back.getResult(0).hasOneUse())
      return std::nullopt;
    auto collapse = dyn_cast<tensor::CollapseShapeOp>(
        *back.getResult(0).getUsers().begin());
    if (!collapse || collapse.getReassociationIndices() !=
                         SmallVector<ReassociationIndices>{{0, 1}, {2, 3}})
      return std::nullopt;
    return PackedQkv{base, collapse.getResult()};
  }
};

//===----------------------------------------------------------------------===//
// Monarch
//===----------------------------------------------------------------------===//

/// The bias if `op` computes value[m, n] + bias[n] (the explicit bias add
/// fly-structure-linear emits).
Value matchBiasAdd(linalg::GenericOp op, Value value) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 || op.getDpsInputs()[0] != value)
    return nullptr;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  unsigned rank = op.getNumLoops();
  MLIRContext *ctx = op.getContext();
  if (rank != 2 || !maps[0].isIdentity() || !maps[2].isIdentity() ||
      maps[1] != AffineMap::get(2, 0, getAffineDimExpr(1, ctx)))
    return nullptr;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  auto add = stripCasts(yield.getValues()[0]).getDefiningOp<arith::AddFOp>();
  Block *body = op.getBody();
  if (!add)
    return nullptr;
  Value lhs = stripCasts(add.getLhs()), rhs = stripCasts(add.getRhs());
  if (!((lhs == body->getArgument(0) && rhs == body->getArgument(1)) ||
        (lhs == body->getArgument(1) && rhs == body->getArgument(0))))
    return nullptr;
  return op.getDpsInputs()[1];
}

/// A fly.monarch_matmul the kernel takes, with the epilogue ops it fuses.
struct MonarchCandidate {
  mlir::fly::MonarchMatmulOp op;
  gen::MonarchSpec spec;
  Value x;                        // a folded LayerNorm's input (else the op's)
  Value colsum;                   // folded LayerNorm: monarch(ones), blocked
  linalg::GenericOp layerNorm;    // folded LayerNorm's last generic
  Value w1;                       // as the kernel reads it (maybe permuted)
  Value bias;                     // fused bias, if any (maybe permuted)
  Value residual;                 // fused residual add's other operand
  SmallVector<Operation *> fused; // bias add, GELU (in order)
  Operation *last = nullptr;      // the last op the kernel replaces
  Value result;                   // its result
};

/// w1 (a [k, q, p] weight constant) as the kernel of `spec` reads it
/// (gen::monarchKernelW1Source), as a new constant named <key><suffix>.
Value permutedW1(OpBuilder &b, Location loc, DenseResourceElementsAttr w1,
                 const gen::MonarchSpec &spec, StringRef suffix) {
  auto type = cast<RankedTensorType>(w1.getType());
  int64_t q = type.getDimSize(1), p = type.getDimSize(2);
  auto sourceOf = [&](int64_t i) {
    int64_t kk = i / (q * p), qq = i / p % q, pp = i % p;
    auto [sq, sp] = gen::monarchKernelW1Source(spec, qq, pp);
    return (kk * q + sq) * p + sp;
  };
  return arith::ConstantOp::create(
      b, loc, mlir::fly::gatherWeight(w1, type, suffix, sourceOf));
}

/// y = monarch(x) for one vector, in double (fly.monarch_matmul's
/// definition; w1 [k, q, p], w2 [l, s, r] row-major).
std::vector<double> applyMonarch(const gen::MonarchSpec &spec,
                                 const std::vector<double> &w1,
                                 const std::vector<double> &w2,
                                 const std::vector<double> &x) {
  const int64_t k = spec.k, q = spec.q, p = spec.p, l = spec.l, s = spec.s,
                r = spec.r;
  std::vector<double> h(k * q, 0.0), y(l * s, 0.0);
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t qq = 0; qq < q; ++qq)
      for (int64_t pp = 0; pp < p; ++pp)
        h[kk * q + qq] += w1[(kk * q + qq) * p + pp] * x[kk * p + pp];
  for (int64_t ll = 0; ll < l; ++ll)
    for (int64_t ss = 0; ss < s; ++ss)
      for (int64_t rr = 0; rr < r; ++rr)
        y[ss * l + ll] += w2[(ll * s + ss) * r + rr] * h[rr * l + ll];
  return y;
}

/// bias[l*s] of a blocked-output kernel: bias'[ll*s + ss] = bias[ss*l + ll].
Value blockedBias(OpBuilder &b, Location loc, DenseResourceElementsAttr bias,
                  const gen::MonarchSpec &spec) {
  auto sourceOf = [&](int64_t i) { return (i % spec.s) * spec.l + i / spec.s; };
  return arith::ConstantOp::create(
      b, loc,
      mlir::fly::gatherWeight(bias, cast<RankedTensorType>(bias.getType()),
                              ".blocked", sourceOf));
}

struct FlyGpuMonarchKernelsPass
    : mlir::fly::impl::FlyGpuMonarchKernelsBase<FlyGpuMonarchKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<gen::MonarchHiddenSchedule> schedule =
        gen::parseMonarchHiddenSchedule(hiddenSchedule);
    if (!schedule) {
      getOperation().emitError()
          << getArgument() << ": unknown hidden-schedule '" << hiddenSchedule
          << "' (expected " << gen::monarchHiddenScheduleChoices() << ")";
      return signalPassFailure();
    }
    mlpSchedule = *schedule;
    SmallVector<mlir::fly::MonarchMatmulOp> ops;
    getOperation().walk(
        [&](mlir::fly::MonarchMatmulOp op) { ops.push_back(op); });
    SmallVector<MonarchCandidate, 4> candidates;
    DenseMap<Operation *, size_t> index;
    for (mlir::fly::MonarchMatmulOp op : ops) {
      FailureOr<std::optional<MonarchCandidate>> c = analyze(op);
      if (failed(c))
        return signalPassFailure();
      if (*c) {
        index[op] = candidates.size();
        candidates.push_back(std::move(**c));
      }
    }
    // Producer -> consumer chains: the tensor between them is fly's own, so
    // it may be stored blocked (MonarchSpec::blockedOutput / inputBlocks),
    // or (hidden-kernel) never stored: (up, down) index pairs of MLPs.
    SmallVector<std::pair<size_t, size_t>> mlps;
    if (chainLayout)
      for (MonarchCandidate &up : candidates) {
        if (!up.result.hasOneUse())
          continue;
        auto downOp =
            dyn_cast<mlir::fly::MonarchMatmulOp>(*up.result.getUsers().begin());
        if (!downOp || downOp.getX() != up.result || !index.count(downOp))
          continue;
        MonarchCandidate &down = candidates[index[downOp]];
        if (down.spec.blockedOutput || up.spec.inputBlocks)
          continue; // already part of another chain
        gen::MonarchSpec upSpec = up.spec, downSpec = down.spec;
        upSpec.blockedOutput = true;
        downSpec.inputBlocks = upSpec.l;
        std::string why = gen::verifyMonarchSpec(upSpec);
        if (why.empty())
          why = gen::verifyMonarchSpec(downSpec);
        if (why.empty())
          downSpec = withSplitFactors(downSpec);
        // The hidden kernel reads w1 of the down projection as split factor
        // 1 of the chain does (its h' stores and blocked input columns).
        bool hidden = false;
        if (why.empty() && hiddenKernel) {
          gen::MonarchSpec split = downSpec;
          split.splitFactors = true;
          if (std::string no =
                  gen::verifyMonarchMlpSpec({upSpec, split, mlpSchedule});
              no.empty()) {
            downSpec = split;
            hidden = true;
          } else if (remarks) {
            up.op.emitRemark("no hidden kernel for this MLP: ") << no;
          }
        }
        DenseResourceElementsAttr upW1 =
            mlir::fly::weightResource(up.op.getW1());
        DenseResourceElementsAttr downW1 =
            mlir::fly::weightResource(down.op.getW1());
        DenseResourceElementsAttr upBias;
        if (up.bias)
          upBias = mlir::fly::weightResource(up.bias);
        if (why.empty() && (!upW1 || !downW1 || (up.bias && !upBias)))
          why = "w1 of both layers and the up projection's bias must be "
                "constants";
        if (!why.empty()) {
          if (remarks)
            up.op.emitRemark("natural layout between the Monarch kernels: ")
                << why;
          continue;
        }
        up.spec = upSpec;
        down.spec = downSpec;
        OpBuilder b(up.op);
        if (!foldLayerNorm || !foldLayerNormInto(up, upW1, upBias)) {
          up.w1 = permutedW1(b, up.op.getLoc(), upW1, upSpec, ".blocked_rows");
          if (upBias)
            up.bias = blockedBias(b, up.op.getLoc(), upBias, upSpec);
        }
        b.setInsertionPoint(down.op);
        down.w1 = permutedW1(b, down.op.getLoc(), downW1, downSpec,
                             downSpec.splitFactors ? ".split_blocked_cols"
                                                   : ".blocked_cols");
        // The fold sets the up projection's LayerNorm fields: check again.
        if (hidden) {
          if (std::string no =
                  gen::verifyMonarchMlpSpec({up.spec, down.spec, mlpSchedule});
              no.empty())
            mlps.emplace_back(&up - candidates.begin(), index[downOp]);
          else if (remarks)
            up.op.emitRemark("no hidden kernel for this MLP: ") << no;
        }
      }
    // Natural outputs outside chains: split factors where w1 is a constant
    // (its rows are permuted for factor 1's stores).
    for (MonarchCandidate &c : candidates) {
      if (c.spec.blockedOutput || c.spec.splitFactors || c.w1 != c.op.getW1())
        continue;
      gen::MonarchSpec split = withSplitFactors(c.spec);
      DenseResourceElementsAttr w1 = mlir::fly::weightResource(c.op.getW1());
      if (!split.splitFactors || !w1)
        continue;
      c.spec = split;
      OpBuilder b(c.op);
      c.w1 = permutedW1(b, c.op.getLoc(), w1, split, ".split_rows");
    }
    DenseSet<size_t> inMlp;
    for (auto [u, d] : mlps) {
      emitMlp(candidates[u], candidates[d]);
      inMlp.insert(u);
      inMlp.insert(d);
    }
    for (auto [i, c] : llvm::enumerate(candidates))
      if (!inMlp.contains(i))
        emit(c);
  }

  /// `spec` with split factors where the option allows them, they pay
  /// (few rows) and the generator takes them; else unchanged.
  gen::MonarchSpec withSplitFactors(const gen::MonarchSpec &spec) {
    if (!splitFactors || !gen::monarchSplitFactorsPay(spec))
      return spec;
    gen::MonarchSpec split = spec;
    split.splitFactors = true;
    return gen::verifyMonarchSpec(split).empty() ? split : spec;
  }

  LogicalResult skip(Operation *op, const Twine &why) {
    if (remarks)
      op->emitRemark("generic GPU path: ") << why;
    return success();
  }

  /// A blocked-output up projection whose input is a LayerNorm used only
  /// there takes the LayerNorm (MonarchSpec::layerNormInput): w1 scaled by
  /// gamma (then permuted like the plain w1), bias + monarch(beta), and
  /// colsum = monarch'(ones) over the rounded scaled weights, both stored
  /// blocked; the kernel computes the row statistics. `w1` and `bias` are
  /// the op's original constants.
  /// True when it folded (up.w1 and up.bias then hold the permuted,
  /// folded weights).
  bool foldLayerNormInto(MonarchCandidate &up, DenseResourceElementsAttr w1,
                         DenseResourceElementsAttr bias) {
    auto y = up.op.getX().getDefiningOp<linalg::GenericOp>();
    if (!y)
      return false;
    std::optional<mlir::fly::kernels::LayerNormMatch> ln =
        mlir::fly::kernels::matchLayerNorm(y);
    if (!ln)
      return false;
    auto note = [&](const Twine &why) {
      if (remarks)
        up.op.emitRemark("LayerNorm not folded: ") << why;
      return false;
    };
    gen::MonarchSpec spec = up.spec;
    spec.layerNormInput = true;
    spec.layerNormEps = ln->eps;
    DenseResourceElementsAttr gamma = mlir::fly::weightResource(ln->gamma);
    DenseResourceElementsAttr beta = mlir::fly::weightResource(ln->beta);
    DenseResourceElementsAttr w2 = mlir::fly::weightResource(up.op.getW2());
    if (!y->getResult(0).hasOneUse())
      return note("the LayerNorm's output has other users");
    if (ln->x.getType() != up.op.getX().getType())
      return note("x and the LayerNorm output differ in type");
    if (!gamma || !beta || !w2 || !bias)
      return note("gamma, beta, w2 and the bias must be constants");
    if (std::string why = gen::verifyMonarchSpec(spec); !why.empty())
      return note(why);
    if (std::string why = mlir::fly::kernels::verifyRowStatistics(
            cast<RankedTensorType>(ln->x.getType()));
        !why.empty())
      return note("no row-statistics kernel: " + why);
    std::vector<double> w1v = mlir::fly::weightValues(w1);
    std::vector<double> w2v = mlir::fly::weightValues(w2);
    std::vector<double> gv = mlir::fly::weightValues(gamma);
    std::vector<double> bv = mlir::fly::weightValues(beta);
    std::vector<double> biasv = mlir::fly::weightValues(bias);
    int64_t n = spec.k * spec.p, out = spec.l * spec.s;
    if (int64_t(w1v.size()) != spec.k * spec.q * spec.p ||
        int64_t(w2v.size()) != spec.l * spec.s * spec.r ||
        int64_t(gv.size()) != n || int64_t(bv.size()) != n ||
        int64_t(biasv.size()) != out)
      return note("unexpected weight shapes or element types");
    std::vector<double> scaled(w1v.size());
    for (size_t i = 0; i < w1v.size(); ++i)
      scaled[i] = w1v[i] * gv[(i / (spec.q * spec.p)) * spec.p + i % spec.p];
    std::vector<double> shift = applyMonarch(spec, w1v, w2v, bv);
    for (int64_t i = 0; i < out; ++i)
      shift[i] += biasv[i];
    StringRef w1Key = w1.getRawHandle().getKey();
    auto w1Type = cast<RankedTensorType>(w1.getType());
    auto biasType = cast<RankedTensorType>(bias.getType());
    DenseResourceElementsAttr scaledAttr = mlir::fly::weightFromValues(
        w1Type, (w1Key + ".ln_scaled").str(), scaled);
    DenseResourceElementsAttr biasAttr = mlir::fly::weightFromValues(
        biasType, (bias.getRawHandle().getKey() + ".ln_bias").str(), shift);
    if (!scaledAttr || !biasAttr)
      return note("could not build the folded weights");
    std::vector<double> colsum =
        applyMonarch(spec, mlir::fly::weightValues(scaledAttr), w2v,
                     std::vector<double>(n, 1.0));
    // Stored blocked, like the bias: colsum'[ll*s + ss] = colsum[ss*l + ll].
    std::vector<double> blocked(out);
    for (int64_t i = 0; i < out; ++i)
      blocked[i] = colsum[(i % spec.s) * spec.l + i / spec.s];
    OpBuilder b(up.op);
    DenseResourceElementsAttr colsumAttr = mlir::fly::weightFromValues(
        RankedTensorType::get({out}, b.getF32Type()),
        (w1Key + ".ln_colsum.blocked").str(), blocked);
    if (!colsumAttr)
      return note("could not build the folded weights");
    Location loc = up.op.getLoc();
    up.spec = spec;
    up.x = ln->x;
    up.layerNorm = y;
    up.w1 = permutedW1(b, loc, scaledAttr, spec, ".blocked_rows");
    up.bias = blockedBias(b, loc, biasAttr, spec);
    up.colsum = arith::ConstantOp::create(b, loc, colsumAttr);
    if (remarks)
      up.op.emitRemark("LayerNorm folded into the Monarch kernel (eps ")
          << ln->eps << ")";
    return true;
  }

  /// The candidate, std::nullopt when the generic path keeps `op` (with a
  /// remark), failure on an error.
  FailureOr<std::optional<MonarchCandidate>>
  analyze(mlir::fly::MonarchMatmulOp op) {
    auto x = cast<RankedTensorType>(op.getX().getType());
    auto w1 = cast<RankedTensorType>(op.getW1().getType());
    auto w2 = cast<RankedTensorType>(op.getW2().getType());
    auto y = cast<RankedTensorType>(op.getType());
    Type element = x.getElementType();
    std::optional<MonarchCandidate> none;
    if (!isStorage16(element) || storageElement(op.getW1()) != element ||
        storageElement(op.getW2()) != element ||
        y.getElementType() != element) {
      (void)skip(op, "the kernel needs f16/bf16 storage (--dtype)");
      return none;
    }
    if (x.getRank() != 2) {
      (void)skip(op, "the input is not a matrix");
      return none;
    }
    MonarchCandidate c;
    c.op = op;
    c.w1 = op.getW1();
    gen::MonarchSpec &spec = c.spec;
    spec.m = x.getDimSize(0);
    spec.k = w1.getDimSize(0), spec.q = w1.getDimSize(1);
    spec.p = w1.getDimSize(2);
    spec.l = w2.getDimSize(0), spec.s = w2.getDimSize(1);
    spec.r = w2.getDimSize(2);
    spec.elementType = typeName(element);

    // Fuse the bias add and, for an MLP's up projection, the GELU.
    c.last = op;
    c.result = op.getResult();
    if (linalg::GenericOp add = singleGenericUser(c.result))
      if ((c.bias = matchBiasAdd(add, c.result)) &&
          add.getResult(0).getType() == c.result.getType()) {
        spec.bias = true;
        c.fused.push_back(add);
        c.last = add;
        c.result = add.getResult(0);
      }
    auto activation = op->getAttrOfType<StringAttr>("fly.activation");
    if (spec.bias && activation && activation.getValue() == "gelu_tanh")
      if (linalg::GenericOp gelu = singleGenericUser(c.result);
          gelu && gelu.getNumDpsInputs() == 1 &&
          gelu.getNumReductionLoops() == 0 &&
          gelu.getResult(0).getType() == c.result.getType() &&
          llvm::all_of(gelu.getIndexingMapsArray(),
                       [](AffineMap m) { return m.isIdentity(); })) {
        spec.gelu = true;
        c.fused.push_back(gelu);
        c.last = gelu;
        c.result = gelu.getResult(0);
      }
    if (std::string why = gen::verifyMonarchSpec(spec); !why.empty()) {
      (void)skip(op, why);
      return none;
    }
    // A residual add consuming the result (an MLP's down projection), when
    // the kernel's epilogue can take it.
    if (linalg::GenericOp add = singleGenericUser(c.result))
      if (std::optional<Value> other =
              mlir::fly::kernels::matchResidualAdd(add, c.result);
          other && other->getType() == c.result.getType()) {
        gen::MonarchSpec withResidual = spec;
        withResidual.residual = true;
        if (gen::verifyMonarchSpec(withResidual).empty()) {
          spec = withResidual;
          c.residual = *other;
          c.fused.push_back(add);
          c.last = add;
          c.result = add.getResult(0);
        }
      }
    if (failed(mlir::fly::kernels::checkKernelChip(op, getArgument(), chip)))
      return failure();
    return std::optional<MonarchCandidate>(std::move(c));
  }

  /// Replaces an MLP's two candidates (a chain, see runOnOperation) by one
  /// call of the Monarch MLP launcher (three kernels, the hidden layer on
  /// chip).
  void emitMlp(MonarchCandidate &up, MonarchCandidate &down) {
    gen::MonarchMlpSpec spec{up.spec, down.spec, mlpSchedule};
    Location loc = down.op.getLoc();
    if (remarks)
      down.op.emitRemark("Monarch MLP with the hidden layer on chip ")
          << gen::monarchMlpKernelName(spec);
    func::FuncOp launcher = mlir::fly::kernels::declareMonarchMlpLauncher(
        getOperation(), loc, spec);
    OpBuilder b(&getContext());
    b.setInsertionPoint(down.last);
    SmallVector<Value> inputs = {up.x ? up.x : up.op.getX(), up.w1,
                                 up.op.getW2(), up.bias};
    if (up.colsum) {
      inputs.push_back(up.colsum);
      inputs.push_back(
          mlir::fly::kernels::rowStatistics(b, loc, getOperation(), up.x));
    }
    inputs.push_back(down.w1);
    inputs.push_back(down.op.getW2());
    if (down.bias)
      inputs.push_back(down.bias);
    if (down.residual)
      inputs.push_back(down.residual);
    Value out = mlir::fly::kernels::callLauncher(
        b, loc, launcher, inputs,
        cast<RankedTensorType>(down.result.getType()));
    down.result.replaceAllUsesWith(out);
    for (MonarchCandidate *c : {&down, &up}) {
      for (Operation *f : llvm::reverse(c->fused))
        f->erase();
      c->op->erase();
    }
    if (up.layerNorm)
      up.layerNorm->erase();
  }

  /// Replaces the candidate's ops by a launcher call (reading c.w1).
  void emit(MonarchCandidate &c) {
    Value w1 = c.w1;
    const gen::MonarchSpec &spec = c.spec;
    mlir::fly::MonarchMatmulOp op = c.op;
    if (remarks)
      op.emitRemark("fused Monarch kernel ") << gen::monarchKernelName(spec);
    func::FuncOp launcher = mlir::fly::kernels::declareMonarchLauncher(
        getOperation(), op.getLoc(), spec);
    OpBuilder b(&getContext());
    b.setInsertionPoint(c.last);
    SmallVector<Value> inputs = {c.x ? c.x : op.getX(), w1, op.getW2()};
    if (c.bias)
      inputs.push_back(c.bias);
    if (c.colsum) {
      inputs.push_back(c.colsum);
      inputs.push_back(mlir::fly::kernels::rowStatistics(b, op.getLoc(),
                                                         getOperation(), c.x));
    }
    if (c.residual)
      inputs.push_back(c.residual);
    Value out = mlir::fly::kernels::callLauncher(
        b, op.getLoc(), launcher, inputs,
        cast<RankedTensorType>(c.result.getType()));
    c.result.replaceAllUsesWith(out);
    for (Operation *f : llvm::reverse(c.fused))
      f->erase();
    op->erase();
    // A folded LayerNorm's output had no other user.
    if (c.layerNorm)
      c.layerNorm->erase();
  }

  /// The parsed hidden-schedule option (set by runOnOperation).
  gen::MonarchHiddenSchedule mlpSchedule = gen::MonarchMlpSpec().hiddenSchedule;
};

} // namespace
