// The checker must be able to fail: with an impossible tolerance it reports
// FAIL and exits non-zero.
// RUN: not fly-ref-check %s --tol=1e-12 | FileCheck %s

// CHECK: @lowrank fly.lowrank_matmul f32 {{.*}} FAIL
// CHECK: checked 1 functions, 1 failed
func.func @lowrank(%x: tensor<6x24xf32>, %u: tensor<5x24xf32>, %v: tensor<40x5xf32>) -> tensor<6x40xf32> {
  %0 = fly.lowrank_matmul %x, %u, %v : (tensor<6x24xf32>, tensor<5x24xf32>, tensor<40x5xf32>) -> tensor<6x40xf32>
  return %0 : tensor<6x40xf32>
}
