//===- Artifact.h - Load and run a compiled fly artifact --------*- C++ -*-===//
//
// fly-compile writes an artifact directory X.fly/ holding manifest.json (what
// the model takes and returns), model.so (the compiled code, exporting
// `extern "C" void fly_entry(void **buffers)`) and weights.safetensors. This
// header parses the manifest, maps or synthesises the weights, dlopens the
// library and calls the entry point. It has no LLVM or MLIR dependency so it
// builds on machines that have only a C++ compiler.
//
// fly_entry takes one pointer per tensor: the inputs, then the weights, then
// the outputs, each a dense row-major buffer of the manifest's shape and
// dtype.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_RUNTIME_ARTIFACT_H
#define FLY_RUNTIME_ARTIFACT_H

#include "fly/runtime/Safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace fly::runtime {

//===----------------------------------------------------------------------===//
// DType names used in manifests
//===----------------------------------------------------------------------===//

/// Parses a manifest dtype name ("f32", "f16", "bf16", "f64", "i64", "i32",
/// "i8", "u8", "bool"); returns false for anything else.
bool parseManifestDType(const std::string &name, DType &dtype);
/// Returns the manifest spelling of `dtype` ("f32", ...).
const char *manifestDTypeName(DType dtype);
/// True for F32, F16, BF16 and F64.
bool isFloatDType(DType dtype);

//===----------------------------------------------------------------------===//
// Half-precision conversions
//===----------------------------------------------------------------------===//

/// IEEE binary16 encoding of `value`, rounded to nearest, ties to even;
/// overflow gives infinity and NaN stays NaN.
uint16_t floatToHalf(float value);
/// The float value of an IEEE binary16 encoding (exact).
float halfToFloat(uint16_t bits);
/// bfloat16 encoding of `value` (the top 16 bits of the float), rounded to
/// nearest, ties to even; NaN stays a (quiet) NaN.
uint16_t floatToBFloat16(float value);
/// The float value of a bfloat16 encoding (exact).
float bfloat16ToFloat(uint16_t bits);

/// Reads element `index` of a buffer of `dtype` as a double (half types are
/// decoded). Used for summaries and conversions, not in hot loops.
double loadAsDouble(DType dtype, const void *data, int64_t index);
/// Stores `value` into element `index` of a buffer of `dtype`, rounding to
/// the nearest representable value (integers truncate toward zero).
void storeFromDouble(DType dtype, void *data, int64_t index, double value);

//===----------------------------------------------------------------------===//
// Aligned buffers
//===----------------------------------------------------------------------===//

struct FreeDeleter {
  void operator()(void *ptr) const { std::free(ptr); }
};
/// An owned, 64-byte aligned buffer (cache-line and AVX-512 alignment).
using AlignedBuffer = std::unique_ptr<uint8_t, FreeDeleter>;

/// Allocates `bytes` (at least one cache line) 64-byte aligned, or returns
/// nullptr when memory is exhausted; the runtime has no exceptions, so the
/// caller reports the failure.
AlignedBuffer allocateAligned(size_t bytes);

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

/// One tensor the entry point takes or returns.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;

  /// Product of the shape (1 for a scalar). parseManifest guarantees that
  /// neither this nor byteSize() overflows.
  int64_t numElements() const;
  size_t byteSize() const;
};

/// Compilation options recorded by fly-compile.
struct ManifestOptions {
  int64_t batch = 0;
  int64_t seq = 0;
  std::string dtype;
  /// Structured-layer selection ("" when the model was compiled dense).
  std::string structure;
};

/// The parsed manifest.json of an artifact.
struct Manifest {
  std::string format; ///< Always "fly-artifact".
  int64_t version = 0;
  std::string model;
  std::string target;
  std::string library; ///< Relative to the artifact directory.
  std::string entry;
  std::string weightsFile; ///< Relative to the artifact directory.
  ManifestOptions options;
  /// The model's configuration object, re-serialised as compact JSON so that
  /// this header does not expose the JSON library.
  std::string configJson;
  /// The top-level integer fields of the configuration (vocab_size, ...).
  std::map<std::string, int64_t> configInts;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> weights;
  std::vector<TensorSpec> outputs;

  /// Returns config[key] when it is an integer.
  std::optional<int64_t> configInt(const std::string &key) const;
  /// All tensors in entry-point order: inputs, weights, outputs.
  size_t numBuffers() const {
    return inputs.size() + weights.size() + outputs.size();
  }
};

