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

    TOSA (what TOSA importers emit; MLIR 22 has no `tosa.fully_connected`):
    `tosa.matmul x[1, M, K], W[1, K, N]` with zero points 0 becomes
    `fly.linear` on the 3-D `x` (result `[1, M, N]`). `w` is the 2-D view of a
    `[1, N, K]` weight transposed `[0, 2, 1]`, or an `[N, K]` weight
    transposed `[1, 0]` and reshaped (nn.Linear), else a `linalg.transpose`
    of the `[K, N]` view of `W`. A following `tosa.add` of a `[1, .., 1, N]`
    constant (e.g. an `[N]` bias `tosa.reshape`d) becomes the `bias`
    operand. Batched matmuls (batch > 1) are not linears.

    MLP roles: a `fly.linear` feeding a GELU (tanh form
    `0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))` or erf form
    `0.5x(1 + erf(x/sqrt(2)))`, one elementwise `linalg.generic`, or TOSA
    elementwise ops (`tosa.tanh` / `tosa.erf`, `mul`, `add`, `pow`, ... with
    splat constants)) that feeds another `fly.linear` is an MLP: the two
    linears get `fly.mlp = "up"` / `"down"`, a shared `fly.mlp_id`, and the
    up one `fly.activation = "gelu_tanh" | "gelu_erf"`.

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
      negative constant (<= -1e4, or -inf), or adding such a select, or
      adding a constant `[.., T, S]` tensor (broadcast over the leading dims)
      that is 0 on and below the diagonal and <= -1e4 above it;
    - softmax over the key dimension: `linalg.softmax`, or decomposed:
      row max (optional), `exp(s - max)`, row sum, then `divf` by the sum or
      `mulf` by its reciprocal (a reciprocal tensor or `1 / sum` inline);
    - k given transposed (`linalg.transpose` [0, 2, 1]) or through a
      transposed indexing map.

    TOSA (anchored on `tosa.matmul probs, v`, zero points 0, `[B*H, T, D]`):
    softmax as `tosa.reduce_max` (axis = last, optional), `tosa.sub`,
    `tosa.exp`, `tosa.reduce_sum` (axis = last), `tosa.reciprocal` and
    `tosa.mul` (TOSA has no float division); scale as `tosa.mul` by a splat
    constant (shift 0) on the scores or on q / k beforehand; causal mask as
    `tosa.add` of a constant `[1, .., T, S]` (0 on and below the diagonal,
    <= -1e4 above, checked element by element) or `tosa.select` on a
    constant lower-triangular condition with a splat <= -1e4; k through
    `tosa.transpose` [0, 2, 1]; heads merged by `tosa.reshape` from
    `[B, H, T, D]` (B and H recovered as from `collapse_shape`).

    Near misses are left alone: softmax over another axis, a max over another
    dimension than the sum, a scale that is not a constant, a mask constant
    that is not exactly triangular. The result is
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

