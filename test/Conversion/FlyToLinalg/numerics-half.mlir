// f16 and bf16: operands are rounded to the element type, the lowering
// computes in f32 and rounds the result; tolerance 1e-2 (fly-ref-check's
// default for 16-bit types).
// RUN: fly-ref-check %s | FileCheck %s

// CHECK: @monarch_f16 fly.monarch_matmul f16 {{.*}} PASS
func.func @monarch_f16(%x: tensor<4x32xf16>, %w1: tensor<4x8x8xf16>, %w2: tensor<4x8x8xf16>) -> tensor<4x32xf16> {
  %0 = fly.monarch_matmul %x, %w1, %w2 : (tensor<4x32xf16>, tensor<4x8x8xf16>, tensor<4x8x8xf16>) -> tensor<4x32xf16>
  return %0 : tensor<4x32xf16>
}

// CHECK: @linear_bf16 fly.linear bf16 {{.*}} PASS
func.func @linear_bf16(%x: tensor<4x32xbf16>, %w: tensor<16x32xbf16>, %b: tensor<16xbf16>) -> tensor<4x16xbf16> {
  %0 = fly.linear %x, %w, %b : (tensor<4x32xbf16>, tensor<16x32xbf16>, tensor<16xbf16>) -> tensor<4x16xbf16>
  return %0 : tensor<4x16xbf16>
}

// CHECK: @attention_f16 fly.attention f16 {{.*}} PASS
func.func @attention_f16(%q: tensor<1x2x8x8xf16>, %k: tensor<1x2x8x8xf16>, %v: tensor<1x2x8x8xf16>) -> tensor<1x2x8x8xf16> {
  %0 = fly.attention %q, %k, %v causal : (tensor<1x2x8x8xf16>, tensor<1x2x8x8xf16>, tensor<1x2x8x8xf16>) -> tensor<1x2x8x8xf16>
  return %0 : tensor<1x2x8x8xf16>
}

// CHECK: @scatterbrain_bf16 fly.scatterbrain_attention bf16 {{.*}} PASS
func.func @scatterbrain_bf16(%q: tensor<1x2x8x8xbf16>, %k: tensor<1x2x8x8xbf16>, %v: tensor<1x2x8x8xbf16>, %p: tensor<8x8xbf16>) -> tensor<1x2x8x8xbf16> {
  %0 = fly.scatterbrain_attention %q, %k, %v, %p window = 2 : (tensor<1x2x8x8xbf16>, tensor<1x2x8x8xbf16>, tensor<1x2x8x8xbf16>, tensor<8x8xbf16>) -> tensor<1x2x8x8xbf16>
  return %0 : tensor<1x2x8x8xbf16>
}
// CHECK: checked 4 functions, 0 failed
