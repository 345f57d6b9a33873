// RUN: fly-opt %s --fly-gpu-producer-row-statistics=remarks=true --split-input-file --verify-diagnostics | FileCheck %s
// Restricted to one kind of producer (to measure each kind's share):
// RUN: fly-opt %s --split-input-file --fly-gpu-producer-row-statistics="remarks=true producers=monarch" 2>&1 >/dev/null | FileCheck %s --check-prefix=MONARCH-ONLY
// RUN: fly-opt %s --split-input-file --fly-gpu-producer-row-statistics="remarks=true producers=gemm" 2>&1 >/dev/null | FileCheck %s --check-prefix=GEMM-ONLY
// RUN: not fly-opt %s --split-input-file --fly-gpu-producer-row-statistics="producers=attention" 2>&1 | FileCheck %s --check-prefix=BAD

// MONARCH-ONLY: remark: row statistics written by fly_monarch_m128_k4q64p256_l4s64r64_f16_bias_res_bi4_rs_launch (2 partials per row)
// MONARCH-ONLY: remark: row statistics stay a separate kernel: its input comes from a kernel that cannot write them (producers=monarch)
// GEMM-ONLY: remark: row statistics stay a separate kernel: its input comes from a kernel that cannot write them (producers=gemm)
// GEMM-ONLY: remark: row statistics written by fly_gemm_m128_n256_k256_f16_bias_res_rs_launch (2 partials per row)
// BAD: error: fly-gpu-producer-row-statistics: producers must be all, gemm or monarch (got 'attention')

// A Monarch MLP down projection (natural output, residual, two warpgroups)
// writes the row statistics the next block's QKV GEMM needs: the
// row-statistics call goes, the producer gets a [rows, 2, 2] output (`_rs`)
// and the consumer merges two partials per row (`_p2`).

// CHECK-LABEL: func.func @monarch_to_gemm
// CHECK-NOT: fly_rowstats
// CHECK: %[[Y:.*]] = memref.alloc() {alignment = 128 : i64} : memref<128x256xf16>
// CHECK: %[[P:.*]] = memref.alloc() {alignment = 128 : i64} : memref<128x2x2xf32>
// CHECK: call @fly_monarch_m128_k4q64p256_l4s64r64_f16_bias_res_bi4_rs_launch(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[Y]], %[[P]])
// CHECK: call @fly_gemm_m128_n768_k256_f16_bias_ln1e_05_p2_launch(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[P]], %{{.*}}) : (memref<128x256xf16>, memref<768x256xf16>, memref<768xf16>, memref<768xf32>, memref<128x2x2xf32>, memref<128x768xf16>) -> ()
// The replaced declarations are gone; the new ones carry their specs.
// CHECK-NOT: memref<128x1x2xf32>
// CHECK-NOT: func.func private @fly_rowstats
// CHECK-NOT: func.func private @fly_monarch_m128_k4q64p256_l4s64r64_f16_bias_res_bi4_launch(
// CHECK-DAG: func.func private @fly_monarch_m128_k4q64p256_l4s64r64_f16_bias_res_bi4_rs_launch({{.*}}, memref<128x256xf16>, memref<128x2x2xf32>) attributes {fly.monarch_kernel = {{{.*}}row_statistics = true
// CHECK-DAG: func.func private @fly_gemm_m128_n768_k256_f16_bias_ln1e_05_p2_launch({{.*}}) attributes {fly.gemm = {{{.*}}layernorm_partials = 2 : i64
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
    // expected-remark @below {{row statistics written by fly_monarch_m128_k4q64p256_l4s64r64_f16_bias_res_bi4_rs_launch (2 partials per row)}}
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

// -----

// The input is a function argument (the first block's LayerNorm): the
// row-statistics kernel stays.

