//===- fly-ref-check.cpp - Run fly ops on the CPU vs a C++ reference ---===//
//
// For every public function of the input that applies one fly op to its
// arguments, this tool
//   1. fills the arguments with seeded random values (rounded to the element
//      type),
//   2. computes the expected result with the independent C++ reference
//      (test/lib/Reference: densified matrices, plain attention loops),
//   3. lowers the module with fly-reference-cpu-pipeline, JIT-compiles it and
//      runs the function on the same inputs (the output buffer is pre-filled
//      with NaN, so an element the code does not write fails the check),
//   4. prints max |got - want| / max |want| and fails if it is above the
//      tolerance (1e-5 for f32, 1e-2 for f16/bf16 by default).
//
//===----------------------------------------------------------------------===//

#include "fly/Dialect/Fly/IR/FlyDialect.h"
#include "fly/Dialect/Fly/IR/FlyOps.h"
#include "fly/Pipelines/EntryPoints.h"
#include "fly/Pipelines/Pipelines.h"
#include "fly/Reference/Attention.h"
#include "fly/Reference/Densify.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <limits>
#include <random>

using namespace mlir;
using namespace mlir::fly;
namespace ref = ::fly::reference;

static llvm::cl::opt<std::string> inputFilename(llvm::cl::Positional,
                                                llvm::cl::desc("<input.mlir>"),
                                                llvm::cl::init("-"));
static llvm::cl::opt<unsigned> seed("seed", llvm::cl::desc("Random seed"),
                                    llvm::cl::init(1234));
static llvm::cl::opt<std::string>
    pipeline("pipeline",
             llvm::cl::desc("CPU lowering to check: reference or fast"),
             llvm::cl::init("reference"));
static llvm::cl::opt<double>
    tolF32("tol", llvm::cl::desc("Max relative error for f32"),
           llvm::cl::init(1e-5));
static llvm::cl::opt<double>
    tolHalf("tol-half", llvm::cl::desc("Max relative error for f16/bf16"),
            llvm::cl::init(1e-2));

namespace {
/// A host tensor: values as the element type rounds them, kept as float for
/// the reference and as raw bytes for the compiled code.
struct HostTensor {
  RankedTensorType type;
  std::vector<float> values;
  std::vector<char> bytes;
};

const llvm::fltSemantics *semanticsOf(Type t) {
  if (t.isF16())
    return &llvm::APFloat::IEEEhalf();
  if (t.isBF16())
    return &llvm::APFloat::BFloat();
  return nullptr; // f32: no conversion
}

/// Rounds `value` to the element type; appends its bytes.
float roundInto(Type elementType, float value, std::vector<char> &bytes) {
  const llvm::fltSemantics *sem = semanticsOf(elementType);
  if (!sem) {
    const char *p = reinterpret_cast<const char *>(&value);
    bytes.insert(bytes.end(), p, p + sizeof(float));
    return value;
  }
  bool lost = false;
  llvm::APFloat f(value);
  f.convert(*sem, llvm::APFloat::rmNearestTiesToEven, &lost);
  uint16_t bits = f.bitcastToAPInt().getZExtValue();
  const char *p = reinterpret_cast<const char *>(&bits);
  bytes.insert(bytes.end(), p, p + sizeof(uint16_t));
  f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToFloat();
}

float readElement(Type elementType, const char *p) {
  const llvm::fltSemantics *sem = semanticsOf(elementType);
  if (!sem) {
    float v;
    std::memcpy(&v, p, sizeof(float));
    return v;
  }
  uint16_t bits;
  std::memcpy(&bits, p, sizeof(uint16_t));
  llvm::APFloat f(*sem, llvm::APInt(16, bits));
  bool lost = false;
  f.convert(llvm::APFloat::IEEEsingle(), llvm::APFloat::rmNearestTiesToEven,
            &lost);
  return f.convertToFloat();
}

HostTensor randomTensor(RankedTensorType type, std::mt19937 &rng) {
  HostTensor t{type, {}, {}};
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int64_t i = 0, e = type.getNumElements(); i < e; ++i)
    t.values.push_back(roundInto(type.getElementType(), dist(rng), t.bytes));
  return t;
}

