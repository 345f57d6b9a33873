//===- fly-compile.cpp - Compile a model into a fly artifact ----*- C++ -*-===//
//
// fly-compile MODEL_DIR|file.mlir|embedded-name --target cpu --batch N
//             --seq T -o out.fly
//
// writes out.fly/{manifest.json, model.so, weights.safetensors}. The model
// is imported (HF config.json + model.safetensors, or an embedded default),
// its weights are moved out of the IR into weights.safetensors, the rest is
// lowered to host code in model.so, whose `fly_entry(void **buffers)` takes
// the inputs, the weights and the outputs in manifest order.
//
//===----------------------------------------------------------------------===//

#include "Codegen.h"
#include "StructureSpec.h"

#include "fly/Conversion/Passes.h"
#include "fly/Dialect/Fly/IR/FlyDialect.h"
#include "fly/Models/Importer.h"
#include "fly/Models/ModelConfig.h"
#include "fly/Pipelines/EntryPoints.h"
#include "fly/Pipelines/Pipelines.h"
#include "fly/Transforms/Passes.h"
#include "fly/runtime/Safetensors.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AsmState.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>

using namespace mlir;
namespace cl = llvm::cl;
namespace models = ::fly::models;

static cl::OptionCategory category("fly-compile options");
static cl::opt<std::string>
    modelArg(cl::Positional,
             cl::desc("[MODEL_DIR | file.mlir | tiny-gpt2 | tiny-vit] "
                      "(default: tiny-gpt2)"),
             cl::init(""), cl::cat(category));
static cl::opt<std::string>
    target("target",
           cl::desc("Code generation target: cpu (this machine's CPU, "
                    "OpenMP) or cuda (NVIDIA Hopper GPUs; the GPU binary is "
                    "embedded in model.so)"),
           cl::init("cpu"), cl::cat(category));
static cl::opt<std::string>
    chip("chip",
         cl::desc("CUDA target GPU: sm_90 or sm_90a (both compile for "
                  "sm_90a: wgmma and TMA need the 'a' variant, which runs on "
                  "H100/H200)"),
         cl::init("sm_90"), cl::cat(category));
static cl::opt<int64_t> batch("batch", cl::desc("Batch size (default 1)"),
                              cl::init(1), cl::cat(category));
static cl::opt<int64_t>
    seq("seq",
        cl::desc("GPT-2 sequence length (default min(128, n_positions))"),
        cl::init(0), cl::cat(category));
static cl::opt<std::string>
    part("part",
         cl::desc("GPT-2: 'full' (input_ids -> logits, default), 'body' "
                  "(hidden states -> blocks + final LayerNorm) or 'mlp' "
                  "(block 0's MLP alone); body and mlp take [batch, seq, d] "
                  "floats, like torch_peer_bench.py's gpt2-body and "
                  "mlp-layer"),
         cl::init("full"), cl::cat(category));
static cl::opt<std::string> output("o",
                                   cl::desc("Output artifact directory "
                                            "(default <model>.fly)"),
                                   cl::value_desc("dir"), cl::init(""),
                                   cl::cat(category));
static cl::opt<std::string>
    emit("emit",
         cl::desc("Stop early: 'mlir' (imported IR, weights as "
                  "dense_resource), 'lowered' (LLVM dialect), 'llvm' "
                  "(LLVM IR), 'ptx' (cuda: the kernels' PTX); default "
                  "'artifact'"),
         cl::init("artifact"), cl::cat(category));
static cl::opt<std::string>
    dtype("dtype",
          cl::desc("Storage type of weights and activations: f32 (cpu, "
                   "cuda), f16 or bf16 (cuda; accumulation stays f32)"),
          cl::init("f32"), cl::cat(category));
static cl::opt<std::string>
    structure("structure",
              cl::desc("Structured replacements, e.g. "
                       "\"mlp=monarch:4,attn=scatterbrain:window=64\""),
              cl::init(""), cl::cat(category));
static cl::opt<std::string> weightsFrom(
    "weights",
    cl::desc("Weights of a model directory: 'file' (model.safetensors) or "
             "'random' (seeded; needs only config.json, for benchmarks)"),
    cl::init("file"), cl::cat(category));
