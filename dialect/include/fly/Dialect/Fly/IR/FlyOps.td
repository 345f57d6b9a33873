//===- FlyOps.td - fly dialect operations ------------------*- tablegen -*-===//
//
// Each op states its math with shapes in its description. Shape relations are
// checked by hand-written verifiers (FlyOps.cpp) whose messages name both
// sides of the failed relation.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_DIALECT_FLY_IR_FLYOPS_TD
#define FLY_DIALECT_FLY_IR_FLYOPS_TD

include "fly/Dialect/Fly/IR/FlyDialect.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"

/// Statically shaped tensor of a supported floating-point element type.
def Fly_Tensor : StaticShapeTensorOf<[F16, BF16, F32]>;

/// Base class of every fly op: pure (no side effects) and verified by hand.
class Fly_Op<string mnemonic, list<Trait> traits = []>
    : Op<Fly_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Linear maps
//===----------------------------------------------------------------------===//

def Fly_LinearOp : Fly_Op<"linear"> {
  let summary = "dense linear map y = x * w^T + bias";
  let description = [{
    The canonical dense layer that the detection passes produce.

    ```
    x: [..., n]   w: [m, n]   bias (optional): [m]   ->   y: [..., m]
    y[..., i] = sum_j x[..., j] * w[i, j] + bias[i]
    ```

    Example:
    ```mlir
    %y = fly.linear %x, %w, %b : (tensor<8x768xf32>, tensor<3072x768xf32>,
                                  tensor<3072xf32>) -> tensor<8x3072xf32>
    ```
  }];
  let arguments = (ins Fly_Tensor:$x, Fly_Tensor:$w,
                   Optional<Fly_Tensor>:$bias);
  let results = (outs Fly_Tensor:$y);
  let assemblyFormat = [{
    $x `,` $w (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Fly_MonarchMatmulOp : Fly_Op<"monarch_matmul"> {
  let summary = "Monarch matrix: two block-diagonal factors and a permutation";
  let description = [{
    Product with a Monarch matrix (Dao et al., 2022), the same numbers as the
    research code's `blockdiag_butterfly_multiply`.

    ```
    x: [..., n]   w1: [k, q, p]   w2: [l, s, r]   ->   y: [..., l*s]
    requires k*p = n and l*r = k*q
    h[b, kk*q + qq] = sum_pp w1[kk, qq, pp] * x[b, kk*p + pp]   (block-diagonal 1)
    g[b, ll, rr]    = h[b, rr*l + ll]                            (permutation)
    y[b, ss*l + ll] = sum_rr w2[ll, ss, rr] * g[b, ll, rr]      (block-diagonal 2)
    ```
    A MonarchLinear layer of nb blocks has w1 = [nb, blk_out, blk_in] and
    w2 = [nb, blk_out, blk_out] (or [nb, blk_in, blk_in] / [nb, blk_out,
    blk_in] when it widens); padding of x and cropping of y stay outside.

    Example:
    ```mlir
    %y = fly.monarch_matmul %x, %w1, %w2 : (tensor<8x768xf32>,
        tensor<4x192x192xf32>, tensor<4x768x192xf32>) -> tensor<8x3072xf32>
    ```
  }];
  let arguments = (ins Fly_Tensor:$x, Fly_Tensor:$w1, Fly_Tensor:$w2);
  let results = (outs Fly_Tensor:$y);
  let assemblyFormat = [{
    $x `,` $w1 `,` $w2 attr-dict `:` functional-type(operands, results)
  }];
}

def Fly_LowRankMatmulOp : Fly_Op<"lowrank_matmul"> {
  let summary = "low-rank linear map y = (x * u^T) * v^T";
  let description = [{
    ```
    x: [..., n]   u: [r, n]   v: [m, r]   ->   y: [..., m]
    t[..., a] = sum_j x[..., j] * u[a, j]
    y[..., i] = sum_a t[..., a] * v[i, a]
    ```

    Example:
    ```mlir
    %y = fly.lowrank_matmul %x, %u, %v : (tensor<8x768xf32>, tensor<96x768xf32>,
                                          tensor<3072x96xf32>) -> tensor<8x3072xf32>
    ```
  }];
  let arguments = (ins Fly_Tensor:$x, Fly_Tensor:$u, Fly_Tensor:$v);
  let results = (outs Fly_Tensor:$y);
  let assemblyFormat = [{
    $x `,` $u `,` $v attr-dict `:` functional-type(operands, results)
  }];
}

def Fly_BlockSparseMatmulOp : Fly_Op<"blocksparse_matmul"> {
  let summary = "block-sparse linear map with compile-time block coordinates";
  let description = [{
    The matrix W: [m, n] is made of nnz dense b x b blocks; block e sits at
    block row `rows[e]` and block column `cols[e]`. The output width m comes
    from the result type. Pixelfly is a blocksparse_matmul with the flat block
    butterfly layout plus a lowrank_matmul, summed.

    ```
    x: [..., n]   blocks: [nnz, b, b]   rows, cols: nnz block coordinates
    ->   y: [..., m]      with m % b = 0, n % b = 0
    y[..., rows[e]*b + i] += sum_j blocks[e, i, j] * x[..., cols[e]*b + j]
    ```
    Coordinates are in range (rows[e] < m/b, cols[e] < n/b) and unique.

    Example:
    ```mlir
    %y = fly.blocksparse_matmul %x, %blocks rows = [0, 1] cols = [1, 0]
        : (tensor<8x64xf32>, tensor<2x32x32xf32>) -> tensor<8x64xf32>
    ```
  }];
  let arguments = (ins Fly_Tensor:$x, Fly_Tensor:$blocks,
                   DenseI64ArrayAttr:$rows, DenseI64ArrayAttr:$cols);
  let results = (outs Fly_Tensor:$y);
  let assemblyFormat = [{
    $x `,` $blocks `rows` `=` $rows `cols` `=` $cols attr-dict `:`
    functional-type(operands, results)
  }];
}

def Fly_ButterflyMatmulOp : Fly_Op<"butterfly_matmul"> {
  let summary = "product of log2(n) butterfly factors";
  let description = [{
    ```
    x: [..., n] (n a power of two, L = log2 n)   twiddle: [L, n/2, 2, 2]
    ->   y: [..., n]
    ```
    Factors are applied in order i = 0, 1, ..., L-1 (increasing stride).
    Factor i mixes the pairs (a, a + 2^i) inside groups of 2^(i+1): for pair
    index t < n/2, with g = t / 2^i, o = t mod 2^i, a = g*2^(i+1) + o and
    c = a + 2^i,
    ```
    z'[a] = T[i,t,0,0] * z[a] + T[i,t,0,1] * z[c]
    z'[c] = T[i,t,1,0] * z[a] + T[i,t,1,1] * z[c]
    ```

    Example:
    ```mlir
    %y = fly.butterfly_matmul %x, %t : (tensor<8x16xf32>, tensor<4x8x2x2xf32>)
        -> tensor<8x16xf32>
    ```
  }];
  let arguments = (ins Fly_Tensor:$x, Fly_Tensor:$twiddle);
  let results = (outs Fly_Tensor:$y);
  let assemblyFormat = [{
    $x `,` $twiddle attr-dict `:` functional-type(operands, results)
  }];
}

def Fly_SketchMatmulOp : Fly_Op<"sketch_matmul"> {
  let summary = "SS1 sketched linear map: rotate, reduce, then a GEMM";
  let description = [{
    The SS1 structured matrix. The input is reduced R-fold by summing R
    rotated copies of each block of `block_k` columns; rotations depend on the
    output column block, so each group of `block_n` output columns sees its
    own sketch of x.

    ```
    x: [..., K]   w: [K/R, N]   ->   y: [..., N]
    R = reduction, BK = block_k, BN = block_n, V = vec, (r0, r1, r2, r3) = seeds
    requires K % (R*BK) = 0 and N % BN = 0
    for nb < N/BN, kb < K/(R*BK), j < BK:
      xs_nb[b, kb*BK + j] = sum_{c<R} x[b, (kb*R + c)*BK
                     + ((j + (r3 + r2*nb + r1*(kb+1) + r0*(c+1))*V) mod BK)]
    y[b, nb*BN + t] = sum_{jj < K/R} xs_nb[b, jj] * w[jj, nb*BN + t]
    ```
    With R = 1 there is no rotation: y = x * w.

    Example:
    ```mlir
    %y = fly.sketch_matmul %x, %w {reduction = 4 : i64, block_k = 32 : i64,
        block_n = 64 : i64, vec = 8 : i64, seeds = array<i64: 1, 2, 3, 4>}
        : (tensor<8x768xf32>, tensor<192x3072xf32>) -> tensor<8x3072xf32>
    ```
  }];
  let arguments = (ins Fly_Tensor:$x, Fly_Tensor:$w, I64Attr:$reduction,
                   I64Attr:$block_k, I64Attr:$block_n, I64Attr:$vec,
                   DenseI64ArrayAttr:$seeds);
  let results = (outs Fly_Tensor:$y);
  let assemblyFormat = [{
    $x `,` $w attr-dict `:` functional-type(operands, results)
  }];
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// Arguments every attention op shares.
defvar Fly_AttentionDoc = [{
    q: [B, H, T, D]   k: [B, H, S, D]   v: [B, H, S, Dv]   ->   o: [B, H, T, Dv]
    s[i, j] = scale * sum_d q[i, d] * k[j, d]      (scale defaults to 1/sqrt(D))
    causal: key j is allowed for query i iff j <= i + (S - T) (needs S >= T).
}];

def Fly_AttentionOp : Fly_Op<"attention"> {
  let summary = "softmax attention";
  let description = [{
    ```
  }] # Fly_AttentionDoc # [{
    o[i] = sum_j softmax_j(s[i, j] + mask[i, j]) * v[j]   (over allowed j)
    ```
    `mask` is an optional additive mask of rank <= 4 that broadcasts
    (numpy-style, right-aligned) to [B, H, T, S].

    Example:
    ```mlir
    %o = fly.attention %q, %k, %v causal : (tensor<1x12x128x64xf32>,
        tensor<1x12x128x64xf32>, tensor<1x12x128x64xf32>) -> tensor<1x12x128x64xf32>
    ```
  }];
  let arguments = (ins Fly_Tensor:$q, Fly_Tensor:$k, Fly_Tensor:$v,
                   Optional<Fly_Tensor>:$mask, UnitAttr:$causal,
                   OptionalAttr<F64Attr>:$scale);
  let results = (outs Fly_Tensor:$o);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`mask` `(` $mask^ `)`)? (`causal` $causal^)?
    (`scale` `=` $scale^)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    /// The scale applied to q * k^T: the attribute, or 1/sqrt(D).
    double getScaleOrDefault();
  }];
}

def Fly_LocalAttentionOp : Fly_Op<"local_attention"> {
  let summary = "exact softmax attention inside a sliding window";
  let description = [{
    ```
  }] # Fly_AttentionDoc # [{
    requires S = T and window w > 0. Allowed keys for query i:
      non-causal: j in [i - w/2, i - w/2 + w)   (w/2 rounds down)
      causal:     j in (i - w, i]
    o[i] = sum_{allowed j} softmax_j(s[i, j]) * v[j]
    ```

    Example:
    ```mlir
    %o = fly.local_attention %q, %k, %v window = 64 causal : (...) -> ...
    ```
  }];
  let arguments = (ins Fly_Tensor:$q, Fly_Tensor:$k, Fly_Tensor:$v,
                   I64Attr:$window, UnitAttr:$causal,
                   OptionalAttr<F64Attr>:$scale);
  let results = (outs Fly_Tensor:$o);
  let assemblyFormat = [{
    $q `,` $k `,` $v `window` `=` $window (`causal` $causal^)?
    (`scale` `=` $scale^)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    double getScaleOrDefault();
  }];
}

/// The Performer feature map shared by the two low-rank attention ops.
defvar Fly_FeatureMapDoc = [{
    proj: [m, D] random features (Gaussian orthogonal, seeded by the pass).
    phi(x)[f] = m^(-1/2) * exp(proj[f] . xs - |xs|^2 / 2),  xs = x * sqrt(scale)
    so that E[phi(q) . phi(k)] = exp(scale * q . k). The lowering subtracts a
    per-query and a per-head key maximum in the exponent; they cancel exactly.
}];

def Fly_PerformerAttentionOp : Fly_Op<"performer_attention"> {
  let summary = "Performer (FAVOR+) linear attention";
  let description = [{
    ```
  }] # Fly_AttentionDoc # Fly_FeatureMapDoc # [{
    f[i, j] = phi(q_i) . phi(k_j)
    o[i] = sum_{allowed j} f[i, j] v[j] / sum_{allowed j} f[i, j]
    ```
    Non-causal: o = phi(Q) (phi(K)^T V) / (phi(Q) sum_j phi(k_j)); causal uses
    prefix sums.

    Example:
    ```mlir
    %o = fly.performer_attention %q, %k, %v, %proj : (...) -> ...
    ```
  }];
  let arguments = (ins Fly_Tensor:$q, Fly_Tensor:$k, Fly_Tensor:$v,
                   Fly_Tensor:$proj, UnitAttr:$causal,
                   OptionalAttr<F64Attr>:$scale);
  let results = (outs Fly_Tensor:$o);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $proj (`causal` $causal^)? (`scale` `=` $scale^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    double getScaleOrDefault();
  }];
}

def Fly_ScatterbrainAttentionOp : Fly_Op<"scatterbrain_attention"> {
  let summary = "Scatterbrain: local window + Performer, one normaliser";
  let description = [{
    Sparse + low-rank attention (Chen et al., 2021): the Performer estimate
    everywhere, replaced by the exact softmax weight inside the local window.
    ```
  }] # Fly_AttentionDoc # Fly_FeatureMapDoc # [{
    requires S = T, window w > 0; W(i) = local window of fly.local_attention,
    A(i) = allowed keys; e[i, j] = exp(s[i, j]); f[i, j] = phi(q_i) . phi(k_j)
    num[i] = sum_{j in W(i)} (e[i,j] - f[i,j]) v[j] + sum_{j in A(i)} f[i,j] v[j]
    den[i] = sum_{j in W(i)} (e[i,j] - f[i,j])      + sum_{j in A(i)} f[i,j]
    o[i] = num[i] / den[i]     (computed with a per-row log-space maximum)
    ```

    Example:
    ```mlir
    %o = fly.scatterbrain_attention %q, %k, %v, %proj window = 64 : (...) -> ...
    ```
  }];
  let arguments = (ins Fly_Tensor:$q, Fly_Tensor:$k, Fly_Tensor:$v,
                   Fly_Tensor:$proj, I64Attr:$window, UnitAttr:$causal,
                   OptionalAttr<F64Attr>:$scale);
  let results = (outs Fly_Tensor:$o);
  let assemblyFormat = [{
    $q `,` $k `,` $v `,` $proj `window` `=` $window (`causal` $causal^)?
    (`scale` `=` $scale^)? attr-dict `:` functional-type(operands, results)
  }];
  let extraClassDeclaration = [{
    double getScaleOrDefault();
  }];
}

#endif // FLY_DIALECT_FLY_IR_FLYOPS_TD
