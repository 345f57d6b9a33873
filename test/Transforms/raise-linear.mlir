// RUN: fly-opt %s --fly-raise-linear -split-input-file | FileCheck %s
// RUN: fly-opt %s --fly-raise-linear=remarks -split-input-file -verify-diagnostics -o /dev/null
// RUN: fly-opt %s --fly-raise-linear=require-constant-weight=false -split-input-file | FileCheck %s --check-prefix=ANY

#mn = affine_map<(d0, d1) -> (d0, d1)>
#n = affine_map<(d0, d1) -> (d1)>

// GPT-2 Conv1D: the weight is stored [in, out]; fly.linear gets its
// transpose, and the broadcast add of the bias becomes the bias operand.
// CHECK-LABEL: func @conv1d
//  CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
//   CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<8x16xf32>
//   CHECK-DAG: %[[B:.*]] = arith.constant dense<{{.*}}> : tensor<16xf32>
//       CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W]] : tensor<8x16xf32>) outs(%{{.*}} : tensor<16x8xf32>) permutation = [1, 0]
//       CHECK: %[[Y:.*]] = fly.linear %[[X]], %[[WT]], %[[B]] : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
//   CHECK-NOT: linalg.matmul
//   CHECK-NOT: linalg.generic
//       CHECK: return %[[Y]]
func.func @conv1d(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = arith.constant dense<0.5> : tensor<8x16xf32>
  %b = arith.constant dense<0.25> : tensor<16xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{raised linear 8x16 (Conv1D, bias)}}
  %y = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %e2 = tensor.empty() : tensor<4x16xf32>
  %r = linalg.generic {indexing_maps = [#mn, #n, #mn], iterator_types = ["parallel", "parallel"]} ins(%y, %b : tensor<4x16xf32>, tensor<16xf32>) outs(%e2 : tensor<4x16xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

#mn = affine_map<(d0, d1) -> (d0, d1)>
#n = affine_map<(d0, d1) -> (d1)>

// nn.Linear: the weight is stored [out, in] and transposed before the
// matmul; fly.linear takes it directly (bias added as b + y here).
// CHECK-LABEL: func @nn_linear
//  CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
//   CHECK-DAG: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<16x8xf32>
//   CHECK-DAG: %[[B:.*]] = arith.constant dense<{{.*}}> : tensor<16xf32>
//       CHECK: %[[Y:.*]] = fly.linear %[[X]], %[[W]], %[[B]] : (tensor<4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<4x16xf32>
//   CHECK-NOT: linalg.
//       CHECK: return %[[Y]]
func.func @nn_linear(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = arith.constant dense<0.5> : tensor<16x8xf32>
  %b = arith.constant dense<0.25> : tensor<16xf32>
  %et = tensor.empty() : tensor<8x16xf32>
  %wt = linalg.transpose ins(%w : tensor<16x8xf32>) outs(%et : tensor<8x16xf32>) permutation = [1, 0]
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{raised linear 8x16 (nn.Linear, bias)}}
  %y = linalg.matmul ins(%x, %wt : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %e2 = tensor.empty() : tensor<4x16xf32>
  %r = linalg.generic {indexing_maps = [#n, #mn, #mn], iterator_types = ["parallel", "parallel"]} ins(%b, %y : tensor<16xf32>, tensor<4x16xf32>) outs(%e2 : tensor<4x16xf32>) {
  ^bb0(%c: f32, %a: f32, %o: f32):
    %s = arith.addf %c, %a : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

// A contraction written as linalg.generic "mk,nk->mn" with a [N, K] weight.
// CHECK-LABEL: func @generic_transposed_weight
//  CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>)
//       CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<16x8xf32>
//       CHECK: %[[Y:.*]] = fly.linear %[[X]], %[[W]] : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
//       CHECK: return %[[Y]]
func.func @generic_transposed_weight(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w = arith.constant dense<0.5> : tensor<16x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{raised linear 8x16 (transposed weight)}}
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>], iterator_types = ["parallel", "parallel", "reduction"]} ins(%x, %w : tensor<4x8xf32>, tensor<16x8xf32>) outs(%z : tensor<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %c, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// linalg.matmul with a transposed-B indexing map, weight behind a reshape
// (ViT patch embedding: a [out, c, kh, kw] kernel collapsed to [out, in]).
// CHECK-LABEL: func @matmul_transpose_b_reshaped
//       CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<16x2x4xf32>
//       CHECK: %[[C:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0], [1, 2]] : tensor<16x2x4xf32> into tensor<16x8xf32>
//       CHECK: fly.linear %{{.*}}, %[[C]] : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
func.func @matmul_transpose_b_reshaped(%x: tensor<4x8xf32>) -> tensor<4x16xf32> {
  %w3 = arith.constant dense<0.5> : tensor<16x2x4xf32>
  %w = tensor.collapse_shape %w3 [[0], [1, 2]] : tensor<16x2x4xf32> into tensor<16x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{raised linear 8x16 (transposed weight)}}
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] ins(%x, %w : tensor<4x8xf32>, tensor<16x8xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Near misses: a product of two activations (raised only with
// require-constant-weight=false), a matmul accumulating into a non-zero
// tensor, a constant on the left, and a batched matmul (not a candidate).
// CHECK-LABEL: func @not_linear
//   CHECK-NOT: fly.linear
//       CHECK: linalg.matmul
//       CHECK: linalg.matmul
//       CHECK: linalg.matmul
//       CHECK: linalg.batch_matmul
// ANY-LABEL: func @not_linear
//       ANY: fly.linear %arg0, %{{.*}} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
//       ANY: linalg.matmul
//       ANY: fly.linear
//       ANY: linalg.batch_matmul
func.func @not_linear(%x: tensor<4x8xf32>, %a: tensor<8x16xf32>, %acc: tensor<4x16xf32>, %q: tensor<2x4x8xf32>, %k: tensor<2x8x4xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x4x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{not raised as linear: rhs is not a constant weight (activation product)}}
  %y0 = linalg.matmul ins(%x, %a : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %w = arith.constant dense<0.5> : tensor<8x16xf32>
  // expected-remark @+1 {{not raised as linear: accumulator is not zero (y = C + x * W)}}
  %y1 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%acc : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c = arith.constant dense<0.5> : tensor<4x8xf32>
  %xt = tensor.empty() : tensor<8x16xf32>
  // expected-remark @+1 {{not raised as linear: the constant is on the left (W * x)}}
  %y2 = linalg.matmul ins(%c, %a : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %eb = tensor.empty() : tensor<2x4x4xf32>
  %zb = linalg.fill ins(%zero : f32) outs(%eb : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %s = linalg.batch_matmul ins(%q, %k : tensor<2x4x8xf32>, tensor<2x8x4xf32>) outs(%zb : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %y0, %y1, %y2, %s : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<2x4x4xf32>
}

// -----

#mn = affine_map<(d0, d1) -> (d0, d1)>
#n = affine_map<(d0, d1) -> (d1)>

// A bias that is not a constant stays a separate add.
// CHECK-LABEL: func @bias_not_constant
//       CHECK: %[[Y:.*]] = fly.linear %{{.*}}, %{{.*}} : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
//       CHECK: linalg.generic {{.*}} ins(%[[Y]], %{{.*}} : tensor<4x16xf32>, tensor<16xf32>)
func.func @bias_not_constant(%x: tensor<4x8xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %w = arith.constant dense<0.5> : tensor<8x16xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  // expected-remark @+1 {{raised linear 8x16 (Conv1D)}}
  %y = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %e2 = tensor.empty() : tensor<4x16xf32>
  // expected-remark @+1 {{not raised as linear: bias is not a constant}}
  %r = linalg.generic {indexing_maps = [#mn, #n, #mn], iterator_types = ["parallel", "parallel"]} ins(%y, %b : tensor<4x16xf32>, tensor<16xf32>) outs(%e2 : tensor<4x16xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %r : tensor<4x16xf32>
}

// -----

#mn = affine_map<(d0, d1) -> (d0, d1)>

// MLP with GPT-2's tanh GELU, as the importer writes it.
// CHECK-LABEL: func @mlp_gelu_tanh
//       CHECK: %[[UP:.*]] = fly.linear %{{.*}} {fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64} : (tensor<2x4xf32>, tensor<8x4xf32>) -> tensor<2x8xf32>
//       CHECK: %[[H:.*]] = linalg.generic {{.*}} ins(%[[UP]] : tensor<2x8xf32>)
//       CHECK: fly.linear %[[H]], %{{.*}} {fly.mlp = "down", fly.mlp_id = 0 : i64} : (tensor<2x8xf32>, tensor<4x8xf32>) -> tensor<2x4xf32>
func.func @mlp_gelu_tanh(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w1 = arith.constant dense<0.5> : tensor<4x8xf32>
  %w2 = arith.constant dense<0.5> : tensor<8x4xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<2x8xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  // expected-remark @+1 {{raised linear 4x8 (Conv1D, mlp up #0 gelu_tanh)}}
  %u = linalg.matmul ins(%x, %w1 : tensor<2x4xf32>, tensor<4x8xf32>) outs(%z1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %e2 = tensor.empty() : tensor<2x8xf32>
  %h = linalg.generic {indexing_maps = [#mn, #mn], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<2x8xf32>) outs(%e2 : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.mulf %0, %in : f32
    %c0 = arith.constant 4.471500e-02 : f32
    %2 = arith.mulf %1, %c0 : f32
    %3 = arith.addf %in, %2 : f32
    %c1 = arith.constant 0.797884583 : f32
    %4 = arith.mulf %3, %c1 : f32
    %5 = math.tanh %4 : f32
    %c2 = arith.constant 1.000000e+00 : f32
    %6 = arith.addf %5, %c2 : f32
    %c3 = arith.constant 5.000000e-01 : f32
    %7 = arith.mulf %in, %c3 : f32
    %8 = arith.mulf %7, %6 : f32
    linalg.yield %8 : f32
  } -> tensor<2x8xf32>
  %e3 = tensor.empty() : tensor<2x4xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{raised linear 8x4 (Conv1D, mlp down #0)}}
  %d = linalg.matmul ins(%h, %w2 : tensor<2x8xf32>, tensor<8x4xf32>) outs(%z3 : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

// -----

#mn = affine_map<(d0, d1) -> (d0, d1)>

// The tanh GELU arranged differently: x^3 by powf, the constants
// distributed, 0.5 applied last; and the erf GELU with a division by sqrt(2).
// CHECK-LABEL: func @mlp_gelu_variants
//       CHECK: fly.linear {{.*}} {fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64}
//       CHECK: fly.linear {{.*}} {fly.mlp = "down", fly.mlp_id = 0 : i64}
//       CHECK: fly.linear {{.*}} {fly.activation = "gelu_erf", fly.mlp = "up", fly.mlp_id = 1 : i64}
//       CHECK: fly.linear {{.*}} {fly.mlp = "down", fly.mlp_id = 1 : i64}
func.func @mlp_gelu_variants(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w1 = arith.constant dense<0.5> : tensor<4x8xf32>
  %w2 = arith.constant dense<0.5> : tensor<8x4xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<2x8xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %e3 = tensor.empty() : tensor<2x4xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{raised linear 4x8 (Conv1D, mlp up #0 gelu_tanh)}}
  %u = linalg.matmul ins(%x, %w1 : tensor<2x4xf32>, tensor<4x8xf32>) outs(%z1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %h = linalg.generic {indexing_maps = [#mn, #mn], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<2x8xf32>) outs(%e1 : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %three = arith.constant 3.0 : f32
    %0 = math.powf %in, %three : f32
    %ca = arith.constant 0.0356774081 : f32
    %1 = arith.mulf %ca, %0 : f32
    %cb = arith.constant 0.797884583 : f32
    %2 = arith.mulf %cb, %in : f32
    %3 = arith.addf %2, %1 : f32
    %4 = math.tanh %3 : f32
    %one = arith.constant 1.0 : f32
    %5 = arith.addf %one, %4 : f32
    %6 = arith.mulf %in, %5 : f32
    %half = arith.constant 0.5 : f32
    %7 = arith.mulf %half, %6 : f32
    linalg.yield %7 : f32
  } -> tensor<2x8xf32>
  // expected-remark @+1 {{raised linear 8x4 (Conv1D, mlp down #0)}}
  %d = linalg.matmul ins(%h, %w2 : tensor<2x8xf32>, tensor<8x4xf32>) outs(%z3 : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{raised linear 4x8 (Conv1D, mlp up #1 gelu_erf)}}
  %u2 = linalg.matmul ins(%d, %w1 : tensor<2x4xf32>, tensor<4x8xf32>) outs(%z1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %h2 = linalg.generic {indexing_maps = [#mn, #mn], iterator_types = ["parallel", "parallel"]} ins(%u2 : tensor<2x8xf32>) outs(%e1 : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %sqrt2 = arith.constant 1.41421354 : f32
    %0 = arith.divf %in, %sqrt2 : f32
    %1 = math.erf %0 : f32
    %one = arith.constant 1.0 : f32
    %2 = arith.addf %1, %one : f32
    %half = arith.constant 0.5 : f32
    %3 = arith.mulf %2, %half : f32
    %4 = arith.mulf %in, %3 : f32
    linalg.yield %4 : f32
  } -> tensor<2x8xf32>
  // expected-remark @+1 {{raised linear 8x4 (Conv1D, mlp down #1)}}
  %d2 = linalg.matmul ins(%h2, %w2 : tensor<2x8xf32>, tensor<8x4xf32>) outs(%z3 : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %d2 : tensor<2x4xf32>
}

// -----

#mn = affine_map<(d0, d1) -> (d0, d1)>

// Not MLPs: a ReLU between the linears, and a tanh "GELU" with a wrong
// constant (0.04 instead of 0.044715).
// CHECK-LABEL: func @not_mlp
//   CHECK-NOT: fly.mlp
func.func @not_mlp(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %w1 = arith.constant dense<0.5> : tensor<4x8xf32>
  %w2 = arith.constant dense<0.5> : tensor<8x4xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<2x8xf32>
  %z1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %e3 = tensor.empty() : tensor<2x4xf32>
  %z3 = linalg.fill ins(%zero : f32) outs(%e3 : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{raised linear 4x8 (Conv1D)}}
  %u = linalg.matmul ins(%x, %w1 : tensor<2x4xf32>, tensor<4x8xf32>) outs(%z1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %h = linalg.generic {indexing_maps = [#mn, #mn], iterator_types = ["parallel", "parallel"]} ins(%u : tensor<2x8xf32>) outs(%e1 : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.maximumf %in, %zero : f32
    linalg.yield %0 : f32
  } -> tensor<2x8xf32>
  // expected-remark @+2 {{raised linear 8x4 (Conv1D)}}
  // expected-remark @+1 {{not an MLP down projection: the activation is not GELU (tanh or erf form)}}
  %d = linalg.matmul ins(%h, %w2 : tensor<2x8xf32>, tensor<8x4xf32>) outs(%z3 : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{raised linear 4x8 (Conv1D)}}
  %u2 = linalg.matmul ins(%d, %w1 : tensor<2x4xf32>, tensor<4x8xf32>) outs(%z1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %h2 = linalg.generic {indexing_maps = [#mn, #mn], iterator_types = ["parallel", "parallel"]} ins(%u2 : tensor<2x8xf32>) outs(%e1 : tensor<2x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = arith.mulf %in, %in : f32
    %1 = arith.mulf %0, %in : f32
    %c0 = arith.constant 4.000000e-02 : f32
    %2 = arith.mulf %1, %c0 : f32
    %3 = arith.addf %in, %2 : f32
    %c1 = arith.constant 0.797884583 : f32
    %4 = arith.mulf %3, %c1 : f32
    %5 = math.tanh %4 : f32
    %c2 = arith.constant 1.000000e+00 : f32
    %6 = arith.addf %5, %c2 : f32
    %c3 = arith.constant 5.000000e-01 : f32
    %7 = arith.mulf %in, %c3 : f32
    %8 = arith.mulf %7, %6 : f32
    linalg.yield %8 : f32
  } -> tensor<2x8xf32>
  // expected-remark @+2 {{raised linear 8x4 (Conv1D)}}
  // expected-remark @+1 {{not an MLP down projection: the activation is not GELU (tanh or erf form)}}
  %d2 = linalg.matmul ins(%h2, %w2 : tensor<2x8xf32>, tensor<8x4xf32>) outs(%z3 : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %d2 : tensor<2x4xf32>
}

// -----

// TOSA (tosa.matmul on [1, M, K] x [1, K, N], zero points 0): a [1, K, N]
// weight gets a transpose of its 2-D view, the tosa.add of the bias reshaped
// from [N] to [1, 1, N] becomes the bias operand, and fly.linear works on the
// 3-D activation directly.
// CHECK-LABEL: func @tosa_kn_weight
//  CHECK-SAME: (%[[X:.*]]: tensor<1x4x8xf32>)
//   CHECK-DAG: %[[W:.*]] = "tosa.const"() <{values = dense<{{.*}}> : tensor<1x8x16xf32>}>
//   CHECK-DAG: %[[B:.*]] = "tosa.const"() <{values = dense<{{.*}}> : tensor<16xf32>}>
//       CHECK: %[[W2:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0, 1], [2]] : tensor<1x8x16xf32> into tensor<8x16xf32>
//       CHECK: %[[WT:.*]] = linalg.transpose ins(%[[W2]] : tensor<8x16xf32>) outs(%{{.*}} : tensor<16x8xf32>) permutation = [1, 0]
//       CHECK: %[[Y:.*]] = fly.linear %[[X]], %[[WT]], %[[B]] : (tensor<1x4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<1x4x16xf32>
//   CHECK-NOT: tosa.matmul
//   CHECK-NOT: tosa.add
//       CHECK: return %[[Y]]
func.func @tosa_kn_weight(%x: tensor<1x4x8xf32>) -> tensor<1x4x16xf32> {
  %w = "tosa.const"() <{values = dense<0.5> : tensor<1x8x16xf32>}> : () -> tensor<1x8x16xf32>
  %b = "tosa.const"() <{values = dense<0.25> : tensor<16xf32>}> : () -> tensor<16xf32>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  // expected-remark @+1 {{raised linear 8x16 (tosa.matmul, [K, N] weight, bias)}}
  %y = tosa.matmul %x, %w, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  %s = tosa.const_shape {values = dense<[1, 1, 16]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %b3 = tosa.reshape %b, %s : (tensor<16xf32>, !tosa.shape<3>) -> tensor<1x1x16xf32>
  %r = tosa.add %y, %b3 : (tensor<1x4x16xf32>, tensor<1x1x16xf32>) -> tensor<1x4x16xf32>
  return %r : tensor<1x4x16xf32>
}

// -----

// TOSA nn.Linear: a [1, N, K] weight transposed [0, 2, 1] (its 2-D view is
// the weight), bias a [1, 1, N] constant added on the left; and an [N, K]
// arith.constant weight transposed [1, 0] and reshaped to [1, K, N] (used
// directly).
// CHECK-LABEL: func @tosa_nn_linear
//  CHECK-SAME: (%[[X:.*]]: tensor<1x4x8xf32>)
//   CHECK-DAG: %[[W:.*]] = "tosa.const"() <{values = dense<{{.*}}> : tensor<1x16x8xf32>}>
//   CHECK-DAG: %[[B:.*]] = "tosa.const"() <{values = dense<{{.*}}> : tensor<1x1x16xf32>}>
//   CHECK-DAG: %[[WC:.*]] = tensor.collapse_shape %[[W]] {{\[}}[0, 1], [2]] : tensor<1x16x8xf32> into tensor<16x8xf32>
//   CHECK-DAG: %[[BC:.*]] = tensor.collapse_shape %[[B]] {{\[}}[0, 1, 2]] : tensor<1x1x16xf32> into tensor<16xf32>
//       CHECK: %[[Y:.*]] = fly.linear %[[X]], %[[WC]], %[[BC]] : (tensor<1x4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<1x4x16xf32>
//       CHECK: %[[W2:.*]] = arith.constant dense<{{.*}}> : tensor<8x16xf32>
//       CHECK: %[[Z:.*]] = fly.linear %[[Y]], %[[W2]] : (tensor<1x4x16xf32>, tensor<8x16xf32>) -> tensor<1x4x8xf32>
//   CHECK-NOT: tosa.matmul
//       CHECK: return %[[Z]]
func.func @tosa_nn_linear(%x: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %w = "tosa.const"() <{values = dense<0.5> : tensor<1x16x8xf32>}> : () -> tensor<1x16x8xf32>
  %b = "tosa.const"() <{values = dense<0.25> : tensor<1x1x16xf32>}> : () -> tensor<1x1x16xf32>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %wt = tosa.transpose %w {perms = array<i32: 0, 2, 1>} : (tensor<1x16x8xf32>) -> tensor<1x8x16xf32>
  // expected-remark @+1 {{raised linear 8x16 (tosa.matmul, nn.Linear, bias)}}
  %y = tosa.matmul %x, %wt, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  %r = tosa.add %b, %y : (tensor<1x1x16xf32>, tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %w2 = arith.constant dense<0.5> : tensor<8x16xf32>
  %w2t = tosa.transpose %w2 {perms = array<i32: 1, 0>} : (tensor<8x16xf32>) -> tensor<16x8xf32>
  %s = tosa.const_shape {values = dense<[1, 16, 8]> : tensor<3xindex>} : () -> !tosa.shape<3>
  %w2r = tosa.reshape %w2t, %s : (tensor<16x8xf32>, !tosa.shape<3>) -> tensor<1x16x8xf32>
  // expected-remark @+1 {{raised linear 16x8 (tosa.matmul, nn.Linear)}}
  %z = tosa.matmul %r, %w2r, %zp, %zp : (tensor<1x4x16xf32>, tensor<1x16x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x8xf32>
  return %z : tensor<1x4x8xf32>
}

// -----

// TOSA near misses: a product of two activations (raised only with
// require-constant-weight=false), a batched matmul (not a candidate), a bias
// that is a full [1, M, N] tensor, and a bias that is not a constant.
// CHECK-LABEL: func @tosa_not_linear
//   CHECK-NOT: fly.linear {{.*}}, %{{.*}}, %{{.*}} :
//       CHECK: tosa.matmul %arg0, %arg1
//       CHECK: tosa.matmul %arg2, %arg3
//       CHECK: %[[Y2:.*]] = fly.linear %arg0, %{{.*}} : (tensor<1x4x8xf32>, tensor<16x8xf32>) -> tensor<1x4x16xf32>
//       CHECK: tosa.add %[[Y2]], %{{.*}} : (tensor<1x4x16xf32>, tensor<1x4x16xf32>)
//       CHECK: %[[Y3:.*]] = fly.linear %arg0, %{{.*}} : (tensor<1x4x8xf32>, tensor<16x8xf32>) -> tensor<1x4x16xf32>
//       CHECK: tosa.add %[[Y3]], %arg4
// ANY-LABEL: func @tosa_not_linear
//       ANY: fly.linear %arg0, %{{.*}} : (tensor<1x4x8xf32>, tensor<16x8xf32>) -> tensor<1x4x16xf32>
//       ANY: tosa.matmul %arg2, %arg3
//       ANY: fly.linear %arg0, %{{.*}}, %{{.*}} : (tensor<1x4x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<1x4x16xf32>
func.func @tosa_not_linear(%x: tensor<1x4x8xf32>, %a: tensor<1x8x16xf32>, %q: tensor<2x4x8xf32>, %k: tensor<2x8x4xf32>, %bias: tensor<1x1x16xf32>) -> (tensor<1x4x16xf32>, tensor<2x4x4xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32>) {
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  // expected-remark @+1 {{not raised as linear: rhs is not a constant weight (activation product)}}
  %y0 = tosa.matmul %x, %a, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  %s = tosa.matmul %q, %k, %zp, %zp : (tensor<2x4x8xf32>, tensor<2x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<2x4x4xf32>
  %w = "tosa.const"() <{values = dense<0.5> : tensor<1x8x16xf32>}> : () -> tensor<1x8x16xf32>
  %full = "tosa.const"() <{values = dense<0.25> : tensor<1x4x16xf32>}> : () -> tensor<1x4x16xf32>
  // expected-remark @+1 {{raised linear 8x16 (tosa.matmul, [K, N] weight)}}
  %y2 = tosa.matmul %x, %w, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  // expected-remark @+1 {{not raised as linear: bias is not [1, .., 1, N] (broadcast along the output features)}}
  %r2 = tosa.add %y2, %full : (tensor<1x4x16xf32>, tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  // expected-remark @+1 {{raised linear 8x16 (tosa.matmul, [K, N] weight)}}
  %y3 = tosa.matmul %x, %w, %zp, %zp : (tensor<1x4x8xf32>, tensor<1x8x16xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x4x16xf32>
  // expected-remark @+1 {{not raised as linear: bias is not a constant}}
  %r3 = tosa.add %y3, %bias : (tensor<1x4x16xf32>, tensor<1x1x16xf32>) -> tensor<1x4x16xf32>
  return %y0, %s, %r2, %r3 : tensor<1x4x16xf32>, tensor<2x4x4xf32>, tensor<1x4x16xf32>, tensor<1x4x16xf32>
}

// -----

// MLPs over TOSA elementwise GELU: the tanh form (x^3 as x * x * x, scalars
// as [1, 1, 1] constants) and the erf form; a ReLU (tosa.clamp) is not GELU.
// CHECK-LABEL: func @tosa_mlp
//       CHECK: %[[U:.*]] = fly.linear %{{.*}} {fly.activation = "gelu_tanh", fly.mlp = "up", fly.mlp_id = 0 : i64} : (tensor<1x2x4xf32>, tensor<8x4xf32>, tensor<8xf32>) -> tensor<1x2x8xf32>
//       CHECK: tosa.tanh
//       CHECK: %[[D:.*]] = fly.linear %{{.*}} {fly.mlp = "down", fly.mlp_id = 0 : i64} : (tensor<1x2x8xf32>, tensor<4x8xf32>) -> tensor<1x2x4xf32>
//       CHECK: fly.linear %[[D]], %{{.*}} {fly.activation = "gelu_erf", fly.mlp = "up", fly.mlp_id = 1 : i64}
//       CHECK: tosa.erf
//       CHECK: fly.linear {{.*}} {fly.mlp = "down", fly.mlp_id = 1 : i64}
//       CHECK: tosa.clamp
//   CHECK-NOT: fly.mlp
func.func @tosa_mlp(%x: tensor<1x2x4xf32>) -> tensor<1x2x4xf32> {
  %w1 = "tosa.const"() <{values = dense<0.5> : tensor<1x4x8xf32>}> : () -> tensor<1x4x8xf32>
  %b1 = "tosa.const"() <{values = dense<0.1> : tensor<1x1x8xf32>}> : () -> tensor<1x1x8xf32>
  %w2 = "tosa.const"() <{values = dense<0.5> : tensor<1x8x4xf32>}> : () -> tensor<1x8x4xf32>
  %zp = "tosa.const"() <{values = dense<0.0> : tensor<1xf32>}> : () -> tensor<1xf32>
  %sh = "tosa.const"() <{values = dense<0> : tensor<1xi8>}> : () -> tensor<1xi8>
  %c0 = "tosa.const"() <{values = dense<4.471500e-02> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %c1 = "tosa.const"() <{values = dense<0.797884583> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %one = "tosa.const"() <{values = dense<1.0> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %half = "tosa.const"() <{values = dense<0.5> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  %rsqrt2 = "tosa.const"() <{values = dense<0.707106769> : tensor<1x1x1xf32>}> : () -> tensor<1x1x1xf32>
  // expected-remark @+1 {{raised linear 4x8 (tosa.matmul, [K, N] weight, bias, mlp up #0 gelu_tanh)}}
  %u0 = tosa.matmul %x, %w1, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x8xf32>
  %u = tosa.add %u0, %b1 : (tensor<1x2x8xf32>, tensor<1x1x8xf32>) -> tensor<1x2x8xf32>
  %0 = tosa.mul %u, %u, %sh : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  %1 = tosa.mul %0, %u, %sh : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  %2 = tosa.mul %1, %c0, %sh : (tensor<1x2x8xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  %3 = tosa.add %u, %2 : (tensor<1x2x8xf32>, tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
  %4 = tosa.mul %3, %c1, %sh : (tensor<1x2x8xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  %5 = tosa.tanh %4 : (tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
  %6 = tosa.add %5, %one : (tensor<1x2x8xf32>, tensor<1x1x1xf32>) -> tensor<1x2x8xf32>
  %7 = tosa.mul %u, %half, %sh : (tensor<1x2x8xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  %h = tosa.mul %7, %6, %sh : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  // expected-remark @+1 {{raised linear 8x4 (tosa.matmul, [K, N] weight, mlp down #0)}}
  %d = tosa.matmul %h, %w2, %zp, %zp : (tensor<1x2x8xf32>, tensor<1x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x4xf32>
  // expected-remark @+1 {{raised linear 4x8 (tosa.matmul, [K, N] weight, mlp up #1 gelu_erf)}}
  %u2 = tosa.matmul %d, %w1, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x8xf32>
  %8 = tosa.mul %u2, %rsqrt2, %sh : (tensor<1x2x8xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  %9 = tosa.erf %8 : (tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
  %10 = tosa.add %9, %one : (tensor<1x2x8xf32>, tensor<1x1x1xf32>) -> tensor<1x2x8xf32>
  %11 = tosa.mul %u2, %half, %sh : (tensor<1x2x8xf32>, tensor<1x1x1xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  %h2 = tosa.mul %11, %10, %sh : (tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<1xi8>) -> tensor<1x2x8xf32>
  // expected-remark @+1 {{raised linear 8x4 (tosa.matmul, [K, N] weight, mlp down #1)}}
  %d2 = tosa.matmul %h2, %w2, %zp, %zp : (tensor<1x2x8xf32>, tensor<1x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x4xf32>
  // expected-remark @+1 {{raised linear 4x8 (tosa.matmul, [K, N] weight)}}
  %u3 = tosa.matmul %d2, %w1, %zp, %zp : (tensor<1x2x4xf32>, tensor<1x4x8xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x8xf32>
  %h3 = tosa.clamp %u3 {min_val = 0.0 : f32, max_val = 3.4028235e+38 : f32} : (tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
  // expected-remark @+2 {{raised linear 8x4 (tosa.matmul, [K, N] weight)}}
  // expected-remark @+1 {{not an MLP down projection: the activation is not GELU (tanh or erf form)}}
  %d3 = tosa.matmul %h3, %w2, %zp, %zp : (tensor<1x2x8xf32>, tensor<1x8x4xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x2x4xf32>
  return %d3 : tensor<1x2x4xf32>
}
