//===- FlyOps.cpp - fly op verifiers ----------------------------*- C++ -*-===//
//
// Verifiers check every shape relation stated in the op descriptions. Each
// message names both sides of the failed relation, so a user sees which
// operand disagrees with which.
//
//===----------------------------------------------------------------------===//

#include "fly/Dialect/Fly/IR/FlyOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/InterleavedRange.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::fly;

namespace {
RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// All operands and results must share one element type.
LogicalResult verifySameElementType(Operation *op) {
  Type expected = tensorType(op->getOperand(0)).getElementType();
  for (OpOperand &operand : op->getOpOperands()) {
    Type actual = tensorType(operand.get()).getElementType();
    if (actual != expected)
      return op->emitOpError("expected every operand to have element type ")
             << expected << " (that of operand #0), but operand #"
             << operand.getOperandNumber() << " has " << actual;
  }
  Type result = tensorType(op->getResult(0)).getElementType();
  if (result != expected)
    return op->emitOpError("expected result element type ")
           << result << " to equal the operand element type " << expected;
  return success();
}

/// A weight operand must have exactly `rank` dimensions.
LogicalResult verifyRank(Operation *op, StringRef name, Value v, int64_t rank) {
  if (tensorType(v).getRank() != rank)
    return op->emitOpError("expected ")
           << name << " to have rank " << rank << ", but it has rank "
           << tensorType(v).getRank() << " (" << v.getType() << ")";
  return success();
}

/// Linear maps transform the last dimension of x: [..., n] -> y: [..., m].
/// Checks ranks, batch dimensions and that m equals `expectedOut`.
LogicalResult verifyLinearMap(Operation *op, Value x, Value y,
                              int64_t expectedOut, StringRef outWhat) {
  RankedTensorType xt = tensorType(x), yt = tensorType(y);
  if (xt.getRank() < 1)
    return op->emitOpError("expected input x to have rank >= 1, but it is ")
           << xt;
  if (yt.getRank() != xt.getRank())
    return op->emitOpError("expected result rank ")
           << yt.getRank() << " to equal input rank " << xt.getRank();
  for (int64_t i = 0, e = xt.getRank() - 1; i < e; ++i)
    if (xt.getDimSize(i) != yt.getDimSize(i))
      return op->emitOpError("expected result batch dimension #")
             << i << " (" << yt.getDimSize(i)
             << ") to equal input batch dimension #" << i << " ("
             << xt.getDimSize(i) << ")";
  if (yt.getShape().back() != expectedOut)
    return op->emitOpError("expected result last dimension (")
           << yt.getShape().back() << ") to equal " << outWhat << " ("
           << expectedOut << ")";
  return success();
}

/// Shapes and attributes shared by every attention op.
LogicalResult verifyAttentionShapes(Operation *op, Value q, Value k, Value v,
                                    Value o, bool causal,
                                    std::optional<double> scale) {
  if (failed(verifyRank(op, "q", q, 4)) || failed(verifyRank(op, "k", k, 4)) ||
      failed(verifyRank(op, "v", v, 4)) ||
      failed(verifyRank(op, "the result", o, 4)))
    return failure();
  ArrayRef<int64_t> qs = tensorType(q).getShape(),
                    ks = tensorType(k).getShape(),
                    vs = tensorType(v).getShape(),
                    os = tensorType(o).getShape();
  const char *dimNames[] = {"batch", "head"};
  for (int i = 0; i < 2; ++i) {
    if (ks[i] != qs[i])
      return op->emitOpError("expected k ")
             << dimNames[i] << " dimension (" << ks[i] << ") to equal q "
             << dimNames[i] << " dimension (" << qs[i] << ")";
    if (vs[i] != qs[i])
      return op->emitOpError("expected v ")
             << dimNames[i] << " dimension (" << vs[i] << ") to equal q "
             << dimNames[i] << " dimension (" << qs[i] << ")";
  }
  if (ks[3] != qs[3])
    return op->emitOpError("expected k head dim (")
           << ks[3] << ") to equal q head dim (" << qs[3] << ")";
  if (vs[2] != ks[2])
    return op->emitOpError("expected v sequence length (")
           << vs[2] << ") to equal k sequence length (" << ks[2] << ")";
  SmallVector<int64_t> expected = {qs[0], qs[1], qs[2], vs[3]};
  if (os != ArrayRef<int64_t>(expected))
    return op->emitOpError("expected result shape [B, H, T, Dv] = [")
           << llvm::interleaved(expected) << "] from q and v, but it is "
           << o.getType();
  if (causal && ks[2] < qs[2])
    return op->emitOpError("causal attention needs key length (")
           << ks[2] << ") >= query length (" << qs[2]
           << "), else some queries see no key";
  if (scale && !(std::isfinite(*scale) && *scale > 0.0))
    return op->emitOpError("expected a finite positive scale, but it is ")
           << *scale;
  return success();
}

/// Local windows are defined on a square score matrix.
LogicalResult verifyWindow(Operation *op, Value q, Value k, int64_t window) {
  if (window <= 0)
    return op->emitOpError("expected window > 0, but it is ") << window;
  int64_t t = tensorType(q).getDimSize(2), s = tensorType(k).getDimSize(2);
  if (s != t)
    return op->emitOpError("expected key length (")
           << s << ") to equal query length (" << t << ") for a local window";
  return success();
}

/// proj: [m, D], one random feature per row.
LogicalResult verifyProjection(Operation *op, Value q, Value proj) {
  if (failed(verifyRank(op, "proj", proj, 2)))
    return failure();
  RankedTensorType pt = tensorType(proj);
  int64_t d = tensorType(q).getDimSize(3);
  if (pt.getDimSize(1) != d)
    return op->emitOpError("expected proj width (")
           << pt.getDimSize(1) << ") to equal the head dim (" << d << ")";
  if (pt.getDimSize(0) < 1)
    return op->emitOpError("expected at least one random feature, but proj is ")
           << pt;
  return success();
}

std::optional<double> scaleValue(FloatAttr attr) {
  if (!attr)
    return std::nullopt;
  return attr.getValueAsDouble();
}

double defaultScale(Value q) {
  return 1.0 / std::sqrt(double(tensorType(q).getDimSize(3)));
}
} // namespace