def FlyStructureLinear : Pass<"fly-structure-linear"> {
  let summary = "Replace dense fly.linear layers by structured linear maps";
  let description = [{
    Rewrites each `fly.linear %x, %w[, %bias]` in `scope` whose weight is an
    f32 constant (`dense_resource` or `dense`, possibly behind a
    `linalg.transpose` [1, 0], as fly-raise-linear leaves GPT-2's Conv1D
    weights) into a structured map of the same input and output widths:

    - `monarch`: `fly.monarch_matmul` with `nblocks` blocks (the research
      code's MonarchLinear shapes); x is zero-padded (`tensor.pad`) and y
      cropped (`tensor.extract_slice`) when a width is not a multiple of
      `nblocks`;
    - `lowrank`: `fly.lowrank_matmul` of rank `rank` (0: in/8);
    - `pixelfly`: `fly.blocksparse_matmul` on the flat block butterfly
      layout (`block-size` blocks; base pattern as many blocks as the
      smaller dimension has, rounded down to a power of two, with all its
      butterfly factors) plus a `fly.lowrank_matmul` of rank `rank`
      (0: in/16; a rank of 0 then means no low-rank part), summed;
    - `butterfly`: `fly.butterfly_matmul` (random 2x2 rotations, so the
      product is orthogonal); needs in == out == a power of two;
    - `sketch`: `fly.sketch_matmul` reducing the input `reduction`-fold
      (w: [in/reduction, out]; block_k, block_n the largest powers of two
      <= 32 and 64 that divide in/reduction and out; seeds from `seed`).

    `init=project` takes the best Frobenius approximation of the dense
    weight (fly::structure's projections: per-block SVD for Monarch,
    truncated SVD for low rank, layout + SVD of the rest for Pixelfly);
    `init=random` draws seeded factors (layer i uses seed + i). Butterfly and
    sketch have no closed-form projection: `init=project` with them is an
    error on every layer in scope. Layers whose shape the structure cannot
    take (butterfly not square of a power of two, Pixelfly widths not
    multiples of `block-size`, sketch input width not a multiple of
    `reduction`) and non-f32 or non-constant weights are skipped, with a
    remark when `remarks` is set. Projection failures are errors.

    The bias becomes an explicit broadcast add (`linalg.generic`) after the
    structured op. New weights are `dense_resource<KEY.kind.part>`, KEY the
    old weight's resource key (`structure.N` for an inline `dense` weight).
    `fly.mlp`, `fly.mlp_id` and `fly.activation` are kept on the new op(s).
    With `remarks`, each replaced layer reports the relative Frobenius error
    ||W - M|| / ||W|| of the projection and the parameter count ratio.

    Before:
    ```mlir
    %w = arith.constant dense_resource<h.0.mlp.c_fc.weight> : tensor<64x256xf32>
    %wt = linalg.transpose ins(%w : tensor<64x256xf32>) outs(%e : ...)
              permutation = [1, 0]
    %y = fly.linear %x, %wt, %b {fly.mlp = "up", fly.mlp_id = 0 : i64}
        : (tensor<128x64xf32>, tensor<256x64xf32>, tensor<256xf32>)
        -> tensor<128x256xf32>
    ```
    After (`kind=monarch nblocks=4`):
    ```mlir
    %w1 = arith.constant dense_resource<h.0.mlp.c_fc.weight.monarch.w1>
        : tensor<4x16x16xf32>
    %w2 = arith.constant dense_resource<h.0.mlp.c_fc.weight.monarch.w2>
        : tensor<4x64x16xf32>
    %m = fly.monarch_matmul %x, %w1, %w2 {fly.mlp = "up", fly.mlp_id = 0 : i64}
        : (tensor<128x64xf32>, tensor<4x16x16xf32>, tensor<4x64x16xf32>)
        -> tensor<128x256xf32>
    %y = linalg.generic {... "mn,n->mn" addf ...} ins(%m, %b : ...) -> ...
    ```
  }];
  let options = [
    Option<"kind", "kind", "std::string", /*default=*/"\"monarch\"",
           "Structure: monarch, lowrank, pixelfly, butterfly or sketch">,
    Option<"nblocks", "nblocks", "int64_t", /*default=*/"4",
           "Monarch: number of diagonal blocks">,
    Option<"rank", "rank", "int64_t", /*default=*/"0",
           "Low-rank (part) rank; 0: in/8 (lowrank), in/16 (pixelfly)">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"32",
           "Pixelfly: block size">,
    Option<"scope", "scope", "std::string", /*default=*/"\"mlp\"",
           "Which linears: mlp (with fly.mlp), attn (without) or all">,
    Option<"init", "init", "std::string", /*default=*/"\"project\"",
           "project (approximate the dense weight) or random (seeded)">,
    Option<"seed", "seed", "uint64_t", /*default=*/"0",
           "Seed of random factors and sketch rotations">,
    Option<"reduction", "reduction", "int64_t", /*default=*/"4",
           "Sketch: input reduction factor R">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every replaced layer (projection error, "
           "parameter ratio) and every skipped one (with the reason)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::fly::FlyDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FlyApproximateAttention : Pass<"fly-approximate-attention"> {
  let summary = "Replace softmax attention by local, Performer or "
                "Scatterbrain attention";
  let description = [{
    Rewrites each `fly.attention` without a mask and with as many keys as
    queries (S == T) into `fly.local_attention` (`window`),
    `fly.performer_attention` (`features` random features) or
    `fly.scatterbrain_attention` (both), keeping `causal` and the scale
    (made explicit). The Performer projection `proj: [features, D]` is
    Gaussian orthogonal random features (blocks of D orthogonal rows, each
    scaled by the norm of an independent Gaussian D-vector), seeded by
    `seed` + the attention's index in program order, and becomes an
    `arith.constant dense_resource<fly.attention_proj.N>`. Masked attentions
    and S != T (the windows are defined for square score matrices) are left
    alone, with a remark when `remarks` is set.

    Before:
    ```mlir
    %o = fly.attention %q, %k, %v causal scale = 2.500000e-01
        : (tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>,
           tensor<1x4x128x16xf32>) -> tensor<1x4x128x16xf32>
    ```
    After (`kind=scatterbrain window=64 features=64`):
    ```mlir
    %proj = arith.constant dense_resource<fly.attention_proj.0>
        : tensor<64x16xf32>
    %o = fly.scatterbrain_attention %q, %k, %v, %proj window = 64 causal
        scale = 2.500000e-01 : (tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>,
        tensor<1x4x128x16xf32>, tensor<64x16xf32>) -> tensor<1x4x128x16xf32>
    ```
  }];
  let options = [
    Option<"kind", "kind", "std::string", /*default=*/"\"scatterbrain\"",
           "Approximation: local, performer or scatterbrain">,
    Option<"window", "window", "int64_t", /*default=*/"64",
           "Local / Scatterbrain window (keys per query)">,
    Option<"features", "features", "int64_t", /*default=*/"64",
           "Performer / Scatterbrain random features">,
    Option<"seed", "seed", "uint64_t", /*default=*/"0",
           "Seed of the random features">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for every replaced attention and every one left "
           "alone (with the reason)">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::fly::FlyDialect"];
}

#endif // FLY_TRANSFORMS_PASSES_TD
