// GPT-2-style MLP projections at toy size (d = 64, 4x wider hidden layer):
// a Monarch up-projection with 4 blocks and a dense down-projection.
func.func @monarch_mlp_up(%x: tensor<2x8x64xf32>, %w1: tensor<4x16x16xf32>, %w2: tensor<4x64x16xf32>) -> tensor<2x8x256xf32> {
  %h = fly.monarch_matmul %x, %w1, %w2 : (tensor<2x8x64xf32>, tensor<4x16x16xf32>, tensor<4x64x16xf32>) -> tensor<2x8x256xf32>
  return %h : tensor<2x8x256xf32>
}

func.func @dense_down(%h: tensor<2x8x256xf32>, %w: tensor<64x256xf32>, %b: tensor<64xf32>) -> tensor<2x8x64xf32> {
  %y = fly.linear %h, %w, %b : (tensor<2x8x256xf32>, tensor<64x256xf32>, tensor<64xf32>) -> tensor<2x8x64xf32>
  return %y : tensor<2x8x64xf32>
}
