// Input of local-attention-ptx.test: local attentions the sliding-window
// kernel does not take (f32 storage: lowered by convert-fly-to-linalg;
// head dim 48: left for the generic path with a remark).
func.func @f32(%q: tensor<1x2x128x64xf32>) -> tensor<1x2x128x64xf32> {
  %o = fly.local_attention %q, %q, %q window = 64 causal
      : (tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>,
         tensor<1x2x128x64xf32>) -> tensor<1x2x128x64xf32>
  return %o : tensor<1x2x128x64xf32>
}
func.func @d48(%q: tensor<1x2x128x48xf16>) -> tensor<1x2x128x48xf16> {
  %o = fly.local_attention %q, %q, %q window = 64 causal
      : (tensor<1x2x128x48xf16>, tensor<1x2x128x48xf16>,
         tensor<1x2x128x48xf16>) -> tensor<1x2x128x48xf16>
  return %o : tensor<1x2x128x48xf16>
}
