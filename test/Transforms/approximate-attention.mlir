// RUN: fly-opt %s --fly-approximate-attention | FileCheck %s --check-prefix=SB
// RUN: fly-opt %s --fly-approximate-attention="kind=local window=32" | FileCheck %s --check-prefix=LOCAL
// RUN: fly-opt %s --fly-approximate-attention="kind=performer features=32 seed=3" | FileCheck %s --check-prefix=PERF
// RUN: fly-opt %s --fly-approximate-attention="kind=scatterbrain window=16 features=48 remarks" -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s --check-prefix=REM
// RUN: not fly-opt %s --fly-approximate-attention="kind=reformer" -o /dev/null 2>&1 | FileCheck %s --check-prefix=BAD-KIND

// Defaults (scatterbrain, window 64, 64 features): causal and the scale are
// kept; each attention gets its own seeded projection [features, D].
// SB-LABEL: func @causal
//  SB-SAME: (%[[Q:.*]]: tensor<1x4x128x16xf32>, %[[K:.*]]: tensor<1x4x128x16xf32>, %[[V:.*]]: tensor<1x4x128x16xf32>)
//       SB: %[[P:.*]] = arith.constant dense_resource<fly.attention_proj.0> : tensor<64x16xf32>
//       SB: %[[O:.*]] = fly.scatterbrain_attention %[[Q]], %[[K]], %[[V]], %[[P]] window = 64 causal scale = 2.500000e-01 : (tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>, tensor<64x16xf32>) -> tensor<1x4x128x16xf32>
//  SB-NEXT: return %[[O]]
// The default scale 1/sqrt(D) becomes explicit.
// SB-LABEL: func @bidirectional
//       SB: %[[P:.*]] = arith.constant dense_resource<fly.attention_proj.1> : tensor<64x32xf32>
//       SB: fly.scatterbrain_attention %{{.*}}, %{{.*}}, %{{.*}}, %[[P]] window = 64 scale = 0.17677669529663687 : (tensor<2x2x40x32xf32>, tensor<2x2x40x32xf32>, tensor<2x2x40x32xf32>, tensor<64x32xf32>) -> tensor<2x2x40x32xf32>
// SB-LABEL: func @masked
//       SB: fly.attention {{.*}} mask(
// SB-LABEL: func @cross
//   SB-NOT: arith.constant
//       SB: fly.attention

// LOCAL-LABEL: func @causal
//   LOCAL-NOT: arith.constant
//       LOCAL: fly.local_attention %{{.*}}, %{{.*}}, %{{.*}} window = 32 causal scale = 2.500000e-01 : (tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>) -> tensor<1x4x128x16xf32>
// LOCAL-LABEL: func @bidirectional
//       LOCAL: fly.local_attention %{{.*}}, %{{.*}}, %{{.*}} window = 32 scale = 0.17677669529663687 :
// LOCAL-LABEL: func @masked
//       LOCAL: fly.attention
// LOCAL-LABEL: func @cross
//       LOCAL: fly.attention

// PERF-LABEL: func @causal
//       PERF: %[[P:.*]] = arith.constant dense_resource<fly.attention_proj.0> : tensor<32x16xf32>
//       PERF: fly.performer_attention %{{.*}}, %{{.*}}, %{{.*}}, %[[P]] causal scale = 2.500000e-01 : (tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>, tensor<32x16xf32>) -> tensor<1x4x128x16xf32>
// PERF-LABEL: func @bidirectional
//       PERF: fly.performer_attention {{.*}} scale = 0.17677669529663687 : (tensor<2x2x40x32xf32>, tensor<2x2x40x32xf32>, tensor<2x2x40x32xf32>, tensor<32x32xf32>) -> tensor<2x2x40x32xf32>
// PERF-LABEL: func @masked
//       PERF: fly.attention
// PERF-LABEL: func @cross
//       PERF: fly.attention
// The projections are stored as resources.
//       PERF: fly.attention_proj.0: "0x04000000{{[0-9A-F]+}}"
//       PERF: fly.attention_proj.1: "0x04000000{{[0-9A-F]+}}"

// REM: remark: replaced attention T=128 D=16 causal by scatterbrain window 16 with 48 features (fly.attention_proj.0, seed 0)
// REM: remark: replaced attention T=40 D=32 by scatterbrain window 16 with 48 features (fly.attention_proj.1, seed 1)
// REM: remark: left exact: it has a mask (the approximations take none)
// REM: remark: left exact: it has 12 keys for 8 queries (the windows need S == T)

// BAD-KIND: error: fly-approximate-attention: unknown kind 'reformer' (expected local, performer or scatterbrain)

func.func @causal(%q: tensor<1x4x128x16xf32>, %k: tensor<1x4x128x16xf32>, %v: tensor<1x4x128x16xf32>) -> tensor<1x4x128x16xf32> {
  %o = fly.attention %q, %k, %v causal scale = 0.25 : (tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>, tensor<1x4x128x16xf32>) -> tensor<1x4x128x16xf32>
  return %o : tensor<1x4x128x16xf32>
}

func.func @bidirectional(%q: tensor<2x2x40x32xf32>, %k: tensor<2x2x40x32xf32>, %v: tensor<2x2x40x32xf32>) -> tensor<2x2x40x32xf32> {
  %o = fly.attention %q, %k, %v : (tensor<2x2x40x32xf32>, tensor<2x2x40x32xf32>, tensor<2x2x40x32xf32>) -> tensor<2x2x40x32xf32>
  return %o : tensor<2x2x40x32xf32>
}

// A padding mask (ViT/BERT style): left exact.
func.func @masked(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>, %m: tensor<1x1x1x8xf32>) -> tensor<1x2x8x16xf32> {
  %o = fly.attention %q, %k, %v mask(%m) : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x1x1x8xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}

// More keys than queries (a KV cache): left exact.
func.func @cross(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x12x16xf32>, %v: tensor<1x2x12x16xf32>) -> tensor<1x2x8x16xf32> {
  %o = fly.attention %q, %k, %v causal : (tensor<1x2x8x16xf32>, tensor<1x2x12x16xf32>, tensor<1x2x12x16xf32>) -> tensor<1x2x8x16xf32>
  return %o : tensor<1x2x8x16xf32>
}