// CHECK-LABEL: func.func @argument_input
// CHECK: call @fly_rowstats_r128_c256_f16_launch
// CHECK: call @fly_gemm_m128_n768_k256_f16_bias_ln1e_05_launch
module {
  func.func @argument_input(%x: tensor<128x256xf16>, %w: tensor<768x256xf16>, %bq: tensor<768xf16>, %cs: tensor<768xf32>) -> tensor<128x768xf16> {
    %5 = bufferization.to_buffer %x read_only : tensor<128x256xf16> to memref<128x256xf16>
    %st = memref.alloc() {alignment = 128 : i64} : memref<128x1x2xf32>
    // expected-remark @below {{row statistics stay a separate kernel: its input is not written by a kernel call}}
    call @fly_rowstats_r128_c256_f16_launch(%5, %st) : (memref<128x256xf16>, memref<128x1x2xf32>) -> ()
    %stats = bufferization.to_tensor %st restrict writable : memref<128x1x2xf32> to tensor<128x1x2xf32>
    %7 = bufferization.to_buffer %w read_only : tensor<768x256xf16> to memref<768x256xf16>
    %8 = bufferization.to_buffer %bq read_only : tensor<768xf16> to memref<768xf16>
    %9 = bufferization.to_buffer %cs read_only : tensor<768xf32> to memref<768xf32>
    %10 = bufferization.to_buffer %stats read_only : tensor<128x1x2xf32> to memref<128x1x2xf32>
    %q = memref.alloc() {alignment = 128 : i64} : memref<128x768xf16>
    call @fly_gemm_m128_n768_k256_f16_bias_ln1e_05_launch(%5, %7, %8, %9, %10, %q) : (memref<128x256xf16>, memref<768x256xf16>, memref<768xf16>, memref<768xf32>, memref<128x1x2xf32>, memref<128x768xf16>) -> ()
    %out = bufferization.to_tensor %q restrict writable : memref<128x768xf16> to tensor<128x768xf16>
    return %out : tensor<128x768xf16>
  }
  func.func private @fly_rowstats_r128_c256_f16_launch(memref<128x256xf16>, memref<128x1x2xf32>) attributes {fly.layernorm_kernel = {cols = 256 : i64, eps = 1.000000e-05 : f64, rows = 128 : i64, stats_only = true, type = "f16"}}
  func.func private @fly_gemm_m128_n768_k256_f16_bias_ln1e_05_launch(memref<128x256xf16>, memref<768x256xf16>, memref<768xf16>, memref<768xf32>, memref<128x1x2xf32>, memref<128x768xf16>) attributes {fly.gemm = {epilogue = "bias", k = 256 : i64, layernorm_eps = 1.000000e-05 : f64, layernorm_input = true, layernorm_partials = 1 : i64, m = 128 : i64, n = 768 : i64, residual = false, row_statistics = false, tile_n = 128 : i64, type = "f16"}}
}

// -----

// A GEMM producer (tile_n 128 over n = 256: two partials), but one reader of
// the statistics is not a kernel that can merge partials: nothing changes.

// CHECK-LABEL: func.func @unknown_reader
// CHECK: call @fly_gemm_m128_n256_k256_f16_launch(
// CHECK: call @fly_rowstats_r128_c256_f16_launch
// CHECK: call @use_stats
// The producer's redeclaration, made before a reader said no, is gone too.
// CHECK-NOT: fly_gemm_m128_n256_k256_f16_rs_launch
// CHECK-LABEL: func.func @blocked_producer
module {
  func.func @unknown_reader(%a: tensor<128x256xf16>, %w: tensor<256x256xf16>) {
    %0 = bufferization.to_buffer %a read_only : tensor<128x256xf16> to memref<128x256xf16>
    %1 = bufferization.to_buffer %w read_only : tensor<256x256xf16> to memref<256x256xf16>
    %y = memref.alloc() {alignment = 128 : i64} : memref<128x256xf16>
    call @fly_gemm_m128_n256_k256_f16_launch(%0, %1, %y) : (memref<128x256xf16>, memref<256x256xf16>, memref<128x256xf16>) -> ()
    %x = bufferization.to_tensor %y restrict writable : memref<128x256xf16> to tensor<128x256xf16>
    %5 = bufferization.to_buffer %x read_only : tensor<128x256xf16> to memref<128x256xf16>
    %st = memref.alloc() {alignment = 128 : i64} : memref<128x1x2xf32>
    // expected-remark @below {{row statistics stay a separate kernel: a reader does not take 2 partials per row}}
    call @fly_rowstats_r128_c256_f16_launch(%5, %st) : (memref<128x256xf16>, memref<128x1x2xf32>) -> ()
    %stats = bufferization.to_tensor %st restrict writable : memref<128x1x2xf32> to tensor<128x1x2xf32>
    %6 = bufferization.to_buffer %stats read_only : tensor<128x1x2xf32> to memref<128x1x2xf32>
    call @use_stats(%6) : (memref<128x1x2xf32>) -> ()
    return
  }
  func.func private @use_stats(memref<128x1x2xf32>)
  func.func private @fly_gemm_m128_n256_k256_f16_launch(memref<128x256xf16>, memref<256x256xf16>, memref<128x256xf16>) attributes {fly.gemm = {epilogue = "none", k = 256 : i64, layernorm_eps = 1.000000e-05 : f64, layernorm_input = false, layernorm_partials = 1 : i64, m = 128 : i64, n = 256 : i64, residual = false, row_statistics = false, tile_n = 128 : i64, type = "f16"}}
  func.func private @fly_rowstats_r128_c256_f16_launch(memref<128x256xf16>, memref<128x1x2xf32>) attributes {fly.layernorm_kernel = {cols = 256 : i64, eps = 1.000000e-05 : f64, rows = 128 : i64, stats_only = true, type = "f16"}}
}

