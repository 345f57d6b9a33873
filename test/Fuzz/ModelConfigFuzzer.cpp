//===- ModelConfigFuzzer.cpp - libFuzzer target for the config.json reader ===//
//
// Feeds arbitrary text to fly::models::parseModelConfig. A rejected input
// must come with a message; an accepted one must satisfy the invariants the
// importers rely on (every size in range, heads dividing the width, patches
// dividing the image), and the config.json that gpt2ConfigJson/vitConfigJson
// write for it must parse back to the same config.
//
// Built with clang and -fsanitize=fuzzer by test/Fuzz/build.sh.
//
//===----------------------------------------------------------------------===//

#include "fly/Models/ModelConfig.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

using namespace fly::models;

namespace {
constexpr int64_t kMaxDim = int64_t(1) << 20;
constexpr int64_t kMaxVocab = int64_t(1) << 24;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxPositions = int64_t(1) << 20;
/// vitConfigJson writes one id2label entry per label; beyond this the round
/// trip costs more time than it is worth.
constexpr int64_t kMaxRoundTripLabels = 4096;

void check(bool condition, const char *what) {
  if (!condition) {
    std::fprintf(stderr, "ModelConfigFuzzer: invariant violated: %s\n", what);
    __builtin_trap();
  }
}

bool inRange(int64_t v, int64_t max) { return v >= 1 && v <= max; }

bool isEpsilon(double v) { return std::isfinite(v) && v > 0.0 && v < 1.0; }

void checkGPT2(const GPT2Config &c) {
  check(inRange(c.vocabSize, kMaxVocab), "vocab_size out of range");
  check(inRange(c.nPositions, kMaxPositions), "n_positions out of range");
  check(inRange(c.nEmbd, kMaxDim), "n_embd out of range");
  check(inRange(c.nLayer, kMaxLayers), "n_layer out of range");
  check(inRange(c.nHead, kMaxDim), "n_head out of range");
  check(c.nEmbd % c.nHead == 0, "n_embd % n_head != 0");
  check(inRange(c.nInner, 4 * kMaxDim), "n_inner out of range");
  check(isEpsilon(c.layerNormEpsilon), "layer_norm_epsilon out of (0, 1)");
  check(c.activation == "gelu_new" || c.activation == "gelu_pytorch_tanh" ||
            c.activation == "gelu",
        "unsupported activation accepted");
}

void checkViT(const ViTConfig &c) {
  check(inRange(c.imageSize, kMaxDim), "image_size out of range");
  check(inRange(c.patchSize, kMaxDim), "patch_size out of range");
  check(c.imageSize % c.patchSize == 0, "image_size % patch_size != 0");
  check(inRange(c.numChannels, kMaxDim), "num_channels out of range");
  check(inRange(c.hiddenSize, kMaxDim), "hidden_size out of range");
  check(inRange(c.numHiddenLayers, kMaxLayers),
        "num_hidden_layers out of range");
  check(inRange(c.numAttentionHeads, kMaxDim),
        "num_attention_heads out of range");
  check(c.hiddenSize % c.numAttentionHeads == 0,
        "hidden_size % num_attention_heads != 0");
  check(inRange(c.intermediateSize, kMaxDim), "intermediate_size out of range");
  check(inRange(c.numLabels, kMaxVocab), "num_labels out of range");
  check(isEpsilon(c.layerNormEps), "layer_norm_eps out of (0, 1)");
  check(c.hiddenAct == "gelu" || c.hiddenAct == "gelu_new" ||
            c.hiddenAct == "gelu_pytorch_tanh",
        "unsupported hidden_act accepted");
}

bool sameGPT2(const GPT2Config &a, const GPT2Config &b) {
  return a.vocabSize == b.vocabSize && a.nPositions == b.nPositions &&
         a.nEmbd == b.nEmbd && a.nLayer == b.nLayer && a.nHead == b.nHead &&
         a.nInner == b.nInner && a.layerNormEpsilon == b.layerNormEpsilon &&
         a.activation == b.activation;
}

bool sameViT(const ViTConfig &a, const ViTConfig &b) {
  return a.imageSize == b.imageSize && a.patchSize == b.patchSize &&
         a.numChannels == b.numChannels && a.hiddenSize == b.hiddenSize &&
         a.numHiddenLayers == b.numHiddenLayers &&
         a.numAttentionHeads == b.numAttentionHeads &&
         a.intermediateSize == b.intermediateSize &&
         a.numLabels == b.numLabels && a.layerNormEps == b.layerNormEps &&
         a.hiddenAct == b.hiddenAct && a.qkvBias == b.qkvBias;
}

/// Parses `text` (written by one of our writers) and returns the config;
/// traps if it is rejected.
ModelConfig reparse(const std::string &text) {
  ModelConfig again;
  std::string error;
  if (!parseModelConfig(text, "round-trip", again, error)) {
    std::fprintf(stderr, "ModelConfigFuzzer: %s\n", error.c_str());
    check(false, "the config.json written for an accepted config is rejected");
  }
  return again;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string text(reinterpret_cast<const char *>(data), size);
  ModelConfig config;
  std::string error;
  if (!parseModelConfig(text, "fuzz", config, error)) {
    check(error.rfind("fuzz: ", 0) == 0 && error.size() > 6,
          "rejected without a \"fuzz: <what>\" message");
    return 0;
  }
  check(error.empty(), "accepted but error was set");
  check(config.gpt2.has_value() != config.vit.has_value(),
        "not exactly one of gpt2 / vit is set");
  if (config.gpt2) {
    check(config.modelType == "gpt2", "gpt2 config with another model_type");
    checkGPT2(*config.gpt2);
    ModelConfig again = reparse(gpt2ConfigJson(*config.gpt2));
    check(again.gpt2 && sameGPT2(*config.gpt2, *again.gpt2),
          "gpt2 config changed in a round trip");
  } else {
    check(config.modelType == "vit", "vit config with another model_type");
    checkViT(*config.vit);
    if (config.vit->numLabels <= kMaxRoundTripLabels) {
      ModelConfig again = reparse(vitConfigJson(*config.vit));
      check(again.vit && sameViT(*config.vit, *again.vit),
            "vit config changed in a round trip");
    }
  }
  return 0;
}
