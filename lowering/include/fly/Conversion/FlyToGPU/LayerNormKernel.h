//===- LayerNormKernel.h - row LayerNorm kernel generator -------*- C++ -*-===//
//
// Emits, as MLIR text, one GPU kernel for y = (x - mean) / sqrt(var + eps) *
// gamma + beta over the rows of a [rows, cols] 16-bit matrix (mean and
// biased variance over each row, all arithmetic in f32), plus a host
// function that launches it: one warp per row, the row held in registers
// (16-byte loads and stores), the two row sums reduced with shuffles. It
// replaces the four launches (two row reductions, two elementwise passes)
// of the generic path, which also round the mean, the centred values and
// 1/std to 16 bits.
//
// Plain C++17 string building, like the other generators: no MLIR headers.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_CONVERSION_FLYTOGPU_LAYERNORMKERNEL_H
#define FLY_CONVERSION_FLYTOGPU_LAYERNORMKERNEL_H

#include <cstdint>
#include <string>

namespace fly::gpu {

struct LayerNormSpec {
  int64_t rows = 0;
  /// A multiple of 8 (16-byte vectors), at most 4096.
  int64_t cols = 0;
  double eps = 1e-5;
  /// "f16" or "bf16" for x, gamma, beta and y.
  std::string elementType = "f16";
  /// Only the row statistics, for a LayerNorm folded into the GEMM or
  /// Monarch kernel that reads x (fly-gpu-fold-layernorm): no gamma, beta or
  /// y; stats[row, 0] = (mean, biased variance) in f32 (one "partial", see
  /// GemmSpec::layerNormPartials). eps is not used: the consumer adds it.
  bool statsOnly = false;
};

/// "" when emitLayerNorm accepts `spec`, else the reason.
std::string verifyLayerNormSpec(const LayerNormSpec &spec);

/// Returns "" and sets `error` if the spec is unsupported. Otherwise the text
/// of one `module attributes {gpu.container_module}` holding the kernel
/// module and
///   func.func private @<layerNormLauncherName(spec)>(
///       %x: memref<rows x cols x T>, %gamma: memref<cols x T>,
///       %beta: memref<cols x T>, %y: memref<rows x cols x T>)
/// or, statsOnly, (%x: memref<rows x cols x T>,
///                 %stats: memref<rows x 1 x 2 x f32>)
std::string emitLayerNorm(const LayerNormSpec &spec, std::string &error);

/// e.g. fly_layernorm_r8192_c768_f16_eps1e_05 (statsOnly:
/// fly_rowstats_r8192_c768_f16)
std::string layerNormKernelName(const LayerNormSpec &spec);
std::string layerNormLauncherName(const LayerNormSpec &spec);

} // namespace fly::gpu

#endif // FLY_CONVERSION_FLYTOGPU_LAYERNORMKERNEL_H
