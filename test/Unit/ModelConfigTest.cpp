//===- ModelConfigTest.cpp - Tests for the HF config reader -----*- C++ -*-===//
//
// The accepted configs copy the field set that transformers writes for the
// public gpt2 and google/vit-base-patch16-224 checkpoints (trimmed label
// maps), so the reader is exercised on realistic input including keys it
// ignores.
//
//===----------------------------------------------------------------------===//

#include "fly/Models/ModelConfig.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <sys/stat.h>

using namespace fly::models;

namespace {
const char *kGPT2Config = R"({
  "activation_function": "gelu_new",
  "architectures": [
    "GPT2LMHeadModel"
  ],
  "attn_pdrop": 0.1,
  "bos_token_id": 50256,
  "embd_pdrop": 0.1,
  "eos_token_id": 50256,
  "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2",
  "n_ctx": 1024,
  "n_embd": 768,
  "n_head": 12,
  "n_inner": null,
  "n_layer": 12,
  "n_positions": 1024,
  "reorder_and_upcast_attn": false,
  "resid_pdrop": 0.1,
  "scale_attn_by_inverse_layer_idx": false,
  "scale_attn_weights": true,
  "summary_activation": null,
  "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true,
  "summary_type": "cls_index",
  "summary_use_proj": true,
  "task_specific_params": {
    "text-generation": {
      "do_sample": true,
      "max_length": 50
    }
  },
  "transformers_version": "4.38.2",
  "use_cache": true,
  "vocab_size": 50257
})";

const char *kViTConfig = R"({
  "_name_or_path": "google/vit-base-patch16-224",
  "architectures": [
    "ViTForImageClassification"
  ],
  "attention_probs_dropout_prob": 0.0,
  "encoder_stride": 16,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.0,
  "hidden_size": 768,
  "id2label": {
    "0": "tench, Tinca tinca",
    "1": "goldfish, Carassius auratus",
    "2": "great white shark",
    "3": "tiger shark, Galeocerdo cuvieri",
    "4": "hammerhead, hammerhead shark"
  },
  "image_size": 224,
  "initializer_range": 0.02,
  "intermediate_size": 3072,
  "label2id": {
    "goldfish, Carassius auratus": 1,
    "great white shark": 2,
    "hammerhead, hammerhead shark": 4,
    "tench, Tinca tinca": 0,
    "tiger shark, Galeocerdo cuvieri": 3
  },
  "layer_norm_eps": 1e-12,
  "model_type": "vit",
  "num_attention_heads": 12,
  "num_channels": 3,
  "num_hidden_layers": 12,
  "patch_size": 16,
  "qkv_bias": true,
  "torch_dtype": "float32",
  "transformers_version": "4.38.2"
})";

/// The smallest accepted configs, for the error cases to modify.
const char *kMinimalGPT2 = R"("model_type": "gpt2", "vocab_size": 100,
  "n_positions": 32, "n_embd": 64, "n_layer": 2, "n_head": 4)";
const char *kMinimalViT = R"("model_type": "vit", "image_size": 32,
  "patch_size": 8, "hidden_size": 64, "num_hidden_layers": 2,
  "num_attention_heads": 4, "intermediate_size": 128)";

/// Parses `{base, extra}` (extra may override earlier keys: the last one
/// wins) and expects failure mentioning `expected`.
void expectError(const std::string &json, const std::string &expected) {
  ModelConfig config;
  std::string error;
  EXPECT_FALSE(parseModelConfig(json, "cfg.json", config, error)) << json;
  EXPECT_EQ(error.rfind("cfg.json: ", 0), 0u) << error;
  EXPECT_NE(error.find(expected), std::string::npos)
      << "error: " << error << "\nexpected substring: " << expected;
}

std::string withGPT2(const std::string &extra) {
  return std::string("{") + kMinimalGPT2 + (extra.empty() ? "" : ", ") + extra +
         "}";
}
std::string withViT(const std::string &extra) {
  return std::string("{") + kMinimalViT + (extra.empty() ? "" : ", ") + extra +
         "}";
}