/// Parses and validates manifest JSON text: every field must be present with
/// the right type, dtypes must be known, dimensions non-negative and sizes
/// representable, names unique. On failure returns false and sets `error` to
/// a message naming the offending field (e.g. "inputs[0].shape: ...").
bool parseManifest(const std::string &jsonText, Manifest &out,
                   std::string &error);

//===----------------------------------------------------------------------===//
// Artifact
//===----------------------------------------------------------------------===//

/// Where the weights come from.
enum class WeightSource {
  /// The artifact's safetensors file, memory-mapped (no copy).
  File,
  /// Seeded random values: for timing without a checkpoint.
  Random,
};

/// Fills `spec.numElements()` elements at `dst` with random weights drawn
/// from `rng`: floats have magnitude uniform in [0.02, 0.1] with a random
/// sign, so that no weight is zero (all-zero weights hide bugs) and
/// activations stay small. Integer and bool tensors are index-like buffers
/// (position ids, masks) where any other value could be out of range, so
/// they are zero-filled.
void fillRandomWeights(const TensorSpec &spec, void *dst, std::mt19937_64 &rng);

/// A loaded artifact: manifest, weights and the entry point.
class Artifact {
public:
  /// Loads `dir`/manifest.json, the weights (validated against the manifest:
  /// each must exist with exactly the manifest's dtype and shape) and the
  /// library. On failure returns nullptr and sets `error`.
  static std::unique_ptr<Artifact> load(const std::string &dir,
                                        WeightSource source, uint64_t seed,
                                        std::string &error);
  ~Artifact();

  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;

  const Manifest &manifest() const { return manifestData; }
  /// The artifact directory as given to load().
  const std::string &directory() const { return dir; }
  /// The data of weight `index` (manifest order).
  const void *weightData(size_t index) const {
    return buffers[manifestData.inputs.size() + index];
  }

  /// Runs the model once: `inputs` and `outputs` are caller (host) buffers
  /// of the manifest's sizes, in manifest order. A CUDA artifact copies the
  /// inputs to its device buffers, poisons the device outputs (NaN bytes),
  /// runs and copies the outputs back. Not thread-safe (the argument array
  /// is reused so that timed calls do not allocate). Passing the wrong
  /// number of buffers is a programming error and aborts; a device error
  /// returns false with `error` set.
  bool run(const std::vector<void *> &inputs,
           const std::vector<void *> &outputs, std::string &error);
  /// Runs again on the inputs of the last run(), without any copy: what a
  /// benchmark times. A CPU artifact writes the last run()'s output buffers;
  /// a CUDA artifact leaves its outputs on the device until fetchOutputs().
  bool rerun(std::string &error);
  /// CUDA: copies the device outputs into the last run()'s output buffers.
  /// CPU: nothing to do.
  bool fetchOutputs(std::string &error);

  /// True for artifacts compiled with --target cuda.
  bool onDevice() const { return device; }

  /// CUDA: replay the model call as a CUDA graph (default on). The first
  /// call runs the compiled host code (warming the memory pool and the TMA
  /// descriptor cache), the second records it as a graph, later calls
  /// replay the graph: no host code, no launch gaps. Calls made while a
  /// profile is recorded run the host code (one event pair per launch).
  void setUseGraphs(bool use) { useGraphs = use; }
  /// "off", "pending" (fewer than two calls so far), "on (replaying one
  /// captured call)" or "off: <why the capture failed>".
  std::string graphStatus() const;

private:
  Artifact() = default;
  /// CUDA: allocates device buffers for every tensor and uploads the
  /// weights; `buffers` then holds the device pointers.
  bool uploadToDevice(std::string &error);

  using EntryFn = void (*)(void **);

  std::string dir;
  Manifest manifestData;
  std::unique_ptr<SafetensorsFile> weightsFile;
  std::vector<AlignedBuffer> randomWeights;
  /// CUDA artifacts: device copies of the weights, inputs and outputs (all
  /// buffers of the entry point, manifest order) and the last run()'s host
  /// buffers.
  bool device = false;
  std::vector<void *> deviceBuffers;
  std::vector<void *> hostInputs, hostOutputs;
  /// The entry point's argument array; the weight slots are filled at load.
  std::vector<void *> buffers;
  void *library = nullptr;
  EntryFn entry = nullptr;
  /// CUDA graph replay (setUseGraphs).
  bool useGraphs = true;
  int hostCalls = 0;
  void *graph = nullptr;
  std::string graphFailure;
};

} // namespace fly::runtime

#endif // FLY_RUNTIME_ARTIFACT_H