//===----------------------------------------------------------------------===//
// Linear maps
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyRank(*this, "weight w", getW(), 2)))
    return failure();
  ArrayRef<int64_t> w = getW().getType().getShape();
  int64_t n = getX().getType().getShape().back();
  if (w[1] != n)
    return emitOpError("expected weight w [m, n] to have n = ")
           << n << " (the input's last dimension), but w is "
           << getW().getType();
  if (Value bias = getBias()) {
    if (failed(verifyRank(*this, "bias", bias, 1)))
      return failure();
    if (tensorType(bias).getDimSize(0) != w[0])
      return emitOpError("expected bias size (")
             << tensorType(bias).getDimSize(0) << ") to equal weight rows m ("
             << w[0] << ")";
  }
  return verifyLinearMap(*this, getX(), getY(), w[0], "weight rows m");
}

LogicalResult MonarchMatmulOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyRank(*this, "w1", getW1(), 3)) ||
      failed(verifyRank(*this, "w2", getW2(), 3)))
    return failure();
  ArrayRef<int64_t> w1 = getW1().getType().getShape(),
                    w2 = getW2().getType().getShape();
  int64_t k = w1[0], q = w1[1], p = w1[2], l = w2[0], s = w2[1], r = w2[2];
  int64_t n = getX().getType().getShape().back();
  if (k * p != n)
    return emitOpError("expected w1 blocks * block input size (k*p = ")
           << k << "*" << p << " = " << k * p
           << ") to equal the input's last dimension n (" << n << ")";
  if (l * r != k * q)
    return emitOpError("expected w2 (l*r = ")
           << l << "*" << r << " = " << l * r
           << ") to consume w1's output (k*q = " << k << "*" << q << " = "
           << k * q << ")";
  return verifyLinearMap(*this, getX(), getY(), l * s, "l*s from w2");
}

