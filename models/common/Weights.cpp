//===- Weights.cpp - Weight sources for the importers -----------*- C++ -*-===//

#include "fly/Models/Importer.h"
#include "fly/runtime/Safetensors.h"

#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>
#include <random>

using namespace ::fly::models;
using ::fly::runtime::DType;

WeightSource::~WeightSource() = default;

namespace {
std::string shapeString(llvm::ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class SafetensorsWeights : public WeightSource {
public:
  explicit SafetensorsWeights(
      std::unique_ptr<::fly::runtime::SafetensorsFile> file)
      : file(std::move(file)) {}

  bool read(const std::string &name, llvm::ArrayRef<int64_t> shape,
            std::vector<float> &out, std::string &error) override {
    const ::fly::runtime::TensorInfo *info = file->find(name);
    if (!info) {
      error = "missing weight '" + name + "' (expected shape " +
              shapeString(shape) + ")";
      return false;
    }
    if (llvm::ArrayRef<int64_t>(info->shape) != shape) {
      error = "weight '" + name + "' has shape " + shapeString(info->shape) +
              ", expected " + shapeString(shape);
      return false;
    }
    int64_t n = info->numElements();
    out.resize(n);
    const char *data = static_cast<const char *>(file->data(*info));
    switch (info->dtype) {
    case DType::F32:
      std::memcpy(out.data(), data, n * sizeof(float));
      return true;
    case DType::F16:
    case DType::BF16: {
      const llvm::fltSemantics &sem = info->dtype == DType::F16
                                          ? llvm::APFloat::IEEEhalf()
                                          : llvm::APFloat::BFloat();
      for (int64_t i = 0; i < n; ++i) {
        uint16_t bits;
        std::memcpy(&bits, data + 2 * i, 2);
        llvm::APFloat f(sem, llvm::APInt(16, bits));
        bool lost;
        f.convert(llvm::APFloat::IEEEsingle(),
                  llvm::APFloat::rmNearestTiesToEven, &lost);
        out[i] = f.convertToFloat();
      }
      return true;
    }
    default:
      error = "weight '" + name + "' has dtype " +
              ::fly::runtime::dtypeName(info->dtype) +
              "; only F32, F16 and BF16 weights are supported";
      return false;
    }
  }

private:
  std::unique_ptr<::fly::runtime::SafetensorsFile> file;
};

class RandomWeights : public WeightSource {
public:
  explicit RandomWeights(uint64_t seed) : seed(seed) {}

  bool read(const std::string &name, llvm::ArrayRef<int64_t> shape,
            std::vector<float> &out, std::string &) override {
    // Each weight gets its own stream, so values do not depend on the order
    // in which the importer asks for them.
    std::seed_seq seq{seed, std::hash<std::string>{}(name)};
    std::mt19937 rng(seq);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    llvm::StringRef n(name);
    bool isNorm =
        n.contains("ln_") || n.contains("layernorm") || n.contains("norm.");
    bool isBias = n.ends_with(".bias");
    float scale = isBias ? 0.02f : (isNorm ? 0.1f : 0.05f);
    float offset = (isNorm && !isBias) ? 1.0f : 0.0f;
    int64_t count = 1;
    for (int64_t d : shape)
      count *= d;
    out.resize(count);
    for (float &v : out)
      v = offset + scale * normal(rng);
    return true;
  }

private:
  uint64_t seed;
};
} // namespace

namespace fly::models {

std::unique_ptr<WeightSource> openSafetensorsWeights(const std::string &path,
                                                     std::string &error) {
  auto file = ::fly::runtime::SafetensorsFile::open(path, error);
  if (!file)
    return nullptr;
  return std::make_unique<SafetensorsWeights>(std::move(file));
}

std::unique_ptr<WeightSource> randomWeights(uint64_t seed) {
  return std::make_unique<RandomWeights>(seed);
}

} // namespace fly::models
