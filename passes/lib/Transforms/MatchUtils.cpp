//===- MatchUtils.cpp - shared matchers of the detection passes -*- C++ -*-===//

#include "MatchUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tosa/IR/TosaOps.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::fly::detail;

namespace {
/// True if `map` has exactly the dimension results `dims`, in order.
bool hasDims(AffineMap map, ArrayRef<unsigned> dims) {
  if (map.getNumResults() != dims.size())
    return false;
  for (auto [expr, dim] : llvm::zip(map.getResults(), dims)) {
    auto d = dyn_cast<AffineDimExpr>(expr);
    if (!d || d.getPosition() != dim)
      return false;
  }
  return true;
}

bool isFlyElementType(Type t) { return t.isF32() || t.isF16() || t.isBF16(); }
} // namespace

FailureOr<Contraction> mlir::fly::detail::matchContraction(linalg::LinalgOp op,
                                                           std::string &why) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      !op.hasPureTensorSemantics()) {
    why = "not a two-input contraction on tensors";
    return failure();
  }
  if (!linalg::isaContractionOpInterface(op)) {
    why = "body or maps are not a contraction";
    return failure();
  }
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.size() != 1 || dims->n.size() != 1 ||
      dims->k.size() != 1) {
    why = "needs exactly one m, n and k dimension";
    return failure();
  }
  Contraction c;
  c.op = op;
  c.lhs = op.getDpsInputOperand(0)->get();
  c.rhs = op.getDpsInputOperand(1)->get();
  c.init = op.getDpsInitOperand(0)->get();
  c.numBatch = dims->batch.size();

  SmallVector<unsigned> b(dims->batch.begin(), dims->batch.end());
  auto with = [&](unsigned x, unsigned y) {
    SmallVector<unsigned> r = b;
    r.push_back(x);
    r.push_back(y);
    return r;
  };
  unsigned m = dims->m[0], n = dims->n[0], k = dims->k[0];
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (!hasDims(maps[2], with(m, n))) {
    why = "result is not indexed [batch.., m, n]";
    return failure();
  }
  if (hasDims(maps[0], with(k, m)))
    c.lhsTransposed = true;
  else if (!hasDims(maps[0], with(m, k))) {
    why = "lhs is not indexed [batch.., m, k] or [batch.., k, m]";
    return failure();
  }
  if (hasDims(maps[1], with(n, k)))
    c.rhsTransposed = true;
  else if (!hasDims(maps[1], with(k, n))) {
    why = "rhs is not indexed [batch.., k, n] or [batch.., n, k]";
    return failure();
  }

  Type element;
  for (Value v : {c.lhs, c.rhs, c.init}) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape() || !isFlyElementType(t.getElementType())) {
      why = "operands must be static tensors of f32, f16 or bf16";
      return failure();
    }
    if (element && t.getElementType() != element) {
      why = "operands have different element types";
      return failure();
    }
    element = t.getElementType();
  }
  return c;
}

bool mlir::fly::detail::isZeroTensor(Value init) {
  if (auto fill = init.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
  return matchPattern(init, m_AnyZeroFloat());
}

Value mlir::fly::detail::stripLayoutOps(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto t = dyn_cast<linalg::TransposeOp>(def))
      v = t.getInput();
    else if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp, tensor::CastOp,
                 tosa::ReshapeOp, tosa::TransposeOp>(def))
      v = def->getOperand(0);
    else
      break;
  }
  return v;
}

bool mlir::fly::detail::isConstantWeight(Value v) {
  return matchPattern(stripLayoutOps(v), m_Constant());
}

std::optional<double> mlir::fly::detail::getScalarConstant(Value v) {
  FloatAttr attr;
  if (!isa<FloatType>(v.getType()) || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  return attr.getValueAsDouble();
}

std::optional<double> mlir::fly::detail::getSplatConstant(Value v) {
  if (std::optional<double> scalar = getScalarConstant(v))
    return scalar;
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

bool mlir::fly::detail::isZeroConstant(Value v) {
  return matchPattern(v, m_Zero()) || matchPattern(v, m_AnyZeroFloat());
}

bool mlir::fly::detail::isFlyTensorType(Type t) {
  auto tensor = dyn_cast<RankedTensorType>(t);
  return tensor && tensor.hasStaticShape() &&
         isFlyElementType(tensor.getElementType());
}

bool mlir::fly::detail::isBatchReshape(Value v) {
  auto reshape = v.getDefiningOp<tosa::ReshapeOp>();
  if (!reshape)
    return false;
  auto in = dyn_cast<RankedTensorType>(reshape.getInput1().getType());
  auto out = dyn_cast<RankedTensorType>(reshape.getType());
  return in && out && in.getRank() >= 2 && out.getRank() >= 2 &&
         in.getShape().take_back(2) == out.getShape().take_back(2);
}

bool mlir::fly::detail::dropsOnlyDim(AffineMap map, unsigned rank,
                                     unsigned dim) {
  if (map.getNumDims() != rank)
    return false;
  SmallVector<unsigned> kept;
  for (unsigned d = 0; d < rank; ++d)
    if (d != dim)
      kept.push_back(d);
  return hasDims(map, kept);
}

void RemarkLog::emit(
    Operation *root,
    function_ref<std::string(Operation *, StringRef)> describe) {
  root->walk([&](Operation *op) {
    if (auto it = raisedOps.find(op); it != raisedOps.end())
      op->emitRemark() << describe(op, it->second);
    if (auto it = rejectedOps.find(op); it != rejectedOps.end())
      op->emitRemark() << rejectPrefix << it->second;
    if (auto it = notes.find(op); it != notes.end())
      op->emitRemark() << it->second;
  });
}

LogicalResult mlir::fly::detail::reject(PatternRewriter &rewriter,
                                        Operation *op, RemarkLog *log,
                                        const Twine &why) {
  if (log)
    log->rejected(op, why);
  return rewriter.notifyMatchFailure(op, why);
}

LogicalResult mlir::fly::detail::applyRaisePatterns(
    Operation *root, RewritePatternSet &&patterns, RemarkLog *log) {
  GreedyRewriteConfig config;
  config.enableFolding(false).enableConstantCSE(false);
  config.setRegionSimplificationLevel(GreedySimplifyRegionLevel::Disabled);
  config.setListener(log);
  return applyPatternsGreedily(root, std::move(patterns), config);
}
