//===- KernelCalls.cpp - Launcher declarations, calls and definitions -----===//

#include "KernelCalls.h"

#include "fly/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Parser/Parser.h"

namespace mlir::fly {
#define GEN_PASS_DEF_FLYGPUDEFINEKERNELS
#include "fly/Conversion/Passes.h.inc"
} // namespace mlir::fly

using namespace mlir;
namespace gen = ::fly::gpu;

namespace {
/// The folded-LayerNorm and row-statistics fields GemmSpec and MonarchSpec
/// share (SpecReader::layerNormFields reads them back).
template <typename Spec>
void appendLayerNormFields(Builder &b, const Spec &spec,
                           SmallVectorImpl<NamedAttribute> &attrs) {
  attrs.push_back(
      b.getNamedAttr("layernorm_input", b.getBoolAttr(spec.layerNormInput)));
  attrs.push_back(
      b.getNamedAttr("layernorm_eps", b.getF64FloatAttr(spec.layerNormEps)));
  attrs.push_back(b.getNamedAttr("layernorm_partials",
                                 b.getI64IntegerAttr(spec.layerNormPartials)));
  attrs.push_back(
      b.getNamedAttr("row_statistics", b.getBoolAttr(spec.rowStatistics)));
}
} // namespace

DictionaryAttr mlir::fly::kernels::gemmSpecToAttr(Builder &b,
                                                  const gen::GemmSpec &spec) {
  const char *epilogue = spec.epilogue == gen::GemmEpilogue::None ? "none"
                         : spec.epilogue == gen::GemmEpilogue::Bias
                             ? "bias"
                             : "bias_gelu_tanh";
  SmallVector<NamedAttribute> attrs = {
      b.getNamedAttr("m", b.getI64IntegerAttr(spec.m)),
      b.getNamedAttr("n", b.getI64IntegerAttr(spec.n)),
      b.getNamedAttr("k", b.getI64IntegerAttr(spec.k)),
      b.getNamedAttr("type", b.getStringAttr(spec.elementType)),
      b.getNamedAttr("epilogue", b.getStringAttr(epilogue)),
      b.getNamedAttr("residual", b.getBoolAttr(spec.residual)),
      b.getNamedAttr("tile_n", b.getI64IntegerAttr(spec.tileN)),
      b.getNamedAttr("warp_specialized", b.getBoolAttr(spec.warpSpecialized)),
      b.getNamedAttr("persistent_ctas",
                     b.getI64IntegerAttr(spec.persistentCtas)),
      b.getNamedAttr("staging_epilogue", b.getBoolAttr(spec.stagingEpilogue)),
      b.getNamedAttr("producer_warpgroup",
                     b.getBoolAttr(spec.producerWarpgroup)),
  };
  appendLayerNormFields(b, spec, attrs);
  return b.getDictionaryAttr(attrs);
}

DictionaryAttr
mlir::fly::kernels::attentionSpecToAttr(Builder &b,
                                        const gen::AttentionSpec &spec) {
  return b.getDictionaryAttr({
      b.getNamedAttr("batch_heads", b.getI64IntegerAttr(spec.batchHeads)),
      b.getNamedAttr("seq", b.getI64IntegerAttr(spec.seq)),
      b.getNamedAttr("head_dim", b.getI64IntegerAttr(spec.headDim)),
      b.getNamedAttr("type", b.getStringAttr(spec.elementType)),
      b.getNamedAttr("causal", b.getBoolAttr(spec.causal)),
      b.getNamedAttr("scale", b.getF64FloatAttr(spec.scale)),
      b.getNamedAttr("packed_qkv", b.getBoolAttr(spec.packedQkv)),
      b.getNamedAttr("heads", b.getI64IntegerAttr(spec.heads)),
      b.getNamedAttr("window", b.getI64IntegerAttr(spec.window)),
      b.getNamedAttr("features", b.getI64IntegerAttr(spec.features)),
  });
}

