//===- Passes.td - fly conversion passes -------------------*- tablegen -*-===//

#ifndef FLY_CONVERSION_PASSES_TD
#define FLY_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertFlyToLinalg : Pass<"convert-fly-to-linalg"> {
  let summary = "Lower every fly op to linalg, tensor, arith and math";
  let description = [{
    The reference lowering: each fly op becomes a few `linalg.generic` ops
    written straight from the op's formula, computing in f32 (f16/bf16
    operands are extended, the result truncated). Batch dimensions are
    collapsed into one. It fails, naming the op, if any fly op is left.

    Before:
    ```mlir
    %y = fly.lowrank_matmul %x, %u, %v : (tensor<4x64xf32>, tensor<8x64xf32>,
                                          tensor<32x8xf32>) -> tensor<4x32xf32>
    ```
    After:
    ```mlir
    %t = linalg.generic {... iterator_types = ["parallel", "parallel",
        "reduction"]} ins(%x, %u : ...) outs(%zero : tensor<4x8xf32>) {...}
    %y = linalg.generic {...} ins(%t, %v : ...) outs(%zero2 : tensor<4x32xf32>)
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::tensor::TensorDialect"];
}

def FlyMemRefCopyToLinalg : Pass<"fly-memref-copy-to-linalg"> {
  let summary = "Rewrite memref.copy as linalg.copy (lowered to loops later)";
  let description = [{
    finalize-memref-to-llvm turns a copy between strided memrefs into a call
    to `memrefCopy` from libmlir_c_runner_utils, a library that compiled
    artifacts must not need at run time. As a `linalg.copy` the copy becomes
    plain loops.

    Before: `memref.copy %a, %b : memref<2x1x64xf32, strided<...>> to ...`
    After:  `linalg.copy ins(%a : ...) outs(%b : ...)`
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

#endif // FLY_CONVERSION_PASSES_TD
