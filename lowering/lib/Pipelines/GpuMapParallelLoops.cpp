//===- GpuMapParallelLoops.cpp - scf.parallel as gpu.launch ---------------===//
//
// The generic GPU path: one thread per iteration of each outermost parallel
// loop, the iteration space linearised so that any rank and extent maps onto
// a 1-D grid without idle threads beyond the last block.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPUMAPPARALLELLOOPS
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {

struct FlyGpuMapParallelLoopsPass
    : mlir::fly::impl::FlyGpuMapParallelLoopsBase<FlyGpuMapParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (blockSize < 32 || blockSize > 1024 || blockSize % 32 != 0) {
      getOperation().emitError("fly-gpu-map-parallel-loops: block-size ")
          << blockSize << " must be a multiple of 32 in [32, 1024]";
      return signalPassFailure();
    }
    // Linalg ops on buffers become parallel loops named after the op, so
    // that profiles say which kernel is which.
    SmallVector<linalg::LinalgOp> linalgOps;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (!op->getParentOfType<gpu::LaunchOp>())
        linalgOps.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : linalgOps) {
      if (!op.hasPureBufferSemantics()) {
        op.emitError("fly-gpu-map-parallel-loops: expected a bufferized op");
        return signalPassFailure();
      }
      std::string kind = kernelKind(op);
      rewriter.setInsertionPoint(op);
      FailureOr<linalg::LinalgLoops> loops =
          linalg::linalgOpToParallelLoops(rewriter, op);
      if (failed(loops)) {
        op.emitError("fly-gpu-map-parallel-loops: cannot convert to loops");
        return signalPassFailure();
      }
      if (!loops->empty())
        loops->front()->setAttr(kKindAttr, rewriter.getStringAttr(kind));
      rewriter.eraseOp(op);
    }

    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp op) {
      if (!op->getParentOfType<scf::ParallelOp>() &&
          !op->getParentOfType<gpu::LaunchOp>())
        loops.push_back(op);
    });
    unsigned index = 0;
    for (scf::ParallelOp loop : loops)
      if (failed(mapLoop(loop, index++)))
        return signalPassFailure();
  }

  static constexpr const char *kKindAttr = "fly.kernel_kind";

  /// "matmul", "batch_matmul", "transpose", "fill", "copy" for named ops;
  /// "reduce" or "elementwise" for generics.
  static std::string kernelKind(linalg::LinalgOp op) {
    if (!isa<linalg::GenericOp>(op))
      return op->getName().stripDialect().str();
    return op.getNumReductionLoops() > 0 ? "reduce" : "elementwise";
  }

  LogicalResult mapLoop(scf::ParallelOp loop, unsigned index) {
    if (loop.getNumResults() != 0)
      return loop.emitError("parallel loops with reductions are not mapped "
                            "to the GPU (no linalg lowering emits them)");
    Location loc = loop.getLoc();
    OpBuilder b(loop);
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    // Trip count of each dimension: ceil((ub - lb) / step).
    SmallVector<Value> extents;
    Value total = cst(1);
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      Value span = arith::SubIOp::create(b, loc, ub, lb);
      Value extent = arith::CeilDivSIOp::create(b, loc, span, step);
      extents.push_back(extent);
      total = arith::MulIOp::create(b, loc, total, extent);
    }
    Value threads = cst(blockSize);
    Value blocks = arith::CeilDivSIOp::create(b, loc, total, threads);
    Value one = cst(1);
    auto launch =
        gpu::LaunchOp::create(b, loc, blocks, one, one, threads, one, one);
    // All generic kernels of the function in one GPU module (one module
    // load), each named after what it computes.
    auto kind = loop->getAttrOfType<StringAttr>(kKindAttr);
    std::string func = getOperation().getName().str() + "_" +
                       std::to_string(index) + "_" +
                       (kind ? kind.getValue().str() : std::string("loop"));
    launch.setFunctionAttr(FlatSymbolRefAttr::get(b.getContext(), func));
    launch.setModuleAttr(FlatSymbolRefAttr::get(
        b.getContext(), getOperation().getName().str() + "_kernels"));
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    Value linear = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, launch.getBlockIds().x, threads),
        launch.getThreadIds().x);
    Value inRange =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, linear, total);
    auto guard = scf::IfOp::create(b, loc, inRange, /*withElse=*/false);
    gpu::TerminatorOp::create(b, loc);

    // Innermost dimension fastest: neighbouring threads, neighbouring
    // elements.
    b.setInsertionPointToStart(&guard.getThenRegion().front());
    IRMapping mapping;
    Value rest = linear;
    unsigned rank = loop.getNumLoops();
    SmallVector<Value> ivs(rank);
    for (int d = int(rank) - 1; d >= 0; --d) {
      Value index =
          d == 0 ? rest
                 : arith::RemSIOp::create(b, loc, rest, extents[d]).getResult();
      if (d > 0)
        rest = arith::DivSIOp::create(b, loc, rest, extents[d]);
      Value scaled = arith::MulIOp::create(b, loc, index, loop.getStep()[d]);
      ivs[d] = arith::AddIOp::create(b, loc, loop.getLowerBound()[d], scaled);
    }
    for (unsigned d = 0; d < rank; ++d)
      mapping.map(loop.getInductionVars()[d], ivs[d]);
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, mapping);
    loop.erase();
    return success();
  }
};

} // namespace