/// Returns a fresh directory under GoogleTest's temp dir for this test.
std::string tempDir() {
  std::string dir =
      ::testing::TempDir() + "fly_cfg_" +
      ::testing::UnitTest::GetInstance()->current_test_info()->name();
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

void writeText(const std::string &path, const std::string &text) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(text.data(), 1, text.size(), f), text.size());
  ASSERT_EQ(std::fclose(f), 0);
}
} // namespace

TEST(ModelConfig, ParsesHFGPT2) {
  ModelConfig config;
  std::string error;
  ASSERT_TRUE(parseModelConfig(kGPT2Config, "gpt2", config, error)) << error;
  EXPECT_EQ(config.modelType, "gpt2");
  ASSERT_TRUE(config.gpt2.has_value());
  EXPECT_FALSE(config.vit.has_value());
  const GPT2Config &c = *config.gpt2;
  EXPECT_EQ(c.vocabSize, 50257);
  EXPECT_EQ(c.nPositions, 1024);
  EXPECT_EQ(c.nEmbd, 768);
  EXPECT_EQ(c.nLayer, 12);
  EXPECT_EQ(c.nHead, 12);
  EXPECT_EQ(c.nInner, 3072); // null -> 4 * n_embd
  EXPECT_EQ(c.activation, "gelu_new");
  EXPECT_DOUBLE_EQ(c.layerNormEpsilon, 1e-5);
}

TEST(ModelConfig, ParsesHFViT) {
  ModelConfig config;
  std::string error;
  ASSERT_TRUE(parseModelConfig(kViTConfig, "vit", config, error)) << error;
  EXPECT_EQ(config.modelType, "vit");
  ASSERT_TRUE(config.vit.has_value());
  EXPECT_FALSE(config.gpt2.has_value());
  const ViTConfig &c = *config.vit;
  EXPECT_EQ(c.imageSize, 224);
  EXPECT_EQ(c.patchSize, 16);
  EXPECT_EQ(c.numChannels, 3);
  EXPECT_EQ(c.hiddenSize, 768);
  EXPECT_EQ(c.numHiddenLayers, 12);
  EXPECT_EQ(c.numAttentionHeads, 12);
  EXPECT_EQ(c.intermediateSize, 3072);
  EXPECT_EQ(c.numLabels, 5); // entries of id2label
  EXPECT_DOUBLE_EQ(c.layerNormEps, 1e-12);
  EXPECT_EQ(c.hiddenAct, "gelu");
  EXPECT_TRUE(c.qkvBias);
}

TEST(ModelConfig, GPT2Defaults) {
  ModelConfig config;
  std::string error;
  ASSERT_TRUE(parseModelConfig(withGPT2(""), "m", config, error)) << error;
  const GPT2Config &c = *config.gpt2;
  EXPECT_EQ(c.nInner, 256);
  EXPECT_EQ(c.activation, "gelu_new");
  EXPECT_DOUBLE_EQ(c.layerNormEpsilon, 1e-5);

  ASSERT_TRUE(parseModelConfig(
      withGPT2(R"("n_inner": 100, "activation_function": "gelu_pytorch_tanh",
                  "layer_norm_epsilon": 1e-6)"),
      "m", config, error))
      << error;
  EXPECT_EQ(config.gpt2->nInner, 100);
  EXPECT_EQ(config.gpt2->activation, "gelu_pytorch_tanh");
  EXPECT_DOUBLE_EQ(config.gpt2->layerNormEpsilon, 1e-6);

  ASSERT_TRUE(parseModelConfig(withGPT2(R"("activation_function": "gelu")"),
                               "m", config, error))
      << error;
  EXPECT_EQ(config.gpt2->activation, "gelu");
}

