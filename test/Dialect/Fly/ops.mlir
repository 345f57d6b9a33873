// RUN: fly-opt %s | fly-opt | FileCheck %s
// RUN: fly-opt %s -mlir-print-op-generic | fly-opt | FileCheck %s

// CHECK-LABEL: func @linear
func.func @linear(%x: tensor<2x8x16xf32>, %w: tensor<32x16xf32>, %b: tensor<32xf32>) -> (tensor<2x8x32xf32>, tensor<2x8x32xf32>) {
  // CHECK: fly.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  %0 = fly.linear %x, %w, %b : (tensor<2x8x16xf32>, tensor<32x16xf32>, tensor<32xf32>) -> tensor<2x8x32xf32>
  // CHECK: fly.linear %{{.*}}, %{{.*}} : (tensor<2x8x16xf32>, tensor<32x16xf32>) -> tensor<2x8x32xf32>
  %1 = fly.linear %x, %w : (tensor<2x8x16xf32>, tensor<32x16xf32>) -> tensor<2x8x32xf32>
  return %0, %1 : tensor<2x8x32xf32>, tensor<2x8x32xf32>
}

// CHECK-LABEL: func @monarch
func.func @monarch(%x: tensor<8x768xf16>, %w1: tensor<4x192x192xf16>, %w2: tensor<4x768x192xf16>) -> tensor<8x3072xf16> {
  // CHECK: fly.monarch_matmul %{{.*}}, %{{.*}}, %{{.*}} : (tensor<8x768xf16>, tensor<4x192x192xf16>, tensor<4x768x192xf16>) -> tensor<8x3072xf16>
  %0 = fly.monarch_matmul %x, %w1, %w2 : (tensor<8x768xf16>, tensor<4x192x192xf16>, tensor<4x768x192xf16>) -> tensor<8x3072xf16>
  return %0 : tensor<8x3072xf16>
}

// CHECK-LABEL: func @lowrank
func.func @lowrank(%x: tensor<8x64xbf16>, %u: tensor<8x64xbf16>, %v: tensor<32x8xbf16>) -> tensor<8x32xbf16> {
  // CHECK: fly.lowrank_matmul %{{.*}}, %{{.*}}, %{{.*}} : (tensor<8x64xbf16>, tensor<8x64xbf16>, tensor<32x8xbf16>) -> tensor<8x32xbf16>
  %0 = fly.lowrank_matmul %x, %u, %v : (tensor<8x64xbf16>, tensor<8x64xbf16>, tensor<32x8xbf16>) -> tensor<8x32xbf16>
  return %0 : tensor<8x32xbf16>
}

// CHECK-LABEL: func @blocksparse
func.func @blocksparse(%x: tensor<8x64xf32>, %b: tensor<3x32x32xf32>) -> tensor<8x96xf32> {
  // CHECK: fly.blocksparse_matmul %{{.*}}, %{{.*}} rows = [0, 1, 2] cols = [1, 0, 1] : (tensor<8x64xf32>, tensor<3x32x32xf32>) -> tensor<8x96xf32>
  %0 = fly.blocksparse_matmul %x, %b rows = [0, 1, 2] cols = [1, 0, 1] : (tensor<8x64xf32>, tensor<3x32x32xf32>) -> tensor<8x96xf32>
  return %0 : tensor<8x96xf32>
}

// CHECK-LABEL: func @butterfly
func.func @butterfly(%x: tensor<8x16xf32>, %t: tensor<4x8x2x2xf32>) -> tensor<8x16xf32> {
  // CHECK: fly.butterfly_matmul %{{.*}}, %{{.*}} : (tensor<8x16xf32>, tensor<4x8x2x2xf32>) -> tensor<8x16xf32>
  %0 = fly.butterfly_matmul %x, %t : (tensor<8x16xf32>, tensor<4x8x2x2xf32>) -> tensor<8x16xf32>
  return %0 : tensor<8x16xf32>
}

