// The first case of test/Conversion/GPU/producer-row-statistics.mlir
// without its remark: a Monarch MLP down projection feeding a folded
// LayerNorm's GEMM, as launcher calls before fly-gpu-producer-row-statistics.
module {
  func.func @monarch_to_gemm(%h: tensor<128x1024xf16>, %w1: tensor<4x64x256xf16>, %w2: tensor<4x64x64xf16>, %b: tensor<256xf16>, %res: tensor<128x256xf16>, %w: tensor<768x256xf16>, %bq: tensor<768xf16>, %cs: tensor<768xf32>) -> tensor<128x768xf16> {
    %0 = bufferization.to_buffer %h read_only : tensor<128x1024xf16> to memref<128x1024xf16>
    %1 = bufferization.to_buffer %w1 read_only : tensor<4x64x256xf16> to memref<4x64x256xf16>
    %2 = bufferization.to_buffer %w2 read_only : tensor<4x64x64xf16> to memref<4x64x64xf16>
    %3 = bufferization.to_buffer %b read_only : tensor<256xf16> to memref<256xf16>
    %4 = bufferization.to_buffer %res read_only : tensor<128x256xf16> to memref<128x256xf16>
    %y = memref.alloc() {alignment = 128 : i64} : memref<128x256xf16>
    call @fly_monarch_m128_k4q64p256_l4s64r64_f16_bias_res_bi4_launch(%0, %1, %2, %3, %4, %y) : (memref<128x1024xf16>, memref<4x64x256xf16>, memref<4x64x64xf16>, memref<256xf16>, memref<128x256xf16>, memref<128x256xf16>) -> ()
    %x = bufferization.to_tensor %y restrict writable : memref<128x256xf16> to tensor<128x256xf16>
    %5 = bufferization.to_buffer %x read_only : tensor<128x256xf16> to memref<128x256xf16>
    %st = memref.alloc() {alignment = 128 : i64} : memref<128x1x2xf32>
    call @fly_rowstats_r128_c256_f16_launch(%5, %st) : (memref<128x256xf16>, memref<128x1x2xf32>) -> ()
    %stats = bufferization.to_tensor %st restrict writable : memref<128x1x2xf32> to tensor<128x1x2xf32>
    %6 = bufferization.to_buffer %x read_only : tensor<128x256xf16> to memref<128x256xf16>
    %7 = bufferization.to_buffer %w read_only : tensor<768x256xf16> to memref<768x256xf16>
    %8 = bufferization.to_buffer %bq read_only : tensor<768xf16> to memref<768xf16>
    %9 = bufferization.to_buffer %cs read_only : tensor<768xf32> to memref<768xf32>
    %10 = bufferization.to_buffer %stats read_only : tensor<128x1x2xf32> to memref<128x1x2xf32>
    %q = memref.alloc() {alignment = 128 : i64} : memref<128x768xf16>
    call @fly_gemm_m128_n768_k256_f16_bias_ln1e_05_launch(%6, %7, %8, %9, %10, %q) : (memref<128x256xf16>, memref<768x256xf16>, memref<768xf16>, memref<768xf32>, memref<128x1x2xf32>, memref<128x768xf16>) -> ()
    %out = bufferization.to_tensor %q restrict writable : memref<128x768xf16> to tensor<128x768xf16>
    return %out : tensor<128x768xf16>
  }
  func.func private @fly_monarch_m128_k4q64p256_l4s64r64_f16_bias_res_bi4_launch(memref<128x1024xf16>, memref<4x64x256xf16>, memref<4x64x64xf16>, memref<256xf16>, memref<128x256xf16>, memref<128x256xf16>) attributes {fly.monarch_kernel = {bias = true, blocked_output = false, gelu = false, input_blocks = 4 : i64, k = 4 : i64, l = 4 : i64, layernorm_eps = 1.000000e-05 : f64, layernorm_input = false, layernorm_partials = 1 : i64, m = 128 : i64, p = 256 : i64, q = 64 : i64, r = 64 : i64, residual = true, row_statistics = false, s = 64 : i64, type = "f16"}}
  func.func private @fly_rowstats_r128_c256_f16_launch(memref<128x256xf16>, memref<128x1x2xf32>) attributes {fly.layernorm_kernel = {cols = 256 : i64, eps = 1.000000e-05 : f64, rows = 128 : i64, stats_only = true, type = "f16"}}
  func.func private @fly_gemm_m128_n768_k256_f16_bias_ln1e_05_launch(memref<128x256xf16>, memref<768x256xf16>, memref<768xf16>, memref<768xf32>, memref<128x1x2xf32>, memref<128x768xf16>) attributes {fly.gemm = {epilogue = "bias", k = 256 : i64, layernorm_eps = 1.000000e-05 : f64, layernorm_input = true, layernorm_partials = 1 : i64, m = 128 : i64, n = 768 : i64, residual = false, row_statistics = false, tile_n = 128 : i64, type = "f16"}}
}

