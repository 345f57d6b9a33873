//===- ModelConfig.cpp - Read Hugging Face model configs --------*- C++ -*-===//
//
// Every access to the parsed JSON is preceded by a type check: with
// exceptions disabled nlohmann::json aborts on a type mismatch, and configs
// are untrusted input. The size limits are far above any real GPT-2 or ViT
// but low enough that products of two of them cannot overflow int64_t, which
// keeps the later shape arithmetic in the importers safe.
//
//===----------------------------------------------------------------------===//

#include "fly/Models/ModelConfig.h"
#include "fly/runtime/FileUtils.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

using namespace fly::models;

using Json = nlohmann::json;
// The writers use ordered_json so the emitted files list keys in the order
// HF users expect (architectures and model_type first).
using OrderedJson = nlohmann::ordered_json;

namespace {
constexpr int64_t kMaxDim = int64_t(1) << 20;
constexpr int64_t kMaxVocab = int64_t(1) << 24;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxPositions = int64_t(1) << 20;
/// n_inner defaults to 4 * n_embd, so an explicit value may be as large as
/// the default can be; otherwise gpt2ConfigJson, which writes the default out,
/// would produce a config.json this reader rejects.
constexpr int64_t kMaxInner = 4 * kMaxDim;
/// config.json files are a few KiB (ImageNet-21k label maps reach a few MiB);
/// anything far larger is not a config and is rejected before reading it.
constexpr long kMaxConfigBytes = 64l << 20;

/// Describes the JSON type of `value` for "must be X, got Y" messages.
std::string typeOf(const Json &value) {
  if (value.is_number_float())
    return "floating-point number " + value.dump();
  if (value.is_number_integer())
    return "integer";
  return value.type_name();
}

/// Type- and range-checked access to the fields of one config object. The
/// first failure is recorded in `what`; callers stop at the first false.
class FieldReader {
public:
  explicit FieldReader(const Json &object) : object(object) {}

  std::string what;

  /// Reads a required integer in [1, max].
  bool requiredInt(const char *key, int64_t max, int64_t &out) {
    const Json *value = lookup(key);
    if (!value) {
      what = std::string("missing required key \"") + key + "\"";
      return false;
    }
    return readInt(key, *value, max, out);
  }

  /// Reads an optional integer in [1, max]; absent or null gives `dflt`.
  bool optionalInt(const char *key, int64_t dflt, int64_t max, int64_t &out) {
    const Json *value = lookup(key);
    if (!value || value->is_null()) {
      out = dflt;
      return true;
    }
    return readInt(key, *value, max, out);
  }

  /// Reads an optional positive number below 1 (an epsilon).
  bool optionalEpsilon(const char *key, double dflt, double &out) {
    const Json *value = lookup(key);
    if (!value || value->is_null()) {
      out = dflt;
      return true;
    }
    if (!value->is_number()) {
      what = std::string(key) + " must be a number, got " + typeOf(*value);
      return false;
    }
    double v = value->get<double>();
    if (!std::isfinite(v) || v <= 0.0 || v >= 1.0) {
      what = std::string(key) + " must be in (0, 1), got " + value->dump();
      return false;
    }
    out = v;
    return true;
  }

  /// Reads an optional bool; absent or null gives `dflt`.
  bool optionalBool(const char *key, bool dflt, bool &out) {
    const Json *value = lookup(key);
    if (!value || value->is_null()) {
      out = dflt;
      return true;
    }
    if (!value->is_boolean()) {
      what = std::string(key) + " must be a boolean, got " + typeOf(*value);
      return false;
    }
    out = value->get<bool>();
    return true;
  }

  /// Reads an optional activation name that must be one of `allowed`
  /// (a comma-separated list, also used in the message).
  bool optionalActivation(const char *key, const char *dflt,
                          std::initializer_list<const char *> allowed,
                          std::string &out) {
    const Json *value = lookup(key);
    if (!value || value->is_null()) {
      out = dflt;
      return true;
    }
    if (!value->is_string()) {
      what = std::string(key) + " must be a string, got " + typeOf(*value);
      return false;
    }
    const std::string &name = value->get_ref<const std::string &>();
    std::string list;
    for (const char *a : allowed) {
      if (name == a) {
        out = name;
        return true;
      }
      list += list.empty() ? "" : ", ";
      list += a;
    }
    what = "unsupported " + std::string(key) + " \"" + name +
           "\" (supported: " + list + ")";
    return false;
  }

