//===- LayerNormMatch.h - LayerNorm as the importers build it ---*- C++ -*-===//
//
// Recognises the LayerNorm the importers build (models/common/Layers.cpp) as
// it looks after 16-bit storage conversion (extf / truncf around every value
// are skipped):
//
//   sum   = generic "mn->m"  (reduce add of x)          [f32]
//   mean  = generic "m->m"   (sum / cols)
//   cent  = generic "mn,m->mn" (x - mean)
//   sq    = generic "mn->m"  (reduce add of cent * cent) [f32]
//   rstd  = generic "m->m"   (rsqrt(sq / cols + eps))
//   y     = generic "mn,m,n,n->mn" (cent * rstd * gamma + beta)
//
// Used by fly-gpu-layernorm-kernels (y becomes one kernel) and by
// fly-gpu-fold-layernorm / fly-gpu-weight-gemms (a LayerNorm feeding a GEMM
// becomes row statistics computed by the GEMM kernel).
//
//===----------------------------------------------------------------------===//

#ifndef FLY_LIB_FLYTOGPU_LAYERNORMMATCH_H
#define FLY_LIB_FLYTOGPU_LAYERNORMMATCH_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <optional>

namespace mlir::fly::kernels {

struct LayerNormMatch {
  Value x, gamma, beta;
  /// The per-row statistics (results of the "mean" and "rstd" generics).
  Value mean, rstd;
  double eps = 0;
};

/// `y` is LayerNorm's last generic (see the file comment).
std::optional<LayerNormMatch> matchLayerNorm(linalg::GenericOp y);

/// `mean` and `rstd` are the "mean" and "rstd" generics of a LayerNorm of
/// some x: returns x and eps in a match without gamma and beta.
std::optional<LayerNormMatch> matchRowStatistics(Value mean, Value rstd);

} // namespace mlir::fly::kernels

#endif // FLY_LIB_FLYTOGPU_LAYERNORMMATCH_H
