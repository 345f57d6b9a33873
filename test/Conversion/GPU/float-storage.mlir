// RUN: fly-opt %s --fly-convert-float-storage | FileCheck %s
// RUN: fly-opt %s --fly-convert-float-storage=type=bf16 | FileCheck %s --check-prefix=BF16
// RUN: not fly-opt %s --fly-convert-float-storage=type=f8 2>&1 | FileCheck %s --check-prefix=BAD

// Storage becomes f16; elementwise bodies extend what they read and
// truncate what they write; a row sum keeps an f32 accumulator re-created
// from the fill; constants are converted at compile time; the result is
// stored in f16.

// CHECK-LABEL: func.func @layer(%{{.*}}: tensor<4x8xf16>) -> tensor<4xf16>
// CHECK-DAG: arith.constant dense<5.000000e-01> : tensor<8xf16>
// CHECK: %[[SCALED:.*]] = linalg.generic
// CHECK-SAME: ins(%{{.*}}, %{{.*}} : tensor<4x8xf16>, tensor<8xf16>) outs(%{{.*}} : tensor<4x8xf16>)
// CHECK: ^bb0(%[[A:.*]]: f16, %[[B:.*]]: f16, %{{.*}}: f16):
// CHECK-DAG: arith.extf %[[A]] : f16 to f32
// CHECK-DAG: arith.extf %[[B]] : f16 to f32
// CHECK: arith.mulf {{.*}} : f32
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%[[SCALED]] : tensor<4x8xf16>) outs(%[[ACC]] : tensor<4xf32>)
// CHECK: arith.addf {{.*}} : f32
// CHECK: %[[OUT:.*]] = linalg.generic
// CHECK-SAME: ins(%[[SUM]] : tensor<4xf32>) outs(%{{.*}} : tensor<4xf16>)
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: return %[[OUT]] : tensor<4xf16>

// BF16-LABEL: func.func @layer(%{{.*}}: tensor<4x8xbf16>) -> tensor<4xbf16>
// BAD: type must be f16 or bf16, not 'f8'

#id = affine_map<(m, n) -> (m, n)>
#col = affine_map<(m, n) -> (n)>
#row = affine_map<(m, n) -> (m)>
func.func @layer(%x: tensor<4x8xf32>) -> tensor<4xf32> {
  %w = arith.constant dense<0.5> : tensor<8xf32>
  %e = tensor.empty() : tensor<4x8xf32>
  %s = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %w : tensor<4x8xf32>, tensor<8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %p = arith.mulf %a, %b : f32
    linalg.yield %p : f32
  } -> tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4xf32>) -> tensor<4xf32>
  %sum = linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%s : tensor<4x8xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  return %sum : tensor<4xf32>
}
