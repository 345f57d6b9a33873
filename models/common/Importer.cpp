//===- Importer.cpp - HF checkpoints to MLIR: dispatch ----------*- C++ -*-===//

#include "fly/Models/Importer.h"
#include "fly/Models/ImportContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace ::fly::models;

namespace fly::models {

Value ImportContext::weight(const std::string &name,
                            llvm::ArrayRef<int64_t> shape) {
  OpBuilder &b = layers.builder();
  auto type = RankedTensorType::get(shape, b.getF32Type());
  std::vector<float> data;
  std::string readError;
  if (!source.read(name, shape, data, readError)) {
    if (error.empty())
      error = readError;
    return layers.filled(shape, 0.0);
  }
  auto blob = HeapAsmResourceBlob::allocateAndCopyInferAlign<float>(data);
  auto attr = DenseResourceElementsAttr::get(type, name, std::move(blob));
  return arith::ConstantOp::create(b, layers.location(), attr);
}

ImportedModel importModel(MLIRContext *context, const ModelConfig &config,
                          WeightSource &weights, const ImportOptions &options,
                          std::string &error) {
  context->loadDialect<arith::ArithDialect, func::FuncDialect,
                       linalg::LinalgDialect, math::MathDialect,
                       tensor::TensorDialect>();
  ImportedModel model;
  OwningOpRef<ModuleOp> module = ModuleOp::create(UnknownLoc::get(context));
  bool ok = false;
  if (config.gpt2)
    ok = buildGPT2(*module, *config.gpt2, weights, options, model, error);
  else if (config.vit)
    ok = buildViT(*module, *config.vit, weights, options, model, error);
  else
    error = "unsupported model_type '" + config.modelType + "'";
  if (ok)
    model.module = std::move(module);
  return model;
}

bool embeddedConfig(const std::string &name, ModelConfig &config) {
  if (name == "tiny-gpt2") {
    GPT2Config c;
    c.vocabSize = 512;
    c.nPositions = 128;
    c.nEmbd = 64;
    c.nLayer = 2;
    c.nHead = 4;
    c.nInner = 256;
    c.layerNormEpsilon = 1e-5;
    c.activation = "gelu_new";
    config.modelType = "gpt2";
    config.gpt2 = c;
    return true;
  }
  if (name == "tiny-vit") {
    ViTConfig c;
    c.imageSize = 32;
    c.patchSize = 8;
    c.numChannels = 3;
    c.hiddenSize = 64;
    c.numHiddenLayers = 2;
    c.numAttentionHeads = 4;
    c.intermediateSize = 128;
    c.numLabels = 10;
    c.layerNormEps = 1e-12;
    c.hiddenAct = "gelu";
    c.qkvBias = true;
    config.modelType = "vit";
    config.vit = c;
    return true;
  }
  return false;
}

std::vector<std::string> embeddedModelNames() {
  return {"tiny-gpt2", "tiny-vit"};
}

} // namespace fly::models
