//===- Layers.h - Transformer building blocks in plain linalg ---*- C++ -*-===//
//
// The importers write models the way an importer such as torch-mlir would:
// named linalg ops (matmul, batch_matmul, transpose) for contractions and
// linalg.generic for elementwise work and reductions, all in f32, with no fly
// ops and no hints. The detection passes must find the structure in this.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_MODELS_LAYERS_H
#define FLY_MODELS_LAYERS_H

#include "fly/Utils/LinalgBuilder.h"

namespace fly::models {

class LayerBuilder : public mlir::fly::detail::LinalgBuilder {
public:
  using LinalgBuilder::LinalgBuilder;
  using Value = mlir::Value;

  /// x [M, N] + bias [N].
  Value addBias(Value x, Value bias);
  /// Elementwise sum of two tensors of one shape.
  Value add(Value a, Value b);
  /// HF Conv1D (GPT-2): x [M, K] times W stored [K, N], plus bias.
  Value conv1d(Value x, Value w, Value bias);
  /// nn.Linear: x [M, K] times W^T with W stored [N, K], plus bias.
  Value linear(Value x, Value w, Value bias);
  /// LayerNorm over the last dim of x [M, N].
  Value layerNorm(Value x, Value gamma, Value beta, double eps);
  /// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (GPT-2's gelu_new).
  Value geluTanh(Value x);
  /// 0.5 x (1 + erf(x / sqrt(2))) (ViT's gelu).
  Value geluErf(Value x);
  /// Multi-head softmax attention as HF's eager path writes it:
  /// q, k, v [B*T, D] (heads interleaved in D) -> [B*T, D].
  Value attention(Value q, Value k, Value v, int64_t batch, int64_t seq,
                  int64_t heads, bool causal);

private:
  Value elementwise(Value x, mlir::fly::detail::GenericBody body);
};

} // namespace fly::models

#endif // FLY_MODELS_LAYERS_H