LogicalResult LowRankMatmulOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyRank(*this, "u", getU(), 2)) ||
      failed(verifyRank(*this, "v", getV(), 2)))
    return failure();
  ArrayRef<int64_t> u = getU().getType().getShape(),
                    v = getV().getType().getShape();
  int64_t n = getX().getType().getShape().back();
  if (u[1] != n)
    return emitOpError("expected u [r, n] to have n = ")
           << n << " (the input's last dimension), but u is "
           << getU().getType();
  if (v[1] != u[0])
    return emitOpError("expected v [m, r] to have r = ")
           << u[0] << " (u's rows), but v is " << getV().getType();
  return verifyLinearMap(*this, getX(), getY(), v[0], "v's rows m");
}

LogicalResult BlockSparseMatmulOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyRank(*this, "blocks", getBlocks(), 3)))
    return failure();
  ArrayRef<int64_t> bs = getBlocks().getType().getShape();
  if (bs[1] != bs[2] || bs[1] < 1)
    return emitOpError("expected square blocks [nnz, b, b], but blocks is ")
           << getBlocks().getType();
  int64_t nnz = bs[0], b = bs[1];
  ArrayRef<int64_t> rows = getRows(), cols = getCols();
  if (int64_t(rows.size()) != nnz || int64_t(cols.size()) != nnz)
    return emitOpError("expected one block coordinate per block: rows has ")
           << rows.size() << " and cols has " << cols.size()
           << " entries, but there are " << nnz << " blocks";
  int64_t n = getX().getType().getShape().back();
  int64_t m = getY().getType().getShape().back();
  if (n % b != 0)
    return emitOpError("expected input width (")
           << n << ") to be a multiple of the block size (" << b << ")";
  if (m % b != 0)
    return emitOpError("expected output width (")
           << m << ") to be a multiple of the block size (" << b << ")";
  llvm::DenseSet<std::pair<int64_t, int64_t>> seen;
  for (int64_t e = 0; e < nnz; ++e) {
    if (rows[e] < 0 || rows[e] >= m / b)
      return emitOpError("block #")
             << e << " has row " << rows[e] << " outside [0, " << m / b
             << ") (output width " << m << " / block size " << b << ")";
    if (cols[e] < 0 || cols[e] >= n / b)
      return emitOpError("block #")
             << e << " has column " << cols[e] << " outside [0, " << n / b
             << ") (input width " << n << " / block size " << b << ")";
    if (!seen.insert({rows[e], cols[e]}).second)
      return emitOpError("block #") << e << " repeats the coordinates ("
                                    << rows[e] << ", " << cols[e] << ")";
  }
  return verifyLinearMap(*this, getX(), getY(), m, "the output width");
}

LogicalResult ButterflyMatmulOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyRank(*this, "twiddle", getTwiddle(), 4)))
    return failure();
  int64_t n = getX().getType().getShape().back();
  if (n < 2 || !llvm::isPowerOf2_64(n))
    return emitOpError("expected the input width (")
           << n << ") to be a power of two >= 2";
  int64_t levels = llvm::Log2_64(n);
  SmallVector<int64_t> expected = {levels, n / 2, 2, 2};
  if (getTwiddle().getType().getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("expected twiddle shape [log2 n, n/2, 2, 2] = [")
           << llvm::interleaved(expected) << "] for n = " << n << ", but it is "
           << getTwiddle().getType();
  return verifyLinearMap(*this, getX(), getY(), n, "the input width");
}