// CHECK-LABEL: func @sketch
func.func @sketch(%x: tensor<8x64xf32>, %w: tensor<16x32xf32>) -> tensor<8x32xf32> {
  // CHECK: fly.sketch_matmul %{{.*}}, %{{.*}} {block_k = 8 : i64, block_n = 16 : i64, reduction = 4 : i64, seeds = array<i64: 1, 2, 3, 4>, vec = 2 : i64} : (tensor<8x64xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %0 = fly.sketch_matmul %x, %w {reduction = 4 : i64, block_k = 8 : i64, block_n = 16 : i64, vec = 2 : i64, seeds = array<i64: 1, 2, 3, 4>} : (tensor<8x64xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  return %0 : tensor<8x32xf32>
}

// CHECK-LABEL: func @attention
func.func @attention(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x32x8xf32>, %v: tensor<2x4x32x4xf32>, %m: tensor<16x32xf32>) -> (tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>) {
  // CHECK: fly.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}}) scale = 5.000000e-01 : (tensor<2x4x16x8xf32>, tensor<2x4x32x8xf32>, tensor<2x4x32x4xf32>, tensor<16x32xf32>) -> tensor<2x4x16x4xf32>
  %0 = fly.attention %q, %k, %v mask(%m) scale = 0.5 : (tensor<2x4x16x8xf32>, tensor<2x4x32x8xf32>, tensor<2x4x32x4xf32>, tensor<16x32xf32>) -> tensor<2x4x16x4xf32>
  // CHECK: fly.attention %{{.*}}, %{{.*}}, %{{.*}} causal : (tensor<2x4x16x8xf32>, tensor<2x4x32x8xf32>, tensor<2x4x32x4xf32>) -> tensor<2x4x16x4xf32>
  %1 = fly.attention %q, %k, %v causal : (tensor<2x4x16x8xf32>, tensor<2x4x32x8xf32>, tensor<2x4x32x4xf32>) -> tensor<2x4x16x4xf32>
  return %0, %1 : tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>
}

// CHECK-LABEL: func @local_attention
func.func @local_attention(%q: tensor<1x2x16x8xf16>) -> tensor<1x2x16x8xf16> {
  // CHECK: fly.local_attention %{{.*}}, %{{.*}}, %{{.*}} window = 4 causal : (tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>) -> tensor<1x2x16x8xf16>
  %0 = fly.local_attention %q, %q, %q window = 4 causal : (tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>) -> tensor<1x2x16x8xf16>
  return %0 : tensor<1x2x16x8xf16>
}

// CHECK-LABEL: func @performer_attention
func.func @performer_attention(%q: tensor<1x2x16x8xf32>, %p: tensor<32x8xf32>) -> tensor<1x2x16x8xf32> {
  // CHECK: fly.performer_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} causal scale = 2.500000e-01 : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<32x8xf32>) -> tensor<1x2x16x8xf32>
  %0 = fly.performer_attention %q, %q, %q, %p causal scale = 0.25 : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<32x8xf32>) -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// CHECK-LABEL: func @scatterbrain_attention
func.func @scatterbrain_attention(%q: tensor<1x2x16x8xbf16>, %p: tensor<32x8xbf16>) -> tensor<1x2x16x8xbf16> {
  // CHECK: fly.scatterbrain_attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} window = 8 : (tensor<1x2x16x8xbf16>, tensor<1x2x16x8xbf16>, tensor<1x2x16x8xbf16>, tensor<32x8xbf16>) -> tensor<1x2x16x8xbf16>
  %0 = fly.scatterbrain_attention %q, %q, %q, %p window = 8 : (tensor<1x2x16x8xbf16>, tensor<1x2x16x8xbf16>, tensor<1x2x16x8xbf16>, tensor<32x8xbf16>) -> tensor<1x2x16x8xbf16>
  return %0 : tensor<1x2x16x8xbf16>
}
