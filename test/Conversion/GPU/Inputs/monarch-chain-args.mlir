// Input of monarch-chain-layout.test: the weights are arguments.
func.func @mlp(%x: tensor<128x256xf16>, %w1: tensor<4x64x64xf16>,
               %w2: tensor<4x256x64xf16>, %v1: tensor<4x64x256xf16>,
               %v2: tensor<4x64x64xf16>) -> tensor<128x256xf16> {
  %h = fly.monarch_matmul %x, %w1, %w2 : (tensor<128x256xf16>, tensor<4x64x64xf16>, tensor<4x256x64xf16>) -> tensor<128x1024xf16>
  %y = fly.monarch_matmul %h, %v1, %v2 : (tensor<128x1024xf16>, tensor<4x64x256xf16>, tensor<4x64x64xf16>) -> tensor<128x256xf16>
  return %y : tensor<128x256xf16>
}
