//===- FlyDialect.td - fly dialect definition --------------*- tablegen -*-===//
//
// The fly dialect: structured linear maps (Monarch, low-rank, block-sparse,
// butterfly, SS1 sketch) and attention variants (dense, local, Performer,
// Scatterbrain) as first-class ops, so passes can find dense layers, replace
// them and lower the result to fused kernels.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_DIALECT_FLY_IR_FLYDIALECT_TD
#define FLY_DIALECT_FLY_IR_FLYDIALECT_TD

include "mlir/IR/OpBase.td"

def Fly_Dialect : Dialect {
  let name = "fly";
  let summary = "structured linear layers and attention variants";
  let description = [{
    Ops for the structured matrices and attention approximations of the
    efficient-transformer literature. All ops work on statically shaped
    tensors of f16, bf16 or f32; every operand of one op has the same element
    type. Linear maps follow the `y = x * W^T` convention of `fly.linear`:
    the leading dimensions of `x` are batch dimensions and only the last one
    is transformed. Bias and activations stay outside the ops; the GPU
    lowering fuses them into epilogues.
  }];
  let cppNamespace = "::mlir::fly";
}

#endif // FLY_DIALECT_FLY_IR_FLYDIALECT_TD
