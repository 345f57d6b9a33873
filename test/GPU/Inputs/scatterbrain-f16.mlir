// Input of scatterbrain-ptx.test: fly.scatterbrain_attention already on f16
// storage (compiled with --dtype f32: no storage conversion), non-causal
// (the kernels), causal and with head dim 32 (generic path).
func.func @scatterbrain(%q: tensor<1x3x1600x64xf16>, %k: tensor<1x3x1600x64xf16>,
                        %v: tensor<1x3x1600x64xf16>, %proj: tensor<64x64xf16>,
                        %q32: tensor<1x2x128x32xf16>, %p32: tensor<16x32xf16>)
    -> (tensor<1x3x1600x64xf16>, tensor<1x3x1600x64xf16>,
        tensor<1x2x128x32xf16>) {
  %o = fly.scatterbrain_attention %q, %k, %v, %proj window = 96
      : (tensor<1x3x1600x64xf16>, tensor<1x3x1600x64xf16>,
         tensor<1x3x1600x64xf16>, tensor<64x64xf16>) -> tensor<1x3x1600x64xf16>
  %c = fly.scatterbrain_attention %q, %k, %v, %proj window = 96 causal
      : (tensor<1x3x1600x64xf16>, tensor<1x3x1600x64xf16>,
         tensor<1x3x1600x64xf16>, tensor<64x64xf16>) -> tensor<1x3x1600x64xf16>
  %s = fly.scatterbrain_attention %q32, %q32, %q32, %p32 window = 16
      : (tensor<1x2x128x32xf16>, tensor<1x2x128x32xf16>,
         tensor<1x2x128x32xf16>, tensor<16x32xf16>) -> tensor<1x2x128x32xf16>
  return %o, %c, %s : tensor<1x3x1600x64xf16>, tensor<1x3x1600x64xf16>,
                      tensor<1x2x128x32xf16>
}