  /// Returns the value for `key`, or nullptr if absent.
  const Json *lookup(const char *key) const {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }

private:
  bool readInt(const char *key, const Json &value, int64_t max, int64_t &out) {
    if (!value.is_number_integer()) {
      what = std::string(key) + " must be an integer, got " + typeOf(value);
      return false;
    }
    // Values beyond int64_t only fit number_unsigned; reading them as
    // int64_t would wrap to a negative number and give a misleading message.
    if (value.is_number_unsigned() &&
        value.get<uint64_t>() > static_cast<uint64_t>(max)) {
      what = std::string(key) + " is too large: " + value.dump() +
             " (at most " + std::to_string(max) + ")";
      return false;
    }
    int64_t v = value.get<int64_t>();
    if (v <= 0) {
      what = std::string(key) + " must be positive, got " + std::to_string(v);
      return false;
    }
    if (v > max) {
      what = std::string(key) + " is too large: " + std::to_string(v) +
             " (at most " + std::to_string(max) + ")";
      return false;
    }
    out = v;
    return true;
  }

  const Json &object;
};

bool parseGPT2(FieldReader &r, GPT2Config &c) {
  if (!r.requiredInt("vocab_size", kMaxVocab, c.vocabSize) ||
      !r.requiredInt("n_positions", kMaxPositions, c.nPositions) ||
      !r.requiredInt("n_embd", kMaxDim, c.nEmbd) ||
      !r.requiredInt("n_layer", kMaxLayers, c.nLayer) ||
      !r.requiredInt("n_head", kMaxDim, c.nHead) ||
      !r.optionalInt("n_inner", 4 * c.nEmbd, kMaxInner, c.nInner) ||
      !r.optionalActivation("activation_function", "gelu_new",
                            {"gelu_new", "gelu_pytorch_tanh", "gelu"},
                            c.activation) ||
      !r.optionalEpsilon("layer_norm_epsilon", 1e-5, c.layerNormEpsilon))
    return false;
  if (c.nEmbd % c.nHead != 0) {
    r.what = "n_embd (" + std::to_string(c.nEmbd) +
             ") is not divisible by n_head (" + std::to_string(c.nHead) + ")";
    return false;
  }
  return true;
}

bool parseViT(FieldReader &r, ViTConfig &c) {
  if (!r.requiredInt("image_size", kMaxDim, c.imageSize) ||
      !r.requiredInt("patch_size", kMaxDim, c.patchSize) ||
      !r.optionalInt("num_channels", 3, kMaxDim, c.numChannels) ||
      !r.requiredInt("hidden_size", kMaxDim, c.hiddenSize) ||
      !r.requiredInt("num_hidden_layers", kMaxLayers, c.numHiddenLayers) ||
      !r.requiredInt("num_attention_heads", kMaxDim, c.numAttentionHeads) ||
      !r.requiredInt("intermediate_size", kMaxDim, c.intermediateSize) ||
      !r.optionalActivation("hidden_act", "gelu",
                            {"gelu", "gelu_new", "gelu_pytorch_tanh"},
                            c.hiddenAct) ||
      !r.optionalEpsilon("layer_norm_eps", 1e-12, c.layerNormEps) ||
      !r.optionalBool("qkv_bias", true, c.qkvBias))
    return false;

  // HF derives num_labels from id2label when both are present, so id2label
  // wins here too.
  if (const Json *labels = r.lookup("id2label"); labels && !labels->is_null()) {
    if (!labels->is_object()) {
      r.what = "id2label must be an object, got " + typeOf(*labels);
      return false;
    }
    if (labels->empty()) {
      r.what = "id2label is empty (a classifier needs at least one label)";
      return false;
    }
    if (static_cast<int64_t>(labels->size()) > kMaxVocab) {
      r.what =
          "id2label has too many entries: " + std::to_string(labels->size()) +
          " (at most " + std::to_string(kMaxVocab) + ")";
      return false;
    }
    c.numLabels = static_cast<int64_t>(labels->size());
  } else if (!r.optionalInt("num_labels", 2, kMaxVocab, c.numLabels)) {
    return false;
  }

  if (c.hiddenSize % c.numAttentionHeads != 0) {
    r.what = "hidden_size (" + std::to_string(c.hiddenSize) +
             ") is not divisible by num_attention_heads (" +
             std::to_string(c.numAttentionHeads) + ")";
    return false;
  }
  if (c.imageSize % c.patchSize != 0) {
    r.what = "image_size (" + std::to_string(c.imageSize) +
             ") is not divisible by patch_size (" +
             std::to_string(c.patchSize) + ")";
    return false;
  }
  return true;
}
} // namespace