static cl::opt<uint64_t>
    seed("seed", cl::desc("Seed of the embedded models' random weights"),
         cl::init(0), cl::cat(category));
static cl::opt<std::string>
    entryName("entry",
              cl::desc("Function to compile in a .mlir input (default: the "
                       "only public function)"),
              cl::init(""), cl::cat(category));
static cl::opt<std::string>
    pipeline("pipeline",
             cl::desc("CPU lowering: 'fast' (tiled, vectorised, OpenMP) or "
                      "'reference' (naive loops, the numerical oracle)"),
             cl::init("fast"), cl::cat(category));
static cl::opt<int64_t> threads("num-threads",
                                cl::desc("CPU threads (default 2)"),
                                cl::init(2), cl::cat(category));
static cl::opt<std::string> producerRowStatistics(
    "producer-row-statistics",
    cl::desc("cuda: a folded LayerNorm's row statistics are written by the "
             "kernel that produces its input instead of a separate kernel: "
             "all (default), gemm, monarch (which producer kernels) or off "
             "(a statistics kernel per LayerNorm)"),
    cl::init("all"), cl::ValueOptional, cl::cat(category));
static cl::opt<std::string> gemmSchedule(
    "gemm-schedule",
    cl::desc("cuda: GEMM kernel schedule: auto (default: per shape, "
             "whichever measured faster on an H100), multistage (one "
             "warpgroup per tile) or warp-specialized (producer warp + two "
             "ping-pong consumer warpgroups, persistent grid)"),
    cl::init("auto"), cl::cat(category));
static cl::opt<std::string> gemmEpilogue(
    "gemm-epilogue",
    cl::desc("cuda: epilogue of the warp-specialised GEMMs: auto (default: "
             "register where it adds a residual or applies GELU, which "
             "measured faster on an H100), register (values finished in "
             "registers, residual and output moved by TMA) or staging "
             "(through an f32 staging tile)"),
    cl::init("auto"), cl::cat(category));
static cl::opt<std::string> gemmProducer(
    "gemm-producer",
    cl::desc("cuda: producer of the warp-specialised GEMMs: warpgroup "
             "(default: 384 threads, setmaxnreg gives the consumers 232 "
             "registers; 1-5% faster on an H100) or warp (288 threads, 168 "
             "registers each)"),
    cl::init("warpgroup"), cl::cat(category));
static cl::opt<int64_t> gemmCtas(
    "gemm-ctas",
    cl::desc("cuda: CTAs of a warp-specialised GEMM's persistent grid "
             "(default 132, an H100 SXM's SMs; fewer make each CTA take more "
             "tiles, as the device checks do)"),
    cl::init(0), cl::cat(category));
static cl::opt<bool> monarchSplit(
    "monarch-split",
    cl::desc("cuda: a Monarch matmul with the natural output (an MLP's down "
             "projection with --monarch-mlp=pair, or a Monarch layer outside "
             "an MLP) and at most 2048 rows runs as two kernels, factor 1 "
             "and factor 2 (default true; =false keeps one fused kernel; the "
             "default three-kernel MLP always splits its down projection)"),
    cl::init(true), cl::cat(category));
static cl::opt<std::string> monarchMlp(
    "monarch-mlp",
    cl::desc("cuda: a Monarch MLP (up projection, GELU, down projection) "
             "runs as hidden (default: three kernels, the hidden layer kept "
             "on chip; 9-10% faster on an H100 at GPT-2 small's batch 8-32) "
             "or pair (two kernels, the hidden layer stored between them)"),
    cl::init("hidden"), cl::cat(category));
static cl::opt<std::string> monarchHiddenSchedule(
    "monarch-hidden-schedule",
    cl::desc("cuda: how the Monarch MLP's hidden kernel (--monarch-mlp="
             "hidden) works: producer (default: a third warpgroup streams "
             "the tiles, per-slot empty barriers; on an H100 the hidden "
             "kernel 2.5-3% faster than lockstep at batch 32), lockstep (two "
             "computing warpgroups that also refill the weight ring, a CTA "
             "barrier per step) or pingpong (producer, and the computing "
             "warpgroups take turns issuing wgmmas; measured between the "
             "two)"),
    cl::init("producer"), cl::cat(category));
