//===- GpuHostBuffers.cpp - Device memory for host-side buffers -----------===//

#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPUHOSTBUFFERS
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {

struct FlyGpuHostBuffersPass
    : mlir::fly::impl::FlyGpuHostBuffersBase<FlyGpuHostBuffersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::AllocaOp, memref::DeallocOp,
              memref::GetGlobalOp>(op) &&
          !op->getParentOfType<gpu::LaunchOp>())
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    // Buffers that live until the function returns (globals' device copies,
    // former allocas).
    SmallVector<Value> freeAtReturn;
    for (Operation *op : ops) {
      rewriter.setInsertionPoint(op);
      Location loc = op->getLoc();
      if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
        auto device = gpu::AllocOp::create(
            rewriter, loc, alloc.getType(), /*asyncToken=*/Type(), ValueRange(),
            alloc.getDynamicSizes(), alloc.getSymbolOperands(),
            /*hostShared=*/false);
        rewriter.replaceOp(op, device.getMemref());
      } else if (auto alloca = dyn_cast<memref::AllocaOp>(op)) {
        auto device = gpu::AllocOp::create(
            rewriter, loc, alloca.getType(), Type(), ValueRange(),
            alloca.getDynamicSizes(), alloca.getSymbolOperands(), false);
        rewriter.replaceOp(op, device.getMemref());
        freeAtReturn.push_back(device.getMemref());
      } else if (auto dealloc = dyn_cast<memref::DeallocOp>(op)) {
        gpu::DeallocOp::create(rewriter, loc, Type(), ValueRange(),
                               dealloc.getMemref());
        rewriter.eraseOp(op);
      } else if (auto global = dyn_cast<memref::GetGlobalOp>(op)) {
        auto type = cast<MemRefType>(global.getType());
        if (!type.hasStaticShape()) {
          global.emitError("only statically shaped globals can be copied to "
                           "the device");
          return signalPassFailure();
        }
        // The host global stays as the copy's source.
        rewriter.setInsertionPointAfter(op);
        auto device =
            gpu::AllocOp::create(rewriter, loc, type, Type(), ValueRange(),
                                 ValueRange(), ValueRange(), false);
        rewriter.replaceAllUsesWith(global.getResult(), device.getMemref());
        gpu::MemcpyOp::create(rewriter, loc, Type(), ValueRange(),
                              device.getMemref(), global.getResult());
        freeAtReturn.push_back(device.getMemref());
      }
    }
    func.walk([&](func::ReturnOp ret) {
      rewriter.setInsertionPoint(ret);
      for (Value buffer : freeAtReturn)
        gpu::DeallocOp::create(rewriter, ret.getLoc(), Type(), ValueRange(),
                               buffer);
    });
  }
};

} // namespace
