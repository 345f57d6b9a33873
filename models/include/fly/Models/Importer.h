//===- Importer.h - HF GPT-2 / ViT checkpoints to MLIR ----------*- C++ -*-===//
//
// Builds `func.func @forward` for a model from its HF config and weights,
// using upstream dialects only. Weights become `arith.constant
// dense_resource<checkpoint.key>` tensors (f32), so passes can read and
// project them; fly-compile externalises them at the end.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_MODELS_IMPORTER_H
#define FLY_MODELS_IMPORTER_H

#include "fly/Models/ModelConfig.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <memory>
#include <string>
#include <vector>

namespace fly::models {

/// Where weights come from: a checkpoint, or seeded random values.
class WeightSource {
public:
  virtual ~WeightSource();
  /// Fills `out` with the named weight as f32, checking its shape.
  virtual bool read(const std::string &name, llvm::ArrayRef<int64_t> shape,
                    std::vector<float> &out, std::string &error) = 0;
};

/// Weights from model.safetensors (F32, F16 or BF16; converted to f32).
std::unique_ptr<WeightSource> openSafetensorsWeights(const std::string &path,
                                                     std::string &error);
/// Seeded random weights for the embedded models: LayerNorm scales near 1,
/// small non-zero biases and matrices.
std::unique_ptr<WeightSource> randomWeights(uint64_t seed);

struct ImportOptions {
  int64_t batch = 1;
  int64_t seq = 0; // GPT-2 sequence length; 0 = min(128, n_positions)
  /// GPT-2 only: "full" (input_ids -> logits), "body" (hidden states
  /// [B,T,d] -> the blocks and the final LayerNorm, no embeddings or LM
  /// head: what torch_peer_bench.py times as gpt2-body) or "mlp" (block 0's
  /// MLP alone, [B,T,d] -> [B,T,d]: its mlp-layer).
  std::string part = "full";
};

/// One model input or output as the artifact's manifest describes it.
struct TensorDesc {
  std::string name;
  std::string dtype; // "f32", "i64"
  std::vector<int64_t> shape;
};

struct ImportedModel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string entry = "forward";
  std::vector<TensorDesc> inputs, outputs;
  int64_t seqLen = 0; // tokens per sequence (ViT: patches + 1)
};

/// Imports the model described by `config`; nullptr module + error on
/// failure (bad options, missing or mis-shaped weights).
ImportedModel importModel(mlir::MLIRContext *context, const ModelConfig &config,
                          WeightSource &weights, const ImportOptions &options,
                          std::string &error);

/// Embedded defaults that need no files: "tiny-gpt2" (2 layers, d 64,
/// 4 heads, vocab 512, 128 positions) and "tiny-vit" (32x32 images, patch 8,
/// d 64, 2 layers, 4 heads, 10 classes). Returns false for other names.
bool embeddedConfig(const std::string &name, ModelConfig &config);
std::vector<std::string> embeddedModelNames();

} // namespace fly::models

#endif // FLY_MODELS_IMPORTER_H