std::vector<int64_t> shapeOf(Value v) {
  auto s = cast<RankedTensorType>(v.getType()).getShape();
  return {s.begin(), s.end()};
}

/// Rows of x when its leading dims are flattened.
int64_t batchRows(Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  return type.getNumElements() / type.getShape().back();
}

ref::AttentionShape attentionShape(Value q, Value k, Value v) {
  auto qs = shapeOf(q), ks = shapeOf(k), vs = shapeOf(v);
  return {qs[0], qs[1], qs[2], ks[2], qs[3], vs[3]};
}

/// The independent reference for one op, given its operands' host values.
FailureOr<std::vector<double>>
reference(Operation *op, ArrayRef<const std::vector<float> *> in) {
  auto denseApply = [&](const ref::DenseMatrix &w) {
    return ref::applyDense(w, *in[0], batchRows(op->getOperand(0)));
  };
  return llvm::TypeSwitch<Operation *, FailureOr<std::vector<double>>>(op)
      .Case([&](LinearOp o) -> std::vector<double> {
        auto ws = shapeOf(o.getW());
        int64_t rows = batchRows(o.getX()), m = ws[0], n = ws[1];
        std::vector<double> y(rows * m, 0.0);
        for (int64_t b = 0; b < rows; ++b)
          for (int64_t i = 0; i < m; ++i) {
            double acc = o.getBias() ? (*in[2])[i] : 0.0;
            for (int64_t j = 0; j < n; ++j)
              acc += double((*in[0])[b * n + j]) * (*in[1])[i * n + j];
            y[b * m + i] = acc;
          }
        return y;
      })
      .Case([&](MonarchMatmulOp o) {
        auto a = shapeOf(o.getW1()), b = shapeOf(o.getW2());
        return denseApply(ref::densifyMonarch(*in[1], a[0], a[1], a[2], *in[2],
                                              b[0], b[1], b[2]));
      })
      .Case([&](LowRankMatmulOp o) {
        auto u = shapeOf(o.getU()), v = shapeOf(o.getV());
        return denseApply(
            ref::densifyLowRank(*in[1], u[0], u[1], *in[2], v[0]));
      })
      .Case([&](BlockSparseMatmulOp o) {
        auto bs = shapeOf(o.getBlocks());
        std::vector<int64_t> rows(o.getRows().begin(), o.getRows().end());
        std::vector<int64_t> cols(o.getCols().begin(), o.getCols().end());
        return denseApply(ref::densifyBlockSparse(*in[1], bs[1], rows, cols,
                                                  shapeOf(o.getY()).back(),
                                                  shapeOf(o.getX()).back()));
      })
      .Case([&](ButterflyMatmulOp o) {
        return denseApply(
            ref::densifyButterfly(*in[1], shapeOf(o.getX()).back()));
      })
      .Case([&](SketchMatmulOp o) {
        ref::SketchParams p;
        p.reduction = o.getReduction();
        p.blockK = o.getBlockK();
        p.blockN = o.getBlockN();
        p.vec = o.getVec();
        for (int i = 0; i < 4; ++i)
          p.seeds[i] = o.getSeeds()[i];
        return denseApply(ref::densifySketch(*in[1], shapeOf(o.getX()).back(),
                                             shapeOf(o.getW())[1], p));
      })
      .Case([&](AttentionOp o) {
        std::vector<int64_t> maskShape;
        if (o.getMask())
          maskShape = shapeOf(o.getMask());
        return ref::attention(*in[0], *in[1], *in[2],
                              attentionShape(o.getQ(), o.getK(), o.getV()),
                              o.getScaleOrDefault(), o.getCausal(),
                              o.getMask() ? in[3] : nullptr, maskShape);
      })
      .Case([&](LocalAttentionOp o) {
        return ref::localAttention(*in[0], *in[1], *in[2],
                                   attentionShape(o.getQ(), o.getK(), o.getV()),
                                   o.getScaleOrDefault(), o.getWindow(),
                                   o.getCausal());
      })
      .Case([&](PerformerAttentionOp o) {
        return ref::performerAttention(
            *in[0], *in[1], *in[2], *in[3], shapeOf(o.getProj())[0],
            attentionShape(o.getQ(), o.getK(), o.getV()), o.getScaleOrDefault(),
            o.getCausal());
      })
      .Case([&](ScatterbrainAttentionOp o) {
        return ref::scatterbrainAttention(
            *in[0], *in[1], *in[2], *in[3], shapeOf(o.getProj())[0],
            attentionShape(o.getQ(), o.getK(), o.getV()), o.getScaleOrDefault(),
            o.getWindow(), o.getCausal());
      })
      .Default([&](Operation *) -> FailureOr<std::vector<double>> {
        op->emitError("fly-ref-check has no reference for this op");
        return failure();
      });
}

