// RUN: fly-opt %s --convert-fly-to-linalg --canonicalize --cse | FileCheck %s
// RUN: fly-opt %s --convert-fly-to-linalg | FileCheck %s --check-prefix=NOFLY

// Structure of the reference lowering (its numbers are checked in
// numerics*.mlir). No fly op survives.
// NOFLY-NOT: fly.

// Monarch keeps its structure: two batched GEMMs over the blocks (the form
// the CPU schedule tiles), the permutation between them a reshape, never a
// dense 32x32 matrix.
// CHECK-LABEL: func.func @monarch
// CHECK-SAME: (%[[X:.*]]: tensor<5x32xf32>, %[[W1:.*]]: tensor<4x8x8xf32>, %[[W2:.*]]: tensor<4x8x8xf32>)
// CHECK: %[[X3:.*]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [5, 4, 8]
// CHECK: %[[XB:.*]] = linalg.transpose ins(%[[X3]] : tensor<5x4x8xf32>) {{.*}} permutation = [1, 0, 2]
// CHECK: %[[W1T:.*]] = linalg.transpose ins(%[[W1]] : tensor<4x8x8xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: linalg.batch_matmul ins(%[[XB]], %[[W1T]] : tensor<4x5x8xf32>, tensor<4x8x8xf32>)
// CHECK: tensor.expand_shape {{.*}} output_shape [5, 8, 4]
// CHECK: %[[W2T:.*]] = linalg.transpose ins(%[[W2]] : tensor<4x8x8xf32>) {{.*}} permutation = [0, 2, 1]
// CHECK: linalg.batch_matmul ins(%{{.*}}, %[[W2T]] : tensor<4x5x8xf32>, tensor<4x8x8xf32>)
// CHECK: tensor.collapse_shape {{.*}} : tensor<5x8x4xf32> into tensor<5x32xf32>
// CHECK-NOT: tensor<32x32xf32>
func.func @monarch(%x: tensor<5x32xf32>, %w1: tensor<4x8x8xf32>, %w2: tensor<4x8x8xf32>) -> tensor<5x32xf32> {
  %0 = fly.monarch_matmul %x, %w1, %w2 : (tensor<5x32xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<5x32xf32>
  return %0 : tensor<5x32xf32>
}

// 16-bit operands are extended to f32 and the result truncated back.
// CHECK-LABEL: func.func @linear_f16
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: linalg.matmul ins({{.*}} : tensor<4x32xf32>, tensor<32x16xf32>)
// CHECK: arith.truncf %{{.*}} : f32 to f16
// CHECK: return %{{.*}} : tensor<4x16xf16>
func.func @linear_f16(%x: tensor<4x32xf16>, %w: tensor<16x32xf16>) -> tensor<4x16xf16> {
  %0 = fly.linear %x, %w : (tensor<4x32xf16>, tensor<16x32xf16>) -> tensor<4x16xf16>
  return %0 : tensor<4x16xf16>
}

// Causal attention: the mask is a predicate on the loop indices inside the
// generic (s <= t + S - T), followed by a max/exp/sum softmax.
// CHECK-LABEL: func.func @attention_causal
// CHECK-DAG: linalg.index 2
// CHECK-DAG: linalg.index 3
// CHECK: arith.cmpi sle
// CHECK: arith.select %{{.*}}, %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.divf
func.func @attention_causal(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %0 = fly.attention %q, %k, %v causal : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %0 : tensor<1x2x8x4xf32>
}

// Non-causal Performer is linear in the sequence: phi(K)^T V is formed as a
// [B, H, m, Dv] tensor and no [B, H, T, S] tensor exists.
// CHECK-LABEL: func.func @performer
// CHECK-NOT: tensor<1x2x8x8xf32>
// CHECK: tensor<1x2x16x4xf32>
// CHECK-NOT: tensor<1x2x8x8xf32>
// CHECK: return
func.func @performer(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x8x4xf32>, %v: tensor<1x2x8x4xf32>, %p: tensor<16x4xf32>) -> tensor<1x2x8x4xf32> {
  %0 = fly.performer_attention %q, %k, %v, %p : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<16x4xf32>) -> tensor<1x2x8x4xf32>
  return %0 : tensor<1x2x8x4xf32>
}