DictionaryAttr
mlir::fly::kernels::monarchSpecToAttr(Builder &b,
                                      const gen::MonarchSpec &spec) {
  SmallVector<NamedAttribute> attrs = {
      b.getNamedAttr("m", b.getI64IntegerAttr(spec.m)),
      b.getNamedAttr("k", b.getI64IntegerAttr(spec.k)),
      b.getNamedAttr("q", b.getI64IntegerAttr(spec.q)),
      b.getNamedAttr("p", b.getI64IntegerAttr(spec.p)),
      b.getNamedAttr("l", b.getI64IntegerAttr(spec.l)),
      b.getNamedAttr("s", b.getI64IntegerAttr(spec.s)),
      b.getNamedAttr("r", b.getI64IntegerAttr(spec.r)),
      b.getNamedAttr("type", b.getStringAttr(spec.elementType)),
      b.getNamedAttr("bias", b.getBoolAttr(spec.bias)),
      b.getNamedAttr("gelu", b.getBoolAttr(spec.gelu)),
      b.getNamedAttr("residual", b.getBoolAttr(spec.residual)),
      b.getNamedAttr("blocked_output", b.getBoolAttr(spec.blockedOutput)),
      b.getNamedAttr("input_blocks", b.getI64IntegerAttr(spec.inputBlocks)),
      b.getNamedAttr("split_factors", b.getBoolAttr(spec.splitFactors)),
  };
  appendLayerNormFields(b, spec, attrs);
  return b.getDictionaryAttr(attrs);
}

DictionaryAttr
mlir::fly::kernels::monarchMlpSpecToAttr(Builder &b,
                                         const gen::MonarchMlpSpec &spec) {
  return b.getDictionaryAttr({
      b.getNamedAttr("up", monarchSpecToAttr(b, spec.up)),
      b.getNamedAttr("down", monarchSpecToAttr(b, spec.down)),
      b.getNamedAttr(
          "hidden_schedule",
          b.getStringAttr(gen::monarchHiddenScheduleName(spec.hiddenSchedule))),
  });
}

DictionaryAttr
mlir::fly::kernels::layerNormSpecToAttr(Builder &b,
                                        const gen::LayerNormSpec &spec) {
  return b.getDictionaryAttr({
      b.getNamedAttr("rows", b.getI64IntegerAttr(spec.rows)),
      b.getNamedAttr("cols", b.getI64IntegerAttr(spec.cols)),
      b.getNamedAttr("eps", b.getF64FloatAttr(spec.eps)),
      b.getNamedAttr("type", b.getStringAttr(spec.elementType)),
      b.getNamedAttr("stats_only", b.getBoolAttr(spec.statsOnly)),
  });
}

func::FuncOp mlir::fly::kernels::declareLauncher(ModuleOp module, Location loc,
                                                 StringRef name,
                                                 ArrayRef<Type> argTypes,
                                                 StringRef specAttr,
                                                 DictionaryAttr spec) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(name))
    return existing;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  auto func =
      func::FuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
  func.setPrivate();
  func->setAttr(specAttr, spec);
  return func;
}

namespace {
Type storageType(MLIRContext *ctx, const std::string &name) {
  return name == "bf16" ? Type(BFloat16Type::get(ctx))
                        : Type(Float16Type::get(ctx));
}

MemRefType partialsType(MLIRContext *ctx, int64_t rows, int64_t partials) {
  return MemRefType::get({rows, partials, 2}, Float32Type::get(ctx));
}
} // namespace

func::FuncOp
mlir::fly::kernels::declareGemmLauncher(ModuleOp module, Location loc,
                                        const gen::GemmSpec &spec) {
  MLIRContext *ctx = module.getContext();
  Type element = storageType(ctx, spec.elementType);
  Type f32 = Float32Type::get(ctx);
  SmallVector<Type> args = {MemRefType::get({spec.m, spec.k}, element),
                            MemRefType::get({spec.n, spec.k}, element)};
  if (spec.epilogue != gen::GemmEpilogue::None)
    args.push_back(MemRefType::get({spec.n}, element));
  if (spec.layerNormInput) {
    args.push_back(MemRefType::get({spec.n}, f32));
    args.push_back(partialsType(ctx, spec.m, spec.layerNormPartials));
  }
  if (spec.residual)
    args.push_back(MemRefType::get({spec.m, spec.n}, element));
  args.push_back(MemRefType::get({spec.m, spec.n}, element));
  if (spec.rowStatistics)
    args.push_back(
        partialsType(ctx, spec.m, gen::gemmRowStatisticsPartials(spec)));
  Builder b(ctx);
  return declareLauncher(module, loc, gen::gemmLauncherName(spec), args,
                         kGemmKernelAttr, gemmSpecToAttr(b, spec));
}

