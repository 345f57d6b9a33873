func.func @f(%x: tensor<4x8xf32>, %w: tensor<3x8xf32>) -> tensor<4x4xf32> {
  %0 = fly.linear %x, %w : (tensor<4x8xf32>, tensor<3x8xf32>) -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}
