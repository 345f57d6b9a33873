//===- Layers.cpp - Transformer building blocks in plain linalg -*- C++ -*-===//

#include "fly/Models/Layers.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace ::fly::models;

namespace {
ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

std::string letters(int64_t rank) {
  return std::string("abcdefgh").substr(0, rank);
}
} // namespace

Value LayerBuilder::addBias(Value x, Value bias) {
  return generic("mn,n->mn", {x, bias}, empty(shapeOf(x)),
                 [](OpBuilder &b, Location l, ValueRange a) -> Value {
                   return arith::AddFOp::create(b, l, a[0], a[1]);
                 });
}

Value LayerBuilder::add(Value a, Value b) {
  std::string s = letters(shapeOf(a).size());
  return generic(s + "," + s + "->" + s, {a, b}, empty(shapeOf(a)),
                 [](OpBuilder &nb, Location l, ValueRange v) -> Value {
                   return arith::AddFOp::create(nb, l, v[0], v[1]);
                 });
}

Value LayerBuilder::conv1d(Value x, Value w, Value bias) {
  return addBias(matmul(x, w), bias);
}

Value LayerBuilder::linear(Value x, Value w, Value bias) {
  return addBias(matmul(x, transpose(w, {1, 0})), bias);
}

Value LayerBuilder::elementwise(Value x, mlir::fly::detail::GenericBody body) {
  std::string s = letters(shapeOf(x).size());
  return generic(s + "->" + s, {x}, empty(shapeOf(x)), body);
}

Value LayerBuilder::layerNorm(Value x, Value gamma, Value beta, double eps) {
  int64_t rows = shapeOf(x)[0], cols = shapeOf(x)[1];
  auto c = [](OpBuilder &b, Location l, double v) -> Value {
    return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
  };
  auto sumBody = [](OpBuilder &b, Location l, ValueRange a) -> Value {
    return arith::AddFOp::create(b, l, a[0], a[1]);
  };
  Value sum = generic("mn->m", {x}, filled({rows}, 0.0), sumBody);
  Value mean =
      generic("m->m", {sum}, empty({rows}),
              [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                return arith::DivFOp::create(b, l, a[0], c(b, l, double(cols)));
              });
  Value centered = generic("mn,m->mn", {x, mean}, empty({rows, cols}),
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::SubFOp::create(b, l, a[0], a[1]);
                           });
  Value sq = generic("mn->m", {centered}, filled({rows}, 0.0),
                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                       Value p = arith::MulFOp::create(b, l, a[0], a[0]);
                       return arith::AddFOp::create(b, l, a[1], p);
                     });
  Value invStd =
      generic("m->m", {sq}, empty({rows}),
              [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                Value var =
                    arith::DivFOp::create(b, l, a[0], c(b, l, double(cols)));
                Value shifted = arith::AddFOp::create(b, l, var, c(b, l, eps));
                return math::RsqrtOp::create(b, l, shifted);
              });
  return generic("mn,m,n,n->mn", {centered, invStd, gamma, beta},
                 empty({rows, cols}),
                 [](OpBuilder &b, Location l, ValueRange a) -> Value {
                   Value n = arith::MulFOp::create(b, l, a[0], a[1]);
                   Value s = arith::MulFOp::create(b, l, n, a[2]);
                   return arith::AddFOp::create(b, l, s, a[3]);
                 });
}

Value LayerBuilder::geluTanh(Value x) {
  return elementwise(x, [](OpBuilder &b, Location l, ValueRange a) -> Value {
    auto c = [&](double v) -> Value {
      return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
    };
    Value v = a[0];
    Value cube =
        arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, v, v), v);
    Value inner = arith::AddFOp::create(
        b, l, v, arith::MulFOp::create(b, l, cube, c(0.044715)));
    Value t = math::TanhOp::create(
        b, l, arith::MulFOp::create(b, l, inner, c(std::sqrt(2.0 / M_PI))));
    Value onePlus = arith::AddFOp::create(b, l, t, c(1.0));
    return arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, v, c(0.5)),
                                 onePlus);
  });
}

Value LayerBuilder::geluErf(Value x) {
  return elementwise(x, [](OpBuilder &b, Location l, ValueRange a) -> Value {
    auto c = [&](double v) -> Value {
      return arith::ConstantOp::create(b, l, b.getF32FloatAttr(v));
    };
    Value v = a[0];
    Value e =
        math::ErfOp::create(b, l, arith::MulFOp::create(b, l, v, c(M_SQRT1_2)));
    Value onePlus = arith::AddFOp::create(b, l, e, c(1.0));
    return arith::MulFOp::create(b, l, arith::MulFOp::create(b, l, v, c(0.5)),
                                 onePlus);
  });
}

Value LayerBuilder::attention(Value q, Value k, Value v, int64_t batch,
                              int64_t seq, int64_t heads, bool causal) {
  int64_t d = shapeOf(q)[1], hd = d / heads;
  // [B*T, D] -> [B, T, H, Dh] -> [B, H, T, Dh] -> [B*H, T, Dh].
  auto splitHeads = [&](Value x) {
    Value x4 = reshape(x, {batch, seq, heads, hd});
    return reshape(transpose(x4, {0, 2, 1, 3}), {batch * heads, seq, hd});
  };
  Value q3 = splitHeads(q), k3 = splitHeads(k), v3 = splitHeads(v);
  Value scores = batchMatmul(q3, transpose(k3, {0, 2, 1}));
  // HF divides the scores by sqrt(head dim), then masks with finfo.min.
  double scaleDiv = std::sqrt(double(hd));
  double minValue = -std::numeric_limits<float>::max();
  Value scaled = generic(
      "bts->bts", {scores}, empty({batch * heads, seq, seq}),
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value s = arith::DivFOp::create(
            b, l, a[0],
            arith::ConstantOp::create(b, l, b.getF32FloatAttr(scaleDiv)));
        if (!causal)
          return s;
        Value t = loopIndex(b, l, 1), j = loopIndex(b, l, 2);
        Value keep =
            arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule, j, t);
        return arith::SelectOp::create(
            b, l, keep, s,
            arith::ConstantOp::create(b, l, b.getF32FloatAttr(minValue)));
      });
  // Softmax over keys: max, subtract, exp, sum, divide.
  Value rowMax = generic(
      "bts->bt", {scaled},
      filled({batch * heads, seq}, -std::numeric_limits<double>::infinity()),
      [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::MaximumFOp::create(b, l, a[0], a[1]);
      });
  Value e =
      generic("bts,bt->bts", {scaled, rowMax}, empty({batch * heads, seq, seq}),
              [](OpBuilder &b, Location l, ValueRange a) -> Value {
                return math::ExpOp::create(
                    b, l, arith::SubFOp::create(b, l, a[0], a[1]));
              });
  Value sum = generic("bts->bt", {e}, filled({batch * heads, seq}, 0.0),
                      [](OpBuilder &b, Location l, ValueRange a) -> Value {
                        return arith::AddFOp::create(b, l, a[0], a[1]);
                      });
  Value probs =
      generic("bts,bt->bts", {e, sum}, empty({batch * heads, seq, seq}),
              [](OpBuilder &b, Location l, ValueRange a) -> Value {
                return arith::DivFOp::create(b, l, a[0], a[1]);
              });
  Value ctx = batchMatmul(probs, v3); // [B*H, T, Dh]
  Value ctx4 = reshape(ctx, {batch, heads, seq, hd});
  return reshape(transpose(ctx4, {0, 2, 1, 3}), {batch * seq, d});
}
