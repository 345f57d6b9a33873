// 16-bit layers each of fly's GPU kernel passes would take on sm_90a.
func.func @linear(%x: tensor<128x64xf16>) -> tensor<128x128xf16> {
  %w = arith.constant dense<0.5> : tensor<128x64xf16>
  %y = fly.linear %x, %w : (tensor<128x64xf16>, tensor<128x64xf16>) -> tensor<128x128xf16>
  return %y : tensor<128x128xf16>
}
func.func @attention(%q: tensor<1x2x128x64xf16>) -> tensor<1x2x128x64xf16> {
  %a = fly.attention %q, %q, %q causal : (tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>) -> tensor<1x2x128x64xf16>
  return %a : tensor<1x2x128x64xf16>
}
func.func @monarch(%x: tensor<128x256xf16>, %w1: tensor<4x64x64xf16>, %w2: tensor<4x64x64xf16>) -> tensor<128x256xf16> {
  %y = fly.monarch_matmul %x, %w1, %w2 : (tensor<128x256xf16>, tensor<4x64x64xf16>, tensor<4x64x64xf16>) -> tensor<128x256xf16>
  return %y : tensor<128x256xf16>
}
