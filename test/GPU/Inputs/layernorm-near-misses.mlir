// Input of layernorm-kernel.test: LayerNorm's six generics in 16-bit
// storage form (as fly-convert-float-storage leaves them) over 512 columns,
// and a near miss that must keep the generic path (the mean divides by the
// wrong count).
#mn = affine_map<(m, n) -> (m, n)>
#m = affine_map<(m, n) -> (m)>
#n = affine_map<(m, n) -> (n)>
#id = affine_map<(m) -> (m)>
func.func @layernorm(%x: tensor<6x512xf16>, %g: tensor<512xf16>,
                     %b: tensor<512xf16>) -> tensor<6x512xf16> {
  %zero = arith.constant 0.0 : f32
  %cols = arith.constant 512.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %acc0 = tensor.empty() : tensor<6xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%acc0 : tensor<6xf32>) -> tensor<6xf32>
  %sum = linalg.generic {indexing_maps = [#mn, #m], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<6x512xf16>) outs(%acc : tensor<6xf32>) {
  ^bb0(%a: f16, %o: f32):
    %e = arith.extf %a : f16 to f32
    %s = arith.addf %e, %o : f32
    linalg.yield %s : f32
  } -> tensor<6xf32>
  %r16 = tensor.empty() : tensor<6xf16>
  %mean = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%sum : tensor<6xf32>) outs(%r16 : tensor<6xf16>) {
  ^bb0(%a: f32, %o: f16):
    %d = arith.divf %a, %cols : f32
    %t = arith.truncf %d : f32 to f16
    linalg.yield %t : f16
  } -> tensor<6xf16>
  %e2 = tensor.empty() : tensor<6x512xf16>
  %cent = linalg.generic {indexing_maps = [#mn, #m, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean : tensor<6x512xf16>, tensor<6xf16>) outs(%e2 : tensor<6x512xf16>) {
  ^bb0(%a: f16, %c: f16, %o: f16):
    %ae = arith.extf %a : f16 to f32
    %ce = arith.extf %c : f16 to f32
    %d = arith.subf %ae, %ce : f32
    %t = arith.truncf %d : f32 to f16
    linalg.yield %t : f16
  } -> tensor<6x512xf16>
  %sq = linalg.generic {indexing_maps = [#mn, #m], iterator_types = ["parallel", "reduction"]}
      ins(%cent : tensor<6x512xf16>) outs(%acc : tensor<6xf32>) {
  ^bb0(%a: f16, %o: f32):
    %e = arith.extf %a : f16 to f32
    %p = arith.mulf %e, %e : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<6xf32>
  %rstd = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%sq : tensor<6xf32>) outs(%r16 : tensor<6xf16>) {
  ^bb0(%a: f32, %o: f16):
    %d = arith.divf %a, %cols : f32
    %v = arith.addf %d, %eps : f32
    %r = math.rsqrt %v : f32
    %t = arith.truncf %r : f32 to f16
    linalg.yield %t : f16
  } -> tensor<6xf16>
  %y = linalg.generic {indexing_maps = [#mn, #m, #n, #n, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%cent, %rstd, %g, %b : tensor<6x512xf16>, tensor<6xf16>, tensor<512xf16>, tensor<512xf16>)
      outs(%e2 : tensor<6x512xf16>) {
  ^bb0(%a: f16, %r: f16, %gg: f16, %bb: f16, %o: f16):
    %ae = arith.extf %a : f16 to f32
    %re = arith.extf %r : f16 to f32
    %ge = arith.extf %gg : f16 to f32
    %be = arith.extf %bb : f16 to f32
    %n = arith.mulf %ae, %re : f32
    %s = arith.mulf %n, %ge : f32
    %t0 = arith.addf %s, %be : f32
    %t = arith.truncf %t0 : f32 to f16
    linalg.yield %t : f16
  } -> tensor<6x512xf16>
  return %y : tensor<6x512xf16>
}

// The mean divides by 500, not by the row length: not a LayerNorm.
func.func @wrong_count(%x: tensor<6x512xf16>, %g: tensor<512xf16>,
                       %b: tensor<512xf16>) -> tensor<6x512xf16> {
  %zero = arith.constant 0.0 : f32
  %cols = arith.constant 512.0 : f32
  %bad = arith.constant 500.0 : f32
  %eps = arith.constant 1.0e-05 : f32
  %acc0 = tensor.empty() : tensor<6xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%acc0 : tensor<6xf32>) -> tensor<6xf32>
  %sum = linalg.generic {indexing_maps = [#mn, #m], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<6x512xf16>) outs(%acc : tensor<6xf32>) {
  ^bb0(%a: f16, %o: f32):
    %e = arith.extf %a : f16 to f32
    %s = arith.addf %e, %o : f32
    linalg.yield %s : f32
  } -> tensor<6xf32>
  %r16 = tensor.empty() : tensor<6xf16>
  %mean = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%sum : tensor<6xf32>) outs(%r16 : tensor<6xf16>) {
  ^bb0(%a: f32, %o: f16):
    %d = arith.divf %a, %bad : f32
    %t = arith.truncf %d : f32 to f16
    linalg.yield %t : f16
  } -> tensor<6xf16>
  %e2 = tensor.empty() : tensor<6x512xf16>
  %cent = linalg.generic {indexing_maps = [#mn, #m, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%x, %mean : tensor<6x512xf16>, tensor<6xf16>) outs(%e2 : tensor<6x512xf16>) {
  ^bb0(%a: f16, %c: f16, %o: f16):
    %ae = arith.extf %a : f16 to f32
    %ce = arith.extf %c : f16 to f32
    %d = arith.subf %ae, %ce : f32
    %t = arith.truncf %d : f32 to f16
    linalg.yield %t : f16
  } -> tensor<6x512xf16>
  %sq = linalg.generic {indexing_maps = [#mn, #m], iterator_types = ["parallel", "reduction"]}
      ins(%cent : tensor<6x512xf16>) outs(%acc : tensor<6xf32>) {
  ^bb0(%a: f16, %o: f32):
    %e = arith.extf %a : f16 to f32
    %p = arith.mulf %e, %e : f32
    %s = arith.addf %o, %p : f32
    linalg.yield %s : f32
  } -> tensor<6xf32>
  %rstd = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%sq : tensor<6xf32>) outs(%r16 : tensor<6xf16>) {
  ^bb0(%a: f32, %o: f16):
    %d = arith.divf %a, %cols : f32
    %v = arith.addf %d, %eps : f32
    %r = math.rsqrt %v : f32
    %t = arith.truncf %r : f32 to f16
    linalg.yield %t : f16
  } -> tensor<6xf16>
  %y = linalg.generic {indexing_maps = [#mn, #m, #n, #n, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%cent, %rstd, %g, %b : tensor<6x512xf16>, tensor<6xf16>, tensor<512xf16>, tensor<512xf16>)
      outs(%e2 : tensor<6x512xf16>) {
  ^bb0(%a: f16, %r: f16, %gg: f16, %bb: f16, %o: f16):
    %ae = arith.extf %a : f16 to f32
    %re = arith.extf %r : f16 to f32
    %ge = arith.extf %gg : f16 to f32
    %be = arith.extf %bb : f16 to f32
    %n = arith.mulf %ae, %re : f32
    %s = arith.mulf %n, %ge : f32
    %t0 = arith.addf %s, %be : f32
    %t = arith.truncf %t0 : f32 to f16
    linalg.yield %t : f16
  } -> tensor<6x512xf16>
  return %y : tensor<6x512xf16>
}