static cl::opt<std::string> hostCpu(
    "host-cpu",
    cl::desc("The CPU model.so's host code is compiled for: native (default: "
             "this machine's CPU and all its features; the artifact may not "
             "run on an older CPU) or an LLVM CPU name of the host triple, "
             "e.g. x86-64-v3, for artifacts built on one machine and run on "
             "another"),
    cl::init("native"), cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("No progress messages"),
                           cl::init(false), cl::cat(category));

namespace {
int fail(const llvm::Twine &message) {
  llvm::errs() << "fly-compile: error: " << message << "\n";
  return 1;
}

/// "" if `option` holds one of `choices`, else "--NAME must be a, b or c
/// (got 'VALUE')".
std::string choiceError(const cl::opt<std::string> &option,
                        llvm::ArrayRef<llvm::StringRef> choices) {
  if (llvm::is_contained(choices, llvm::StringRef(option)))
    return "";
  std::string list;
  for (size_t i = 0; i < choices.size(); ++i)
    list += (i == 0                    ? ""
             : i + 1 == choices.size() ? " or "
                                       : ", ") +
            choices[i].str();
  return ("--" + option.ArgStr + " must be " + list + " (got '" +
          option.getValue() + "')")
      .str();
}

/// Prints "[i/n] what ... time" so long compiles show where they are.
class Progress {
public:
  explicit Progress(int steps) : steps(steps) {}
  void start(const std::string &what) {
    finish();
    ++step;
    begin = std::chrono::steady_clock::now();
    if (!quiet)
      llvm::errs() << "fly-compile: [" << step << "/" << steps << "] " << what
                   << " ... ";
    running = true;
  }
  void finish() {
    if (!running || quiet)
      return;
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
            .count();
    llvm::errs() << llvm::format("%.2f s\n", s);
    running = false;
  }

private:
  int steps, step = 0;
  bool running = false;
  std::chrono::steady_clock::time_point begin;
};

std::string dtypeOf(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF16())
    return "f16";
  if (t.isBF16())
    return "bf16";
  if (t.isInteger(64))
    return "i64";
  if (t.isInteger(32))
    return "i32";
  return "";
}

::fly::runtime::DType runtimeDType(Type t) {
  using ::fly::runtime::DType;
  if (t.isF16())
    return DType::F16;
  if (t.isBF16())
    return DType::BF16;
  if (t.isInteger(64))
    return DType::I64;
  if (t.isInteger(32))
    return DType::I32;
  return DType::F32;
}

nlohmann::json tensorJson(const std::string &name, const std::string &type,
                          ArrayRef<int64_t> shape) {
  return {{"name", name}, {"dtype", type}, {"shape", shape}};
}

/// The model to compile: an imported HF model, an embedded default, or a
/// user's .mlir module.
struct Loaded {
  models::ImportedModel model;
  std::string modelName;
  nlohmann::json config = nlohmann::json::object();
};

