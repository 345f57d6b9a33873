//===- CheckLowered.cpp - Fail on ops a lowering pipeline left behind -----===//
//
// The conversions to LLVM are partial: what no pattern takes stays in the
// module and breaks LLVM IR translation later with a message about the
// translation, not about the op. fly's pipelines end with this check so the
// user sees which op was not lowered, where, and by which pipeline.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYCHECKLOWERED
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;

namespace {

struct FlyCheckLoweredPass
    : mlir::fly::impl::FlyCheckLoweredBase<FlyCheckLoweredPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<std::string> allowed(dialects.begin(), dialects.end());
    if (allowed.empty())
      allowed.push_back("llvm");
    ModuleOp module = getOperation();
    WalkResult result = module->walk([&](Operation *op) {
      if (op == module.getOperation())
        return WalkResult::advance();
      StringRef ns = op->getName().getDialectNamespace();
      if (llvm::is_contained(allowed, ns))
        return WalkResult::advance();
      op->emitError() << pipeline << ": could not lower '" << op->getName()
                      << "' (the lowered module may only contain "
                      << llvm::join(allowed, ", ") << " ops)";
      return WalkResult::interrupt();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
