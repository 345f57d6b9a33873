//===- Passes.td - fly detection passes --------------------*- tablegen -*-===//
//
// Passes that find dense layers and softmax attention in imported IR (plain
// linalg/tensor/arith/math) and raise them to fly ops, so that the structure
// passes have one canonical form to rewrite.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_TRANSFORMS_PASSES_TD
#define FLY_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FlyRaiseLinear : Pass<"fly-raise-linear"> {
  let summary = "Raise dense x * W (+ bias) contractions to fly.linear";
  let description = [{
    Finds 2-D contractions `x[M, K] * W -> [M, N]` whose `W` is a weight (a
    constant, possibly behind transposes and reshapes) and replaces them with
    `fly.linear %x, %w[, %bias]` (`w` is `[N, K]`). Accepted forms:

    - `linalg.matmul` with `W[K, N]` (GPT-2 Conv1D): `w` is a
      `linalg.transpose` of the constant (constant folding may fold it);
    - `linalg.matmul` whose `B` is `linalg.transpose` of a `[N, K]` weight
      (nn.Linear): `w` is that weight;
    - contractions with a transposed `B` (`linalg.matmul` with
      `indexing_maps`, or `linalg.generic` `mk,nk->mn`): `w` is `B`.

    The accumulator must be zero (a `linalg.fill` of 0). A following
    broadcast add `mn,n->mn` of a 1-D constant becomes the `bias` operand.

    MLP roles: a `fly.linear` feeding a GELU (tanh form
    `0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))` or erf form
    `0.5x(1 + erf(x/sqrt(2)))`, one elementwise `linalg.generic`) that feeds
    another `fly.linear` is an MLP: the two linears get `fly.mlp = "up"` /
    `"down"`, a shared `fly.mlp_id`, and the up one
    `fly.activation = "gelu_tanh" | "gelu_erf"`.

    Before:
    ```mlir
    %w = arith.constant dense_resource<h.0.mlp.c_fc.weight> : tensor<64x256xf32>
    %b = arith.constant dense_resource<h.0.mlp.c_fc.bias> : tensor<256xf32>
    %z = linalg.fill ins(%zero : f32) outs(%e : tensor<128x256xf32>) -> ...
    %y = linalg.matmul ins(%x, %w : tensor<128x64xf32>, tensor<64x256xf32>)
                       outs(%z : tensor<128x256xf32>) -> tensor<128x256xf32>
    %r = linalg.generic {... "mn,n->mn" addf ...} ins(%y, %b : ...) -> ...
    ```
    After:
    ```mlir
    %wt = linalg.transpose ins(%w : tensor<64x256xf32>)
              outs(%e2 : tensor<256x64xf32>) permutation = [1, 0]
    %r = fly.linear %x, %wt, %b : (tensor<128x64xf32>, tensor<256x64xf32>,
                                   tensor<256xf32>) -> tensor<128x256xf32>
    ```
  }];
  let options = [
    Option<"requireConstantWeight", "require-constant-weight", "bool",
           /*default=*/"true",
           "Only raise contractions whose weight (and bias) is a constant, "
           "possibly behind transposes and reshapes">,
    Option<"markMlp", "mark-mlp", "bool", /*default=*/"true",
           "Mark linear -> GELU -> linear chains with fly.mlp roles">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every raised layer and every rejected "
           "candidate (with the reason)">,
  ];
  let dependentDialects = ["::mlir::fly::FlyDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FlyRaiseAttention : Pass<"fly-raise-attention"> {
  let summary = "Raise softmax(scale * q k^T + causal mask) v to fly.attention";
  let description = [{
    Anchored on the contraction `probs * v`, walks back through the softmax,
    the scale and mask, to the contraction `q * k^T`, on `[B*H, T, Dh]`
    (`linalg.batch_matmul`) or `[B, H, T, Dh]` (`linalg.generic`) tensors.
    Accepted forms:

    - scale: `mulf` / `divf` by a constant, on the scores or on q (and k)
      beforehand; several factors multiply;
    - causal mask: `select` on `linalg.index` (key j <= query i) with a large
      negative constant (<= -1e4, or -inf), or adding such a select;
    - softmax over the key dimension: `linalg.softmax`, or decomposed:
      row max (optional), `exp(s - max)`, row sum, then `divf` by the sum or
      `mulf` by its reciprocal;
    - k given transposed (`linalg.transpose` [0, 2, 1]) or through a
      transposed indexing map.

    Near misses are left alone: softmax over another axis, a max over another
    dimension than the sum, a scale that is not a constant. The result is
    `fly.attention` on `[B, H, T, Dh]` (3-D operands are expanded; B and H are
    recovered from the `collapse_shape` that merged them, else B = 1) with
    `causal` and an explicit `scale`, reshaped back to the original result.

    Before (GPT-2, one head group, shapes abbreviated):
    ```mlir
    %s = linalg.batch_matmul ins(%q, %kt : tensor<4x128x16xf32>,
                                 tensor<4x16x128xf32>) outs(%z0 : ...)
    %m = linalg.generic {...} ins(%s : ...) {  // divf by 4.0, causal select
    %p = ... max, sub + exp, sum, div generics over the last dim ...
    %o = linalg.batch_matmul ins(%p, %v : tensor<4x128x128xf32>,
                                 tensor<4x128x16xf32>) outs(%z1 : ...)
    ```
    After:
    ```mlir
    %a = fly.attention %q4, %k4, %v4 causal scale = 2.500000e-01
        : (tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>,
           tensor<1x4x128x16xf32>) -> tensor<1x4x128x16xf32>
    %o = tensor.collapse_shape %a [[0, 1], [2], [3]]
        : tensor<1x4x128x16xf32> into tensor<4x128x16xf32>
    ```
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every raised attention and every rejected "
           "candidate (with the reason)">,
  ];
  let dependentDialects = ["::mlir::fly::FlyDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // FLY_TRANSFORMS_PASSES_TD