bool loadModel(MLIRContext &ctx, const std::string &arg, Loaded &out,
               std::string &error) {
  std::string name = arg.empty() ? "tiny-gpt2" : arg;
  models::ModelConfig config;
  std::unique_ptr<models::WeightSource> weights;
  if (llvm::StringRef(name).ends_with(".mlir")) {
    std::string readError;
    auto file = openInputFile(name, &readError);
    if (!file) {
      error = readError;
      return false;
    }
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    SourceMgrDiagnosticHandler handler(sourceMgr, &ctx);
    out.model.module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
    if (!out.model.module) {
      error = "could not parse " + name;
      return false;
    }
    out.modelName = llvm::sys::path::stem(name).str();
    out.model.entry = ""; // the only public function, or --entry
    if (batch.getNumOccurrences() || seq.getNumOccurrences() ||
        part.getNumOccurrences()) {
      error = "--batch, --seq and --part do not apply to a .mlir input: its "
              "function signature fixes the shapes";
      return false;
    }
    return true;
  }
  if (models::embeddedConfig(name, config)) {
    weights = models::randomWeights(seed);
    out.modelName = name;
    out.config =
        nlohmann::json::parse(config.gpt2 ? models::gpt2ConfigJson(*config.gpt2)
                                          : models::vitConfigJson(*config.vit),
                              nullptr, false);
  } else if (llvm::sys::fs::is_directory(name)) {
    if (!models::loadModelConfig(name, config, error))
      return false;
    if (weightsFrom == "random") {
      weights = models::randomWeights(seed);
    } else {
      llvm::SmallString<256> weightsPath(name);
      llvm::sys::path::append(weightsPath, "model.safetensors");
      weights = models::openSafetensorsWeights(weightsPath.str().str(), error);
      if (!weights)
        return false;
    }
    llvm::SmallString<256> configPath(name);
    llvm::sys::path::append(configPath, "config.json");
    std::ifstream in(configPath.str().str());
    std::string text((std::istreambuf_iterator<char>(in)),
                     std::istreambuf_iterator<char>());
    out.config = nlohmann::json::parse(text, nullptr, false);
    out.modelName = llvm::sys::path::filename(
                        llvm::sys::path::remove_leading_dotslash(name))
                        .str();
    if (out.modelName.empty() || out.modelName == ".")
      out.modelName = config.modelType;
  } else {
    error = "'" + name +
            "' is neither a model directory (config.json + "
            "model.safetensors), a .mlir file, nor an embedded model (" +
            llvm::join(models::embeddedModelNames(), ", ") + ")";
    return false;
  }
  if (config.vit && part != "full") {
    error = "--part applies to GPT-2 only";
    return false;
  }
  if (config.vit && seq.getNumOccurrences()) {
    error = "--seq applies to GPT-2 only; a ViT's sequence is fixed by "
            "image_size / patch_size";
    return false;
  }
  models::ImportOptions options;
  options.batch = batch;
  options.seq = seq;
  options.part = part;
  out.model = models::importModel(&ctx, config, *weights, options, error);
  if (!out.model.module) {
    error = name + ": " + error;
    return false;
  }
  return true;
}

/// Inputs and outputs of a user's .mlir function, from its signature.
bool describeFunction(func::FuncOp func, models::ImportedModel &model,
                      std::string &error) {
  auto describe = [&](Type t, const std::string &name,
                      std::vector<models::TensorDesc> &into) {
    auto tt = dyn_cast<RankedTensorType>(t);
    if (!tt || !tt.hasStaticShape() || dtypeOf(tt.getElementType()).empty()) {
      error = "@" + func.getName().str() + ": " + name +
              " must be a statically shaped tensor of f32/f16/bf16/i64/i32";
      return false;
    }
    into.push_back(
        {name, dtypeOf(tt.getElementType()),
         std::vector<int64_t>(tt.getShape().begin(), tt.getShape().end())});
    return true;
  };
  model.inputs.clear();
  model.outputs.clear();
  for (auto [i, t] : llvm::enumerate(func.getArgumentTypes()))
    if (!describe(t, "arg" + std::to_string(i), model.inputs))
      return false;
  for (auto [i, t] : llvm::enumerate(func.getResultTypes()))
    if (!describe(t, "result" + std::to_string(i), model.outputs))
      return false;
  return true;
}

func::FuncOp findEntry(ModuleOp module, const std::string &wanted,
                       std::string &error) {
  func::FuncOp found;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || func.isPrivate())
      continue;
    if (!wanted.empty() && func.getName() != wanted)
      continue;
    if (found) {
      error = "several public functions; choose one with --entry";
      return nullptr;
    }
    found = func;
  }
  if (!found)
    error = wanted.empty() ? "no public function to compile"
                           : "no public function @" + wanted;
  return found;
}

/// The CUDA toolkit directory holding bin/ptxas: $CUDA_HOME, $CUDA_PATH,
/// /usr/local/cuda, or the parent of a ptxas on PATH; "" if none.
std::string findCudaToolkit() {
  auto hasPtxas = [](llvm::StringRef dir) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, "bin", "ptxas");
    return llvm::sys::fs::can_execute(p);
  };
  for (const char *var : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *dir = std::getenv(var); dir && hasPtxas(dir))
      return dir;
  if (hasPtxas("/usr/local/cuda"))
    return "/usr/local/cuda";
  if (llvm::ErrorOr<std::string> ptxas = llvm::sys::findProgramByName("ptxas"))
    return llvm::sys::path::parent_path(llvm::sys::path::parent_path(*ptxas))
        .str();
  return "";
}

