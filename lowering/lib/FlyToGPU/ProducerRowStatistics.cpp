//===- ProducerRowStatistics.cpp - Row statistics from the producer -------===//
//
// A folded LayerNorm (fly-gpu-fold-layernorm, the Monarch up projection's
// fold) leaves a call of the row-statistics kernel on its input x: one more
// launch that reads all of x. When x comes from a GEMM or Monarch kernel,
// that kernel has every value of x in registers before it stores it; each
// CTA (GEMM) or warpgroup (Monarch) owns a slice of the columns of the rows
// it writes, so it can write the (mean, variance) of its slice next to x.
// The consumers then merge the P partials of a row (KernelText.h) instead of
// reading one. This pass does the rewiring on the launcher calls:
//
//   %x = producer(...)                %x, %parts = producer'(...)
//   %st = rowstats(%x)          =>    (gone)
//   consumer(..., %st, ...)           consumer'(..., %parts, ...)
//
// Calls are on buffers (callLauncher: to_buffer -> call -> to_tensor), so
// the pass follows those ops; launcher declarations left unused are erased.
//
//===----------------------------------------------------------------------===//

#include "KernelCalls.h"

#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPUPRODUCERROWSTATISTICS
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
namespace gen = ::fly::gpu;
namespace kernels = mlir::fly::kernels;

