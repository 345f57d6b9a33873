// Valid IR for the precondition tests: a dense f32 linear and a causal
// attention (what the structure, approximation and CPU passes take), and a
// 16-bit linear, attention and Monarch map (what the GPU kernel passes take).
func.func @f32_layers(%x: tensor<4x64xf32>, %q: tensor<1x2x16x8xf32>) -> (tensor<4x64xf32>, tensor<1x2x16x8xf32>) {
  %w = arith.constant dense<0.5> : tensor<64x64xf32>
  %y = fly.linear %x, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %a = fly.attention %q, %q, %q causal : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %y, %a : tensor<4x64xf32>, tensor<1x2x16x8xf32>
}