LogicalResult SketchMatmulOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyRank(*this, "w", getW(), 2)))
    return failure();
  int64_t r = getReduction(), bk = getBlockK(), bn = getBlockN(),
          vec = getVec();
  if (r < 1 || bk < 1 || bn < 1 || vec < 1)
    return emitOpError("expected reduction, block_k, block_n and vec >= 1, "
                       "but they are ")
           << r << ", " << bk << ", " << bn << ", " << vec;
  ArrayRef<int64_t> seeds = getSeeds();
  if (seeds.size() != 4)
    return emitOpError("expected 4 seeds (r0, r1, r2, r3), but got ")
           << seeds.size();
  if (llvm::any_of(seeds, [](int64_t s) { return s < 0; }))
    return emitOpError("expected non-negative seeds, but got [")
           << llvm::interleaved(seeds) << "]";
  int64_t k = getX().getType().getShape().back();
  if (k % (r * bk) != 0)
    return emitOpError("expected input width K (")
           << k << ") divisible by reduction * block_k (" << r << "*" << bk
           << " = " << r * bk << ")";
  ArrayRef<int64_t> w = getW().getType().getShape();
  if (w[0] != k / r)
    return emitOpError("expected w rows (")
           << w[0] << ") to equal K / reduction (" << k << "/" << r << " = "
           << k / r << ")";
  if (w[1] % bn != 0)
    return emitOpError("expected w columns N (")
           << w[1] << ") divisible by block_n (" << bn << ")";
  return verifyLinearMap(*this, getX(), getY(), w[1], "w's columns N");
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyAttentionShapes(*this, getQ(), getK(), getV(), getO(),
                                   getCausal(), scaleValue(getScaleAttr()))))
    return failure();
  Value mask = getMask();
  if (!mask)
    return success();
  ArrayRef<int64_t> ms = tensorType(mask).getShape();
  if (ms.size() > 4)
    return emitOpError("expected mask rank <= 4, but it is ") << ms.size();
  ArrayRef<int64_t> qs = getQ().getType().getShape();
  SmallVector<int64_t> scores = {qs[0], qs[1], qs[2],
                                 getK().getType().getDimSize(2)};
  for (size_t i = 0; i < ms.size(); ++i) {
    int64_t md = ms[ms.size() - 1 - i], sd = scores[3 - i];
    if (md != 1 && md != sd)
      return emitOpError("expected mask ")
             << mask.getType() << " to broadcast to the scores [B, H, T, S] = ["
             << llvm::interleaved(scores) << "], but mask dimension "
             << ms.size() - 1 - i << " (" << md << ") is neither 1 nor " << sd;
  }
  return success();
}

double AttentionOp::getScaleOrDefault() {
  return scaleValue(getScaleAttr()).value_or(defaultScale(getQ()));
}

LogicalResult LocalAttentionOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyAttentionShapes(*this, getQ(), getK(), getV(), getO(),
                                   getCausal(), scaleValue(getScaleAttr()))))
    return failure();
  return verifyWindow(*this, getQ(), getK(), getWindow());
}

double LocalAttentionOp::getScaleOrDefault() {
  return scaleValue(getScaleAttr()).value_or(defaultScale(getQ()));
}

LogicalResult PerformerAttentionOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyAttentionShapes(*this, getQ(), getK(), getV(), getO(),
                                   getCausal(), scaleValue(getScaleAttr()))))
    return failure();
  return verifyProjection(*this, getQ(), getProj());
}

double PerformerAttentionOp::getScaleOrDefault() {
  return scaleValue(getScaleAttr()).value_or(defaultScale(getQ()));
}

LogicalResult ScatterbrainAttentionOp::verify() {
  if (failed(verifySameElementType(*this)) ||
      failed(verifyAttentionShapes(*this, getQ(), getK(), getV(), getO(),
                                   getCausal(), scaleValue(getScaleAttr()))) ||
      failed(verifyWindow(*this, getQ(), getK(), getWindow())))
    return failure();
  return verifyProjection(*this, getQ(), getProj());
}

double ScatterbrainAttentionOp::getScaleOrDefault() {
  return scaleValue(getScaleAttr()).value_or(defaultScale(getQ()));
}

#define GET_OP_CLASSES
#include "fly/Dialect/Fly/IR/FlyOps.cpp.inc"
