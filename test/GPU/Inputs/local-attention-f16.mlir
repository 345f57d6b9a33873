// Input of local-attention-ptx.test: fly.local_attention already on f16
// storage (compiled with --dtype f32, i.e. no storage conversion), in the
// [B, H, T, D] layout and in GPT-2's packed form (q/k/v head-split views of
// one fused [B*T, 3*H*D] projection, the output merged back to [B*T, H*D]).
#swap = affine_map<(b, x, y, d) -> (b, y, x, d)>
#id = affine_map<(b, x, y, d) -> (b, x, y, d)>
func.func @local(%q: tensor<2x3x256x64xf16>, %k: tensor<2x3x256x64xf16>,
                 %v: tensor<2x3x256x64xf16>, %qkv: tensor<512x576xf16>)
    -> (tensor<2x3x256x64xf16>, tensor<512x192xf16>) {
  %o = fly.local_attention %q, %k, %v window = 96 causal
      : (tensor<2x3x256x64xf16>, tensor<2x3x256x64xf16>,
         tensor<2x3x256x64xf16>) -> tensor<2x3x256x64xf16>

  %e = tensor.empty() : tensor<2x3x256x64xf16>
  %qs = tensor.extract_slice %qkv[0, 0] [512, 192] [1, 1]
      : tensor<512x576xf16> to tensor<512x192xf16>
  %ks = tensor.extract_slice %qkv[0, 192] [512, 192] [1, 1]
      : tensor<512x576xf16> to tensor<512x192xf16>
  %vs = tensor.extract_slice %qkv[0, 384] [512, 192] [1, 1]
      : tensor<512x576xf16> to tensor<512x192xf16>
  %qe = tensor.expand_shape %qs [[0, 1], [2, 3]] output_shape [2, 256, 3, 64]
      : tensor<512x192xf16> into tensor<2x256x3x64xf16>
  %ke = tensor.expand_shape %ks [[0, 1], [2, 3]] output_shape [2, 256, 3, 64]
      : tensor<512x192xf16> into tensor<2x256x3x64xf16>
  %ve = tensor.expand_shape %vs [[0, 1], [2, 3]] output_shape [2, 256, 3, 64]
      : tensor<512x192xf16> into tensor<2x256x3x64xf16>
  %qh = linalg.generic {indexing_maps = [#swap, #id],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%qe : tensor<2x256x3x64xf16>) outs(%e : tensor<2x3x256x64xf16>) {
  ^bb0(%x: f16, %y: f16):
    linalg.yield %x : f16
  } -> tensor<2x3x256x64xf16>
  %kh = linalg.generic {indexing_maps = [#swap, #id],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ke : tensor<2x256x3x64xf16>) outs(%e : tensor<2x3x256x64xf16>) {
  ^bb0(%x: f16, %y: f16):
    linalg.yield %x : f16
  } -> tensor<2x3x256x64xf16>
  %vh = linalg.generic {indexing_maps = [#swap, #id],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ve : tensor<2x256x3x64xf16>) outs(%e : tensor<2x3x256x64xf16>) {
  ^bb0(%x: f16, %y: f16):
    linalg.yield %x : f16
  } -> tensor<2x3x256x64xf16>
  %a = fly.local_attention %qh, %kh, %vh window = 100
      : (tensor<2x3x256x64xf16>, tensor<2x3x256x64xf16>,
         tensor<2x3x256x64xf16>) -> tensor<2x3x256x64xf16>
  %e2 = tensor.empty() : tensor<2x256x3x64xf16>
  %m = linalg.generic {indexing_maps = [#swap, #id],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%a : tensor<2x3x256x64xf16>) outs(%e2 : tensor<2x256x3x64xf16>) {
  ^bb0(%x: f16, %y: f16):
    linalg.yield %x : f16
  } -> tensor<2x256x3x64xf16>
  %merged = tensor.collapse_shape %m [[0, 1], [2, 3]]
      : tensor<2x256x3x64xf16> into tensor<512x192xf16>
  return %o, %merged : tensor<2x3x256x64xf16>, tensor<512x192xf16>
}