bool writeText(const std::string &path, const std::string &text,
               std::string &error) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_Text);
  if (ec) {
    error = path + ": " + ec.message();
    return false;
  }
  out << text;
  return true;
}

int run(MLIRContext &ctx) {
  if (target != "cpu" && target != "cuda")
    return fail("--target must be 'cpu' or 'cuda' (got '" + target + "')");
  bool cuda = target == "cuda";
  if (cuda && chip != "sm_90" && chip != "sm_90a")
    return fail("--chip " + chip +
                " is not supported: fly's CUDA kernels use Hopper "
                "instructions (wgmma, TMA); use sm_90 or sm_90a");
  if (!cuda && chip.getNumOccurrences())
    return fail("--chip applies to --target cuda only");
  if (dtype != "f32" && dtype != "f16" && dtype != "bf16")
    return fail("--dtype must be f32, f16 or bf16 (got '" + dtype + "')");
  if (!cuda && dtype != "f32")
    return fail("--dtype " + dtype +
                " is not supported on the CPU target (f32 only)");
  if (cuda && (pipeline.getNumOccurrences() || threads.getNumOccurrences()))
    return fail("--pipeline and --num-threads are CPU options");
  // A bare --producer-row-statistics means all producers.
  if (producerRowStatistics.getNumOccurrences() &&
      producerRowStatistics.empty())
    producerRowStatistics = "all";
  if (std::string why =
          choiceError(producerRowStatistics, {"off", "all", "gemm", "monarch"});
      !why.empty())
    return fail(why);
  if (!cuda && producerRowStatistics.getNumOccurrences() &&
      producerRowStatistics != "off")
    return fail("--producer-row-statistics applies to --target cuda only");
  for (auto [option, choices] :
       {std::pair<cl::opt<std::string> *, std::vector<llvm::StringRef>>{
            &gemmSchedule, {"auto", "multistage", "warp-specialized"}},
        {&gemmEpilogue, {"auto", "register", "staging"}},
        {&gemmProducer, {"warpgroup", "warp"}},
        {&monarchMlp, {"pair", "hidden"}},
        {&monarchHiddenSchedule, {"lockstep", "producer", "pingpong"}}}) {
    if (std::string why = choiceError(*option, choices); !why.empty())
      return fail(why);
    if (!cuda && option->getNumOccurrences())
      return fail("--" + option->ArgStr + " applies to --target cuda only");
  }
  if (monarchHiddenSchedule.getNumOccurrences() && monarchMlp != "hidden")
    return fail("--monarch-hidden-schedule applies to --monarch-mlp=hidden "
                "only (the pair form has no hidden kernel)");
  if (gemmCtas < 0)
    return fail("--gemm-ctas must not be negative (got " +
                std::to_string(gemmCtas) + ")");
  if (!cuda && gemmCtas.getNumOccurrences())
    return fail("--gemm-ctas applies to --target cuda only");
  if (!cuda && monarchSplit.getNumOccurrences())
    return fail("--monarch-split applies to --target cuda only");
  // Checked before the compilation: an unknown CPU fails fast.
  std::string hostCpuError;
  std::string hostCpuName =
      ::fly::compile::resolveHostCpu(hostCpu, hostCpuError);
  if (hostCpuName.empty())
    return fail(hostCpuError);
  std::string structurePipeline;
  std::string error;
  if (!structure.empty() && !::fly::compile::structureSpecToPipeline(
                                structure, structurePipeline, error))
    return fail(error);
  if (weightsFrom != "file" && weightsFrom != "random")
    return fail("--weights must be 'file' or 'random' (got '" + weightsFrom +
                "')");
  if (pipeline != "fast" && pipeline != "reference")
    return fail("--pipeline must be 'fast' or 'reference' (got '" + pipeline +
                "')");
  if (threads < 1)
    return fail("--num-threads must be >= 1");
  if (batch < 1 || seq < 0)
    return fail("--batch must be >= 1 and --seq >= 0");
  if (emit != "artifact" && emit != "mlir" && emit != "lowered" &&
      emit != "llvm" && emit != "ptx")
    return fail("--emit must be one of artifact, mlir, lowered, llvm, ptx "
                "(got '" +
                emit + "')");
  if (emit == "ptx" && !cuda)
    return fail("--emit ptx needs --target cuda");

  bool toArtifact = emit == "artifact";
  Progress progress((toArtifact ? 5 : 3) + (structure.empty() ? 0 : 1));
  Loaded loaded;
  progress.start("import " + (modelArg.empty() ? std::string("tiny-gpt2")
                                               : modelArg.getValue()));
  if (!loadModel(ctx, modelArg, loaded, error))
    return progress.finish(), fail(error);
  ModuleOp module = *loaded.model.module;
  func::FuncOp entry = findEntry(
      module, entryName.empty() ? loaded.model.entry : entryName, error);
  if (!entry)
    return progress.finish(), fail(error);
  if (loaded.model.inputs.empty() &&
      !describeFunction(entry, loaded.model, error))
    return progress.finish(), fail(error);

  if (!structurePipeline.empty()) {
    // Find the dense layers and attention, then replace them as asked; the
    // weights are still constants, so projections can read them.
    progress.start("structure: " + structurePipeline);
    PassManager spm(&ctx);
    if (failed(parsePassPipeline(structurePipeline, spm, llvm::errs())) ||
        failed(spm.run(module)))
      return progress.finish(), fail("the --structure passes failed");
  }

  std::string outDir = output.empty() ? loaded.modelName + ".fly" : output;
  if (emit == "mlir") {
    progress.finish();
    std::string text;
    llvm::raw_string_ostream os(text);
    module.print(os);
    return output.empty() ? (llvm::outs() << text, 0)
                          : (writeText(output, text, error) ? 0 : fail(error));
  }

  progress.start("fold weight layouts, externalize weights");
  {
    // Weights are still constants here: transpose them once, now, instead
    // of on every call.
    PassManager prep(&ctx);
    if (cuda) {
      // Dense layers as fly.linear (exact rewrites; MLP GELUs marked) for
      // the GEMM kernels, which take the weight in nn.Linear [out, in]
      // layout: folding the transposes stores it that way.
      prep.addPass(mlir::fly::createFlyRaiseLinear());
      prep.addPass(mlir::fly::createFlyRaiseAttention());
      mlir::fly::ConvertFlyToLinalgOptions toLinalg;
      toLinalg.keepKernelOps = true;
      prep.addPass(mlir::fly::createConvertFlyToLinalg(toLinalg));
    } else {
      prep.addPass(mlir::fly::createConvertFlyToLinalg());
    }
    prep.addPass(mlir::fly::createFlyFoldWeightTransposes());
    if (cuda && dtype != "f32") {
      // Before the weights leave the IR, so that they are stored (and
      // uploaded) in the storage type.
      mlir::fly::FlyConvertFloatStorageOptions storage;
      storage.storageType = dtype;
      prep.addPass(createCanonicalizerPass());
      prep.addNestedPass<func::FuncOp>(
          mlir::fly::createFlyConvertFloatStorage(storage));
      // A LayerNorm feeding a GEMM is folded into it (gamma into W, beta
      // into the bias, the column sums of W as a new weight).
      prep.addPass(mlir::fly::createFlyGpuFoldLayerNorm());
      // Monarch kernels may store w1 permuted (a Monarch MLP's two kernels
      // exchange their hidden layer blocked): decided while w1 is still a
      // constant. The pipeline's own instance then finds nothing left.
      mlir::fly::FlyGpuMonarchKernelsOptions monarch;
      monarch.chip = "sm_90a";
      monarch.splitFactors = monarchSplit;
      monarch.hiddenKernel = monarchMlp == "hidden";
      monarch.hiddenSchedule = monarchHiddenSchedule;
      prep.addPass(mlir::fly::createFlyGpuMonarchKernels(monarch));
      // The weights the folds and permutations replaced are dead now: gone
      // before externalisation, so that they are not stored or uploaded.
      prep.addPass(createCanonicalizerPass());
    }
    if (failed(prep.run(module)))
      return progress.finish(), fail("weight layout folding failed");
  }
  // The storage conversion changes float inputs and outputs.
  for (auto [desc, type] :
       llvm::zip(loaded.model.inputs, entry.getArgumentTypes()))
    desc.dtype = dtypeOf(cast<RankedTensorType>(type).getElementType());
  for (auto [desc, type] :
       llvm::zip(loaded.model.outputs, entry.getResultTypes()))
    desc.dtype = dtypeOf(cast<RankedTensorType>(type).getElementType());
  std::vector<mlir::fly::ExternalWeight> weights;
  if (failed(mlir::fly::externalizeWeights(entry, weights)))
    return progress.finish(), fail("could not externalize the weights");
  mlir::fly::addDestinationPassingEntry(module, entry, "fly_main");

  progress.start(cuda ? "lower to NVVM + host LLVM (" + std::string(chip) +
                            ", " + std::string(dtype) + ")"
                      : "lower to LLVM (" + pipeline + " CPU pipeline)");
  PassManager pm(&ctx);
  // --mlir-print-ir-before=PASS etc. (MLIR's pass-manager debugging flags,
  // hidden from --help) apply to the lowering pipeline.
  if (failed(applyPassManagerCLOptions(pm)))
    return progress.finish(), fail("bad pass-manager options");
  if (cuda) {
    mlir::fly::GpuPipelineOptions options;
    options.chip = "sm_90a";
    options.barePtrCallingConvention = true;
    options.format = emit == "ptx" ? "isa" : "fatbin";
    // The toolkit also provides libdevice (expf, fmaxf, ... in kernels):
    // without it --emit ptx still works but leaves those calls unresolved.
    std::string toolkit = findCudaToolkit();
    if (toolkit.empty() && emit != "ptx")
      return progress.finish(),
             fail("embedding the GPU binary needs the CUDA toolkit's "
                  "ptxas: set CUDA_HOME (looked in $CUDA_HOME, $CUDA_PATH, "
                  "/usr/local/cuda and PATH); --emit ptx works without it");
    options.toolkitPath = toolkit;
    options.producerRowStatistics = producerRowStatistics;
    options.monarchSplitFactors = monarchSplit;
    options.monarchHiddenKernel = monarchMlp == "hidden";
    options.monarchHiddenSchedule = monarchHiddenSchedule;
    options.gemmSchedule = gemmSchedule;
    options.gemmEpilogue = gemmEpilogue;
    options.gemmProducer = gemmProducer;
    options.gemmPersistentCtas = gemmCtas;
    mlir::fly::buildFlyGpuPipeline(pm, options);
  } else if (pipeline == "fast") {
    mlir::fly::CpuPipelineOptions options;
    options.barePtrCallingConvention = true;
    options.numThreads = threads;
    mlir::fly::buildFlyCpuPipeline(pm, options);
  } else {
    mlir::fly::ReferenceCpuPipelineOptions options;
    options.barePtrCallingConvention = true;
    mlir::fly::buildFlyReferenceCpuPipeline(pm, options);
  }
  if (failed(pm.run(module)) ||
      failed(mlir::fly::addPackedEntry(module, "fly_main", "fly_entry")))
    return progress.finish(), fail("lowering failed");
  if (emit == "ptx") {
    progress.finish();
    std::string text;
    module.walk([&](gpu::BinaryOp binary) {
      for (Attribute attr : binary.getObjects())
        text += "// gpu.binary @" + binary.getName().str() + "\n" +
                cast<gpu::ObjectAttr>(attr).getObject().getValue().str();
    });
    return output.empty() ? (llvm::outs() << text, 0)
                          : (writeText(output, text, error) ? 0 : fail(error));
  }
  if (emit == "lowered") {
    progress.finish();
    module.print(llvm::outs());
    return 0;
  }
  if (emit == "llvm") {
    progress.start("LLVM IR");
    bool ok = ::fly::compile::emitHostCode(
        module, output.empty() ? "/dev/stdout" : output.getValue(), "", error,
        hostCpu);
    progress.finish();
    return ok ? 0 : fail(error);
  }

  progress.start(cuda ? "code generation (host code O3, GPU binary embedded)"
                      : "code generation (host CPU, O3)");
  if (std::error_code ec = llvm::sys::fs::create_directories(outDir))
    return progress.finish(), fail(outDir + ": " + ec.message());
  auto path = [&](const char *file) {
    llvm::SmallString<256> p(outDir);
    llvm::sys::path::append(p, file);
    return p.str().str();
  };
  std::string object = path("model.o");
  if (!::fly::compile::emitHostCode(module, "", object, error, hostCpu) ||
      !::fly::compile::linkSharedLibrary(
          object, path("model.so"),
          cuda
              // The mgpu* functions come from the fly runtime that loads
              // the model (fly-run exports them).
              ? std::vector<std::string>{}
              : pipeline == "fast"
                    // LLVM 22's OpenMP runtime, found at run time through
                    // rpath.
                    ? std::vector<std::string>{"-L" FLY_OPENMP_LIB_DIR,
                                               "-Wl,-rpath," FLY_OPENMP_LIB_DIR,
                                               "-lomp", "-lm"}
                    : std::vector<std::string>{"-lm"},
          error))
    return progress.finish(), fail(error);
  llvm::sys::fs::remove(object);

  progress.start("write " + outDir);
  std::vector<::fly::runtime::TensorToWrite> tensors;
  nlohmann::json weightList = nlohmann::json::array();
  for (const mlir::fly::ExternalWeight &w : weights) {
    std::vector<int64_t> shape(w.type.getShape().begin(),
                               w.type.getShape().end());
    tensors.push_back(
        {w.name, runtimeDType(w.type.getElementType()), shape, w.data.data()});
    weightList.push_back(
        tensorJson(w.name, dtypeOf(w.type.getElementType()), shape));
  }
  if (!::fly::runtime::writeSafetensors(path("weights.safetensors"), tensors,
                                        {{"producer", "fly-compile"}}, error))
    return progress.finish(), fail(error);
  nlohmann::json inputs = nlohmann::json::array(),
                 outputs = nlohmann::json::array();
  for (const auto &t : loaded.model.inputs)
    inputs.push_back(tensorJson(t.name, t.dtype, t.shape));
  for (const auto &t : loaded.model.outputs)
    outputs.push_back(tensorJson(t.name, t.dtype, t.shape));
  std::string modelType = loaded.config.is_object() &&
                                  loaded.config.contains("model_type") &&
                                  loaded.config["model_type"].is_string()
                              ? loaded.config["model_type"].get<std::string>()
                              : loaded.modelName;
  nlohmann::json manifest = {
      {"format", "fly-artifact"},
      {"version", 1},
      {"model", modelType},
      {"target", std::string(target)},
      {"library", "model.so"},
      {"entry", "fly_entry"},
      {"weights_file", "weights.safetensors"},
      {"options",
       {{"batch", int64_t(batch)},
        {"seq", loaded.model.seqLen},
        {"dtype", std::string(dtype)},
        {"structure", std::string(structure)},
        {"pipeline", cuda ? std::string("cuda") : std::string(pipeline)},
        {"chip", cuda ? std::string("sm_90a") : std::string("")},
        {"host_cpu", hostCpuName},
        {"threads", int64_t(threads)}}},
      {"config",
       loaded.config.is_discarded() ? nlohmann::json::object() : loaded.config},
      {"inputs", inputs},
      {"weights", weightList},
      {"outputs", outputs}};
  if (!writeText(path("manifest.json"), manifest.dump(2) + "\n", error))
    return progress.finish(), fail(error);
  progress.finish();
  if (!quiet)
    llvm::errs() << "fly-compile: wrote " << outDir << " (" << weights.size()
                 << " weights)\n";
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Before parsing: --mlir-print-ir-before=PASS needs the pass names.
  mlir::fly::registerFlyTransformsPasses();
  mlir::fly::registerFlyConversionPasses();
  mlir::registerAllPasses();
  mlir::registerPassManagerCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "fly-compile: compile a GPT-2/ViT checkpoint, an embedded model or a "
      ".mlir module into an artifact directory (manifest.json, model.so, "
      "weights.safetensors)\n");
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registerAllGPUToLLVMIRTranslations(registry);
  registry.insert<mlir::fly::FlyDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  return run(ctx);
}
