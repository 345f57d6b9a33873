//===- KernelCalls.h - Calls of generated GPU kernels from tensor IR ------===//
//
// The kernel passes (fly-gpu-weight-gemms, -attention-kernels,
// -monarch-kernels) replace fly ops on tensors by calls of launcher
// declarations that carry their kernel's spec as an attribute;
// fly-gpu-define-kernels later parses the generators' text for each spec.
// Declarations keep GPU ops out of bufferization's deallocation analysis.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_LIB_FLYTOGPU_KERNELCALLS_H
#define FLY_LIB_FLYTOGPU_KERNELCALLS_H

#include "fly/Conversion/FlyToGPU/FlashAttention.h"
#include "fly/Conversion/FlyToGPU/LayerNormKernel.h"
#include "fly/Conversion/FlyToGPU/MonarchKernel.h"
#include "fly/Conversion/FlyToGPU/WgmmaGemm.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace mlir::fly::kernels {

/// Spec attributes of launcher declarations, one per generator.
inline constexpr const char *kGemmKernelAttr = "fly.gemm";
inline constexpr const char *kAttentionKernelAttr = "fly.attention_kernel";
inline constexpr const char *kMonarchKernelAttr = "fly.monarch_kernel";
/// A Monarch MLP in three kernels (MonarchMlpSpec): {up = ..., down = ...}.
inline constexpr const char *kMonarchMlpKernelAttr = "fly.monarch_mlp_kernel";
/// Scatterbrain's key-feature kernel (the attention spec with features).
inline constexpr const char *kScatterbrainKeysAttr = "fly.scatterbrain_keys";
inline constexpr const char *kScatterbrainCombineAttr =
    "fly.scatterbrain_combine";
inline constexpr const char *kLayerNormKernelAttr = "fly.layernorm_kernel";
/// Marks the generic fly-gpu-fold-layernorm puts after a linear whose
/// LayerNorm it folded: out = (t - mean * colsum) * rstd + bias.
inline constexpr const char *kLayerNormEpilogueAttr = "fly.layernorm_epilogue";
/// Every spec attribute above (fly-gpu-define-kernels defines the
/// declarations carrying one).
inline constexpr const char *kKernelSpecAttrs[] = {
    kGemmKernelAttr,          kAttentionKernelAttr, kScatterbrainKeysAttr,
    kScatterbrainCombineAttr, kLayerNormKernelAttr, kMonarchKernelAttr,
    kMonarchMlpKernelAttr};

DictionaryAttr gemmSpecToAttr(Builder &b, const ::fly::gpu::GemmSpec &spec);
DictionaryAttr attentionSpecToAttr(Builder &b,
                                   const ::fly::gpu::AttentionSpec &spec);
DictionaryAttr monarchSpecToAttr(Builder &b,
                                 const ::fly::gpu::MonarchSpec &spec);
DictionaryAttr layerNormSpecToAttr(Builder &b,
                                   const ::fly::gpu::LayerNormSpec &spec);
DictionaryAttr monarchMlpSpecToAttr(Builder &b,
                                    const ::fly::gpu::MonarchMlpSpec &spec);

/// The specs fly-gpu-define-kernels reads back from launcher declarations.
::fly::gpu::GemmSpec gemmSpecFromAttr(DictionaryAttr dict);
::fly::gpu::MonarchSpec monarchSpecFromAttr(DictionaryAttr dict);
::fly::gpu::MonarchMlpSpec monarchMlpSpecFromAttr(DictionaryAttr dict);

/// The launcher declaration `name` (created private, with `specAttr` set to
/// `spec`, unless it exists).
func::FuncOp declareLauncher(ModuleOp module, Location loc, StringRef name,
                             ArrayRef<Type> argTypes, StringRef specAttr,
                             DictionaryAttr spec);

/// The launcher declaration of a GEMM / Monarch kernel, its argument types
/// derived from the spec (see WgmmaGemm.h, MonarchKernel.h).
func::FuncOp declareGemmLauncher(ModuleOp module, Location loc,
                                 const ::fly::gpu::GemmSpec &spec);
func::FuncOp declareMonarchLauncher(ModuleOp module, Location loc,
                                    const ::fly::gpu::MonarchSpec &spec);
func::FuncOp declareMonarchMlpLauncher(ModuleOp module, Location loc,
                                       const ::fly::gpu::MonarchMlpSpec &spec);

/// Calls `launcher` on the buffers of `inputs` and a fresh output buffer of
/// `resultType`; returns the output as a tensor.
Value callLauncher(OpBuilder &b, Location loc, func::FuncOp launcher,
                   ValueRange inputs, RankedTensorType resultType);
/// The same with several outputs (launcher arguments after the inputs).
SmallVector<Value> callLauncher(OpBuilder &b, Location loc,
                                func::FuncOp launcher, ValueRange inputs,
                                ArrayRef<RankedTensorType> resultTypes);

/// A call of the row-statistics kernel (LayerNormSpec::statsOnly) on the
/// 16-bit [rows, cols] `x`: a tensor<rows x 1 x 2 x f32> of (mean,
/// variance) per row (one partial), for a LayerNorm folded into the GEMM or
/// Monarch kernel reading x. Null when the kernel does not take the shape.
Value rowStatistics(OpBuilder &b, Location loc, ModuleOp module, Value x);
/// "" when rowStatistics takes `x`'s type, else why not.
std::string verifyRowStatistics(RankedTensorType x);

/// Skips the extf/truncf that fly-convert-float-storage puts around 16-bit
/// values, so epilogue matchers see the arithmetic.
Value stripCasts(Value v);

/// The single user of `v` if it is a linalg.generic.
linalg::GenericOp singleGenericUser(Value v);

/// An all-parallel generic with identity maps, `inputs` inputs and one
/// result.
bool isElementwise(linalg::GenericOp op, unsigned inputs);

/// The other operand if `op` computes `value + other` elementwise (a
/// residual add a kernel epilogue can take).
std::optional<Value> matchResidualAdd(linalg::GenericOp op, Value value);

/// The generated kernels use sm_90a instructions (wgmma, TMA, mbarriers):
/// fails with an error on `op`, naming `pass`, for any other chip.
LogicalResult checkKernelChip(Operation *op, StringRef pass, StringRef chip);

} // namespace mlir::fly::kernels

#endif // FLY_LIB_FLYTOGPU_KERNELCALLS_H
