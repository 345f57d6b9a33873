//===- StructureLinear.cpp - fly.linear to structured maps ------*- C++ -*-===//
//
// fly-structure-linear: each dense fly.linear in scope whose weight is a
// constant becomes a Monarch, low-rank, Pixelfly, butterfly or sketch map
// with an explicit bias add. The numbers (projections, random factors) come
// from fly::structure (plain C++); this file only reads the dense weight,
// builds the ops and reports.
//
//===----------------------------------------------------------------------===//

#include "fly/Dialect/Fly/IR/FlyOps.h"
#include "fly/Structure/PixelflyLayout.h"
#include "fly/Structure/Projection.h"
#include "fly/Structure/RandomFeatures.h"
#include "fly/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/Utils/Utils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstring>
#include <optional>

namespace mlir::fly {
#define GEN_PASS_DEF_FLYSTRUCTURELINEAR
#include "fly/Transforms/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
using namespace mlir::fly;
namespace fs = ::fly::structure;

namespace {
constexpr StringLiteral kMlpRole = "fly.mlp";

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

enum class Kind { Monarch, LowRank, Pixelfly, Butterfly, Sketch };
enum class Scope { Mlp, Attn, All };

/// The pass options, parsed and checked once.
struct Config {
  Kind kind;
  Scope scope;
  bool project;
  int64_t nblocks, rank, blockSize, reduction;
  uint64_t seed;
  bool remarks;
};

StringRef kindName(Kind kind) {
  switch (kind) {
  case Kind::Monarch:
    return "monarch";
  case Kind::LowRank:
    return "lowrank";
  case Kind::Pixelfly:
    return "pixelfly";
  case Kind::Butterfly:
    return "butterfly";
  case Kind::Sketch:
    return "sketch";
  }
  llvm_unreachable("unknown kind");
}

//===----------------------------------------------------------------------===//
// Reading the dense weight
//===----------------------------------------------------------------------===//

/// The dense weight W [out][in] of a fly.linear, the key that names its
/// resource and the ops that become dead once the layer is replaced.
struct DenseWeight {
  std::vector<float> data;
  std::string key;
  SmallVector<Operation *, 2> producers;
};

/// The f32 elements of a constant, row-major, or nullopt (with `why`) if
/// the constant is not f32 or its resource has no data.
std::optional<std::vector<float>> constantData(arith::ConstantOp constant,
                                               std::string &why) {
  auto type = dyn_cast<RankedTensorType>(constant.getType());
  if (!type || !type.getElementType().isF32()) {
    why = "the weight is not an f32 tensor";
    return std::nullopt;
  }
  size_t count = type.getNumElements();
  if (auto resource =
          dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != count * sizeof(float)) {
      why = "the weight's resource has no data";
      return std::nullopt;
    }
    ArrayRef<char> bytes = blob->getData();
    std::vector<float> data(count);
    std::memcpy(data.data(), bytes.data(), bytes.size());
    return data;
  }
  if (auto dense = dyn_cast<DenseFPElementsAttr>(constant.getValue())) {
    auto values = dense.getValues<float>();
    return std::vector<float>(values.begin(), values.end());
  }
  why = "the weight constant is neither dense_resource nor dense";
  return std::nullopt;
}

/// Reads W [out][in] from `w`: a constant [out, in], or a linalg.transpose
/// [1, 0] of a constant [in, out] (GPT-2's Conv1D weights as
/// fly-raise-linear leaves them).
std::optional<DenseWeight> readWeight(Value w, int64_t out, int64_t in,
                                      std::string &why) {
  DenseWeight weight;
  bool transposed = false;
  if (auto t = w.getDefiningOp<linalg::TransposeOp>()) {
    if (t.getPermutation() != ArrayRef<int64_t>{1, 0}) {
      why = "the weight's transpose is not [1, 0]";
      return std::nullopt;
    }
    weight.producers.push_back(t);
    if (Operation *init = t.getInit().getDefiningOp<tensor::EmptyOp>())
      weight.producers.push_back(init);
    w = t.getInput();
    transposed = true;
  }
  auto constant = w.getDefiningOp<arith::ConstantOp>();
  if (!constant) {
    why = "the weight is not a constant";
    return std::nullopt;
  }
  weight.producers.push_back(constant);
  std::optional<std::vector<float>> data = constantData(constant, why);
  if (!data)
    return std::nullopt;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
    weight.key = resource.getRawHandle().getKey().str();
  if (!transposed) {
    weight.data = std::move(*data);
    return weight;
  }
  weight.data.resize(data->size());
  for (int64_t i = 0; i < out; ++i)
    for (int64_t j = 0; j < in; ++j)
      weight.data[i * in + j] = (*data)[j * out + i];
  return weight;
}

//===----------------------------------------------------------------------===//
// Dense forms of the structures (for the remarks' projection error)
//===----------------------------------------------------------------------===//

/// M [out][in] of a Monarch map, padding and cropping included: entry
/// (ss*l + ll, kk*p + pp) sums w2[ll][ss][rr] * w1[kk][qq][pp] over the
/// intermediate index kk*q + qq = rr*l + ll (fly.monarch_matmul's formula).
std::vector<double> densify(const fs::MonarchFactors &f) {
  std::vector<double> m(f.out * f.in, 0.0);
  for (int64_t kk = 0; kk < f.k; ++kk)
    for (int64_t qq = 0; qq < f.q; ++qq) {
      int64_t h = kk * f.q + qq, rr = h / f.l, ll = h % f.l;
      for (int64_t ss = 0; ss < f.s; ++ss) {
        int64_t row = ss * f.l + ll;
        if (row >= f.out)
          continue;
        double a = f.w2[(ll * f.s + ss) * f.r + rr];
        for (int64_t pp = 0; pp < f.p; ++pp) {
          int64_t col = kk * f.p + pp;
          if (col < f.in)
            m[row * f.in + col] += a * f.w1[(kk * f.q + qq) * f.p + pp];
        }
      }
    }
  return m;
}

/// Adds v * u to `m` [out][in].
void addLowRank(const fs::LowRankFactors &f, std::vector<double> &m) {
  for (int64_t i = 0; i < f.out; ++i)
    for (int64_t a = 0; a < f.rank; ++a) {
      double via = f.v[i * f.rank + a];
      for (int64_t j = 0; j < f.in; ++j)
        m[i * f.in + j] += via * f.u[a * f.in + j];
    }
}

std::vector<double> densify(const fs::PixelflyFactors &f, int64_t out,
                            int64_t in) {
  std::vector<double> m(out * in, 0.0);
  int64_t b = f.blockSize;
  for (size_t e = 0; e < f.layout.rows.size(); ++e)
    for (int64_t i = 0; i < b; ++i)
      for (int64_t j = 0; j < b; ++j)
        m[(f.layout.rows[e] * b + i) * in + f.layout.cols[e] * b + j] +=
            f.blocks[(e * b + i) * b + j];
  addLowRank(f.lowRank, m);
  return m;
}

//===----------------------------------------------------------------------===//
// IR construction
//===----------------------------------------------------------------------===//

/// `arith.constant dense_resource<key>` holding `data` with `shape`.
Value createWeight(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                   ArrayRef<float> data, StringRef key) {
  auto type = RankedTensorType::get(shape, b.getF32Type());
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(data);
  return arith::ConstantOp::create(
      b, loc, DenseResourceElementsAttr::get(type, key, std::move(blob)));
}

/// `type` with its last dimension replaced by `last`.
RankedTensorType withLastDim(RankedTensorType type, int64_t last) {
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = last;
  return type.clone(shape);
}

/// Elementwise sum of same-typed `terms` plus an optional `bias` broadcast
/// along the last dimension, as one linalg.generic: the bias add that the
/// raise folded into fly.linear, made explicit again (and, for Pixelfly,
/// the sum of the sparse and low-rank parts in the same loop). A single
/// term without bias is returned as it is.
Value sumWithBias(OpBuilder &b, Location loc, ArrayRef<Value> terms,
                  Value bias) {
  if (terms.size() == 1 && !bias)
    return terms.front();
  auto type = cast<RankedTensorType>(terms.front().getType());
  unsigned rank = type.getRank();
  SmallVector<Value> inputs(terms);
  AffineMap id = b.getMultiDimIdentityMap(rank);
  SmallVector<AffineMap> maps(terms.size(), id);
  if (bias) {
    inputs.push_back(bias);
    maps.push_back(AffineMap::get(rank, 0, b.getAffineDimExpr(rank - 1)));
  }
  maps.push_back(id);
  Value init =
      tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, type, inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value acc = args[0];
        for (Value arg : args.drop_front().drop_back())
          acc = arith::AddFOp::create(nb, nl, acc, arg);
        linalg::YieldOp::create(nb, nl, acc);
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

/// What a replacement built: the structured op(s), a description of the
/// factors and the numbers the remark reports.
struct Built {
  SmallVector<Operation *, 2> ops;
  /// The layer's output is their sum (before the bias).
  SmallVector<Value, 2> terms;
  std::string factors;
  int64_t params = 0;
  std::optional<double> error;
};

struct StructureLinearPattern : OpRewritePattern<LinearOp> {
  StructureLinearPattern(MLIRContext *ctx, const Config &config, bool &hadError,
                         SmallVector<Operation *> &maybeDead)
      : OpRewritePattern(ctx), config(config), hadError(hadError),
        maybeDead(maybeDead) {}

  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    // Candidates: linears in scope; others are not reported.
    bool isMlp = op->hasAttr(kMlpRole);
    if ((config.scope == Scope::Mlp && !isMlp) ||
        (config.scope == Scope::Attn && isMlp))
      return rewriter.notifyMatchFailure(op, "not in scope");
    uint64_t layerSeed = config.seed + layerIndex++;

    if (config.project &&
        (config.kind == Kind::Butterfly || config.kind == Kind::Sketch)) {
      hadError = true;
      op.emitError() << "fly-structure-linear: a dense weight cannot be "
                        "projected onto a "
                     << kindName(config.kind)
                     << " map (no closed-form projection); use init=random";
      return failure();
    }
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto yType = cast<RankedTensorType>(op.getType());
    int64_t in = xType.getShape().back(), out = yType.getShape().back();
    if (!yType.getElementType().isF32())
      return skip(rewriter, op, "not f32");
    if (failed(checkShape(rewriter, op, out, in)))
      return failure();
    std::string why;
    std::optional<DenseWeight> weight = readWeight(op.getW(), out, in, why);
    if (!weight)
      return skip(rewriter, op, why);
    if (weight->key.empty())
      weight->key = llvm::formatv("structure.{0}", inlineIndex++).str();

    rewriter.setInsertionPoint(op);
    std::string error;
    std::optional<Built> built =
        build(rewriter, op, *weight, in, out, layerSeed, error);
    if (!built) {
      hadError = true;
      op.emitError() << "fly-structure-linear: " << kindName(config.kind)
                     << " of the " << out << "x" << in
                     << " weight failed: " << error;
      return failure();
    }
    // fly.mlp, fly.mlp_id and fly.activation tell later passes which ops
    // form an MLP (fusion), so every op standing for the layer keeps them.
    for (Operation *structured : built->ops)
      structured->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    if (config.remarks)
      remark(op, *built, in, out, layerSeed);
    Value y = sumWithBias(rewriter, op.getLoc(), built->terms, op.getBias());
    maybeDead.append(weight->producers.begin(), weight->producers.end());
    rewriter.replaceOp(op, y);
    return success();
  }

private:
  /// Leaves `op` dense, saying why when remarks are on.
  LogicalResult skip(PatternRewriter &rewriter, LinearOp op,
                     const Twine &why) const {
    if (config.remarks)
      op.emitRemark() << "not structured as " << kindName(config.kind) << ": "
                      << why;
    return rewriter.notifyMatchFailure(op, why);
  }

  /// Rejects layers whose shape the structure cannot take.
  LogicalResult checkShape(PatternRewriter &rewriter, LinearOp op, int64_t out,
                           int64_t in) const {
    switch (config.kind) {
    case Kind::Monarch:
    case Kind::LowRank:
      return success();
    case Kind::Pixelfly:
      if (out % config.blockSize != 0 || in % config.blockSize != 0)
        return skip(rewriter, op,
                    llvm::formatv("{0}x{1} is not a multiple of block-size {2}",
                                  out, in, config.blockSize));
      return success();
    case Kind::Butterfly:
      if (in != out || !llvm::isPowerOf2_64(in))
        return skip(rewriter, op,
                    llvm::formatv("butterfly needs in == out == a power of "
                                  "two, the weight is {0}x{1}",
                                  out, in));
      return success();
    case Kind::Sketch:
      if (in % config.reduction != 0)
        return skip(rewriter, op,
                    llvm::formatv("input width {0} is not a multiple of "
                                  "reduction {1}",
                                  in, config.reduction));
      return success();
    }
    llvm_unreachable("unknown kind");
  }

  std::optional<Built> build(PatternRewriter &rewriter, LinearOp op,
                             const DenseWeight &weight, int64_t in, int64_t out,
                             uint64_t seed, std::string &error) const {
    switch (config.kind) {
    case Kind::Monarch:
      return buildMonarch(rewriter, op, weight, in, out, seed, error);
    case Kind::LowRank:
      return buildLowRank(rewriter, op, weight, in, out, seed, error);
    case Kind::Pixelfly:
      return buildPixelfly(rewriter, op, weight, in, out, seed, error);
    case Kind::Butterfly:
      return buildButterfly(rewriter, op, weight, in, seed);
    case Kind::Sketch:
      return buildSketch(rewriter, op, weight, in, out, seed);
    }
    llvm_unreachable("unknown kind");
  }

  std::optional<Built> buildMonarch(PatternRewriter &rewriter, LinearOp op,
                                    const DenseWeight &weight, int64_t in,
                                    int64_t out, uint64_t seed,
                                    std::string &error) const {
    fs::MonarchFactors f;
    if (config.project) {
      if (!fs::projectMonarch(weight.data.data(), out, in, config.nblocks, f,
                              error))
        return std::nullopt;
    } else {
      if (!fs::monarchShape(out, in, config.nblocks, f, error))
        return std::nullopt;
      fs::randomMonarch(f, seed);
    }
    Location loc = op.getLoc();
    auto xType = cast<RankedTensorType>(op.getX().getType());
    auto yType = cast<RankedTensorType>(op.getType());
    Value x = op.getX();
    if (f.inExt > in) {
      // MonarchLinear zero-pads x to a whole number of blocks.
      Value zero = arith::ConstantOp::create(rewriter, loc,
                                             rewriter.getF32FloatAttr(0.0f));
      x = tensor::createPadHighOp(withLastDim(xType, f.inExt), x, zero,
                                  /*nofold=*/false, loc, rewriter);
    }
    Value w1 = createWeight(rewriter, loc, {f.k, f.q, f.p}, f.w1,
                            weight.key + ".monarch.w1");
    Value w2 = createWeight(rewriter, loc, {f.l, f.s, f.r}, f.w2,
                            weight.key + ".monarch.w2");
    auto monarch = MonarchMatmulOp::create(
        rewriter, loc, withLastDim(yType, f.outExt), x, w1, w2);
    Built built;
    built.ops.push_back(monarch);
    Value y = monarch;
    if (f.outExt > out) {
      // ... and crops y to the layer's width.
      SmallVector<OpFoldResult> offsets(yType.getRank(),
                                        rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> strides(yType.getRank(),
                                        rewriter.getIndexAttr(1));
      SmallVector<OpFoldResult> sizes;
      for (int64_t d : yType.getShape())
        sizes.push_back(rewriter.getIndexAttr(d));
      y = tensor::ExtractSliceOp::create(rewriter, loc, yType, y, offsets,
                                         sizes, strides);
    }
    built.terms.push_back(y);
    built.factors = llvm::formatv("w1 {0}x{1}x{2}, w2 {3}x{4}x{5}", f.k, f.q,
                                  f.p, f.l, f.s, f.r);
    built.params = int64_t(f.w1.size() + f.w2.size());
    if (config.remarks && config.project)
      built.error =
          fs::relativeFrobeniusError(weight.data.data(), densify(f), out, in);
    return built;
  }

  /// The low-rank rank: the option, or `in / divisor` (at least 1, at most
  /// min(out, in)) when it is 0.
  int64_t rankFor(int64_t in, int64_t out, int64_t divisor,
                  int64_t minRank) const {
    if (config.rank > 0)
      return config.rank;
    return std::min(std::max(in / divisor, minRank), std::min(in, out));
  }

  /// fly.lowrank_matmul of `f` on x with weights KEY.<part>.{u,v}.
  Operation *createLowRank(PatternRewriter &rewriter, LinearOp op,
                           const fs::LowRankFactors &f, StringRef key) const {
    Location loc = op.getLoc();
    Value u =
        createWeight(rewriter, loc, {f.rank, f.in}, f.u, (key + ".u").str());
    Value v =
        createWeight(rewriter, loc, {f.out, f.rank}, f.v, (key + ".v").str());
    return LowRankMatmulOp::create(rewriter, loc, op.getType(), op.getX(), u,
                                   v);
  }

  std::optional<Built> buildLowRank(PatternRewriter &rewriter, LinearOp op,
                                    const DenseWeight &weight, int64_t in,
                                    int64_t out, uint64_t seed,
                                    std::string &error) const {
    fs::LowRankFactors f;
    int64_t rank = rankFor(in, out, /*divisor=*/8, /*minRank=*/1);
    if (config.project) {
      if (!fs::projectLowRank(weight.data.data(), out, in, rank, f, error))
        return std::nullopt;
    } else {
      if (rank < 1 || rank > std::min(in, out)) {
        error = llvm::formatv("rank {0} is not in [1, min(out, in) = {1}]",
                              rank, std::min(in, out));
        return std::nullopt;
      }
      f.rank = rank;
      f.in = in;
      f.out = out;
      fs::randomLowRank(f, seed);
    }
    Built built;
    built.ops.push_back(
        createLowRank(rewriter, op, f, weight.key + ".lowrank"));
    built.terms.push_back(built.ops.back()->getResult(0));
    built.factors = llvm::formatv("rank {0}", f.rank);
    built.params = int64_t(f.u.size() + f.v.size());
    if (config.remarks && config.project) {
      std::vector<double> m(out * in, 0.0);
      addLowRank(f, m);
      built.error = fs::relativeFrobeniusError(weight.data.data(), m, out, in);
    }
    return built;
  }

  std::optional<Built> buildPixelfly(PatternRewriter &rewriter, LinearOp op,
                                     const DenseWeight &weight, int64_t in,
                                     int64_t out, uint64_t seed,
                                     std::string &error) const {
    // The base pattern has as many cells as the smaller dimension has
    // blocks (rounded down to a power of two) and all its butterfly
    // factors, so every block row and column keeps about log2 of them.
    int64_t b = config.blockSize;
    int64_t butterflySize =
        int64_t(llvm::bit_floor(uint64_t(std::min(out, in) / b)));
    int64_t nFactors = llvm::Log2_64(uint64_t(butterflySize));
    int64_t rank = rankFor(in, out, /*divisor=*/16, /*minRank=*/0);
    fs::PixelflyFactors f;
    if (config.project) {
      if (!fs::projectPixelfly(weight.data.data(), out, in, b, butterflySize,
                               nFactors, rank, f, error))
        return std::nullopt;
    } else {
      error = fs::validateFlatBlockButterflyArgs(out, in, b, butterflySize,
                                                 nFactors, /*globalSize=*/0);
      if (!error.empty())
        return std::nullopt;
      if (rank < 0 || rank > std::min(in, out)) {
        error = llvm::formatv("rank {0} is not in [0, min(out, in) = {1}]",
                              rank, std::min(in, out));
        return std::nullopt;
      }
      f.layout =
          fs::flatBlockButterflyLayout(out, in, b, butterflySize, nFactors);
      f.blockSize = b;
      f.blocks.resize(f.layout.rows.size() * b * b);
      // Blocks like a dense layer's N(0, 1/in) entries on the layout.
      fs::RandomStream rng(seed);
      for (float &x : f.blocks)
        x = float(rng.normal() / std::sqrt(double(in)));
      f.lowRank.rank = rank;
      f.lowRank.in = in;
      f.lowRank.out = out;
      if (rank > 0)
        fs::randomLowRank(f.lowRank, seed + 0x9e3779b9);
    }
    Location loc = op.getLoc();
    int64_t nnz = int64_t(f.layout.rows.size());
    Value blocks = createWeight(rewriter, loc, {nnz, b, b}, f.blocks,
                                weight.key + ".pixelfly.blocks");
    Built built;
    built.ops.push_back(BlockSparseMatmulOp::create(
        rewriter, loc, op.getType(), op.getX(), blocks,
        rewriter.getDenseI64ArrayAttr(f.layout.rows),
        rewriter.getDenseI64ArrayAttr(f.layout.cols)));
    if (f.lowRank.rank > 0)
      built.ops.push_back(
          createLowRank(rewriter, op, f.lowRank, weight.key + ".pixelfly"));
    for (Operation *part : built.ops)
      built.terms.push_back(part->getResult(0));
    built.factors = llvm::formatv(
        "{0} of {1} blocks of {2}x{2} (butterfly size {3}, {4} factors), "
        "rank {5}",
        nnz, (out / b) * (in / b), b, butterflySize, nFactors, f.lowRank.rank);
    built.params =
        int64_t(f.blocks.size() + f.lowRank.u.size() + f.lowRank.v.size());
    if (config.remarks && config.project)
      built.error = fs::relativeFrobeniusError(weight.data.data(),
                                               densify(f, out, in), out, in);
    return built;
  }

  /// Random 2x2 rotations: every factor, and so the product, is orthogonal
  /// and keeps the activations' scale.
  std::optional<Built> buildButterfly(PatternRewriter &rewriter, LinearOp op,
                                      const DenseWeight &weight, int64_t n,
                                      uint64_t seed) const {
    int64_t levels = llvm::Log2_64(uint64_t(n));
    std::vector<float> twiddle(levels * (n / 2) * 4);
    fs::RandomStream rng(seed);
    for (size_t t = 0; t < twiddle.size(); t += 4) {
      double angle = 2 * M_PI * rng.uniform();
      float c = float(std::cos(angle)), s = float(std::sin(angle));
      twiddle[t] = c;
      twiddle[t + 1] = -s;
      twiddle[t + 2] = s;
      twiddle[t + 3] = c;
    }
    Location loc = op.getLoc();
    Value t = createWeight(rewriter, loc, {levels, n / 2, 2, 2}, twiddle,
                           weight.key + ".butterfly.twiddle");
    Built built;
    built.ops.push_back(
        ButterflyMatmulOp::create(rewriter, loc, op.getType(), op.getX(), t));
    built.terms.push_back(built.ops.back()->getResult(0));
    built.factors = llvm::formatv("{0} factors", levels);
    built.params = int64_t(twiddle.size());
    return built;
  }

  std::optional<Built> buildSketch(PatternRewriter &rewriter, LinearOp op,
                                   const DenseWeight &weight, int64_t in,
                                   int64_t out, uint64_t seed) const {
    int64_t r = config.reduction, rows = in / r;
    // The largest tiles that divide the reduced width and the output width.
    auto largestPow2Divisor = [](int64_t v, int64_t cap) {
      int64_t p = 1;
      while (p * 2 <= cap && v % (p * 2) == 0)
        p *= 2;
      return p;
    };
    int64_t blockK = largestPow2Divisor(rows, 32);
    int64_t blockN = largestPow2Divisor(out, 64);
    int64_t vec = std::min<int64_t>(8, blockK);
    fs::RandomStream rng(seed);
    SmallVector<int64_t, 4> seeds;
    for (int i = 0; i < 4; ++i)
      seeds.push_back(int64_t(rng.nextBits() % 1024));
    // N(0, 1/in): each reduced input sums r inputs, so y keeps the scale of
    // a dense layer with N(0, 1/in) entries.
    std::vector<float> w(rows * out);
    for (float &x : w)
      x = float(rng.normal() / std::sqrt(double(in)));
    Location loc = op.getLoc();
    Value wv =
        createWeight(rewriter, loc, {rows, out}, w, weight.key + ".sketch.w");
    auto sketch = SketchMatmulOp::create(rewriter, loc, op.getType(), op.getX(),
                                         wv, r, blockK, blockN, vec,
                                         rewriter.getDenseI64ArrayAttr(seeds));
    Built built;
    built.ops.push_back(sketch);
    built.terms.push_back(sketch);
    built.factors = llvm::formatv("reduction {0}, block_k {1}, block_n {2}", r,
                                  blockK, blockN);
    built.params = int64_t(w.size());
    return built;
  }

  /// "replaced linear 64x256 (mlp up #0) by monarch (w1 .., w2 ..):
  /// projection error 1.2e-07, parameters 0.3125 of dense (5120 / 16384)".
  void remark(LinearOp op, const Built &built, int64_t in, int64_t out,
              uint64_t seed) const {
    InFlightDiagnostic diag = op.emitRemark();
    diag << "replaced linear " << in << "x" << out;
    if (auto role = op->getAttrOfType<StringAttr>(kMlpRole)) {
      diag << " (mlp " << role.getValue();
      if (auto id = op->getAttrOfType<IntegerAttr>("fly.mlp_id"))
        diag << " #" << id.getInt();
      diag << ")";
    }
    diag << " by " << kindName(config.kind) << " (" << built.factors << "): ";
    if (built.error)
      diag << "projection error " << llvm::formatv("{0:e2}", *built.error);
    else
      diag << "random init (seed " << seed << ")";
    diag << ", parameters "
         << llvm::formatv("{0:f4}", double(built.params) / double(in * out))
         << " of dense (" << built.params << " / " << in * out << ")";
  }

  const Config &config;
  bool &hadError;
  SmallVector<Operation *> &maybeDead;
  /// Program-order index of the next linear in scope (its seed offset).
  mutable uint64_t layerIndex = 0;
  /// Names the resources of weights that had none (inline dense).
  mutable int64_t inlineIndex = 0;
};

struct FlyStructureLinearPass
    : mlir::fly::impl::FlyStructureLinearBase<FlyStructureLinearPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<Config> config = parseOptions();
    if (!config)
      return signalPassFailure();

    bool hadError = false;
    SmallVector<Operation *> maybeDead;
    RewritePatternSet patterns(&getContext());
    patterns.add<StructureLinearPattern>(&getContext(), *config, hadError,
                                         maybeDead);
    // One walk in program order: layer seeds follow program order and the
    // new ops are never candidates again.
    walkAndApplyPatterns(getOperation(), std::move(patterns));

    // Erase the dense weights (and their transposes) that nothing reads any
    // more. A weight shared by several layers appears several times; sweep
    // until nothing changes so that a constant goes once its last
    // transpose has gone.
    llvm::SmallPtrSet<Operation *, 16> erased;
    for (bool changed = true; changed;) {
      changed = false;
      for (Operation *op : maybeDead)
        if (!erased.contains(op) && op->use_empty()) {
          erased.insert(op);
          op->erase();
          changed = true;
        }
    }
    if (hadError)
      signalPassFailure();
  }