// -----

// A blocked Monarch output (an MLP up projection) cannot write them.

// CHECK: call @fly_rowstats_r128_c1024_f16_launch
module {
  func.func @blocked_producer(%a: tensor<128x256xf16>, %w1: tensor<4x64x64xf16>, %w2: tensor<4x256x64xf16>) -> tensor<128x1x2xf32> {
    %0 = bufferization.to_buffer %a read_only : tensor<128x256xf16> to memref<128x256xf16>
    %1 = bufferization.to_buffer %w1 read_only : tensor<4x64x64xf16> to memref<4x64x64xf16>
    %2 = bufferization.to_buffer %w2 read_only : tensor<4x256x64xf16> to memref<4x256x64xf16>
    %y = memref.alloc() {alignment = 128 : i64} : memref<128x1024xf16>
    call @fly_monarch_m128_k4q64p64_l4s256r64_f16_bo_launch(%0, %1, %2, %y) : (memref<128x256xf16>, memref<4x64x64xf16>, memref<4x256x64xf16>, memref<128x1024xf16>) -> ()
    %x = bufferization.to_tensor %y restrict writable : memref<128x1024xf16> to tensor<128x1024xf16>
    %5 = bufferization.to_buffer %x read_only : tensor<128x1024xf16> to memref<128x1024xf16>
    %st = memref.alloc() {alignment = 128 : i64} : memref<128x1x2xf32>
    // expected-remark @below {{row statistics stay a separate kernel: the producing Monarch kernel cannot write them (not a natural output stored from registers)}}
    call @fly_rowstats_r128_c1024_f16_launch(%5, %st) : (memref<128x1024xf16>, memref<128x1x2xf32>) -> ()
    %stats = bufferization.to_tensor %st restrict writable : memref<128x1x2xf32> to tensor<128x1x2xf32>
    return %stats : tensor<128x1x2xf32>
  }
  func.func private @fly_monarch_m128_k4q64p64_l4s256r64_f16_bo_launch(memref<128x256xf16>, memref<4x64x64xf16>, memref<4x256x64xf16>, memref<128x1024xf16>) attributes {fly.monarch_kernel = {bias = false, blocked_output = true, gelu = false, input_blocks = 0 : i64, k = 4 : i64, l = 4 : i64, layernorm_eps = 1.000000e-05 : f64, layernorm_input = false, layernorm_partials = 1 : i64, m = 128 : i64, p = 64 : i64, q = 64 : i64, r = 64 : i64, residual = false, row_statistics = false, s = 256 : i64, type = "f16"}}
  func.func private @fly_rowstats_r128_c1024_f16_launch(memref<128x1024xf16>, memref<128x1x2xf32>) attributes {fly.layernorm_kernel = {cols = 1024 : i64, eps = 1.000000e-05 : f64, rows = 128 : i64, stats_only = true, type = "f16"}}
}

// -----