namespace {
/// The argument types of a Monarch launcher (MonarchKernel.h).
SmallVector<Type> monarchLauncherArgs(MLIRContext *ctx,
                                      const gen::MonarchSpec &spec) {
  Type element = storageType(ctx, spec.elementType);
  Type f32 = Float32Type::get(ctx);
  int64_t outCols = spec.l * spec.s;
  SmallVector<Type> args = {MemRefType::get({spec.m, spec.k * spec.p}, element),
                            MemRefType::get({spec.k, spec.q, spec.p}, element),
                            MemRefType::get({spec.l, spec.s, spec.r}, element)};
  if (spec.bias)
    args.push_back(MemRefType::get({outCols}, element));
  if (spec.layerNormInput) {
    args.push_back(MemRefType::get({outCols}, f32));
    args.push_back(partialsType(ctx, spec.m, spec.layerNormPartials));
  }
  if (spec.residual)
    args.push_back(MemRefType::get({spec.m, outCols}, element));
  args.push_back(MemRefType::get({spec.m, outCols}, element));
  if (spec.rowStatistics)
    args.push_back(
        partialsType(ctx, spec.m, gen::monarchRowStatisticsPartials(spec)));
  return args;
}
} // namespace

func::FuncOp
mlir::fly::kernels::declareMonarchLauncher(ModuleOp module, Location loc,
                                           const gen::MonarchSpec &spec) {
  Builder b(module.getContext());
  return declareLauncher(module, loc, gen::monarchLauncherName(spec),
                         monarchLauncherArgs(module.getContext(), spec),
                         kMonarchKernelAttr, monarchSpecToAttr(b, spec));
}

func::FuncOp
mlir::fly::kernels::declareMonarchMlpLauncher(ModuleOp module, Location loc,
                                              const gen::MonarchMlpSpec &spec) {
  // The up projection's arguments without its output, then the down
  // projection's without its input (gen::emitMonarchMlp).
  MLIRContext *ctx = module.getContext();
  SmallVector<Type> args = monarchLauncherArgs(ctx, spec.up);
  args.pop_back();
  SmallVector<Type> down = monarchLauncherArgs(ctx, spec.down);
  args.append(std::next(down.begin()), down.end());
  Builder b(ctx);
  return declareLauncher(module, loc, gen::monarchMlpLauncherName(spec), args,
                         kMonarchMlpKernelAttr, monarchMlpSpecToAttr(b, spec));
}

Value mlir::fly::kernels::callLauncher(OpBuilder &b, Location loc,
                                       func::FuncOp launcher, ValueRange inputs,
                                       RankedTensorType resultType) {
  return callLauncher(b, loc, launcher, inputs,
                      ArrayRef<RankedTensorType>{resultType})
      .front();
}

SmallVector<Value>
mlir::fly::kernels::callLauncher(OpBuilder &b, Location loc,
                                 func::FuncOp launcher, ValueRange inputs,
                                 ArrayRef<RankedTensorType> resultTypes) {
  SmallVector<Value> args;
  for (Value t : inputs) {
    auto tt = cast<RankedTensorType>(t.getType());
    args.push_back(bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(tt.getShape(), tt.getElementType()), t,
        /*read_only=*/true));
  }
  // 128-byte aligned: TMA wants 16, the pool gives at least 256.
  SmallVector<Value> outs;
  for (RankedTensorType type : resultTypes) {
    outs.push_back(memref::AllocOp::create(
        b, loc, MemRefType::get(type.getShape(), type.getElementType()),
        b.getI64IntegerAttr(128)));
    args.push_back(outs.back());
  }
  func::CallOp::create(b, loc, launcher, args);
  SmallVector<Value> results;
  for (auto [type, out] : llvm::zip(resultTypes, outs))
    results.push_back(bufferization::ToTensorOp::create(
        b, loc, type, out, /*restrict=*/true, /*writable=*/true));
  return results;
}

