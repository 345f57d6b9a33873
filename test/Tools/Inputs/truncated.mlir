func.func @f(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = fly.linear %x, %x : (tensor<4x8xf32>