// After canonicalization (fly-compile builds the Monarch calls before
// weights are externalised) the to_tensor / to_buffer pairs are folded
// away: calls pass the buffers directly. An attention projection GEMM
// (tile_n 128 over n = 256: two partials) feeding the MLP's Monarch up
// projection.

// CHECK-LABEL: func.func @gemm_to_monarch_buffers
// CHECK-NOT: fly_rowstats
// CHECK: %[[Y:.*]] = memref.alloc() {alignment = 128 : i64} : memref<128x256xf16>
// CHECK: %[[P:.*]] = memref.alloc() {alignment = 128 : i64} : memref<128x2x2xf32>
// CHECK: call @fly_gemm_m128_n256_k256_f16_bias_res_rs_launch(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[Y]], %[[P]])
// CHECK: call @fly_monarch_m128_k4q64p64_l4s256r64_f16_bias_gelu_bo_ln1e_05_p2_launch(%[[Y]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[P]], %{{.*}})
// CHECK-NOT: memref<128x1x2xf32>
module {
  func.func @gemm_to_monarch_buffers(%a: memref<128x256xf16>, %w: memref<256x256xf16>, %b: memref<256xf16>, %res: memref<128x256xf16>, %w1: memref<4x64x64xf16>, %w2: memref<4x256x64xf16>, %b1: memref<1024xf16>, %cs: memref<1024xf32>) -> memref<128x1024xf16> {
    %y = memref.alloc() {alignment = 128 : i64} : memref<128x256xf16>
    call @fly_gemm_m128_n256_k256_f16_bias_res_launch(%a, %w, %b, %res, %y) : (memref<128x256xf16>, memref<256x256xf16>, memref<256xf16>, memref<128x256xf16>, memref<128x256xf16>) -> ()
    %st = memref.alloc() {alignment = 128 : i64} : memref<128x1x2xf32>
    // expected-remark @below {{row statistics written by fly_gemm_m128_n256_k256_f16_bias_res_rs_launch (2 partials per row)}}
    call @fly_rowstats_r128_c256_f16_launch(%y, %st) : (memref<128x256xf16>, memref<128x1x2xf32>) -> ()
    %h = memref.alloc() {alignment = 128 : i64} : memref<128x1024xf16>
    call @fly_monarch_m128_k4q64p64_l4s256r64_f16_bias_gelu_bo_ln1e_05_launch(%y, %w1, %w2, %b1, %cs, %st, %h) : (memref<128x256xf16>, memref<4x64x64xf16>, memref<4x256x64xf16>, memref<1024xf16>, memref<1024xf32>, memref<128x1x2xf32>, memref<128x1024xf16>) -> ()
    return %h : memref<128x1024xf16>
  }
  func.func private @fly_gemm_m128_n256_k256_f16_bias_res_launch(memref<128x256xf16>, memref<256x256xf16>, memref<256xf16>, memref<128x256xf16>, memref<128x256xf16>) attributes {fly.gemm = {epilogue = "bias", k = 256 : i64, layernorm_eps = 1.000000e-05 : f64, layernorm_input = false, layernorm_partials = 1 : i64, m = 128 : i64, n = 256 : i64, residual = true, row_statistics = false, tile_n = 128 : i64, type = "f16"}}
  func.func private @fly_rowstats_r128_c256_f16_launch(memref<128x256xf16>, memref<128x1x2xf32>) attributes {fly.layernorm_kernel = {cols = 256 : i64, eps = 1.000000e-05 : f64, rows = 128 : i64, stats_only = true, type = "f16"}}
  func.func private @fly_monarch_m128_k4q64p64_l4s256r64_f16_bias_gelu_bo_ln1e_05_launch(memref<128x256xf16>, memref<4x64x64xf16>, memref<4x256x64xf16>, memref<1024xf16>, memref<1024xf32>, memref<128x1x2xf32>, memref<128x1024xf16>) attributes {fly.monarch_kernel = {bias = true, blocked_output = true, gelu = true, input_blocks = 0 : i64, k = 4 : i64, l = 4 : i64, layernorm_eps = 1.000000e-05 : f64, layernorm_input = true, layernorm_partials = 1 : i64, m = 128 : i64, p = 64 : i64, q = 64 : i64, r = 64 : i64, residual = false, row_statistics = false, s = 256 : i64, type = "f16"}}
}