bool fly::models::parseModelConfig(const std::string &jsonText,
                                   const std::string &sourceName,
                                   ModelConfig &out, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = sourceName + ": " + what;
    return false;
  };

  Json root = Json::parse(jsonText, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded()) {
    return fail("not valid JSON: " +
                fly::runtime::describeJsonSyntaxError(
                    jsonText.data(), jsonText.data() + jsonText.size()));
  }
  if (!root.is_object())
    return fail(std::string("top level must be a JSON object, got ") +
                root.type_name());

  FieldReader reader(root);
  const Json *type = reader.lookup("model_type");
  if (!type)
    return fail("missing required key \"model_type\"");
  if (!type->is_string())
    return fail("model_type must be a string, got " + typeOf(*type));
  const std::string &modelType = type->get_ref<const std::string &>();

  ModelConfig result;
  result.modelType = modelType;
  if (modelType == "gpt2") {
    GPT2Config c;
    if (!parseGPT2(reader, c))
      return fail(reader.what);
    result.gpt2 = c;
  } else if (modelType == "vit") {
    ViTConfig c;
    if (!parseViT(reader, c))
      return fail(reader.what);
    result.vit = c;
  } else {
    return fail("unknown model_type \"" + modelType +
                "\" (supported: gpt2, vit)");
  }
  out = std::move(result);
  return true;
}

bool fly::models::loadModelConfig(const std::string &path, ModelConfig &out,
                                  std::string &error) {
  std::string file = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    file =
        path + (path.empty() || path.back() == '/' ? "" : "/") + "config.json";

  auto fail = [&](const std::string &what) {
    error = file + ": " + what;
    return false;
  };
  std::FILE *in = std::fopen(file.c_str(), "rb");
  if (!in)
    return fail(std::string("cannot open file: ") + std::strerror(errno));
  std::string text;
  char buffer[65536];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), in)) > 0) {
    text.append(buffer, n);
    if (text.size() > static_cast<size_t>(kMaxConfigBytes)) {
      std::fclose(in);
      return fail("file is larger than " + std::to_string(kMaxConfigBytes) +
                  " bytes; not a config.json");
    }
  }
  bool readError = std::ferror(in);
  int savedErrno = errno;
  std::fclose(in);
  if (readError)
    return fail(std::string("cannot read file: ") + std::strerror(savedErrno));
  return parseModelConfig(text, file, out, error);
}

std::string fly::models::gpt2ConfigJson(const GPT2Config &c) {
  OrderedJson j;
  j["architectures"] = {"GPT2LMHeadModel"};
  j["model_type"] = "gpt2";
  j["vocab_size"] = c.vocabSize;
  j["n_positions"] = c.nPositions;
  // Older transformers releases read n_ctx; keeping it equal to n_positions
  // matches what HF itself writes.
  j["n_ctx"] = c.nPositions;
  j["n_embd"] = c.nEmbd;
  j["n_layer"] = c.nLayer;
  j["n_head"] = c.nHead;
  j["n_inner"] = c.nInner;
  j["activation_function"] = c.activation;
  j["layer_norm_epsilon"] = c.layerNormEpsilon;
  // The embedded models are inference-only; zero dropout makes HF's training
  // mode agree with eval mode.
  j["resid_pdrop"] = 0.0;
  j["embd_pdrop"] = 0.0;
  j["attn_pdrop"] = 0.0;
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

std::string fly::models::vitConfigJson(const ViTConfig &c) {
  OrderedJson j;
  j["architectures"] = {"ViTForImageClassification"};
  j["model_type"] = "vit";
  j["image_size"] = c.imageSize;
  j["patch_size"] = c.patchSize;
  j["num_channels"] = c.numChannels;
  j["hidden_size"] = c.hiddenSize;
  j["num_hidden_layers"] = c.numHiddenLayers;
  j["num_attention_heads"] = c.numAttentionHeads;
  j["intermediate_size"] = c.intermediateSize;
  j["hidden_act"] = c.hiddenAct;
  j["layer_norm_eps"] = c.layerNormEps;
  j["qkv_bias"] = c.qkvBias;
  j["hidden_dropout_prob"] = 0.0;
  j["attention_probs_dropout_prob"] = 0.0;
  OrderedJson id2label = OrderedJson::object(),
              label2id = OrderedJson::object();
  for (int64_t i = 0; i < c.numLabels; ++i) {
    std::string label = "LABEL_" + std::to_string(i);
    id2label[std::to_string(i)] = label;
    label2id[label] = i;
  }
  j["id2label"] = std::move(id2label);
  j["label2id"] = std::move(label2id);
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}
