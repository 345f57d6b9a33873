// RUN: fly-opt %s --fly-raise-attention -split-input-file | FileCheck %s
// RUN: fly-opt %s --fly-raise-attention=remarks -split-input-file -verify-diagnostics -o /dev/null

// GPT-2 as imported: heads merged by collapse_shape [B, H, T, D] -> [B*H, T, D],
// k transposed, scores divided by sqrt(D) and masked by a select on
// linalg.index with finfo.min, decomposed softmax. The [B, H, T, D] sources are
// used directly and the result is collapsed back.
// CHECK-LABEL: func @gpt2_causal
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x16xf32>, %[[K:.*]]: tensor<1x2x4x16xf32>, %[[V:.*]]: tensor<1x2x4x16xf32>)
//       CHECK: %[[A:.*]] = fly.attention %[[Q]], %[[K]], %[[V]] causal scale = 2.500000e-01 : (tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
//       CHECK: %[[O:.*]] = tensor.collapse_shape %[[A]] {{\[}}[0, 1], [2], [3]] : tensor<1x2x4x16xf32> into tensor<2x4x16xf32>
//   CHECK-NOT: linalg.
//       CHECK: return %[[O]]
func.func @gpt2_causal(%q4: tensor<1x2x4x16xf32>, %k4: tensor<1x2x4x16xf32>, %v4: tensor<1x2x4x16xf32>) -> tensor<2x4x16xf32> {
  %q = tensor.collapse_shape %q4 [[0, 1], [2], [3]] : tensor<1x2x4x16xf32> into tensor<2x4x16xf32>
  %k = tensor.collapse_shape %k4 [[0, 1], [2], [3]] : tensor<1x2x4x16xf32> into tensor<2x4x16xf32>
  %v = tensor.collapse_shape %v4 [[0, 1], [2], [3]] : tensor<1x2x4x16xf32> into tensor<2x4x16xf32>
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x16xf32>) outs(%ekt : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%z0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %e1 = tensor.empty() : tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s0 : tensor<2x4x4xf32>) outs(%e1 : tensor<2x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c4 = arith.constant 4.0 : f32
    %0 = arith.divf %in, %c4 : f32
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %keep = arith.cmpi ule, %j, %i : index
    %min = arith.constant -3.40282347E+38 : f32
    %1 = arith.select %keep, %0, %min : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %er = tensor.empty() : tensor<2x4xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %max = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s : tensor<2x4x4xf32>) outs(%mi : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %es = tensor.empty() : tensor<2x4x4xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %max : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.subf %a, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %zs = arith.constant 0.0 : f32
  %si = linalg.fill ins(%zs : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x4x4xf32>) outs(%si : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.divf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %e2 = tensor.empty() : tensor<2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-remark @+1 {{raised attention B=1 H=2 T=4 S=4 D=16 (causal, scale 0.25, decomposed softmax)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x4x4xf32>, tensor<2x4x16xf32>) outs(%z2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// Plain [B*H, T, D] operands (expanded with B = 1), the scale a mulf by a
// constant from outside the body, the mask an added select (key > query gets
// -1e9), and the softmax normalised by a reciprocal.
// CHECK-LABEL: func @mul_scale_additive_mask
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x4x16xf32>, %[[K:.*]]: tensor<2x4x16xf32>, %[[V:.*]]: tensor<2x4x16xf32>)
//   CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 4, 16]
//   CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 4, 16]
//   CHECK-DAG: %[[V4:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 4, 16]
//       CHECK: fly.attention %[[Q4]], %[[K4]], %[[V4]] causal scale = 1.250000e-01
func.func @mul_scale_additive_mask(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %c = arith.constant 0.125 : f32
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x16xf32>) outs(%ekt : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%z0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %e1 = tensor.empty() : tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s0 : tensor<2x4x4xf32>) outs(%e1 : tensor<2x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %c, %in : f32
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %future = arith.cmpi ugt, %j, %i : index
    %big = arith.constant -1.0e9 : f32
    %cz = arith.constant 0.0 : f32
    %m = arith.select %future, %big, %cz : f32
    %1 = arith.addf %0, %m : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %er = tensor.empty() : tensor<2x4xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %max = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s : tensor<2x4x4xf32>) outs(%mi : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %es = tensor.empty() : tensor<2x4x4xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %max : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.subf %a, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %zs = arith.constant 0.0 : f32
  %si = linalg.fill ins(%zs : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x4x4xf32>) outs(%si : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %rcp = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]} ins(%sum : tensor<2x4xf32>) outs(%er : tensor<2x4xf32>) {
  ^bb0(%a: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %0 = arith.divf %one, %a : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%rcp, %ex : tensor<2x4xf32>, tensor<2x4x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%r: f32, %a: f32, %out: f32):
    %0 = arith.mulf %a, %r : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %e2 = tensor.empty() : tensor<2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-remark @+1 {{raised attention B=1 H=2 T=4 S=4 D=16 (causal, scale 0.125, decomposed softmax)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x4x4xf32>, tensor<2x4x16xf32>) outs(%z2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// [B, H, T, D] with generic contractions (k through a transposed map),
// the scale applied to q beforehand, and linalg.softmax.
// CHECK-LABEL: func @bhtd_generic_softmax
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x16xf32>, %[[K:.*]]: tensor<1x2x4x16xf32>, %[[V:.*]]: tensor<1x2x4x16xf32>)
//       CHECK: %[[A:.*]] = fly.attention %[[Q]], %[[K]], %[[V]] scale = 2.500000e-01 : (tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
//       CHECK: return %[[A]]
#q = affine_map<(b, h, t, s, d) -> (b, h, t, d)>
#k = affine_map<(b, h, t, s, d) -> (b, h, s, d)>
#s = affine_map<(b, h, t, s, d) -> (b, h, t, s)>
#p = affine_map<(b, h, t, d, s) -> (b, h, t, s)>
#v = affine_map<(b, h, t, d, s) -> (b, h, s, d)>
#o = affine_map<(b, h, t, d, s) -> (b, h, t, d)>
#id4 = affine_map<(b, h, t, d) -> (b, h, t, d)>
func.func @bhtd_generic_softmax(%q: tensor<1x2x4x16xf32>, %k: tensor<1x2x4x16xf32>, %v: tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %eq = tensor.empty() : tensor<1x2x4x16xf32>
  %qs = linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%q : tensor<1x2x4x16xf32>) outs(%eq : tensor<1x2x4x16xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.25 : f32
    %0 = arith.mulf %in, %c : f32
    linalg.yield %0 : f32
  } -> tensor<1x2x4x16xf32>
  %e0 = tensor.empty() : tensor<1x2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %s = linalg.generic {indexing_maps = [#q, #k, #s], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%qs, %k : tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>) outs(%z0 : tensor<1x2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %c, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x2x4x4xf32>
  %e1 = tensor.empty() : tensor<1x2x4x4xf32>
  %p = linalg.softmax dimension(3) ins(%s : tensor<1x2x4x4xf32>) outs(%e1 : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %e2 = tensor.empty() : tensor<1x2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
  // expected-remark @+1 {{raised attention B=1 H=2 T=4 S=4 D=16 (scale 0.25, linalg.softmax)}}
  %o = linalg.generic {indexing_maps = [#p, #v, #o], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%p, %v : tensor<1x2x4x4xf32>, tensor<1x2x4x16xf32>) outs(%z2 : tensor<1x2x4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %0 = arith.mulf %a, %b : f32
    %1 = arith.addf %c, %0 : f32
    linalg.yield %1 : f32
  } -> tensor<1x2x4x16xf32>
  return %o : tensor<1x2x4x16xf32>
}

// -----

// Near miss: the softmax normalises over the query dim (sum and max over
// dim 1).
// CHECK-LABEL: func @softmax_wrong_axis
//   CHECK-NOT: fly.attention
func.func @softmax_wrong_axis(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x16xf32>) outs(%ekt : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%z0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %er = tensor.empty() : tensor<2x4xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %max = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%s : tensor<2x4x4xf32>) outs(%mi : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %es = tensor.empty() : tensor<2x4x4xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %max : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.subf %a, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %zs = arith.constant 0.0 : f32
  %si = linalg.fill ins(%zs : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%ex : tensor<2x4x4xf32>) outs(%si : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.divf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %e2 = tensor.empty() : tensor<2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-remark @+1 {{not raised as attention: the softmax does not normalise over the key dim 2}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x4x4xf32>, tensor<2x4x16xf32>) outs(%z2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// Near miss: the row max is taken over the query dim (dim 1) while the
// softmax normalises over keys.
// CHECK-LABEL: func @max_wrong_dim
//   CHECK-NOT: fly.attention
func.func @max_wrong_dim(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x16xf32>) outs(%ekt : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s = linalg.batch_matmul ins(%q, %kt : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%z0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %er = tensor.empty() : tensor<2x4xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %max = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d2)>], iterator_types = ["parallel", "reduction", "parallel"]} ins(%s : tensor<2x4x4xf32>) outs(%mi : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %es = tensor.empty() : tensor<2x4x4xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %max : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.subf %a, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %zs = arith.constant 0.0 : f32
  %si = linalg.fill ins(%zs : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x4x4xf32>) outs(%si : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.divf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %e2 = tensor.empty() : tensor<2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-remark @+1 {{not raised as attention: the row max reduces dim 1, not the key dim 2}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x4x4xf32>, tensor<2x4x16xf32>) outs(%z2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// Near miss: the scale is a function argument, not a constant.
// CHECK-LABEL: func @scale_not_constant
//   CHECK-NOT: fly.attention
func.func @scale_not_constant(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>, %c: f32) -> tensor<2x4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x16xf32>) outs(%ekt : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%z0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %e1 = tensor.empty() : tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s0 : tensor<2x4x4xf32>) outs(%e1 : tensor<2x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %c : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %er = tensor.empty() : tensor<2x4xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %max = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s : tensor<2x4x4xf32>) outs(%mi : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %es = tensor.empty() : tensor<2x4x4xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %max : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.subf %a, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %zs = arith.constant 0.0 : f32
  %si = linalg.fill ins(%zs : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x4x4xf32>) outs(%si : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.divf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %e2 = tensor.empty() : tensor<2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-remark @+1 {{not raised as attention: the scale is not a constant}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x4x4xf32>, tensor<2x4x16xf32>) outs(%z2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// Near miss: the select keeps keys after the query (anti-causal).
// CHECK-LABEL: func @anti_causal_mask
//   CHECK-NOT: fly.attention
func.func @anti_causal_mask(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x16xf32>) outs(%ekt : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%z0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %e1 = tensor.empty() : tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s0 : tensor<2x4x4xf32>) outs(%e1 : tensor<2x4x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %i = linalg.index 1 : index
    %j = linalg.index 2 : index
    %keep = arith.cmpi uge, %j, %i : index
    %min = arith.constant -3.40282347E+38 : f32
    %0 = arith.select %keep, %in, %min : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %ninf = arith.constant 0xFF800000 : f32
  %er = tensor.empty() : tensor<2x4xf32>
  %mi = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %max = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%s : tensor<2x4x4xf32>) outs(%mi : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %es = tensor.empty() : tensor<2x4x4xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s, %max : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.subf %a, %m : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %zs = arith.constant 0.0 : f32
  %si = linalg.fill ins(%zs : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x4x4xf32>) outs(%si : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %0 = arith.divf %a, %b : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %e2 = tensor.empty() : tensor<2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-remark @+1 {{not raised as attention: select is not a causal mask (key <= query kept, a large negative constant elsewhere)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x4x4xf32>, tensor<2x4x16xf32>) outs(%z2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// An added constant causal mask tensor ([T, S], broadcast over the heads; 0
// on and below the diagonal, -1e9 above), and the normaliser multiplying by
// 1 / sum inline (exp without a max shift).
// CHECK-LABEL: func @added_mask_tensor_inline_reciprocal
//       CHECK: fly.attention %{{.*}}, %{{.*}}, %{{.*}} causal scale = 1.000000e+00
//   CHECK-NOT: linalg.generic
func.func @added_mask_tensor_inline_reciprocal(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %mask = arith.constant dense<[[0.0, -1.0e9, -1.0e9, -1.0e9], [0.0, 0.0, -1.0e9, -1.0e9], [0.0, 0.0, 0.0, -1.0e9], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x16xf32>) outs(%ekt : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%z0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %e1 = tensor.empty() : tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s0, %mask : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%e1 : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.addf %m, %a : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %er = tensor.empty() : tensor<2x4xf32>
  %es = tensor.empty() : tensor<2x4x4xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x4x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = math.exp %a : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x4x4xf32>) outs(%si : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %0 = arith.divf %one, %b : f32
    %1 = arith.mulf %0, %a : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %e2 = tensor.empty() : tensor<2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-remark @+1 {{raised attention B=1 H=2 T=4 S=4 D=16 (causal, scale 1, decomposed softmax)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x4x4xf32>, tensor<2x4x16xf32>) outs(%z2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// Near miss: the added constant mask is not triangular (-1.0 above the
// diagonal is not a large negative value).
// CHECK-LABEL: func @added_mask_not_causal
//   CHECK-NOT: fly.attention
func.func @added_mask_not_causal(%q: tensor<2x4x16xf32>, %k: tensor<2x4x16xf32>, %v: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %mask = arith.constant dense<[[0.0, -1.0e9, -1.0e9, -1.0e9], [0.0, 0.0, -1.0, -1.0e9], [0.0, 0.0, 0.0, -1.0e9], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %zero = arith.constant 0.0 : f32
  %ekt = tensor.empty() : tensor<2x16x4xf32>
  %kt = linalg.transpose ins(%k : tensor<2x4x16xf32>) outs(%ekt : tensor<2x16x4xf32>) permutation = [0, 2, 1]
  %e0 = tensor.empty() : tensor<2x4x4xf32>
  %z0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s0 = linalg.batch_matmul ins(%q, %kt : tensor<2x4x16xf32>, tensor<2x16x4xf32>) outs(%z0 : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %e1 = tensor.empty() : tensor<2x4x4xf32>
  %s = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s0, %mask : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%e1 : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %out: f32):
    %0 = arith.addf %m, %a : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %er = tensor.empty() : tensor<2x4xf32>
  %es = tensor.empty() : tensor<2x4x4xf32>
  %ex = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%s : tensor<2x4x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %out: f32):
    %0 = math.exp %a : f32
    linalg.yield %0 : f32
  } -> tensor<2x4x4xf32>
  %si = linalg.fill ins(%zero : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%ex : tensor<2x4x4xf32>) outs(%si : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.addf %in, %out : f32
    linalg.yield %0 : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>, affine_map<(d0, d1, d2) -> (d0, d1)>, affine_map<(d0, d1, d2) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel"]} ins(%ex, %sum : tensor<2x4x4xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %0 = arith.divf %one, %b : f32
    %1 = arith.mulf %0, %a : f32
    linalg.yield %1 : f32
  } -> tensor<2x4x4xf32>
  %e2 = tensor.empty() : tensor<2x4x16xf32>
  %z2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  // expected-remark @+1 {{not raised as attention: the added mask is not causal at [1, 2] (needs 0 / keep for key <= query, <= -1e4 / drop above)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<2x4x4xf32>, tensor<2x4x16xf32>) outs(%z2 : tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// TOSA, as importers write it: heads merged by tosa.reshape [1, 2, 4, 16] ->
// [2, 4, 16], k transposed by tosa.transpose [0, 2, 1], tosa.matmul with zero
// points 0, the scores scaled by a [1, 1, 1] constant (shift 0) and masked by
// adding a constant that is 0 on and below the diagonal and -1e9 above it,
// softmax as reduce_max / sub / exp / reduce_sum / reciprocal / mul over the
// last dim. The [1, 2, 4, 16] sources are used directly.
// CHECK-LABEL: func @tosa_causal_additive_mask
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x16xf32>, %[[K:.*]]: tensor<1x2x4x16xf32>, %[[V:.*]]: tensor<1x2x4x16xf32>)
//       CHECK: %[[A:.*]] = fly.attention %[[Q]], %[[K]], %[[V]] causal scale = 2.500000e-01 : (tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>, tensor<1x2x4x16xf32>) -> tensor<1x2x4x16xf32>
//       CHECK: %[[O:.*]] = tensor.collapse_shape %[[A]] {{\[}}[0, 1], [2], [3]] : tensor<1x2x4x16xf32> into tensor<2x4x16xf32>
//   CHECK-NOT: tosa.matmul
//   CHECK-NOT: tosa.exp
//       CHECK: return %[[O]]
func.func @tosa_causal_additive_mask(%q4: tensor<1x2x4x16xf32>, %k4: tensor<1x2x4x16xf32>, %v4: tensor<1x2x4x16xf32>) -> tensor<2x4x16xf32> {
  %shape = tosa.const_shape {values = dense<[2, 4, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %q = tosa.reshape %q4, %shape : (tensor<1x2x4x16xf32>, !tosa.shape<3>) -> tensor<2x4x16xf32>
  %k = tosa.reshape %k4, %shape : (tensor<1x2x4x16xf32>, !tosa.shape<3>) -> tensor<2x4x16xf32>
  %v = tosa.reshape %v4, %shape : (tensor<1x2x4x16xf32>, !tosa.shape<3>) -> tensor<2x4x16xf32>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c = "tosa.const"() <{values = dense<0.25> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %mask = "tosa.const"() <{values = dense<[[[0.0, -1.0e9, -1.0e9, -1.0e9], [0.0, 0.0, -1.0e9, -1.0e9], [0.0, 0.0, 0.0, -1.0e9], [0.0, 0.0, 0.0, 0.0]]]> : tensor<1x4x4xf32>}> : () -> tensor<1x4x4xf32>
  %kt = tosa.transpose %k {perms = array<i32: 0, 2, 1>} : (tensor<2x4x16xf32>) -> tensor<2x16x4xf32>
  %s0 = tosa.matmul %q, %kt, %zp, %zp : (tensor<2x4x16xf32>, tensor<2x16x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4xf32>
  %s1 = tosa.mul %s0, %c, %sh : (tensor<2x4x4xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %s = tosa.add %s1, %mask : (tensor<2x4x4xf32>, tensor<1x4x4xf32>) -> tensor<2x4x4xf32>
  %mx = tosa.reduce_max %s {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %d = tosa.sub %s, %mx : (tensor<2x4x4xf32>, tensor<2x4x1xf32>) -> tensor<2x4x4xf32>
  %e = tosa.exp %d : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r = tosa.reciprocal %sum : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p = tosa.mul %e, %r, %sh : (tensor<2x4x4xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  // expected-remark @+1 {{raised attention B=1 H=2 T=4 S=4 D=16 (causal, scale 0.25, tosa softmax)}}
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// TOSA with the scale on q beforehand (two factors), k given as [N, D, S]
// (transposed for fly.attention), a causal tosa.select on a constant
// lower-triangular condition with -inf, the reciprocal on the left of the
// normaliser, and no max shift (exp(s) directly).
// CHECK-LABEL: func @tosa_select_scaled_q
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x4x16xf32>, %[[KT:.*]]: tensor<2x16x4xf32>, %[[V:.*]]: tensor<2x4x16xf32>)
//       CHECK: %[[K:.*]] = linalg.transpose ins(%[[KT]] : tensor<2x16x4xf32>) outs(%{{.*}} : tensor<2x4x16xf32>) permutation = [0, 2, 1]
//   CHECK-DAG: %[[Q4:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 4, 16]
//   CHECK-DAG: %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 4, 16]
//   CHECK-DAG: %[[V4:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 4, 16]
//       CHECK: fly.attention %[[Q4]], %[[K4]], %[[V4]] causal scale = 1.250000e-01
func.func @tosa_select_scaled_q(%q: tensor<2x4x16xf32>, %kt: tensor<2x16x4xf32>, %v: tensor<2x4x16xf32>) -> tensor<2x4x16xf32> {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c1 = "tosa.const"() <{values = dense<0.5> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %c2 = "tosa.const"() <{values = dense<0.25> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %ninf = "tosa.const"() <{values = dense<0xFF800000> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %keep = "tosa.const"() <{values = dense<[[[true, false, false, false], [true, true, false, false], [true, true, true, false], [true, true, true, true]]]> : tensor<1x4x4xi1>}> : () -> tensor<1x4x4xi1>
  %q1 = tosa.mul %q, %c1, %sh : (tensor<2x4x16xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x16xf32>
  %q2 = tosa.mul %c2, %q1, %sh : (tensor<1x1x1xf32>, tensor<2x4x16xf32>, tensor<1xi8>) -> tensor<2x4x16xf32>
  %s0 = tosa.matmul %q2, %kt, %zp, %zp : (tensor<2x4x16xf32>, tensor<2x16x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4xf32>
  %s = tosa.select %keep, %s0, %ninf : (tensor<1x4x4xi1>, tensor<2x4x4xf32>, tensor<1x1x1xf32>) -> tensor<2x4x4xf32>
  %e = tosa.exp %s : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %sum = tosa.reduce_sum %e {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r = tosa.reciprocal %sum : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p = tosa.mul %r, %e, %sh : (tensor<2x4x1xf32>, tensor<2x4x4xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  // expected-remark @+1 {{raised attention B=1 H=2 T=4 S=4 D=16 (causal, scale 0.125, tosa softmax)}}
  %o = tosa.matmul %p, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x16xf32>
  return %o : tensor<2x4x16xf32>
}

// -----

// TOSA near misses: the row sum over the query dim (axis 1), the row max
// over the query dim, a scale that is a function argument, a mask constant
// that masks a key below the diagonal, and a select condition that keeps the
// keys on and after the query (anti-causal).
// CHECK-LABEL: func @tosa_not_attention
//   CHECK-NOT: fly.attention
func.func @tosa_not_attention(%q: tensor<2x4x16xf32>, %kt: tensor<2x16x4xf32>, %v: tensor<2x4x16xf32>, %c: tensor<1x1x1xf32>) -> (tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>) {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %s = tosa.matmul %q, %kt, %zp, %zp : (tensor<2x4x16xf32>, tensor<2x16x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4xf32>

  %mx0 = tosa.reduce_max %s {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %d0 = tosa.sub %s, %mx0 : (tensor<2x4x4xf32>, tensor<2x4x1xf32>) -> tensor<2x4x4xf32>
  %e0 = tosa.exp %d0 : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %sum0 = tosa.reduce_sum %e0 {axis = 1 : i32} : (tensor<2x4x4xf32>) -> tensor<2x1x4xf32>
  %r0 = tosa.reciprocal %sum0 : (tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  %p0 = tosa.mul %e0, %r0, %sh : (tensor<2x4x4xf32>, tensor<2x1x4xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  // expected-remark @+1 {{not raised as attention: the row sum reduces dim 1, not the key dim 2}}
  %o0 = tosa.matmul %p0, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x16xf32>

  %mx1 = tosa.reduce_max %s {axis = 1 : i32} : (tensor<2x4x4xf32>) -> tensor<2x1x4xf32>
  %d1 = tosa.sub %s, %mx1 : (tensor<2x4x4xf32>, tensor<2x1x4xf32>) -> tensor<2x4x4xf32>
  %e1 = tosa.exp %d1 : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %sum1 = tosa.reduce_sum %e1 {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r1 = tosa.reciprocal %sum1 : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p1 = tosa.mul %e1, %r1, %sh : (tensor<2x4x4xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  // expected-remark @+1 {{not raised as attention: the row max reduces dim 1, not the key dim 2}}
  %o1 = tosa.matmul %p1, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x16xf32>

  %s2 = tosa.mul %s, %c, %sh : (tensor<2x4x4xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  %e2 = tosa.exp %s2 : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %sum2 = tosa.reduce_sum %e2 {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r2 = tosa.reciprocal %sum2 : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p2 = tosa.mul %e2, %r2, %sh : (tensor<2x4x4xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  // expected-remark @+1 {{not raised as attention: the scale is not a constant}}
  %o2 = tosa.matmul %p2, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x16xf32>

  %mask = "tosa.const"() <{values = dense<[[[0.0, -1.0e9, -1.0e9, -1.0e9], [0.0, 0.0, -1.0e9, -1.0e9], [-1.0e9, 0.0, 0.0, -1.0e9], [0.0, 0.0, 0.0, 0.0]]]> : tensor<1x4x4xf32>}> : () -> tensor<1x4x4xf32>
  %s3 = tosa.add %s, %mask : (tensor<2x4x4xf32>, tensor<1x4x4xf32>) -> tensor<2x4x4xf32>
  %e3 = tosa.exp %s3 : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %sum3 = tosa.reduce_sum %e3 {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r3 = tosa.reciprocal %sum3 : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p3 = tosa.mul %e3, %r3, %sh : (tensor<2x4x4xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  // expected-remark @+1 {{not raised as attention: the added mask is not causal at [2, 0] (needs 0 / keep for key <= query, <= -1e4 / drop above)}}
  %o3 = tosa.matmul %p3, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x16xf32>

  %ninf = "tosa.const"() <{values = dense<0xFF800000> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %keep = "tosa.const"() <{values = dense<[[[true, true, true, true], [false, true, true, true], [false, false, true, true], [false, false, false, true]]]> : tensor<1x4x4xi1>}> : () -> tensor<1x4x4xi1>
  %s4 = tosa.select %keep, %s, %ninf : (tensor<1x4x4xi1>, tensor<2x4x4xf32>, tensor<1x1x1xf32>) -> tensor<2x4x4xf32>
  %e4 = tosa.exp %s4 : (tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %sum4 = tosa.reduce_sum %e4 {axis = 2 : i32} : (tensor<2x4x4xf32>) -> tensor<2x4x1xf32>
  %r4 = tosa.reciprocal %sum4 : (tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %p4 = tosa.mul %e4, %r4, %sh : (tensor<2x4x4xf32>, tensor<2x4x1xf32>, tensor<1xi8>) -> tensor<2x4x4xf32>
  // expected-remark @+1 {{not raised as attention: the select condition is not causal at [0, 1] (needs 0 / keep for key <= query, <= -1e4 / drop above)}}
  %o4 = tosa.matmul %p4, %v, %zp, %zp : (tensor<2x4x4xf32>, tensor<2x4x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x16xf32>
  return %o0, %o1, %o2, %o3, %o4 : tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>, tensor<2x4x16xf32>
}
