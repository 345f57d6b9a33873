//===- ImportContext.h - State shared by the model importers ----*- C++ -*-===//

#ifndef FLY_MODELS_IMPORTCONTEXT_H
#define FLY_MODELS_IMPORTCONTEXT_H

#include "fly/Models/Importer.h"
#include "fly/Models/Layers.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace fly::models {

/// Builds one `@forward` function; `weight()` turns checkpoint tensors into
/// dense_resource constants and remembers the first error.
class ImportContext {
public:
  ImportContext(mlir::OpBuilder &builder, mlir::Location loc,
                WeightSource &source)
      : layers(builder, loc), source(source) {}

  /// The named weight as an f32 constant of `shape`; on error records it and
  /// returns a zero-filled stand-in so building can finish.
  mlir::Value weight(const std::string &name, llvm::ArrayRef<int64_t> shape);

  bool failed() const { return !error.empty(); }
  const std::string &errorMessage() const { return error; }

  LayerBuilder layers;

private:
  WeightSource &source;
  std::string error;
};

/// Model-specific builders: create `@forward` in `module` and describe its
/// inputs and outputs. They return false with `error` set on bad options.
bool buildGPT2(mlir::ModuleOp module, const GPT2Config &config,
               WeightSource &weights, const ImportOptions &options,
               ImportedModel &model, std::string &error);
bool buildViT(mlir::ModuleOp module, const ViTConfig &config,
              WeightSource &weights, const ImportOptions &options,
              ImportedModel &model, std::string &error);

} // namespace fly::models

#endif // FLY_MODELS_IMPORTCONTEXT_H
