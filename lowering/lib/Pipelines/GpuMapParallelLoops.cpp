//===- GpuMapParallelLoops.cpp - scf.parallel as gpu.launch ---------------===//
//
// The generic GPU path: one thread per iteration of each outermost parallel
// loop, the iteration space linearised so that any rank and extent maps onto
// a 1-D grid without idle threads beyond the last block.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
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
          << int64_t(blockSize) << " must be a multiple of 32 in [32, 1024]";
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
    for (linalg::LinalgOp op : linalgOps)
      if (!op.hasPureBufferSemantics()) {
        op.emitError("fly-gpu-map-parallel-loops: expected a bufferized op");
        return signalPassFailure();
      }
    // Row reductions first: they may absorb the fills of their accumulators.
    unsigned warpKernels = 0;
    SmallVector<linalg::LinalgOp> rest;
    for (linalg::LinalgOp op : linalgOps) {
      if (auto generic = dyn_cast<linalg::GenericOp>(op.getOperation()))
        if (std::optional<Combiner> combiner = matchRowReduction(generic)) {
          mapWarpReduction(generic, *combiner, warpKernels++);
          continue;
        }
      rest.push_back(op);
    }
    // Fills whose buffer nobody reads any more (their copies were absorbed).
    for (linalg::LinalgOp op : rest) {
      if (erased.contains(op.getOperation()))
        continue;
      auto fill = dyn_cast<linalg::FillOp>(op.getOperation());
      if (!fill)
        continue;
      Value buffer = fill.getOutputs()[0];
      if (llvm::all_of(buffer.getUsers(), [&](Operation *user) {
            return user == fill ||
                   isa<::mlir::gpu::DeallocOp, memref::DeallocOp>(user);
          })) {
        erased.insert(fill);
        fill->erase();
      }
    }
    for (linalg::LinalgOp op : rest) {
      if (erased.contains(op.getOperation()))
        continue;
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

  /// Inits absorbed by row reductions (erased; skipped afterwards).
  llvm::SmallPtrSet<Operation *, 16> erased;

  enum class Combiner { Add, Maximum, MaxNum };

  /// What initialises the accumulator `buffer` that `op` reduces into,
  /// when it is a known f32 value: an earlier linalg.fill of the buffer, or
  /// an earlier linalg.copy into it from a buffer that only a fill writes
  /// (bufferization's copy of one fill that CSE shared between several
  /// reductions). Every other use of `buffer` must come after `op`, none may
  /// create a view (an alias to track). Returns the init op and the value.
  static std::optional<std::pair<Operation *, Value>>
  knownInit(linalg::GenericOp op, Value buffer) {
    std::optional<std::pair<Operation *, Value>> init;
    Block *block = op->getBlock();
    for (Operation *user : buffer.getUsers()) {
      if (user == op)
        continue;
      if (isa<ViewLikeOpInterface>(user))
        return std::nullopt;
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      if (!inBlock)
        return std::nullopt;
      if (inBlock->isBeforeInBlock(op) && !init) {
        if (auto fill = dyn_cast<linalg::FillOp>(user);
            fill && fill.getOutputs()[0] == buffer &&
            fill.getInputs()[0].getType().isF32()) {
          init = {fill, fill.getInputs()[0]};
          continue;
        }
        if (auto copy = dyn_cast<linalg::CopyOp>(user);
            copy && copy.getOutputs()[0] == buffer)
          if (linalg::FillOp fill = fillHeldAt(copy.getInputs()[0], copy)) {
            init = {copy, fill.getInputs()[0]};
            continue;
          }
      }
      if (!op->isBeforeInBlock(inBlock))
        return std::nullopt;
    }
    return init;
  }

  /// The fill that `buffer` holds at `at`: a fill of it earlier in the
  /// block, with every other use that is not a copy out of it or its
  /// deallocation coming after `at` (a later in-place reduction is fine).
  static linalg::FillOp fillHeldAt(Value buffer, Operation *at) {
    linalg::FillOp fill;
    Block *block = at->getBlock();
    for (Operation *user : buffer.getUsers()) {
      Operation *inBlock = block->findAncestorOpInBlock(*user);
      if (!inBlock)
        return nullptr;
      // A view made after `at` is only used after it: harmless here.
      if (isa<ViewLikeOpInterface>(user)) {
        if (at->isBeforeInBlock(inBlock))
          continue;
        return nullptr;
      }
      if (auto f = dyn_cast<linalg::FillOp>(user);
          f && f.getOutputs()[0] == buffer &&
          f.getInputs()[0].getType().isF32() && f->isBeforeInBlock(at)) {
        if (fill)
          return nullptr;
        fill = f;
        continue;
      }
      if (auto copy = dyn_cast<linalg::CopyOp>(user);
          copy && copy.getInputs()[0] == buffer &&
          copy.getOutputs()[0] != buffer)
        continue;
      if (isa<::mlir::gpu::DeallocOp, memref::DeallocOp>(user) ||
          at->isBeforeInBlock(inBlock))
        continue;
      return nullptr;
    }
    return fill;
  }

  /// A generic whose only reduction is its innermost loop, with one f32
  /// output accumulated as `out = combine(out, f(inputs))` by addf or a max:
  /// LayerNorm's sums, softmax's max and sum. One warp per output element
  /// beats one thread per element walking the whole row.
  static std::optional<Combiner> matchRowReduction(linalg::GenericOp op) {
    unsigned loops = op.getNumLoops();
    if (loops < 2 || op.getNumReductionLoops() != 1 ||
        !linalg::isReductionIterator(op.getIteratorTypesArray().back()) ||
        op.getNumDpsInits() != 1 ||
        !cast<MemRefType>(op.getDpsInits()[0].getType())
             .getElementType()
             .isF32() ||
        !llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isProjectedPermutation(); }))
      return std::nullopt;
    Block *body = op.getBody();
    BlockArgument out = body->getArguments().back();
    auto yield = cast<linalg::YieldOp>(body->getTerminator());
    Operation *combine = yield.getValues()[0].getDefiningOp();
    if (!combine || combine->getNumOperands() != 2 || !out.hasOneUse() ||
        *out.getUsers().begin() != combine)
      return std::nullopt;
    if (isa<arith::AddFOp>(combine))
      return Combiner::Add;
    if (isa<arith::MaximumFOp>(combine))
      return Combiner::Maximum;
    if (isa<arith::MaxNumFOp>(combine))
      return Combiner::MaxNum;
    return std::nullopt;
  }

  static Value combineValues(OpBuilder &b, Location loc, Combiner c, Value x,
                             Value y) {
    switch (c) {
    case Combiner::Add:
      return arith::AddFOp::create(b, loc, x, y);
    case Combiner::Maximum:
      return arith::MaximumFOp::create(b, loc, x, y);
    case Combiner::MaxNum:
      return arith::MaxNumFOp::create(b, loc, x, y);
    }
    llvm_unreachable("unknown combiner");
  }

  /// One warp per output element: lanes stride the reduction loop from the
  /// combiner's identity, a butterfly of shuffles combines the lanes, lane 0
  /// folds the result into the output (which holds the init, e.g. 0).
  void mapWarpReduction(linalg::GenericOp op, Combiner combiner,
                        unsigned index) {
    Location loc = op.getLoc();
    OpBuilder b(op);
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    unsigned rank = ranges.size();
    int64_t outputs = 1;
    for (unsigned d = 0; d + 1 < rank; ++d)
      outputs *= ranges[d];
    int64_t warpsPerBlock = blockSize / 32;
    Value blocks = cst((outputs + warpsPerBlock - 1) / warpsPerBlock);
    Value one = cst(1);
    auto launch = gpu::LaunchOp::create(b, loc, blocks, one, one,
                                        cst(blockSize), one, one);
    // Numbered apart (from 1000) from the per-launch-site generic kernels.
    std::string func = getOperation().getName().str() + "_" +
                       std::to_string(1000 + index) + "_warp_reduce";
    launch.setFunctionAttr(FlatSymbolRefAttr::get(b.getContext(), func));
    launch.setModuleAttr(FlatSymbolRefAttr::get(
        b.getContext(), getOperation().getName().str() + "_kernels"));
    b.setInsertionPointToStart(&launch.getBody().front());
    Value c32 = cst(32);
    Value tid = launch.getThreadIds().x;
    Value warp = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, launch.getBlockIds().x,
                              cst(warpsPerBlock)),
        arith::DivUIOp::create(b, loc, tid, c32));
    Value lane = arith::RemUIOp::create(b, loc, tid, c32);
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                          warp, cst(outputs));
    auto guard = scf::IfOp::create(b, loc, inRange, /*withElse=*/false);
    gpu::TerminatorOp::create(b, loc);

    b.setInsertionPointToStart(&guard.getThenRegion().front());
    // The output element's loop indices, innermost fastest.
    SmallVector<Value> ivs(rank);
    Value rest = warp;
    for (int d = int(rank) - 2; d >= 0; --d) {
      ivs[d] = d == 0 ? rest
                      : arith::RemUIOp::create(b, loc, rest, cst(ranges[d]))
                            .getResult();
      if (d > 0)
        rest = arith::DivUIOp::create(b, loc, rest, cst(ranges[d]));
    }
    Type f32 = b.getF32Type();
    double identity = combiner == Combiner::Add
                          ? 0.0
                          : -std::numeric_limits<double>::infinity();
    Value init =
        arith::ConstantOp::create(b, loc, b.getFloatAttr(f32, identity));
    auto loop = scf::ForOp::create(b, loc, lane, cst(ranges.back()), c32,
                                   ValueRange{init});
    {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPointToStart(loop.getBody());
      ivs.back() = loop.getInductionVar();
      auto indices = [&](AffineMap map) {
        SmallVector<Value> idx;
        for (unsigned r = 0; r < map.getNumResults(); ++r)
          idx.push_back(
              affine::AffineApplyOp::create(b, loc, map.getSubMap({r}), ivs));
        return idx;
      };
      Block *body = op.getBody();
      IRMapping mapping;
      for (OpOperand *input : op.getDpsInputOperands()) {
        BlockArgument arg = op.getMatchingBlockArgument(input);
        AffineMap map = op.getMatchingIndexingMap(input);
        Value v = input->get();
        if (isa<MemRefType>(v.getType()))
          v = memref::LoadOp::create(b, loc, v, indices(map));
        mapping.map(arg, v);
      }
      mapping.map(body->getArguments().back(), loop.getRegionIterArgs()[0]);
      for (Operation &inner : body->without_terminator()) {
        if (auto idx = dyn_cast<linalg::IndexOp>(inner)) {
          mapping.map(idx.getResult(), ivs[idx.getDim()]);
          continue;
        }
        b.clone(inner, mapping);
      }
      auto yield = cast<linalg::YieldOp>(body->getTerminator());
      scf::YieldOp::create(b, loc, mapping.lookup(yield.getValues()[0]));
    }
    Value partial = loop.getResult(0);
    for (int offset = 16; offset >= 1; offset /= 2) {
      Value other = gpu::ShuffleOp::create(b, loc, partial, offset, 32,
                                           gpu::ShuffleMode::XOR)
                        .getShuffleResult();
      partial = combineValues(b, loc, combiner, partial, other);
    }
    Value first =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, lane, cst(0));
    auto store = scf::IfOp::create(b, loc, first, /*withElse=*/false);
    b.setInsertionPointToStart(&store.getThenRegion().front());
    OpOperand *outOperand = op.getDpsInitOperand(0);
    ivs.back() = cst(0); // the output does not index the reduction loop
    SmallVector<Value> outIdx;
    AffineMap outMap = op.getMatchingIndexingMap(outOperand);
    for (unsigned r = 0; r < outMap.getNumResults(); ++r)
      outIdx.push_back(
          affine::AffineApplyOp::create(b, loc, outMap.getSubMap({r}), ivs));
    // The accumulator's init: a fill just before this op (the usual case)
    // is folded in as a constant and its own kernel dropped; otherwise the
    // output is read.
    Value old;
    if (std::optional<std::pair<Operation *, Value>> init =
            knownInit(op, outOperand->get())) {
      Value value = init->second;
      if (Operation *def = value.getDefiningOp();
          def && def->hasTrait<OpTrait::ConstantLike>())
        old = b.clone(*def)->getResult(0);
      else
        old = value;
      erased.insert(init->first);
      init->first->erase();
    } else {
      old = memref::LoadOp::create(b, loc, outOperand->get(), outIdx);
    }
    memref::StoreOp::create(b, loc,
                            combineValues(b, loc, combiner, old, partial),
                            outOperand->get(), outIdx);
    op->erase();
  }

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