namespace {
gen::LayerNormSpec rowStatisticsSpec(RankedTensorType type) {
  gen::LayerNormSpec spec;
  spec.rows = type.getRank() == 2 ? type.getDimSize(0) : 0;
  spec.cols = type.getRank() == 2 ? type.getDimSize(1) : 0;
  Type element = type.getElementType();
  spec.elementType = element.isF16()    ? "f16"
                     : element.isBF16() ? "bf16"
                                        : "other";
  spec.statsOnly = true;
  return spec;
}
} // namespace

std::string mlir::fly::kernels::verifyRowStatistics(RankedTensorType x) {
  return gen::verifyLayerNormSpec(rowStatisticsSpec(x));
}

Value mlir::fly::kernels::rowStatistics(OpBuilder &b, Location loc,
                                        ModuleOp module, Value x) {
  auto type = cast<RankedTensorType>(x.getType());
  Type element = type.getElementType();
  gen::LayerNormSpec spec = rowStatisticsSpec(type);
  if (!gen::verifyLayerNormSpec(spec).empty())
    return nullptr;
  auto statsType = RankedTensorType::get({spec.rows, 1, 2}, b.getF32Type());
  func::FuncOp launcher =
      declareLauncher(module, loc, gen::layerNormLauncherName(spec),
                      {MemRefType::get(type.getShape(), element),
                       MemRefType::get(statsType.getShape(), b.getF32Type())},
                      kLayerNormKernelAttr, layerNormSpecToAttr(b, spec));
  return callLauncher(b, loc, launcher, {x}, statsType);
}