/// One function under test.
struct Check {
  std::string name;
  std::string opName;
  std::vector<HostTensor> args;
  RankedTensorType resultType;
  std::vector<double> expected;
};

/// Finds the single fly op of `func`, whose operands must be the function's
/// arguments, and computes the expected result.
FailureOr<Check> prepare(func::FuncOp func, std::mt19937 &rng) {
  Operation *flyOp = nullptr;
  WalkResult walk = func.walk([&](Operation *op) {
    if (!isa<FlyDialect>(op->getDialect()))
      return WalkResult::advance();
    if (flyOp) {
      op->emitError("fly-ref-check expects one fly op per function");
      return WalkResult::interrupt();
    }
    flyOp = op;
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  if (!flyOp)
    return func.emitError("fly-ref-check found no fly op in this function");
  if (func.getNumResults() != 1)
    return func.emitError("expected exactly one result");

  Check check;
  check.name = func.getName().str();
  check.opName = flyOp->getName().getStringRef().str();
  check.resultType = cast<RankedTensorType>(func.getResultTypes()[0]);
  for (Type t : func.getArgumentTypes()) {
    auto tensorType = dyn_cast<RankedTensorType>(t);
    if (!tensorType || !tensorType.hasStaticShape())
      return func.emitError("expected statically shaped tensor arguments");
    check.args.push_back(randomTensor(tensorType, rng));
  }
  SmallVector<const std::vector<float> *> operandValues;
  for (Value operand : flyOp->getOperands()) {
    auto arg = dyn_cast<BlockArgument>(operand);
    if (!arg || arg.getOwner()->getParentOp() != func)
      return flyOp->emitError(
          "fly-ref-check expects the op's operands to be function arguments");
    operandValues.push_back(&check.args[arg.getArgNumber()].values);
  }
  FailureOr<std::vector<double>> expected = reference(flyOp, operandValues);
  if (failed(expected))
    return failure();
  check.expected = std::move(*expected);
  return check;
}

int run() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<FlyDialect>();
  MLIRContext context(registry);
  // The entry wrappers use bufferization and memref ops the input may lack.
  context.loadAllAvailableDialects();

  llvm::SourceMgr sourceMgr;
  std::string error;
  auto file = openInputFile(inputFilename, &error);
  if (!file) {
    llvm::errs() << "fly-ref-check: " << error << "\n";
    return 1;
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!module)
    return 1;

  std::mt19937 rng(seed);
  std::vector<Check> checks;
  SmallVector<func::FuncOp> funcs(module->getOps<func::FuncOp>());
  for (func::FuncOp func : funcs) {
    if (func.isPrivate() || func.isExternal())
      continue;
    FailureOr<Check> check = prepare(func, rng);
    if (failed(check))
      return 1;
    checks.push_back(std::move(*check));
    addDestinationPassingEntry(*module, func,
                               (func.getName() + "_entry").str());
  }
  if (checks.empty()) {
    llvm::errs() << "fly-ref-check: no public function to check\n";
    return 1;
  }

  PassManager pm(&context);
  if (pipeline == "fast") {
    CpuPipelineOptions options;
    options.barePtrCallingConvention = true;
    buildFlyCpuPipeline(pm, options);
  } else if (pipeline == "reference") {
    ReferenceCpuPipelineOptions options;
    options.barePtrCallingConvention = true;
    buildFlyReferenceCpuPipeline(pm, options);
  } else {
    llvm::errs() << "fly-ref-check: --pipeline must be reference or fast\n";
    return 1;
  }
  if (failed(pm.run(*module))) {
    llvm::errs() << "fly-ref-check: lowering failed\n";
    return 1;
  }

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  ExecutionEngineOptions engineOptions;
  auto transformer = makeOptimizingTransformer(/*optLevel=*/2,
                                               /*sizeLevel=*/0, nullptr);
  engineOptions.transformer = transformer;
  // libomp: the fast pipeline's parallel loops call the OpenMP runtime.
  SmallVector<StringRef> libs = {FLY_C_RUNNER_UTILS, FLY_OPENMP_LIB};
  engineOptions.sharedLibPaths = libs;
  auto engine = ExecutionEngine::create(*module, engineOptions);
  if (!engine) {
    llvm::errs() << "fly-ref-check: JIT failed: "
                 << llvm::toString(engine.takeError()) << "\n";
    return 1;
  }

  int failures = 0;
  for (Check &check : checks) {
    Type resultElement = check.resultType.getElementType();
    size_t resultBytes = check.resultType.getNumElements() *
                         (resultElement.getIntOrFloatBitWidth() / 8);
    // NaN everywhere: an element the kernel never writes cannot pass.
    std::vector<char> out;
    out.reserve(resultBytes);
    for (int64_t i = 0, e = check.resultType.getNumElements(); i < e; ++i)
      roundInto(resultElement, std::numeric_limits<float>::quiet_NaN(), out);
    SmallVector<void *> pointers;
    for (HostTensor &arg : check.args)
      pointers.push_back(arg.bytes.data());
    pointers.push_back(out.data());
    SmallVector<void *> packed;
    for (void *&p : pointers)
      packed.push_back(&p);
    if (llvm::Error err =
            (*engine)->invokePacked(check.name + "_entry", packed)) {
      llvm::errs() << "fly-ref-check: call failed: "
                   << llvm::toString(std::move(err)) << "\n";
      return 1;
    }
    double maxDiff = 0.0, maxRef = 0.0;
    bool finite = true;
    size_t elemBytes = resultElement.getIntOrFloatBitWidth() / 8;
    for (size_t i = 0; i < check.expected.size(); ++i) {
      double got = readElement(resultElement, out.data() + i * elemBytes);
      if (!std::isfinite(got))
        finite = false;
      maxDiff = std::max(maxDiff, std::fabs(got - check.expected[i]));
      maxRef = std::max(maxRef, std::fabs(check.expected[i]));
    }
    double relErr = maxDiff / std::max(maxRef, 1e-30);
    double tol = resultElement.isF32() ? tolF32 : tolHalf;
    bool pass = finite && relErr <= tol;
    failures += !pass;
    llvm::outs() << "@" << check.name << " " << check.opName << " "
                 << resultElement << " elements " << check.expected.size()
                 << " max_rel_err "
                 << llvm::format("%.3e", finite ? relErr : NAN) << " tol "
                 << llvm::format("%.0e", tol) << (pass ? " PASS" : " FAIL")
                 << "\n";
  }
  llvm::outs() << "checked " << checks.size() << " functions, " << failures
               << " failed\n";
  return failures ? 1 : 0;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  llvm::cl::ParseCommandLineOptions(
      argc, argv,
      "fly-ref-check: run fly ops through the reference CPU lowering and "
      "compare with an independent C++ reference\n");
  return run();
}
