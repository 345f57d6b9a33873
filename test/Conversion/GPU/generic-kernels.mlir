// RUN: fly-opt %s --pass-pipeline='builtin.module(func.func(fly-gpu-host-buffers,fly-gpu-map-parallel-loops),canonicalize)' | FileCheck %s
// RUN: not fly-opt %s --pass-pipeline='builtin.module(func.func(fly-gpu-map-parallel-loops{block-size=48}))' 2>&1 | FileCheck %s --check-prefix=BAD

// Host buffers move to device memory; an elementwise op becomes one launch
// over its 4x96 iteration space linearised (2 blocks of 256 threads, the
// innermost index fastest); the row sum gets one warp per row (4 rows, 8
// warps per block: 1 block), absorbs the fill of its accumulator and
// combines lanes with shuffles. Kernels are named after what they compute.

// CHECK-LABEL: func.func @f(
// CHECK: %[[T:.*]] = gpu.alloc  () : memref<4x96xf32>
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c2, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c256, {{.*}} = %c1, {{.*}} = %c1) module(@f_kernels) function(@f_0_elementwise)
// CHECK: arith.remsi {{.*}}, %c96
// CHECK: arith.divsi {{.*}}, %c96
// CHECK: math.exp
// CHECK: memref.store {{.*}}, %[[T]]
// CHECK: %[[S:.*]] = gpu.alloc  () : memref<4xf32>
// CHECK-NOT: linalg.fill
// CHECK: gpu.launch blocks({{.*}}) in ({{.*}} = %c1, {{.*}} = %c1, {{.*}} = %c1) threads({{.*}}) in ({{.*}} = %c256, {{.*}} = %c1, {{.*}} = %c1) module(@f_kernels) function(@f_1000_warp_reduce)
// CHECK: scf.for {{.*}} step %c32 iter_args
// CHECK-COUNT-5: gpu.shuffle  xor
// CHECK: memref.store {{.*}}, %[[S]]
// CHECK: gpu.launch {{.*}} function(@f_1_copy)
// CHECK: gpu.dealloc  %[[T]]

// BAD: block-size 48 must be a multiple of 32 in [32, 1024]

#id = affine_map<(m, n) -> (m, n)>
#row = affine_map<(m, n) -> (m)>
func.func @f(%x: memref<4x96xf32>, %out: memref<4xf32>) {
  %t = memref.alloc() : memref<4x96xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x96xf32>) outs(%t : memref<4x96xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    linalg.yield %e : f32
  }
  %s = memref.alloc() : memref<4xf32>
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%s : memref<4xf32>)
  linalg.generic {indexing_maps = [#id, #row], iterator_types = ["parallel", "reduction"]}
      ins(%t : memref<4x96xf32>) outs(%s : memref<4xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.addf %o, %a : f32
    linalg.yield %r : f32
  }
  linalg.copy ins(%s : memref<4xf32>) outs(%out : memref<4xf32>)
  memref.dealloc %t : memref<4x96xf32>
  memref.dealloc %s : memref<4xf32>
  return
}
