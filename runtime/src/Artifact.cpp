//===- Artifact.cpp - Load and run a compiled fly artifact ------*- C++ -*-===//
//
// Built with -fno-exceptions: JSON is parsed with exceptions disabled and
// every value's type is checked before it is read, so a malformed manifest
// gives an error message rather than an abort.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/Artifact.h"
#include "fly/runtime/CudaDevice.h"
#include "fly/runtime/FileUtils.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/stat.h>

using json = nlohmann::json;

namespace fly::runtime {

//===----------------------------------------------------------------------===//
// DType names
//===----------------------------------------------------------------------===//

namespace {
struct DTypeName {
  const char *name;
  DType dtype;
};
constexpr DTypeName kManifestDTypes[] = {
    {"f32", DType::F32}, {"f16", DType::F16}, {"bf16", DType::BF16},
    {"f64", DType::F64}, {"i64", DType::I64}, {"i32", DType::I32},
    {"i8", DType::I8},   {"u8", DType::U8},   {"bool", DType::BOOL},
};
} // namespace

bool parseManifestDType(const std::string &name, DType &dtype) {
  for (const DTypeName &entry : kManifestDTypes) {
    if (name == entry.name) {
      dtype = entry.dtype;
      return true;
    }
  }
  return false;
}

const char *manifestDTypeName(DType dtype) {
  for (const DTypeName &entry : kManifestDTypes)
    if (entry.dtype == dtype)
      return entry.name;
  return "?";
}

bool isFloatDType(DType dtype) {
  return dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16 ||
         dtype == DType::F64;
}

//===----------------------------------------------------------------------===//
// Half-precision conversions
//===----------------------------------------------------------------------===//

namespace {
uint32_t floatBits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}
float bitsToFloat(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}
} // namespace

uint16_t floatToHalf(float value) {
  uint32_t bits = floatBits(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  uint32_t abs = bits & 0x7fffffffu;
  if (abs >= 0x7f800000u) {
    // Infinity, or NaN: keep the top payload bits and force a quiet NaN so
    // the payload cannot truncate to zero (which would read as infinity).
    if (abs == 0x7f800000u)
      return sign | 0x7c00u;
    return sign | 0x7e00u | static_cast<uint16_t>((abs >> 13) & 0x3ffu);
  }
  // 65520 is the midpoint between 65504 (the largest half) and 65536; it
  // rounds to even, which is 65536, i.e. infinity.
  if (abs >= 0x477ff000u)
    return sign | 0x7c00u;
  if (abs >= 0x38800000u) {
    // Normal half: rebias the exponent (127 -> 15) and round off 13 bits.
    // A carry out of the mantissa correctly bumps the exponent.
    uint32_t half = (abs - 0x38000000u) >> 13;
    uint32_t rest = abs & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
      ++half;
    return sign | static_cast<uint16_t>(half);
  }
  // Below 2^-25 everything rounds to zero (2^-25 itself ties to even, 0).
  if (abs <= 0x33000000u)
    return sign;
  // Subnormal half: the result counts units of 2^-24. The float is
  // mantissa * 2^(exponent - 150), so shift right by 126 - exponent.
  uint32_t exponent = abs >> 23;
  uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126u - exponent;
  uint32_t half = mantissa >> shift;
  uint32_t rest = mantissa & ((1u << shift) - 1u);
  uint32_t halfway = 1u << (shift - 1u);
  if (rest > halfway || (rest == halfway && (half & 1u)))
    ++half; // May carry into the smallest normal, which is the right answer.
  return sign | static_cast<uint16_t>(half);
}

float halfToFloat(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: exactly mantissa * 2^-24, representable in float.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31)
    return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  return bitsToFloat(sign | ((exponent + 112u) << 23) | (mantissa << 13));
}