  /// Parses the string options; emits an error and returns nullopt on a bad
  /// value.
  std::optional<Config> parseOptions() {
    Config c;
    auto fail = [&](const Twine &what) {
      getOperation()->emitError() << "fly-structure-linear: " << what;
      return std::nullopt;
    };
    std::optional<Kind> k = llvm::StringSwitch<std::optional<Kind>>(kind)
                                .Case("monarch", Kind::Monarch)
                                .Case("lowrank", Kind::LowRank)
                                .Case("pixelfly", Kind::Pixelfly)
                                .Case("butterfly", Kind::Butterfly)
                                .Case("sketch", Kind::Sketch)
                                .Default(std::nullopt);
    if (!k)
      return fail("unknown kind '" + kind +
                  "' (expected monarch, lowrank, pixelfly, butterfly or "
                  "sketch)");
    std::optional<Scope> s = llvm::StringSwitch<std::optional<Scope>>(scope)
                                 .Case("mlp", Scope::Mlp)
                                 .Case("attn", Scope::Attn)
                                 .Case("all", Scope::All)
                                 .Default(std::nullopt);
    if (!s)
      return fail("unknown scope '" + scope + "' (expected mlp, attn or all)");
    if (init != "project" && init != "random")
      return fail("unknown init '" + init + "' (expected project or random)");
    if (nblocks < 1 || blockSize < 1 || reduction < 1 || rank < 0)
      return fail("nblocks, block-size and reduction must be >= 1 and rank "
                  ">= 0");
    c.kind = *k;
    c.scope = *s;
    c.project = init == "project";
    c.nblocks = nblocks;
    c.rank = rank;
    c.blockSize = blockSize;
    c.reduction = reduction;
    c.seed = seed;
    c.remarks = remarks;
    return c;
  }
};
} // namespace