TEST(ModelConfig, ViTDefaults) {
  ModelConfig config;
  std::string error;
  ASSERT_TRUE(parseModelConfig(withViT(""), "m", config, error)) << error;
  const ViTConfig &c = *config.vit;
  EXPECT_EQ(c.numChannels, 3);
  EXPECT_EQ(c.numLabels, 2);
  EXPECT_EQ(c.hiddenAct, "gelu");
  EXPECT_DOUBLE_EQ(c.layerNormEps, 1e-12);
  EXPECT_TRUE(c.qkvBias);

  ASSERT_TRUE(parseModelConfig(
      withViT(R"("num_labels": 10, "num_channels": 1, "qkv_bias": false,
                 "hidden_act": "gelu_new", "layer_norm_eps": 1e-6)"),
      "m", config, error))
      << error;
  EXPECT_EQ(config.vit->numLabels, 10);
  EXPECT_EQ(config.vit->numChannels, 1);
  EXPECT_FALSE(config.vit->qkvBias);
  EXPECT_EQ(config.vit->hiddenAct, "gelu_new");
  EXPECT_DOUBLE_EQ(config.vit->layerNormEps, 1e-6);

  // id2label takes precedence over num_labels, as in transformers.
  ASSERT_TRUE(parseModelConfig(
      withViT(R"("num_labels": 10, "id2label": {"0": "cat", "1": "dog",
                 "2": "bird"})"),
      "m", config, error))
      << error;
  EXPECT_EQ(config.vit->numLabels, 3);
}

TEST(ModelConfig, WritersRoundTrip) {
  GPT2Config g;
  g.vocabSize = 96;
  g.nPositions = 16;
  g.nEmbd = 32;
  g.nLayer = 2;
  g.nHead = 4;
  g.nInner = 80;
  g.layerNormEpsilon = 1e-5;
  g.activation = "gelu_pytorch_tanh";
  ModelConfig config;
  std::string error;
  ASSERT_TRUE(parseModelConfig(gpt2ConfigJson(g), "g", config, error)) << error;
  ASSERT_TRUE(config.gpt2.has_value());
  const GPT2Config &g2 = *config.gpt2;
  EXPECT_EQ(g2.vocabSize, g.vocabSize);
  EXPECT_EQ(g2.nPositions, g.nPositions);
  EXPECT_EQ(g2.nEmbd, g.nEmbd);
  EXPECT_EQ(g2.nLayer, g.nLayer);
  EXPECT_EQ(g2.nHead, g.nHead);
  EXPECT_EQ(g2.nInner, g.nInner);
  EXPECT_EQ(g2.layerNormEpsilon, g.layerNormEpsilon);
  EXPECT_EQ(g2.activation, g.activation);
  EXPECT_NE(gpt2ConfigJson(g).find("\"GPT2LMHeadModel\""), std::string::npos);

  ViTConfig v;
  v.imageSize = 32;
  v.patchSize = 8;
  v.numChannels = 3;
  v.hiddenSize = 48;
  v.numHiddenLayers = 2;
  v.numAttentionHeads = 3;
  v.intermediateSize = 96;
  v.numLabels = 7;
  v.layerNormEps = 1e-12;
  v.hiddenAct = "gelu";
  v.qkvBias = false;
  ASSERT_TRUE(parseModelConfig(vitConfigJson(v), "v", config, error)) << error;
  ASSERT_TRUE(config.vit.has_value());
  const ViTConfig &v2 = *config.vit;
  EXPECT_EQ(v2.imageSize, v.imageSize);
  EXPECT_EQ(v2.patchSize, v.patchSize);
  EXPECT_EQ(v2.numChannels, v.numChannels);
  EXPECT_EQ(v2.hiddenSize, v.hiddenSize);
  EXPECT_EQ(v2.numHiddenLayers, v.numHiddenLayers);
  EXPECT_EQ(v2.numAttentionHeads, v.numAttentionHeads);
  EXPECT_EQ(v2.intermediateSize, v.intermediateSize);
  EXPECT_EQ(v2.numLabels, v.numLabels);
  EXPECT_EQ(v2.layerNormEps, v.layerNormEps);
  EXPECT_EQ(v2.hiddenAct, v.hiddenAct);
  EXPECT_EQ(v2.qkvBias, v.qkvBias);
  std::string text = vitConfigJson(v);
  EXPECT_NE(text.find("\"6\": \"LABEL_6\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"LABEL_6\": 6"), std::string::npos) << text;
}

