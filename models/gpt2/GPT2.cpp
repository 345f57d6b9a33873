//===- GPT2.cpp - HF GPT2LMHeadModel as upstream MLIR -----------*- C++ -*-===//
//
// input_ids [B, T] (i64) -> logits [B, T, vocab], as HF's eager path computes
// it: token + learned position embeddings; per block pre-LN causal attention
// (Conv1D c_attn with W stored [in, out], split q/k/v, scores / sqrt(Dh),
// finfo.min mask, softmax) and a pre-LN MLP with tanh GELU; final LN; the LM
// head tied to the token embedding.
//
//===----------------------------------------------------------------------===//

#include "fly/Models/ImportContext.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace ::fly::models;

namespace fly::models {

bool buildGPT2(ModuleOp module, const GPT2Config &c, WeightSource &weights,
               const ImportOptions &opts, ImportedModel &model,
               std::string &error) {
  int64_t batch = opts.batch;
  int64_t seq = opts.seq ? opts.seq : std::min<int64_t>(128, c.nPositions);
  if (batch < 1 || seq < 1) {
    error = "batch and sequence length must be >= 1";
    return false;
  }
  if (seq > c.nPositions) {
    error = "sequence length " + std::to_string(seq) +
            " exceeds the model's n_positions (" +
            std::to_string(c.nPositions) + ")";
    return false;
  }
  if (opts.part != "full" && opts.part != "body" && opts.part != "mlp") {
    error = "unknown model part '" + opts.part + "' (full, body or mlp)";
    return false;
  }
  int64_t d = c.nEmbd, rows = batch * seq, vocab = c.vocabSize;
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  bool full = opts.part == "full";
  auto idsType = RankedTensorType::get({batch, seq}, b.getI64Type());
  auto hiddenType = RankedTensorType::get({batch, seq, d}, b.getF32Type());
  auto logitsType = RankedTensorType::get({batch, seq, vocab}, b.getF32Type());
  auto func = func::FuncOp::create(
      b, loc, "forward",
      full ? FunctionType::get(ctx, {idsType}, {logitsType})
           : FunctionType::get(ctx, {hiddenType}, {hiddenType}));
  Block *body = func.addEntryBlock();
  b.setInsertionPointToStart(body);
  ImportContext ic(b, loc, weights);
  LayerBuilder &L = ic.layers;
  model.entry = "forward";
  model.seqLen = seq;

  auto mlp = [&](const std::string &p, Value x) {
    Value fc = L.conv1d(x, ic.weight(p + "mlp.c_fc.weight", {d, c.nInner}),
                        ic.weight(p + "mlp.c_fc.bias", {c.nInner}));
    Value act = c.activation == "gelu" ? L.geluErf(fc) : L.geluTanh(fc);
    return L.conv1d(act, ic.weight(p + "mlp.c_proj.weight", {c.nInner, d}),
                    ic.weight(p + "mlp.c_proj.bias", {d}));
  };
  if (opts.part == "mlp") {
    Value x = L.reshape(body->getArgument(0), {rows, d});
    Value y = mlp("transformer.h.0.", x);
    func::ReturnOp::create(b, loc, L.reshape(y, {batch, seq, d}));
    if (ic.failed()) {
      error = ic.errorMessage();
      return false;
    }
    model.inputs = {{"hidden_states", "f32", {batch, seq, d}}};
    model.outputs = {{"mlp_out", "f32", {batch, seq, d}}};
    return true;
  }

  Value h;
  Value wte;
  if (full) {
    // Embeddings: wte gathered by token id, plus wpe rows 0..T-1.
    wte = ic.weight("transformer.wte.weight", {vocab, d});
    Value wpe = ic.weight("transformer.wpe.weight", {c.nPositions, d});
    Value ids = body->getArgument(0);
    Value tok = L.generic(
        "bt->btd", {ids}, L.empty({batch, seq, d}),
        [&](OpBuilder &nb, Location l, ValueRange a) -> Value {
          Value row =
              arith::IndexCastOp::create(nb, l, nb.getIndexType(), a[0]);
          Value col = L.loopIndex(nb, l, 2);
          return tensor::ExtractOp::create(nb, l, wte, ValueRange{row, col});
        });
    Value pos = tensor::ExtractSliceOp::create(
        b, loc, RankedTensorType::get({seq, d}, b.getF32Type()), wpe,
        ValueRange{}, ValueRange{}, ValueRange{},
        b.getDenseI64ArrayAttr({0, 0}), b.getDenseI64ArrayAttr({seq, d}),
        b.getDenseI64ArrayAttr({1, 1}));
    Value h3 = L.generic("btd,td->btd", {tok, pos}, L.empty({batch, seq, d}),
                         [](OpBuilder &nb, Location l, ValueRange a) -> Value {
                           return arith::AddFOp::create(nb, l, a[0], a[1]);
                         });
    h = L.reshape(h3, {rows, d});
  } else {
    h = L.reshape(body->getArgument(0), {rows, d});
  }

  for (int64_t i = 0; i < c.nLayer; ++i) {
    std::string p = "transformer.h." + std::to_string(i) + ".";
    Value a = L.layerNorm(h, ic.weight(p + "ln_1.weight", {d}),
                          ic.weight(p + "ln_1.bias", {d}), c.layerNormEpsilon);
    Value qkv = L.conv1d(a, ic.weight(p + "attn.c_attn.weight", {d, 3 * d}),
                         ic.weight(p + "attn.c_attn.bias", {3 * d}));
    auto part = [&](int64_t k) -> Value {
      return tensor::ExtractSliceOp::create(
          b, loc, RankedTensorType::get({rows, d}, b.getF32Type()), qkv,
          ValueRange{}, ValueRange{}, ValueRange{},
          b.getDenseI64ArrayAttr({0, k * d}), b.getDenseI64ArrayAttr({rows, d}),
          b.getDenseI64ArrayAttr({1, 1}));
    };
    Value attn = L.attention(part(0), part(1), part(2), batch, seq, c.nHead,
                             /*causal=*/true);
    Value proj = L.conv1d(attn, ic.weight(p + "attn.c_proj.weight", {d, d}),
                          ic.weight(p + "attn.c_proj.bias", {d}));
    h = L.add(h, proj);
    Value m = L.layerNorm(h, ic.weight(p + "ln_2.weight", {d}),
                          ic.weight(p + "ln_2.bias", {d}), c.layerNormEpsilon);
    h = L.add(h, mlp(p, m));
  }
  Value f =
      L.layerNorm(h, ic.weight("transformer.ln_f.weight", {d}),
                  ic.weight("transformer.ln_f.bias", {d}), c.layerNormEpsilon);
  if (!full) {
    func::ReturnOp::create(b, loc, L.reshape(f, {batch, seq, d}));
    if (ic.failed()) {
      error = ic.errorMessage();
      return false;
    }
    model.inputs = {{"hidden_states", "f32", {batch, seq, d}}};
    model.outputs = {{"hidden_out", "f32", {batch, seq, d}}};
    return true;
  }
  // Tied LM head: logits = f * wte^T.
  Value logits = L.matmul(f, L.transpose(wte, {1, 0}));
  func::ReturnOp::create(b, loc, L.reshape(logits, {batch, seq, vocab}));
  if (ic.failed()) {
    error = ic.errorMessage();
    return false;
  }
  model.inputs = {{"input_ids", "i64", {batch, seq}}};
  model.outputs = {{"logits", "f32", {batch, seq, vocab}}};
  return true;
}

} // namespace fly::models
