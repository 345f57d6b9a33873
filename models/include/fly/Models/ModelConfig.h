//===- ModelConfig.h - Read Hugging Face model configs ----------*- C++ -*-===//
//
// Reads the config.json that Hugging Face writes next to a checkpoint and
// turns it into the few hyper-parameters the GPT-2 and ViT importers need.
// Configs come from outside, so every field is type- and range-checked and
// a bad file yields one clear message rather than a crash. No exceptions are
// used, so the code links into -fno-exceptions builds.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_MODELS_MODELCONFIG_H
#define FLY_MODELS_MODELCONFIG_H

#include <cstdint>
#include <optional>
#include <string>

namespace fly::models {

/// Hyper-parameters of a GPT-2 decoder (HF model_type "gpt2").
struct GPT2Config {
  int64_t vocabSize = 0, nPositions = 0, nEmbd = 0, nLayer = 0, nHead = 0;
  /// Width of the MLP hidden layer; HF's null means 4 * nEmbd.
  int64_t nInner = 0;
  double layerNormEpsilon = 1e-5;
  /// "gelu_new", "gelu_pytorch_tanh" or "gelu".
  std::string activation = "gelu_new";
};

/// Hyper-parameters of a ViT image classifier (HF model_type "vit").
struct ViTConfig {
  int64_t imageSize = 0, patchSize = 0, numChannels = 3, hiddenSize = 0,
          numHiddenLayers = 0, numAttentionHeads = 0, intermediateSize = 0,
          numLabels = 2;
  double layerNormEps = 1e-12;
  /// "gelu", "gelu_new" or "gelu_pytorch_tanh".
  std::string hiddenAct = "gelu";
  bool qkvBias = true;
};

/// A parsed config: exactly one of `gpt2` / `vit` is set, matching
/// `modelType`.
struct ModelConfig {
  /// "gpt2" or "vit".
  std::string modelType;
  std::optional<GPT2Config> gpt2;
  std::optional<ViTConfig> vit;
};

/// Reads a Hugging Face config.json from `path`, which is either the file or
/// a directory containing config.json. Returns false and sets `error` to
/// "<path>: <what>" on failure.
bool loadModelConfig(const std::string &path, ModelConfig &out,
                     std::string &error);

/// Parses the text of a config.json. `sourceName` prefixes error messages
/// ("<sourceName>: <what>").
bool parseModelConfig(const std::string &jsonText,
                      const std::string &sourceName, ModelConfig &out,
                      std::string &error);

/// Returns an HF-compatible config.json (GPT2LMHeadModel) for `config`.
std::string gpt2ConfigJson(const GPT2Config &config);
/// Returns an HF-compatible config.json (ViTForImageClassification) for
/// `config`, with generic LABEL_<i> names for the labels.
std::string vitConfigJson(const ViTConfig &config);

} // namespace fly::models

#endif // FLY_MODELS_MODELCONFIG_H