Value mlir::fly::kernels::stripCasts(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (!isa<arith::ExtFOp, arith::TruncFOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

linalg::GenericOp mlir::fly::kernels::singleGenericUser(Value v) {
  if (!v.hasOneUse())
    return nullptr;
  return dyn_cast<linalg::GenericOp>(*v.getUsers().begin());
}

bool mlir::fly::kernels::isElementwise(linalg::GenericOp op, unsigned inputs) {
  return op.getNumDpsInputs() == inputs && op.getNumDpsInits() == 1 &&
         op.getNumReductionLoops() == 0 &&
         llvm::all_of(op.getIndexingMapsArray(),
                      [](AffineMap m) { return m.isIdentity(); });
}

std::optional<Value> mlir::fly::kernels::matchResidualAdd(linalg::GenericOp op,
                                                          Value value) {
  if (!isElementwise(op, 2))
    return std::nullopt;
  auto yield = cast<linalg::YieldOp>(op.getBody()->getTerminator());
  auto add = stripCasts(yield.getValues()[0]).getDefiningOp<arith::AddFOp>();
  if (!add)
    return std::nullopt;
  Block *body = op.getBody();
  Value lhs = stripCasts(add.getLhs()), rhs = stripCasts(add.getRhs());
  Value in0 = body->getArgument(0), in1 = body->getArgument(1);
  if (!((lhs == in0 && rhs == in1) || (lhs == in1 && rhs == in0)))
    return std::nullopt;
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
  if (a == value && b != value)
    return b;
  if (b == value && a != value)
    return a;
  return std::nullopt;
}

LogicalResult mlir::fly::kernels::checkKernelChip(Operation *op, StringRef pass,
                                                  StringRef chip) {
  if (chip == "sm_90a")
    return success();
  return op->emitError() << pass
                         << ": fly's generated kernels need chip sm_90a "
                            "(wgmma, TMA, mbarriers), not '"
                         << chip
                         << "'; compile with gemm-kernels=false for "
                            "generic kernels on other chips";
}

namespace {

/// Reads a spec dictionary written by *SpecToAttr; missing keys read as
/// zero / false / "" and are rejected by the generators' own checks.
struct SpecReader {
  DictionaryAttr dict;
  int64_t i64(StringRef key) const {
    auto attr = dict.getAs<IntegerAttr>(key);
    return attr ? attr.getInt() : 0;
  }
  double f64(StringRef key) const {
    auto attr = dict.getAs<FloatAttr>(key);
    return attr ? attr.getValueAsDouble() : 0;
  }
  bool flag(StringRef key) const {
    auto attr = dict.getAs<BoolAttr>(key);
    return attr && attr.getValue();
  }
  std::string str(StringRef key) const {
    auto attr = dict.getAs<StringAttr>(key);
    return attr ? attr.getValue().str() : std::string();
  }
  /// The folded-LayerNorm and row-statistics fields GemmSpec and
  /// MonarchSpec share (partial counts missing from older specs read as 1).
  template <typename Spec> void layerNormFields(Spec &spec) const {
    spec.layerNormInput = flag("layernorm_input");
    if (spec.layerNormInput) {
      spec.layerNormEps = f64("layernorm_eps");
      if (dict.getAs<IntegerAttr>("layernorm_partials"))
        spec.layerNormPartials = i64("layernorm_partials");
    }
    spec.rowStatistics = flag("row_statistics");
  }
};

} // namespace

gen::GemmSpec mlir::fly::kernels::gemmSpecFromAttr(DictionaryAttr dict) {
  SpecReader r{dict};
  gen::GemmSpec spec;
  spec.m = r.i64("m"), spec.n = r.i64("n"), spec.k = r.i64("k");
  spec.tileN = r.i64("tile_n");
  spec.elementType = r.str("type");
  std::string epilogue = r.str("epilogue");
  spec.epilogue = epilogue == "bias" ? gen::GemmEpilogue::Bias
                  : epilogue == "bias_gelu_tanh"
                      ? gen::GemmEpilogue::BiasGeluTanh
                      : gen::GemmEpilogue::None;
  spec.residual = r.flag("residual");
  spec.warpSpecialized = r.flag("warp_specialized");
  if (dict.getAs<IntegerAttr>("persistent_ctas"))
    spec.persistentCtas = r.i64("persistent_ctas");
  if (dict.get("staging_epilogue"))
    spec.stagingEpilogue = r.flag("staging_epilogue");
  if (dict.get("producer_warpgroup"))
    spec.producerWarpgroup = r.flag("producer_warpgroup");
  r.layerNormFields(spec);
  return spec;
}

gen::MonarchSpec mlir::fly::kernels::monarchSpecFromAttr(DictionaryAttr dict) {
  SpecReader r{dict};
  gen::MonarchSpec spec;
  spec.m = r.i64("m"), spec.k = r.i64("k"), spec.q = r.i64("q");
  spec.p = r.i64("p"), spec.l = r.i64("l"), spec.s = r.i64("s");
  spec.r = r.i64("r");
  spec.elementType = r.str("type");
  spec.bias = r.flag("bias");
  spec.gelu = r.flag("gelu");
  spec.residual = r.flag("residual");
  spec.blockedOutput = r.flag("blocked_output");
  spec.inputBlocks = r.i64("input_blocks");
  spec.splitFactors = r.flag("split_factors");
  r.layerNormFields(spec);
  return spec;
}

gen::MonarchMlpSpec
mlir::fly::kernels::monarchMlpSpecFromAttr(DictionaryAttr dict) {
  gen::MonarchMlpSpec spec;
  if (auto up = dict.getAs<DictionaryAttr>("up"))
    spec.up = monarchSpecFromAttr(up);
  if (auto down = dict.getAs<DictionaryAttr>("down"))
    spec.down = monarchSpecFromAttr(down);
  // A missing schedule reads as the default (emitFor rejects unknown ones).
  if (auto schedule = dict.getAs<StringAttr>("hidden_schedule"))
    spec.hiddenSchedule =
        gen::parseMonarchHiddenSchedule(schedule.getValue().str())
            .value_or(gen::MonarchMlpSpec().hiddenSchedule);
  return spec;
}

namespace {

/// The generator's text for a launcher declaration, or "" + error.
std::string emitFor(func::FuncOp decl, std::string &error) {
  if (auto dict = decl->getAttrOfType<DictionaryAttr>(
          mlir::fly::kernels::kGemmKernelAttr))
    return gen::emitWgmmaGemm(mlir::fly::kernels::gemmSpecFromAttr(dict),
                              error);
  for (const char *attr : {mlir::fly::kernels::kAttentionKernelAttr,
                           mlir::fly::kernels::kScatterbrainKeysAttr,
                           mlir::fly::kernels::kScatterbrainCombineAttr}) {
    auto dict = decl->getAttrOfType<DictionaryAttr>(attr);
    if (!dict)
      continue;
    SpecReader r{dict};
    gen::AttentionSpec spec;
    spec.batchHeads = r.i64("batch_heads");
    spec.seq = r.i64("seq");
    spec.headDim = r.i64("head_dim");
    spec.elementType = r.str("type");
    spec.causal = r.flag("causal");
    spec.scale = r.f64("scale");
    spec.packedQkv = r.flag("packed_qkv");
    spec.heads = r.i64("heads");
    spec.window = r.i64("window");
    spec.features = r.i64("features");
    if (attr == mlir::fly::kernels::kScatterbrainKeysAttr)
      return gen::emitScatterbrainKeyFeatures(spec, error);
    if (attr == mlir::fly::kernels::kScatterbrainCombineAttr)
      return gen::emitScatterbrainCombine(spec, error);
    return gen::emitFlashAttention(spec, error);
  }
  if (auto dict = decl->getAttrOfType<DictionaryAttr>(
          mlir::fly::kernels::kMonarchKernelAttr))
    return gen::emitMonarchMatmul(mlir::fly::kernels::monarchSpecFromAttr(dict),
                                  error);
  if (auto dict = decl->getAttrOfType<DictionaryAttr>(
          mlir::fly::kernels::kMonarchMlpKernelAttr)) {
    if (auto schedule = dict.getAs<StringAttr>("hidden_schedule");
        schedule &&
        !gen::parseMonarchHiddenSchedule(schedule.getValue().str())) {
      error = "unknown hidden_schedule '" + schedule.getValue().str() +
              "' (expected " + gen::monarchHiddenScheduleChoices() + ")";
      return "";
    }
    return gen::emitMonarchMlp(mlir::fly::kernels::monarchMlpSpecFromAttr(dict),
                               error);
  }
  if (auto dict = decl->getAttrOfType<DictionaryAttr>(
          mlir::fly::kernels::kLayerNormKernelAttr)) {
    SpecReader r{dict};
    gen::LayerNormSpec spec;
    spec.rows = r.i64("rows");
    spec.cols = r.i64("cols");
    spec.eps = r.f64("eps");
    spec.elementType = r.str("type");
    spec.statsOnly = r.flag("stats_only");
    return gen::emitLayerNorm(spec, error);
  }
  std::string names;
  for (const char *attr : mlir::fly::kernels::kKernelSpecAttrs)
    names += (names.empty() ? "" : " / ") + std::string(attr);
  error = "the " + names;
  error += " attribute must be a dictionary holding the kernel's spec";
  return "";
}

struct FlyGpuDefineKernelsPass
    : mlir::fly::impl::FlyGpuDefineKernelsBase<FlyGpuDefineKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> decls;
    for (auto func : module.getOps<func::FuncOp>())
      if (func.isDeclaration() &&
          llvm::any_of(mlir::fly::kernels::kKernelSpecAttrs,
                       [&](const char *attr) { return func->hasAttr(attr); }))
        decls.push_back(func);
    for (func::FuncOp decl : decls)
      if (failed(define(decl)))
        return signalPassFailure();
  }

  LogicalResult define(func::FuncOp decl) {
    std::string error;
    std::string text = emitFor(decl, error);
    if (text.empty())
      return decl.emitError("kernel generator: ") << error;
    ParserConfig config(&getContext());
    OwningOpRef<ModuleOp> parsed = parseSourceString<ModuleOp>(text, config);
    if (!parsed)
      return decl.emitError("a kernel generator's MLIR does not parse (a fly "
                            "bug)");
    auto definition = parsed->lookupSymbol<func::FuncOp>(decl.getSymName());
    if (!definition || definition.getFunctionType() != decl.getFunctionType())
      return decl.emitError("the generated launcher does not match its "
                            "declaration (a fly bug)");
    ModuleOp module = getOperation();
    module->setAttr(::mlir::gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(&getContext()));
    Block *into = module.getBody();
    for (Operation &op : llvm::make_early_inc_range(*parsed->getBody()))
      if (&op != definition.getOperation())
        op.moveBefore(into, into->end());
    decl.getBody().takeBody(definition.getBody());
    for (const char *attr : mlir::fly::kernels::kKernelSpecAttrs)
      decl->removeAttr(attr);
    return success();
  }
};

} // namespace