uint16_t floatToBFloat16(float value) {
  uint32_t bits = floatBits(value);
  // Rounding a NaN could carry into the exponent or clear the payload.
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((bits >> 16) | 0x40u);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float bfloat16ToFloat(uint16_t bits) {
  return bitsToFloat(static_cast<uint32_t>(bits) << 16);
}

double loadAsDouble(DType dtype, const void *data, int64_t index) {
  // memcpy, not a typed load: weights inside a safetensors mapping may be
  // less aligned than their type.
  const char *base = static_cast<const char *>(data);
  auto load = [&](auto zero) {
    decltype(zero) value;
    std::memcpy(&value, base + index * sizeof(value), sizeof(value));
    return value;
  };
  switch (dtype) {
  case DType::F32:
    return load(float());
  case DType::F64:
    return load(double());
  case DType::F16:
    return halfToFloat(load(uint16_t()));
  case DType::BF16:
    return bfloat16ToFloat(load(uint16_t()));
  case DType::I64:
    return static_cast<double>(load(int64_t()));
  case DType::I32:
    return load(int32_t());
  case DType::I8:
    return load(int8_t());
  case DType::U8:
  case DType::BOOL:
    return load(uint8_t());
  }
  return 0;
}

namespace {
/// Converts to an integer type, saturating, with NaN as 0: a plain cast of
/// an out-of-range double is undefined behaviour.
template <typename T> T saturatingCast(double value) {
  if (std::isnan(value))
    return 0;
  if (value <= static_cast<double>(std::numeric_limits<T>::min()))
    return std::numeric_limits<T>::min();
  if (value >= static_cast<double>(std::numeric_limits<T>::max()))
    return std::numeric_limits<T>::max();
  return static_cast<T>(value);
}
} // namespace

void storeFromDouble(DType dtype, void *data, int64_t index, double value) {
  char *base = static_cast<char *>(data);
  auto store = [&](auto typed) {
    std::memcpy(base + index * sizeof(typed), &typed, sizeof(typed));
  };
  switch (dtype) {
  case DType::F32:
    store(static_cast<float>(value));
    return;
  case DType::F64:
    store(value);
    return;
  case DType::F16:
    store(floatToHalf(static_cast<float>(value)));
    return;
  case DType::BF16:
    store(floatToBFloat16(static_cast<float>(value)));
    return;
  case DType::I64:
    store(saturatingCast<int64_t>(value));
    return;
  case DType::I32:
    store(saturatingCast<int32_t>(value));
    return;
  case DType::I8:
    store(saturatingCast<int8_t>(value));
    return;
  case DType::U8:
    store(saturatingCast<uint8_t>(value));
    return;
  case DType::BOOL:
    store(static_cast<uint8_t>(value != 0));
    return;
  }
}

//===----------------------------------------------------------------------===//
// Aligned buffers
//===----------------------------------------------------------------------===//

AlignedBuffer allocateAligned(size_t bytes) {
  constexpr size_t kAlign = 64;
  if (bytes > std::numeric_limits<size_t>::max() - kAlign)
    return nullptr;
  // aligned_alloc requires a size that is a multiple of the alignment.
  size_t rounded = bytes == 0 ? kAlign : (bytes + kAlign - 1) / kAlign * kAlign;
  return AlignedBuffer(
      static_cast<uint8_t *>(std::aligned_alloc(kAlign, rounded)));
}

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

int64_t TensorSpec::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

size_t TensorSpec::byteSize() const {
  return static_cast<size_t>(numElements()) * dtypeSize(dtype);
}

std::optional<int64_t> Manifest::configInt(const std::string &key) const {
  auto it = configInts.find(key);
  if (it == configInts.end())
    return std::nullopt;
  return it->second;
}

namespace {
/// Reads typed fields out of JSON objects, producing messages that name the
/// field by its path ("options.batch", "inputs[2].shape").
class FieldReader {
public:
  explicit FieldReader(std::string &error) : error(error) {}

  /// Finds `key` in `object` (which must be an object); sets the error when
  /// it is missing.
  const json *field(const json &object, const std::string &path,
                    const char *key) {
    std::string name = path.empty() ? key : path + "." + key;
    if (!object.is_object()) {
      fail(path, "must be an object");
      return nullptr;
    }
    auto it = object.find(key);
    if (it == object.end()) {
      error = "missing field '" + name + "'";
      return nullptr;
    }
    return &*it;
  }

  bool getString(const json &object, const std::string &path, const char *key,
                 std::string &out) {
    const json *value = field(object, path, key);
    if (!value)
      return false;
    if (!value->is_string())
      return fail(join(path, key), "must be a string");
    out = value->get<std::string>();
    return true;
  }

  bool getInt(const json &value, const std::string &name, int64_t &out) {
    if (!value.is_number_integer())
      return fail(name, "must be an integer");
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() >
            static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return fail(name, "is out of range");
    out = value.get<int64_t>();
    return true;
  }

  bool getInt(const json &object, const std::string &path, const char *key,
              int64_t &out) {
    const json *value = field(object, path, key);
    return value && getInt(*value, join(path, key), out);
  }

  bool getTensorList(const json &root, const char *key,
                     std::vector<TensorSpec> &out) {
    const json *list = field(root, "", key);
    if (!list)
      return false;
    if (!list->is_array())
      return fail(key, "must be an array");
    for (size_t i = 0; i < list->size(); ++i) {
      std::string path = std::string(key) + "[" + std::to_string(i) + "]";
      TensorSpec spec;
      if (!getTensor((*list)[i], path, spec))
        return false;
      out.push_back(std::move(spec));
    }
    return true;
  }

  bool fail(const std::string &name, const std::string &what) {
    error = name.empty() ? what : "field '" + name + "' " + what;
    return false;
  }

private:
  static std::string join(const std::string &path, const char *key) {
    return path.empty() ? key : path + "." + key;
  }

  bool getTensor(const json &object, const std::string &path,
                 TensorSpec &spec) {
    std::string dtypeName;
    if (!getString(object, path, "name", spec.name) ||
        !getString(object, path, "dtype", dtypeName))
      return false;
    if (spec.name.empty())
      return fail(path + ".name", "must not be empty");
    if (!parseManifestDType(dtypeName, spec.dtype))
      return fail(path + ".dtype",
                  "has unknown dtype '" + dtypeName +
                      "' (expected f32, f16, bf16, f64, i64, i32, i8, u8 or "
                      "bool)");
    const json *shape = field(object, path, "shape");
    if (!shape)
      return false;
    if (!shape->is_array())
      return fail(path + ".shape", "must be an array of integers");
    // Bound the byte size well below SIZE_MAX so sizes and offsets computed
    // from it later cannot overflow.
    const int64_t limit = std::numeric_limits<int64_t>::max() / 16;
    int64_t bytes = static_cast<int64_t>(dtypeSize(spec.dtype));
    for (size_t i = 0; i < shape->size(); ++i) {
      std::string name = path + ".shape[" + std::to_string(i) + "]";
      int64_t dim;
      if (!getInt((*shape)[i], name, dim))
        return false;
      if (dim < 0)
        return fail(name, "must not be negative");
      if (dim != 0 && bytes > limit / dim)
        return fail(path + ".shape", "is too large");
      bytes *= dim;
      spec.shape.push_back(dim);
    }
    return true;
  }

  std::string &error;
};
} // namespace

bool parseManifest(const std::string &jsonText, Manifest &out,
                   std::string &error) {
  json root = json::parse(jsonText, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    error = "not valid JSON";
    return false;
  }
  if (!root.is_object()) {
    error = "top level must be a JSON object";
    return false;
  }
  Manifest m;
  FieldReader reader(error);
  if (!reader.getString(root, "", "format", m.format))
    return false;
  if (m.format != "fly-artifact")
    return reader.fail("format",
                       "must be \"fly-artifact\", not \"" + m.format + "\"");
  if (!reader.getInt(root, "", "version", m.version))
    return false;
  if (m.version != 1)
    return reader.fail("version", "is " + std::to_string(m.version) +
                                      "; this runtime reads version 1");
  if (!reader.getString(root, "", "model", m.model) ||
      !reader.getString(root, "", "target", m.target) ||
      !reader.getString(root, "", "library", m.library) ||
      !reader.getString(root, "", "entry", m.entry) ||
      !reader.getString(root, "", "weights_file", m.weightsFile))
    return false;
  if (m.library.empty())
    return reader.fail("library", "must not be empty");
  if (m.target != "cpu" && m.target != "cuda")
    return reader.fail("target",
                       "must be \"cpu\" or \"cuda\", not \"" + m.target + "\"");
  if (m.entry.empty())
    return reader.fail("entry", "must not be empty");
  if (m.weightsFile.empty())
    return reader.fail("weights_file", "must not be empty");

  const json *options = reader.field(root, "", "options");
  if (!options)
    return false;
  if (!options->is_object())
    return reader.fail("options", "must be an object");
  if (!reader.getInt(*options, "options", "batch", m.options.batch) ||
      !reader.getInt(*options, "options", "seq", m.options.seq) ||
      !reader.getString(*options, "options", "dtype", m.options.dtype) ||
      !reader.getString(*options, "options", "structure", m.options.structure))
    return false;

  const json *config = reader.field(root, "", "config");
  if (!config)
    return false;
  if (!config->is_object())
    return reader.fail("config", "must be an object");
  m.configJson = config->dump();
  for (auto it = config->begin(); it != config->end(); ++it) {
    int64_t value;
    std::string ignored;
    FieldReader quiet(ignored);
    if (it->is_number_integer() && quiet.getInt(*it, it.key(), value))
      m.configInts[it.key()] = value;
  }

  if (!reader.getTensorList(root, "inputs", m.inputs) ||
      !reader.getTensorList(root, "weights", m.weights) ||
      !reader.getTensorList(root, "outputs", m.outputs))
    return false;
  if (m.outputs.empty())
    return reader.fail("outputs", "must not be empty");

  // Weights are looked up by name, and duplicate names anywhere would make
  // --input/--output messages ambiguous.
  std::set<std::string> names;
  for (const auto *list : {&m.inputs, &m.weights, &m.outputs})
    for (const TensorSpec &spec : *list)
      if (!names.insert(spec.name).second) {
        error = "tensor name '" + spec.name + "' appears more than once";
        return false;
      }

  out = std::move(m);
  return true;
}

//===----------------------------------------------------------------------===//
// Random weights
//===----------------------------------------------------------------------===//

void fillRandomWeights(const TensorSpec &spec, void *dst,
                       std::mt19937_64 &rng) {
  int64_t count = spec.numElements();
  if (!isFloatDType(spec.dtype)) {
    std::memset(dst, 0, spec.byteSize());
    return;
  }
  for (int64_t i = 0; i < count; ++i) {
    // Hand-rolled rather than std::uniform_real_distribution, whose
    // algorithm differs between standard libraries: the same seed must give
    // the same weights on every machine. One draw gives both the sign (bit
    // 0) and a 53-bit uniform fraction (the top bits).
    uint64_t bits = rng();
    double unit = static_cast<double>(bits >> 11) * 0x1p-53;
    double magnitude = 0.02 + 0.08 * unit;
    storeFromDouble(spec.dtype, dst, i, (bits & 1) ? -magnitude : magnitude);
  }
}

//===----------------------------------------------------------------------===//
// Artifact
//===----------------------------------------------------------------------===//

namespace {
std::string joinPath(const std::string &dir, const std::string &name) {
  if (name.empty() || name.front() == '/' || dir.empty())
    return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}
} // namespace

std::unique_ptr<Artifact> Artifact::load(const std::string &dir,
                                         WeightSource source, uint64_t seed,
                                         std::string &error) {
  struct stat info;
  if (::stat(dir.c_str(), &info) != 0) {
    error = dir + ": " + std::strerror(errno);
    return nullptr;
  }
  if (!S_ISDIR(info.st_mode)) {
    error = dir + ": not an artifact directory";
    return nullptr;
  }

  std::unique_ptr<Artifact> artifact(new Artifact());
  artifact->dir = dir;
  Manifest &manifest = artifact->manifestData;
  std::string manifestPath = joinPath(dir, "manifest.json");
  std::string text;
  if (!readFileText(manifestPath, text, error))
    return nullptr;
  if (!parseManifest(text, manifest, error)) {
    error = manifestPath + ": " + error;
    return nullptr;
  }

  if (manifest.target == "cuda") {
    std::string why;
    if (!cuda::initialize(why)) {
      error = dir + " was compiled for CUDA: " + why;
      return nullptr;
    }
    artifact->device = true;
  }

  std::vector<void *> &buffers = artifact->buffers;
  buffers.assign(manifest.numBuffers(), nullptr);
  size_t weightBase = manifest.inputs.size();
  if (source == WeightSource::File) {
    std::string weightsPath = joinPath(dir, manifest.weightsFile);
    artifact->weightsFile = SafetensorsFile::open(weightsPath, error);
    if (!artifact->weightsFile)
      return nullptr;
    const SafetensorsFile &file = *artifact->weightsFile;
    for (size_t i = 0; i < manifest.weights.size(); ++i) {
      const TensorSpec &spec = manifest.weights[i];
      const TensorInfo *tensor = file.find(spec.name);
      if (!tensor) {
        error = weightsPath + ": missing weight '" + spec.name + "'";
        return nullptr;
      }
      if (tensor->dtype != spec.dtype) {
        error = weightsPath + ": weight '" + spec.name + "' has dtype " +
                dtypeName(tensor->dtype) + ", the manifest says " +
                manifestDTypeName(spec.dtype);
        return nullptr;
      }
      if (tensor->shape != spec.shape) {
        error = weightsPath + ": weight '" + spec.name + "' has shape " +
                shapeString(tensor->shape) + ", the manifest says " +
                shapeString(spec.shape);
        return nullptr;
      }
      // The compiled code only reads weights; the mapping is read-only.
      buffers[weightBase + i] = const_cast<void *>(file.data(*tensor));
    }
  } else {
    std::mt19937_64 rng(seed);
    for (size_t i = 0; i < manifest.weights.size(); ++i) {
      const TensorSpec &spec = manifest.weights[i];
      AlignedBuffer buffer = allocateAligned(spec.byteSize());
      if (!buffer) {
        error = "out of memory allocating weight '" + spec.name + "' (" +
                std::to_string(spec.byteSize()) + " bytes)";
        return nullptr;
      }
      fillRandomWeights(spec, buffer.get(), rng);
      buffers[weightBase + i] = buffer.get();
      artifact->randomWeights.push_back(std::move(buffer));
    }
  }

  if (artifact->device && !artifact->uploadToDevice(error))
    return nullptr;

  // A bare file name would make dlopen search the library path instead of
  // the artifact directory.
  std::string libraryPath = joinPath(dir, manifest.library);
  if (libraryPath.find('/') == std::string::npos)
    libraryPath = "./" + libraryPath;
    // RTLD_NOW: report missing symbols (e.g. an absent libomp) here, not in
    // the middle of a timed call. RTLD_LOCAL: two artifacts loaded into one
    // process must not resolve each other's symbols.
#if defined(__GLIBC__)
  // Compiled models allocate their intermediate buffers on every call. With
  // glibc's defaults, buffers over the mmap threshold are mapped and
  // unmapped each time, and every call pays for fresh zeroed pages (5% of a
  // GPT-2 forward). Keeping them in the heap makes later calls reuse them.
  mallopt(M_MMAP_THRESHOLD, 512 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  artifact->library = ::dlopen(libraryPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!artifact->library) {
    const char *message = ::dlerror();
    error = "cannot load " + libraryPath + ": " +
            (message ? message : "unknown dlopen error");
    return nullptr;
  }
  ::dlerror();
  void *symbol = ::dlsym(artifact->library, manifest.entry.c_str());
  if (!symbol) {
    const char *message = ::dlerror();
    error = libraryPath + ": entry point '" + manifest.entry + "' not found" +
            (message ? std::string(": ") + message : "");
    return nullptr;
  }
  artifact->entry = reinterpret_cast<EntryFn>(symbol);
  return artifact;
}

bool Artifact::uploadToDevice(std::string &error) {
  const Manifest &m = manifestData;
  size_t weightBase = m.inputs.size();
  size_t outputBase = weightBase + m.weights.size();
  deviceBuffers.assign(m.numBuffers(), nullptr);
  auto specOf = [&](size_t i) -> const TensorSpec & {
    if (i < weightBase)
      return m.inputs[i];
    if (i < outputBase)
      return m.weights[i - weightBase];
    return m.outputs[i - outputBase];
  };
  for (size_t i = 0; i < deviceBuffers.size(); ++i) {
    const TensorSpec &spec = specOf(i);
    deviceBuffers[i] = cuda::allocate(spec.byteSize(), error);
    if (!deviceBuffers[i]) {
      error = "device buffer for '" + spec.name + "': " + error;
      return false;
    }
    if (i >= weightBase && i < outputBase &&
        !cuda::copyToDevice(deviceBuffers[i], buffers[i], spec.byteSize(),
                            error)) {
      error = "uploading weight '" + spec.name + "': " + error;
      return false;
    }
  }
  // The device holds the weights now; the compiled code sees only device
  // pointers.
  randomWeights.clear();
  buffers = deviceBuffers;
  return true;
}

Artifact::~Artifact() {
  // The library is deliberately never dlclose'd: unloading it could also
  // unload the OpenMP runtime it pulled in while that runtime's worker
  // threads are still alive, which crashes at exit. The process owns one
  // handle per load, which is harmless.
  cuda::destroyGraph(graph);
  for (void *ptr : deviceBuffers)
    cuda::release(ptr);
}

bool Artifact::run(const std::vector<void *> &inputs,
                   const std::vector<void *> &outputs, std::string &error) {
  const Manifest &m = manifestData;
  if (inputs.size() != m.inputs.size() || outputs.size() != m.outputs.size()) {
    std::fprintf(stderr,
                 "fly::runtime::Artifact::run: got %zu inputs and %zu "
                 "outputs, the model takes %zu and %zu\n",
                 inputs.size(), outputs.size(), m.inputs.size(),
                 m.outputs.size());
    std::abort();
  }
  hostInputs = inputs;
  hostOutputs = outputs;
  if (!device) {
    std::copy(inputs.begin(), inputs.end(), buffers.begin());
    std::copy(outputs.begin(), outputs.end(),
              buffers.begin() + m.inputs.size() + m.weights.size());
    return rerun(error);
  }
  for (size_t i = 0; i < m.inputs.size(); ++i)
    if (!cuda::copyToDevice(buffers[i], inputs[i], m.inputs[i].byteSize(),
                            error))
      return false;
  size_t outputBase = m.inputs.size() + m.weights.size();
  // All-ones bytes are NaN: an element the kernels never write shows up.
  for (size_t i = 0; i < m.outputs.size(); ++i)
    if (!cuda::fill(buffers[outputBase + i], 0xff, m.outputs[i].byteSize(),
                    error))
      return false;
  return rerun(error) && fetchOutputs(error);
}

std::string Artifact::graphStatus() const {
  if (!device || !useGraphs)
    return "off";
  if (!graphFailure.empty())
    return "off: " + graphFailure;
  return graph ? "on (replaying one captured call)" : "pending";
}

bool Artifact::rerun(std::string &error) {
  if (!device) {
    entry(buffers.data());
    return true;
  }
  bool replay = useGraphs && graphFailure.empty() && !cuda::profiling();
  if (replay && !graph && hostCalls >= 1) {
    // Record the call; a capture that fails is reported by graphStatus()
    // and the artifact goes on without graphs.
    std::string why;
    if (!cuda::captureGraph([&] { entry(buffers.data()); }, graph, why))
      graphFailure = why.empty() ? "capture failed" : why;
  }
  if (replay && graph) {
    if (!cuda::launchGraph(graph, error))
      return false;
  } else {
    entry(buffers.data());
    ++hostCalls;
  }
  // The compiled code synchronises at its end; this also catches a fault of
  // its last kernel and any error an mgpu* call recorded. The first error
  // recorded is the cause (e.g. an allocation that failed), what the
  // synchronisation reports may be a consequence.
  std::string syncError;
  bool synced = cuda::synchronize(syncError);
  error = cuda::takeError();
  if (error.empty())
    error = syncError;
  return synced && error.empty();
}

bool Artifact::fetchOutputs(std::string &error) {
  if (!device)
    return true;
  const Manifest &m = manifestData;
  size_t outputBase = m.inputs.size() + m.weights.size();
  for (size_t i = 0; i < m.outputs.size() && i < hostOutputs.size(); ++i)
    if (!cuda::copyToHost(hostOutputs[i], buffers[outputBase + i],
                          m.outputs[i].byteSize(), error))
      return false;
  return true;
}

} // namespace fly::runtime