// Found by the round-trip check of test/Fuzz/ModelConfigFuzzer (on a
// hand-made input): n_inner defaults to 4 * n_embd, so for n_embd > 2^18 the
// default exceeded the limit on an explicit n_inner, and the config.json that
// gpt2ConfigJson wrote back was rejected.
TEST(ModelConfig, LargeDefaultNInnerRoundTrips) {
  ModelConfig config;
  std::string error;
  ASSERT_TRUE(parseModelConfig(
      R"({"model_type": "gpt2", "vocab_size": 10, "n_positions": 8,
          "n_embd": 1048576, "n_layer": 1, "n_head": 1})",
      "cfg.json", config, error))
      << error;
  ASSERT_TRUE(config.gpt2.has_value());
  EXPECT_EQ(config.gpt2->nInner, 4 * 1048576);
  ModelConfig again;
  ASSERT_TRUE(parseModelConfig(gpt2ConfigJson(*config.gpt2), "g", again, error))
      << error;
  ASSERT_TRUE(again.gpt2.has_value());
  EXPECT_EQ(again.gpt2->nInner, config.gpt2->nInner);
  // The explicit limit is the largest default, 4 * 2^20.
  expectError(withGPT2(R"("n_inner": 4194305)"),
              "n_inner is too large: 4194305 (at most 4194304)");
}

TEST(ModelConfig, LoadFromFileAndDirectory) {
  std::string dir = tempDir();
  std::string file = dir + "/config.json";
  writeText(file, kGPT2Config);
  ModelConfig config;
  std::string error;
  ASSERT_TRUE(loadModelConfig(file, config, error)) << error;
  EXPECT_EQ(config.gpt2->nEmbd, 768);
  ModelConfig fromDir;
  ASSERT_TRUE(loadModelConfig(dir, fromDir, error)) << error;
  EXPECT_EQ(fromDir.modelType, "gpt2");
  ASSERT_TRUE(loadModelConfig(dir + "/", fromDir, error)) << error;

  // Errors name the file that was actually read.
  writeText(file, "{\"model_type\": \"gpt2\"}");
  EXPECT_FALSE(loadModelConfig(dir, config, error));
  EXPECT_EQ(error.rfind(file + ": missing required key \"vocab_size\"", 0), 0u)
      << error;
}

TEST(ModelConfig, LoadErrors) {
  std::string dir = tempDir();
  ModelConfig config;
  std::string error;
  std::string missing = dir + "/nope.json";
  EXPECT_FALSE(loadModelConfig(missing, config, error));
  EXPECT_EQ(error.rfind(missing + ": cannot open file", 0), 0u) << error;

  std::string empty = dir + "/empty";
  ::mkdir(empty.c_str(), 0755);
  EXPECT_FALSE(loadModelConfig(empty, config, error));
  EXPECT_EQ(error.rfind(empty + "/config.json: cannot open file", 0), 0u)
      << error;

  std::string blank = dir + "/blank.json";
  writeText(blank, "");
  EXPECT_FALSE(loadModelConfig(blank, config, error));
  EXPECT_NE(error.find("not valid JSON"), std::string::npos) << error;
}

TEST(ModelConfigErrors, TopLevel) {
  expectError("{\"model_type\": \"gpt2\",",
              "not valid JSON: parse error at line 1, column 23");
  expectError("", "not valid JSON");
  expectError("[1, 2]", "top level must be a JSON object, got array");
  expectError("\"gpt2\"", "top level must be a JSON object, got string");
  expectError("{}", "missing required key \"model_type\"");
  expectError("{\"model_type\": 2}",
              "model_type must be a string, got integer");
  expectError("{\"model_type\": \"bert\"}",
              "unknown model_type \"bert\" (supported: gpt2, vit)");
}