namespace {

/// The launcher `call` calls, if it is a declaration carrying `attr`.
DictionaryAttr launcherSpec(func::CallOp call, StringRef attr) {
  auto module = call->getParentOfType<ModuleOp>();
  auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
  return callee ? callee->getAttrOfType<DictionaryAttr>(attr) : nullptr;
}

/// A launcher declaration of a generated kernel (fly-gpu-define-kernels
/// defines every one it finds, used or not).
bool isLauncher(func::FuncOp func) {
  return llvm::any_of(kernels::kKernelSpecAttrs,
                      [&](const char *attr) { return func->hasAttr(attr); });
}

/// The buffer behind `v`: `v`, or m where v = to_buffer(to_tensor(m))
/// (callLauncher's form before canonicalization folds the pair away).
Value underlyingBuffer(Value v) {
  if (auto toBuffer = v.getDefiningOp<bufferization::ToBufferOp>())
    if (auto toTensor =
            toBuffer.getTensor().getDefiningOp<bufferization::ToTensorOp>())
      return toTensor.getBuffer();
  return v;
}

/// The call that writes `buffer` as its last operand (callLauncher's
/// output), if any.
func::CallOp writerOf(Value buffer) {
  for (Operation *user : buffer.getUsers())
    if (auto call = dyn_cast<func::CallOp>(user))
      if (call.getNumOperands() && call.getOperands().back() == buffer)
        return call;
  return nullptr;
}

/// A launcher call reading the statistics as its operand `operand`.
struct Reader {
  func::CallOp call;
  unsigned operand;
};

/// Every call reading `buffer` (directly or through to_tensor/to_buffer)
/// other than `writer`; false if something else reads it.
bool collectReaders(Value buffer, func::CallOp writer,
                    SmallVectorImpl<Reader> &readers) {
  for (OpOperand &use : buffer.getUses()) {
    Operation *user = use.getOwner();
    if (user == writer.getOperation())
      continue;
    if (auto call = dyn_cast<func::CallOp>(user)) {
      readers.push_back({call, use.getOperandNumber()});
      continue;
    }
    auto toTensor = dyn_cast<bufferization::ToTensorOp>(user);
    if (!toTensor)
      return false;
    for (Operation *tensorUser : toTensor->getUsers()) {
      auto toBuffer = dyn_cast<bufferization::ToBufferOp>(tensorUser);
      if (!toBuffer)
        return false;
      for (OpOperand &bufferUse : toBuffer->getUses()) {
        auto call = dyn_cast<func::CallOp>(bufferUse.getOwner());
        if (!call)
          return false;
        readers.push_back({call, bufferUse.getOperandNumber()});
      }
    }
  }
  return true;
}

/// Erases `op` if nothing uses it, then the same for the ops that defined
/// its operands (the to_buffer / to_tensor / alloc chains left behind).
void eraseIfDead(Operation *op) {
  if (!op || !op->use_empty())
    return;
  SmallVector<Operation *> defs;
  for (Value v : op->getOperands())
    defs.push_back(v.getDefiningOp());
  op->erase();
  for (Operation *def : defs)
    if (def && isa<bufferization::ToBufferOp, bufferization::ToTensorOp,
                   memref::AllocOp>(def))
      eraseIfDead(def);
}

struct FlyGpuProducerRowStatisticsPass
    : mlir::fly::impl::FlyGpuProducerRowStatisticsBase<
          FlyGpuProducerRowStatisticsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (producers != "all" && producers != "gemm" && producers != "monarch") {
      module.emitError() << getArgument()
                         << ": producers must be all, gemm or monarch (got '"
                         << producers << "')";
      return signalPassFailure();
    }
    SmallVector<func::CallOp> statsCalls;
    module.walk([&](func::CallOp call) {
      if (DictionaryAttr spec =
              launcherSpec(call, kernels::kLayerNormKernelAttr))
        if (auto statsOnly = spec.getAs<BoolAttr>("stats_only");
            statsOnly && statsOnly.getValue())
          statsCalls.push_back(call);
    });
    for (func::CallOp call : statsCalls)
      rewrite(call);
    // Launchers nothing calls any more: the replaced ones, and any this
    // pass declared for a rewrite it then skipped.
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (func.isDeclaration() && isLauncher(func) &&
          SymbolTable::symbolKnownUseEmpty(func, module))
        func.erase();
  }

  void skip(func::CallOp call, const Twine &why) {
    if (remarks)
      call.emitRemark("row statistics stay a separate kernel: ") << why;
  }

  void rewrite(func::CallOp statsCall) {
    if (statsCall.getNumOperands() != 2)
      return skip(statsCall, "unexpected row-statistics call");
    func::CallOp producer = writerOf(underlyingBuffer(statsCall.getOperand(0)));
    if (!producer)
      return skip(statsCall, "its input is not written by a kernel call");

    // The producer's partials per row, and its redeclaration.
    int64_t partials = 0;
    func::FuncOp newProducer;
    bool gemms = producers != "monarch", monarchs = producers != "gemm";
    if (DictionaryAttr dict = launcherSpec(producer, kernels::kGemmKernelAttr);
        dict && gemms) {
      gen::GemmSpec spec = kernels::gemmSpecFromAttr(dict);
      spec.rowStatistics = true;
      if (std::string why = gen::verifyGemmSpec(spec); !why.empty())
        return skip(statsCall, "the producing GEMM cannot write them: " + why);
      partials = gen::gemmRowStatisticsPartials(spec);
      newProducer =
          kernels::declareGemmLauncher(getOperation(), producer.getLoc(), spec);
    } else if (DictionaryAttr dict =
                   launcherSpec(producer, kernels::kMonarchKernelAttr);
               dict && monarchs) {
      gen::MonarchSpec spec = kernels::monarchSpecFromAttr(dict);
      partials = gen::monarchRowStatisticsPartials(spec);
      if (partials == 0)
        return skip(statsCall, "the producing Monarch kernel cannot write "
                               "them (not a natural output stored from "
                               "registers)");
      spec.rowStatistics = true;
      newProducer = kernels::declareMonarchLauncher(getOperation(),
                                                    producer.getLoc(), spec);
    } else if (DictionaryAttr dict =
                   launcherSpec(producer, kernels::kMonarchMlpKernelAttr);
               dict && monarchs) {
      // A Monarch MLP: its down projection's factor-2 kernel writes them.
      gen::MonarchMlpSpec spec = kernels::monarchMlpSpecFromAttr(dict);
      partials = gen::monarchMlpRowStatisticsPartials(spec);
      spec.down.rowStatistics = true;
      if (partials == 0 || !gen::verifyMonarchMlpSpec(spec).empty())
        return skip(statsCall, "the producing Monarch MLP cannot write them");
      newProducer = kernels::declareMonarchMlpLauncher(getOperation(),
                                                       producer.getLoc(), spec);
    } else {
      return skip(statsCall, "its input comes from a kernel that cannot "
                             "write them (producers=" +
                                 producers + ")");
    }
    if (newProducer.getSymName() == producer.getCallee())
      return skip(statsCall, "the producer already writes row statistics "
                             "(two LayerNorms of one tensor)");

    // Every reader must be a consumer that can take `partials` partials.
    SmallVector<Reader> readers;
    if (!collectReaders(statsCall.getOperand(1), statsCall, readers))
      return skip(statsCall, "the statistics have a reader that is not a "
                             "kernel call");
    SmallVector<func::FuncOp> newReaders;
    for (Reader &reader : readers) {
      newReaders.push_back(redeclareConsumer(reader.call, partials));
      if (!newReaders.back())
        return skip(statsCall, "a reader does not take " + Twine(partials) +
                                   " partials per row");
    }
    if (remarks)
      statsCall.emitRemark("row statistics written by ")
          << newProducer.getSymName() << " (" << partials
          << " partials per row)";

    // Producer: the same call plus the partials output, which the readers
    // take instead of the row-statistics kernel's.
    OpBuilder b(producer);
    auto partsType = cast<MemRefType>(newProducer.getArgumentTypes().back());
    Value parts = memref::AllocOp::create(b, producer.getLoc(), partsType,
                                          b.getI64IntegerAttr(128));
    SmallVector<Value> args(producer.getOperands());
    args.push_back(parts);
    func::CallOp::create(b, producer.getLoc(), newProducer, args);
    producer.erase();
    for (auto [reader, launcher] : llvm::zip(readers, newReaders)) {
      SmallVector<Value> operands(reader.call.getOperands());
      operands[reader.operand] = parts;
      OpBuilder rb(reader.call);
      func::CallOp::create(rb, reader.call.getLoc(), launcher, operands);
      SmallVector<Operation *> defs;
      for (Value v : reader.call.getOperands())
        defs.push_back(v.getDefiningOp());
      reader.call.erase();
      for (Operation *def : defs)
        if (isa_and_nonnull<bufferization::ToBufferOp>(def))
          eraseIfDead(def);
    }

    // The row-statistics call and what only it used.
    Value stats = statsCall.getOperand(1);
    SmallVector<Operation *> statsUsers(stats.getUsers());
    for (Operation *user : statsUsers)
      if (user != statsCall.getOperation())
        eraseIfDead(user);
    Operation *input = statsCall.getOperand(0).getDefiningOp();
    statsCall.erase();
    eraseIfDead(stats.getDefiningOp());
    if (isa_and_nonnull<bufferization::ToBufferOp>(input))
      eraseIfDead(input);
  }

  /// The launcher `call`'s callee would be with `partials` partials per
  /// row, or null if it has no folded LayerNorm or cannot take them.
  func::FuncOp redeclareConsumer(func::CallOp call, int64_t partials) {
    if (DictionaryAttr dict = launcherSpec(call, kernels::kGemmKernelAttr)) {
      gen::GemmSpec spec = kernels::gemmSpecFromAttr(dict);
      spec.layerNormPartials = partials;
      if (!spec.layerNormInput || !gen::verifyGemmSpec(spec).empty())
        return nullptr;
      return kernels::declareGemmLauncher(getOperation(), call.getLoc(), spec);
    }
    if (DictionaryAttr dict = launcherSpec(call, kernels::kMonarchKernelAttr)) {
      gen::MonarchSpec spec = kernels::monarchSpecFromAttr(dict);
      spec.layerNormPartials = partials;
      if (!spec.layerNormInput || !gen::verifyMonarchSpec(spec).empty())
        return nullptr;
      return kernels::declareMonarchLauncher(getOperation(), call.getLoc(),
                                             spec);
    }
    if (DictionaryAttr dict =
            launcherSpec(call, kernels::kMonarchMlpKernelAttr)) {
      gen::MonarchMlpSpec spec = kernels::monarchMlpSpecFromAttr(dict);
      spec.up.layerNormPartials = partials;
      if (!spec.up.layerNormInput || !gen::verifyMonarchMlpSpec(spec).empty())
        return nullptr;
      return kernels::declareMonarchMlpLauncher(getOperation(), call.getLoc(),
                                                spec);
    }
    return nullptr;
  }
};

} // namespace
