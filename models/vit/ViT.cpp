//===- ViT.cpp - HF ViTForImageClassification as upstream MLIR --*- C++ -*-===//
//
// pixel_values [B, C, H, W] -> logits [B, labels]: the patch convolution as
// a matmul over [B*N, C*P*P] patches, a CLS token, learned position
// embeddings, pre-LN encoder blocks with separate q/k/v nn.Linear layers and
// an erf GELU MLP, a final LayerNorm and the classifier on the CLS token.
//
//===----------------------------------------------------------------------===//

#include "fly/Models/ImportContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace ::fly::models;

namespace {
Value insertRows(OpBuilder &b, Location loc, Value src, Value dst,
                 int64_t offset) {
  auto shape = cast<RankedTensorType>(src.getType()).getShape();
  return tensor::InsertSliceOp::create(
      b, loc, src, dst, ValueRange{}, ValueRange{}, ValueRange{},
      b.getDenseI64ArrayAttr({0, offset, 0}), b.getDenseI64ArrayAttr(shape),
      b.getDenseI64ArrayAttr({1, 1, 1}));
}
} // namespace

namespace fly::models {

bool buildViT(ModuleOp module, const ViTConfig &c, WeightSource &weights,
              const ImportOptions &opts, ImportedModel &model,
              std::string &error) {
  int64_t batch = opts.batch;
  if (batch < 1) {
    error = "batch must be >= 1";
    return false;
  }
  int64_t ch = c.numChannels, img = c.imageSize, ps = c.patchSize;
  int64_t grid = img / ps, patches = grid * grid, tokens = patches + 1;
  int64_t d = c.hiddenSize, inner = c.intermediateSize, rows = batch * tokens;
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  auto f32 = b.getF32Type();
  auto pixelType = RankedTensorType::get({batch, ch, img, img}, f32);
  auto logitsType = RankedTensorType::get({batch, c.numLabels}, f32);
  auto func = func::FuncOp::create(
      b, loc, "forward", FunctionType::get(ctx, {pixelType}, {logitsType}));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  ImportContext ic(b, loc, weights);
  LayerBuilder &L = ic.layers;

  // Patch embedding: Conv2d(kernel = stride = P) as [B*N, C*P*P] x W^T.
  Value px = L.reshape(body->getArgument(0), {batch, ch, grid, ps, grid, ps});
  Value pt = L.transpose(px, {0, 2, 4, 1, 3, 5}); // [B, gh, gw, C, P, P]
  Value patchRows = L.reshape(pt, {batch * patches, ch * ps * ps});
  std::string e = "vit.embeddings.";
  Value convW = L.reshape(
      ic.weight(e + "patch_embeddings.projection.weight", {d, ch, ps, ps}),
      {d, ch * ps * ps});
  Value emb = L.linear(patchRows, convW,
                       ic.weight(e + "patch_embeddings.projection.bias", {d}));
  Value emb3 = L.reshape(emb, {batch, patches, d});

  // [CLS, patches] + position embeddings.
  Value cls = ic.weight(e + "cls_token", {1, 1, d});
  Value clsB = L.generic(
      "00d->bqd", {cls}, L.empty({batch, 1, d}),
      [](OpBuilder &, Location, ValueRange a) -> Value { return a[0]; });
  Value seq = L.empty({batch, tokens, d});
  seq = insertRows(b, loc, clsB, seq, 0);
  seq = insertRows(b, loc, emb3, seq, 1);
  Value pos = ic.weight(e + "position_embeddings", {1, tokens, d});
  Value h3 = L.generic("btd,0td->btd", {seq, pos}, L.empty({batch, tokens, d}),
                       [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                         return arith::AddFOp::create(nb, l, a[0], a[1]);
                       });
  Value h = L.reshape(h3, {rows, d});

  for (int64_t i = 0; i < c.numHiddenLayers; ++i) {
    std::string p = "vit.encoder.layer." + std::to_string(i) + ".";
    auto dense = [&](Value x, const std::string &name, int64_t out,
                     int64_t in) {
      return L.linear(x, ic.weight(p + name + ".weight", {out, in}),
                      ic.weight(p + name + ".bias", {out}));
    };
    Value a = L.layerNorm(h, ic.weight(p + "layernorm_before.weight", {d}),
                          ic.weight(p + "layernorm_before.bias", {d}),
                          c.layerNormEps);
    Value q = dense(a, "attention.attention.query", d, d);
    Value k = dense(a, "attention.attention.key", d, d);
    Value v = dense(a, "attention.attention.value", d, d);
    Value attn = L.attention(q, k, v, batch, tokens, c.numAttentionHeads,
                             /*causal=*/false);
    h = L.add(h, dense(attn, "attention.output.dense", d, d));
    Value m =
        L.layerNorm(h, ic.weight(p + "layernorm_after.weight", {d}),
                    ic.weight(p + "layernorm_after.bias", {d}), c.layerNormEps);
    Value up = dense(m, "intermediate.dense", inner, d);
    Value act = c.hiddenAct == "gelu" ? L.geluErf(up) : L.geluTanh(up);
    h = L.add(h, dense(act, "output.dense", d, inner));
  }
  Value f = L.layerNorm(h, ic.weight("vit.layernorm.weight", {d}),
                        ic.weight("vit.layernorm.bias", {d}), c.layerNormEps);
  // Classifier on the CLS token (row 0 of each image).
  Value f3 = L.reshape(f, {batch, tokens, d});
  Value clsOut = tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get({batch, d}, f32), f3, ValueRange{},
      ValueRange{}, ValueRange{}, b.getDenseI64ArrayAttr({0, 0, 0}),
      b.getDenseI64ArrayAttr({batch, 1, d}), b.getDenseI64ArrayAttr({1, 1, 1}));
  Value logits =
      L.linear(clsOut, ic.weight("classifier.weight", {c.numLabels, d}),
               ic.weight("classifier.bias", {c.numLabels}));
  func::ReturnOp::create(b, loc, logits);
  if (ic.failed()) {
    error = ic.errorMessage();
    return false;
  }
  model.entry = "forward";
  model.seqLen = tokens;
  model.inputs = {{"pixel_values", "f32", {batch, ch, img, img}}};
  model.outputs = {{"logits", "f32", {batch, c.numLabels}}};
  return true;
}

} // namespace fly::models