TEST(ModelConfigErrors, GPT2) {
  expectError(R"({"model_type": "gpt2", "vocab_size": 100, "n_positions": 32,
                  "n_layer": 2, "n_head": 4})",
              "missing required key \"n_embd\"");
  expectError(withGPT2(R"("n_embd": "64")"),
              "n_embd must be an integer, got string");
  expectError(withGPT2(R"("n_embd": 64.0)"),
              "n_embd must be an integer, got floating-point number 64.0");
  expectError(withGPT2(R"("n_layer": null)"),
              "n_layer must be an integer, got null");
  expectError(withGPT2(R"("n_layer": -2)"), "n_layer must be positive, got -2");
  expectError(withGPT2(R"("n_head": 0)"), "n_head must be positive, got 0");
  expectError(withGPT2(R"("n_layer": 1025)"),
              "n_layer is too large: 1025 (at most 1024)");
  expectError(withGPT2(R"("vocab_size": 16777217)"),
              "vocab_size is too large: 16777217");
  expectError(withGPT2(R"("n_positions": 1048577)"),
              "n_positions is too large");
  expectError(withGPT2(R"("n_embd": 1048580)"), "n_embd is too large");
  expectError(withGPT2(R"("n_embd": 18446744073709551615)"),
              "n_embd is too large: 18446744073709551615");
  expectError(withGPT2(R"("n_embd": -9223372036854775808)"),
              "n_embd must be positive");
  expectError(withGPT2(R"("n_inner": -1)"), "n_inner must be positive");
  expectError(withGPT2(R"("n_inner": "big")"), "n_inner must be an integer");
  expectError(withGPT2(R"("n_head": 5)"),
              "n_embd (64) is not divisible by n_head (5)");
  expectError(withGPT2(R"("activation_function": "relu")"),
              "unsupported activation_function \"relu\" (supported: "
              "gelu_new, gelu_pytorch_tanh, gelu)");
  expectError(withGPT2(R"("activation_function": 1)"),
              "activation_function must be a string, got integer");
  expectError(withGPT2(R"("layer_norm_epsilon": "1e-5")"),
              "layer_norm_epsilon must be a number, got string");
  expectError(withGPT2(R"("layer_norm_epsilon": 0)"),
              "layer_norm_epsilon must be in (0, 1), got 0");
  expectError(withGPT2(R"("layer_norm_epsilon": -1e-5)"),
              "layer_norm_epsilon must be in (0, 1)");
}

TEST(ModelConfigErrors, ViT) {
  expectError(R"({"model_type": "vit", "image_size": 32, "patch_size": 8,
                  "hidden_size": 64, "num_hidden_layers": 2,
                  "num_attention_heads": 4})",
              "missing required key \"intermediate_size\"");
  expectError(R"({"model_type": "vit"})",
              "missing required key \"image_size\"");
  expectError(withViT(R"("image_size": [224, 224])"),
              "image_size must be an integer, got array");
  expectError(withViT(R"("num_hidden_layers": -1)"),
              "num_hidden_layers must be positive, got -1");
  expectError(withViT(R"("num_hidden_layers": 5000)"),
              "num_hidden_layers is too large: 5000 (at most 1024)");
  expectError(withViT(R"("num_channels": 0)"),
              "num_channels must be positive, got 0");
  expectError(withViT(R"("num_attention_heads": 5)"),
              "hidden_size (64) is not divisible by num_attention_heads (5)");
  expectError(withViT(R"("patch_size": 5)"),
              "image_size (32) is not divisible by patch_size (5)");
  expectError(withViT(R"("hidden_act": "silu")"),
              "unsupported hidden_act \"silu\" (supported: gelu, gelu_new, "
              "gelu_pytorch_tanh)");
  expectError(withViT(R"("qkv_bias": "yes")"),
              "qkv_bias must be a boolean, got string");
  expectError(withViT(R"("layer_norm_eps": 2)"),
              "layer_norm_eps must be in (0, 1), got 2");
  expectError(withViT(R"("id2label": ["cat", "dog"])"),
              "id2label must be an object, got array");
  expectError(withViT(R"("id2label": {})"), "id2label is empty");
  expectError(withViT(R"("num_labels": 0)"), "num_labels must be positive");
  expectError(withViT(R"("num_labels": true)"),
              "num_labels must be an integer, got boolean");
}
