//===- CpuTileAndVectorize.cpp - The CPU contraction schedule ---*- C++ -*-===//
//
// The schedule is transform-dialect IR (kept here as text so it is read in
// one piece), applied with the transform interpreter. It follows the recipe
// that matched or beat OpenBLAS on this machine (cpu-codegen-notes): an
// 8x32 f32 register tile (16 zmm accumulators) with k innermost, inside
// 64x256x256 cache tiles, row blocks spread over threads.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/Transform/Transforms/TransformInterpreterUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Parser/Parser.h"

#include <string>

namespace mlir::fly {
#define GEN_PASS_DEF_FLYCPUTILEANDVECTORIZE
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {
/// @NT@ is replaced by the thread count.
constexpr const char *kSchedule = R"mlir(
module attributes {transform.with_named_sequence} {
  transform.named_sequence @__transform_main(
      %root: !transform.any_op {transform.readonly}) {
    // 2-D GEMMs: thread blocks of rows, cache tiles, 8x32 register tiles.
    %mm = transform.structured.match ops{["linalg.matmul"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %m0, %mforall = transform.structured.tile_using_forall %mm
        num_threads [@NT@, 0, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %m1, %ml1:3 = transform.structured.tile_using_for %m0
        tile_sizes [64, 256, 256] interchange = [1, 2, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op,
                                  !transform.any_op, !transform.any_op)
    // A ragged last column block (GPT-2's vocabulary of 50257) would make
    // every cache tile dynamic, and masked tiles keep the accumulator in
    // memory. Peel it off so full tiles stay static. Loops that divide
    // evenly cannot be peeled; that failure is expected and suppressed.
    %nloops = transform.cast %ml1#0
        : !transform.any_op to !transform.op<"scf.for">
    transform.foreach %nloops : !transform.op<"scf.for"> {
    ^bb0(%l: !transform.op<"scf.for">):
      transform.sequence %l : !transform.op<"scf.for"> failures(suppress) {
      ^bb1(%l2: !transform.op<"scf.for">):
        %main, %rest = transform.loop.peel %l2
            : (!transform.op<"scf.for">) -> (!transform.any_op,
                                             !transform.any_op)
      }
    }
    // Matched again: peeling cloned the cache tiles.
    %tiles = transform.structured.match ops{["linalg.matmul"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %m2, %ml2:3 = transform.structured.tile_using_for %tiles
        tile_sizes [8, 32, 1] interchange = [1, 0, 2]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op,
                                  !transform.any_op, !transform.any_op)
    transform.structured.vectorize %m2 vector_sizes [8, 32, 1]
        : !transform.any_op

    // Batched GEMMs (attention): threads over the batch, then the same
    // register tile.
    %bmm = transform.structured.match ops{["linalg.batch_matmul"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %b0, %bforall = transform.structured.tile_using_forall %bmm
        num_threads [@NT@, 0, 0, 0]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)
    %b1, %bl1:4 = transform.structured.tile_using_for %b0
        tile_sizes [1, 8, 32, 1] interchange = [0, 2, 1, 3]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op,
                                  !transform.any_op, !transform.any_op,
                                  !transform.any_op)
    transform.structured.vectorize %b1 vector_sizes [1, 8, 32, 1]
        : !transform.any_op

    // Elementwise work, reductions and transposes: split the outermost
    // (parallel) loop over the threads; LLVM vectorises the inner loops.
    %rest = transform.structured.match
        ops{["linalg.generic", "linalg.transpose"]} in %root
        : (!transform.any_op) -> !transform.any_op
    %r0, %rforall = transform.structured.tile_using_forall %rest
        num_threads [@NT@]
        : (!transform.any_op) -> (!transform.any_op, !transform.any_op)

    %funcs = transform.structured.match ops{["func.func"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_patterns to %funcs {
      transform.apply_patterns.vector.reduction_to_contract
      transform.apply_patterns.vector.transfer_permutation_patterns
      transform.apply_patterns.canonicalization
      transform.apply_patterns.tensor.fold_tensor_subset_ops_into_vector_transfers
    } : !transform.any_op
    transform.apply_cse to %funcs : !transform.any_op
    // Keep the accumulator tile in registers across the k loop.
    %loops = transform.structured.match ops{["scf.for"]} in %root
        : (!transform.any_op) -> !transform.any_op
    transform.apply_licm to %loops : !transform.any_op
    transform.loop.hoist_loop_invariant_subsets %loops : !transform.any_op
    // Masks (ragged tiles, e.g. a head dim of 16 in a 32-wide tile) are
    // lowered first: a masked contraction cannot be split into outer
    // products while it sits inside vector.mask.
    transform.apply_patterns to %funcs {
      transform.apply_patterns.vector.lower_masked_transfers
      transform.apply_patterns.vector.lower_masks
      transform.apply_patterns.vector.cast_away_vector_leading_one_dim
      transform.apply_patterns.vector.lower_contraction
          lowering_strategy = "outerproduct"
      transform.apply_patterns.vector.lower_outerproduct
    } : !transform.any_op
    transform.yield
  }
}
)mlir";

struct FlyCpuTileAndVectorizePass
    : mlir::fly::impl::FlyCpuTileAndVectorizeBase<FlyCpuTileAndVectorizePass> {
  using Base::Base;

  void runOnOperation() override {
    if (numThreads < 1) {
      getOperation().emitError("num-threads must be >= 1");
      return signalPassFailure();
    }
    std::string text = kSchedule;
    for (size_t pos; (pos = text.find("@NT@")) != std::string::npos;)
      text.replace(pos, 4, std::to_string(numThreads));
    ParserConfig config(&getContext());
    OwningOpRef<ModuleOp> schedule =
        parseSourceString<ModuleOp>(text, config, "fly-cpu-schedule");
    if (!schedule) {
      getOperation().emitError("internal error: bad CPU schedule");
      return signalPassFailure();
    }
    Operation *entry = schedule->lookupSymbol("__transform_main");
    if (failed(transform::applyTransformNamedSequence(
            getOperation(), entry, *schedule, transform::TransformOptions())))
      signalPassFailure();
  }
};
} // namespace
