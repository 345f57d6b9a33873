// Numbers of the reference lowering, executed on the CPU (JIT), against the
// independent C++ reference (densified matrices, plain attention loops).
// fly-ref-check exits non-zero if any max relative error exceeds 1e-5 (f32)
// or 1e-2 (f16/bf16), or if any output element is left unwritten.
// RUN: fly-ref-check %s | FileCheck %s
// RUN: fly-ref-check %s --seed=7 | FileCheck %s
// The fast CPU pipeline (tiled, vectorised, OpenMP) computes the same numbers.
// RUN: fly-ref-check %s --pipeline=fast | FileCheck %s

// CHECK: @linear fly.linear f32 elements 768 max_rel_err {{.*}} PASS
func.func @linear(%x: tensor<2x12x20xf32>, %w: tensor<32x20xf32>, %b: tensor<32xf32>) -> tensor<2x12x32xf32> {
  %0 = fly.linear %x, %w, %b : (tensor<2x12x20xf32>, tensor<32x20xf32>, tensor<32xf32>) -> tensor<2x12x32xf32>
  return %0 : tensor<2x12x32xf32>
}

// CHECK: @linear_nobias fly.linear f32 {{.*}} PASS
func.func @linear_nobias(%x: tensor<20xf32>, %w: tensor<7x20xf32>) -> tensor<7xf32> {
  %0 = fly.linear %x, %w : (tensor<20xf32>, tensor<7x20xf32>) -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// Square Monarch (4 blocks of 8x8).
// CHECK: @monarch_square fly.monarch_matmul f32 {{.*}} PASS
func.func @monarch_square(%x: tensor<5x32xf32>, %w1: tensor<4x8x8xf32>, %w2: tensor<4x8x8xf32>) -> tensor<5x32xf32> {
  %0 = fly.monarch_matmul %x, %w1, %w2 : (tensor<5x32xf32>, tensor<4x8x8xf32>, tensor<4x8x8xf32>) -> tensor<5x32xf32>
  return %0 : tensor<5x32xf32>
}

// Rectangular and widening: k=2,q=6,p=4 (n=8), l=3,s=5,r=4 (l*r = k*q = 12).
// CHECK: @monarch_rect fly.monarch_matmul f32 {{.*}} PASS
func.func @monarch_rect(%x: tensor<3x2x8xf32>, %w1: tensor<2x6x4xf32>, %w2: tensor<3x5x4xf32>) -> tensor<3x2x15xf32> {
  %0 = fly.monarch_matmul %x, %w1, %w2 : (tensor<3x2x8xf32>, tensor<2x6x4xf32>, tensor<3x5x4xf32>) -> tensor<3x2x15xf32>
  return %0 : tensor<3x2x15xf32>
}

// CHECK: @lowrank fly.lowrank_matmul f32 {{.*}} PASS
func.func @lowrank(%x: tensor<6x24xf32>, %u: tensor<5x24xf32>, %v: tensor<40x5xf32>) -> tensor<6x40xf32> {
  %0 = fly.lowrank_matmul %x, %u, %v : (tensor<6x24xf32>, tensor<5x24xf32>, tensor<40x5xf32>) -> tensor<6x40xf32>
  return %0 : tensor<6x40xf32>
}

// Block row 1 is empty (must stay zero); block row 2 has two blocks.
// CHECK: @blocksparse fly.blocksparse_matmul f32 {{.*}} PASS
func.func @blocksparse(%x: tensor<4x12xf32>, %b: tensor<4x4x4xf32>) -> tensor<4x16xf32> {
  %0 = fly.blocksparse_matmul %x, %b rows = [0, 2, 3, 2] cols = [1, 0, 2, 2] : (tensor<4x12xf32>, tensor<4x4x4xf32>) -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// CHECK: @butterfly fly.butterfly_matmul f32 {{.*}} PASS
func.func @butterfly(%x: tensor<3x16xf32>, %t: tensor<4x8x2x2xf32>) -> tensor<3x16xf32> {
  %0 = fly.butterfly_matmul %x, %t : (tensor<3x16xf32>, tensor<4x8x2x2xf32>) -> tensor<3x16xf32>
  return %0 : tensor<3x16xf32>
}

// CHECK: @sketch fly.sketch_matmul f32 {{.*}} PASS
func.func @sketch(%x: tensor<5x48xf32>, %w: tensor<16x24xf32>) -> tensor<5x24xf32> {
  %0 = fly.sketch_matmul %x, %w {reduction = 3 : i64, block_k = 8 : i64, block_n = 8 : i64, vec = 3 : i64, seeds = array<i64: 5, 1, 7, 2>} : (tensor<5x48xf32>, tensor<16x24xf32>) -> tensor<5x24xf32>
  return %0 : tensor<5x24xf32>
}

// CHECK: @sketch_r1 fly.sketch_matmul f32 {{.*}} PASS
func.func @sketch_r1(%x: tensor<5x16xf32>, %w: tensor<16x8xf32>) -> tensor<5x8xf32> {
  %0 = fly.sketch_matmul %x, %w {reduction = 1 : i64, block_k = 4 : i64, block_n = 4 : i64, vec = 1 : i64, seeds = array<i64: 3, 3, 3, 3>} : (tensor<5x16xf32>, tensor<16x8xf32>) -> tensor<5x8xf32>
  return %0 : tensor<5x8xf32>
}

// CHECK: @attention fly.attention f32 {{.*}} PASS
func.func @attention(%q: tensor<2x3x10x8xf32>, %k: tensor<2x3x14x8xf32>, %v: tensor<2x3x14x6xf32>) -> tensor<2x3x10x6xf32> {
  %0 = fly.attention %q, %k, %v : (tensor<2x3x10x8xf32>, tensor<2x3x14x8xf32>, tensor<2x3x14x6xf32>) -> tensor<2x3x10x6xf32>
  return %0 : tensor<2x3x10x6xf32>
}

// Causal with S > T: the diagonal is aligned bottom-right.
// CHECK: @attention_causal fly.attention f32 {{.*}} PASS
func.func @attention_causal(%q: tensor<2x3x10x8xf32>, %k: tensor<2x3x14x8xf32>, %v: tensor<2x3x14x6xf32>) -> tensor<2x3x10x6xf32> {
  %0 = fly.attention %q, %k, %v causal : (tensor<2x3x10x8xf32>, tensor<2x3x14x8xf32>, tensor<2x3x14x6xf32>) -> tensor<2x3x10x6xf32>
  return %0 : tensor<2x3x10x6xf32>
}

// Broadcast additive mask and an explicit scale.
// CHECK: @attention_mask fly.attention f32 {{.*}} PASS
func.func @attention_mask(%q: tensor<2x3x10x8xf32>, %k: tensor<2x3x14x8xf32>, %v: tensor<2x3x14x6xf32>, %m: tensor<2x1x10x14xf32>) -> tensor<2x3x10x6xf32> {
  %0 = fly.attention %q, %k, %v mask(%m) scale = 0.7 : (tensor<2x3x10x8xf32>, tensor<2x3x14x8xf32>, tensor<2x3x14x6xf32>, tensor<2x1x10x14xf32>) -> tensor<2x3x10x6xf32>
  return %0 : tensor<2x3x10x6xf32>
}

// CHECK: @local fly.local_attention f32 {{.*}} PASS
func.func @local(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %0 = fly.local_attention %q, %k, %v window = 5 : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// CHECK: @local_causal fly.local_attention f32 {{.*}} PASS
func.func @local_causal(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %0 = fly.local_attention %q, %k, %v window = 4 causal : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// CHECK: @performer fly.performer_attention f32 {{.*}} PASS
func.func @performer(%q: tensor<2x2x12x8xf32>, %k: tensor<2x2x12x8xf32>, %v: tensor<2x2x12x4xf32>, %p: tensor<16x8xf32>) -> tensor<2x2x12x4xf32> {
  %0 = fly.performer_attention %q, %k, %v, %p : (tensor<2x2x12x8xf32>, tensor<2x2x12x8xf32>, tensor<2x2x12x4xf32>, tensor<16x8xf32>) -> tensor<2x2x12x4xf32>
  return %0 : tensor<2x2x12x4xf32>
}

// CHECK: @performer_causal fly.performer_attention f32 {{.*}} PASS
func.func @performer_causal(%q: tensor<2x2x12x8xf32>, %k: tensor<2x2x12x8xf32>, %v: tensor<2x2x12x4xf32>, %p: tensor<16x8xf32>) -> tensor<2x2x12x4xf32> {
  %0 = fly.performer_attention %q, %k, %v, %p causal : (tensor<2x2x12x8xf32>, tensor<2x2x12x8xf32>, tensor<2x2x12x4xf32>, tensor<16x8xf32>) -> tensor<2x2x12x4xf32>
  return %0 : tensor<2x2x12x4xf32>
}

// CHECK: @scatterbrain fly.scatterbrain_attention f32 {{.*}} PASS
func.func @scatterbrain(%q: tensor<2x2x12x8xf32>, %k: tensor<2x2x12x8xf32>, %v: tensor<2x2x12x4xf32>, %p: tensor<16x8xf32>) -> tensor<2x2x12x4xf32> {
  %0 = fly.scatterbrain_attention %q, %k, %v, %p window = 4 : (tensor<2x2x12x8xf32>, tensor<2x2x12x8xf32>, tensor<2x2x12x4xf32>, tensor<16x8xf32>) -> tensor<2x2x12x4xf32>
  return %0 : tensor<2x2x12x4xf32>
}

// CHECK: @scatterbrain_causal fly.scatterbrain_attention f32 {{.*}} PASS
func.func @scatterbrain_causal(%q: tensor<2x2x12x8xf32>, %k: tensor<2x2x12x8xf32>, %v: tensor<2x2x12x4xf32>, %p: tensor<16x8xf32>) -> tensor<2x2x12x4xf32> {
  %0 = fly.scatterbrain_attention %q, %k, %v, %p window = 3 causal scale = 0.5 : (tensor<2x2x12x8xf32>, tensor<2x2x12x8xf32>, tensor<2x2x12x4xf32>, tensor<16x8xf32>) -> tensor<2x2x12x4xf32>
  return %0 : tensor<2x2x12x4xf32>
}

// CHECK: checked 18 functions, 0 failed
