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
