//===- PassFuzzer.cpp - libFuzzer target: generated IR through fly's passes
//===//
//
// The input bytes are not MLIR text: they drive a generator that writes a
// module of fly ops and of the dense linalg patterns the raise passes look
// for (linear layers, MLP pairs, decomposed softmax attention), with shapes,
// element types, attributes and weights taken from the bytes. Most generated
// modules are valid, some are deliberately off by one dimension or carry odd
// attributes. Then a pass pipeline picked from the bytes (fly's passes with
// their options, alone or chained, up to the CPU and GPU pipelines) runs on
// it. The target aborts, so libFuzzer reports a crash, when
//   - a pass or the parser fails without reporting an error,
//   - the IR after the passes does not verify, print or parse back,
//   - convert-fly-to-linalg leaves a fly op, or a CPU pipeline leaves
//     anything but the LLVM (and OpenMP) dialects,
// and ASan/UBSan catch memory and undefined-behaviour errors in the passes.
// Crashes and LLVM fatal errors end the process, which libFuzzer reports.
//
// Set FLY_FUZZ_VERBOSE=1 to print the generated module, the pipeline and the
// diagnostics of each input (useful with a single crash input).
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/Passes.h"
#include "fly/Dialect/Fly/IR/FlyDialect.h"
#include "fly/Pipelines/Pipelines.h"
#include "fly/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/raw_ostream.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

bool verbose() {
  static const bool v = std::getenv("FLY_FUZZ_VERBOSE") != nullptr;
  return v;
}

[[noreturn]] void fail(const std::string &what, const std::string &ir,
                       const std::string &pipeline) {
  std::fprintf(stderr,
               "fly-pass-fuzzer: %s\npipeline: %s\n--- module ---\n%s\n",
               what.c_str(), pipeline.c_str(), ir.c_str());
  std::abort();
}

std::string join(const std::vector<int64_t> &dims, const char *sep = "x") {
  std::string s;
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? sep : "") + std::to_string(dims[i]);
  return s;
}

/// Writes one func.func from the fuzzer's bytes. Every snippet reads fresh
/// function arguments or constants and adds its result to the return list.
class ModuleWriter {
public:
  explicit ModuleWriter(FuzzedDataProvider &fdp)
      : fdp(fdp), rng(fdp.ConsumeIntegral<uint32_t>()) {}

  std::string write() {
    elt = pick<std::string>({"f32", "f32", "f32", "f16", "bf16"});
    int snippets = fdp.ConsumeIntegralInRange(1, 3);
    for (int i = 0; i < snippets && fdp.remaining_bytes(); ++i) {
      switch (fdp.ConsumeIntegralInRange(0, 12)) {
      case 0:
        linear();
        break;
      case 1:
        mlp();
        break;
      case 2:
        monarch();
        break;
      case 3:
        lowrank();
        break;
      case 4:
        blocksparse();
        break;
      case 5:
        butterfly();
        break;
      case 6:
        sketch();
        break;
      case 7:
        attention();
        break;
      case 8:
        approximateAttention();
        break;
      case 9:
        denseLinear();
        break;
      case 10:
        denseAttention();
        break;
      case 11:
        denseMlp();
        break;
      default:
        linear();
        break;
      }
    }
    if (results.empty())
      linear();
    std::string s = "func.func @main(";
    for (size_t i = 0; i < args.size(); ++i)
      s += (i ? ", " : "") + args[i];
    s += ") -> (";
    for (size_t i = 0; i < results.size(); ++i)
      s += (i ? ", " : "") + results[i].second;
    s += ") {\n" + body + "  return ";
    for (size_t i = 0; i < results.size(); ++i)
      s += (i ? ", " : "") + results[i].first;
    s += " : ";
    for (size_t i = 0; i < results.size(); ++i)
      s += (i ? ", " : "") + results[i].second;
    s += "\n}\n";
    return s;
  }

private:
  template <typename T> T pick(std::initializer_list<T> options) {
    std::vector<T> v(options);
    return v[fdp.ConsumeIntegralInRange<size_t>(0, v.size() - 1)];
  }
  /// A small dimension: mostly powers of two, sometimes anything up to 48.
  int64_t dim() {
    if (fdp.ConsumeBool())
      return int64_t(1) << fdp.ConsumeIntegralInRange(0, 6);
    return fdp.ConsumeIntegralInRange<int64_t>(1, 48);
  }
  /// Usually `v`; rarely off by one, to reach the verifiers' errors.
  int64_t maybeWrong(int64_t v) {
    return fdp.ConsumeIntegralInRange(0, 15) == 0 ? v + 1 : v;
  }
  std::string fresh() { return "%v" + std::to_string(counter++); }
  std::string tensor(const std::vector<int64_t> &dims) {
    return dims.empty() ? "tensor<" + elt + ">"
                        : "tensor<" + join(dims) + "x" + elt + ">";
  }
  std::string arg(const std::vector<int64_t> &dims) {
    std::string name = "%a" + std::to_string(args.size());
    args.push_back(name + ": " + tensor(dims));
    return name;
  }
  void result(const std::string &name, const std::vector<int64_t> &dims) {
    results.push_back({name, tensor(dims)});
  }
  void line(const std::string &s) { body += "  " + s + "\n"; }

  /// A weight: a function argument, a splat or a constant with values
  /// k/16 from a PRNG seeded by the input (small, exact in every type).
  std::string weight(const std::vector<int64_t> &dims, bool constantOnly) {
    int64_t numel = 1;
    for (int64_t d : dims)
      numel *= d;
    int how = fdp.ConsumeIntegralInRange(0, constantOnly ? 2 : 3);
    if (how == 3)
      return arg(dims);
    std::string v = fresh();
    if (how == 0 || numel > 4096) {
      line(v + " = arith.constant dense<" +
           std::to_string(fdp.ConsumeIntegralInRange(-16, 16) / 16.0) +
           "> : " + tensor(dims));
      return v;
    }
    std::string s = v + " = arith.constant dense<[";
    std::uniform_int_distribution<int> value(-16, 16);
    for (int64_t i = 0; i < numel; ++i)
      s += (i ? ", " : "") + std::to_string(value(rng) / 16.0);
    // A flat literal needs a rank-1 type; reshape it when the weight is not.
    if (dims.size() == 1) {
      line(s + "]> : " + tensor(dims));
      return v;
    }
    line(s + "]> : " + tensor({numel}));
    std::string r = fresh();
    line(r + " = tensor.expand_shape " + v + " [[" +
         [&] {
           std::string idx;
           for (size_t i = 0; i < dims.size(); ++i)
             idx += (i ? ", " : "") + std::to_string(i);
           return idx;
         }() +
         "]] output_shape [" + join(dims, ", ") + "] : " + tensor({numel}) +
         " into " + tensor(dims));
    return r;
  }
  std::vector<int64_t> batchDims() {
    std::vector<int64_t> b;
    for (int i = fdp.ConsumeIntegralInRange(0, 2); i > 0; --i)
      b.push_back(fdp.ConsumeIntegralInRange<int64_t>(1, 6));
    if (b.empty())
      b.push_back(fdp.ConsumeIntegralInRange<int64_t>(1, 8));
    return b;
  }
  std::vector<int64_t> with(std::vector<int64_t> dims, int64_t last) {
    dims.push_back(last);
    return dims;
  }
  std::string mlpAttrs(int id, bool up) {
    if (!fdp.ConsumeBool())
      return "";
    std::string a = " {";
    if (up)
      a += "fly.activation = \"" +
           pick<std::string>({"gelu_tanh", "gelu", "relu", "swish"}) + "\", ";
    a += "fly.mlp = \"" +
         pick<std::string>({up ? "up" : "down", "up", "side"}) +
         "\", fly.mlp_id = " + std::to_string(id) + " : i64}";
    return a;
  }

  /// fly.linear %x, %w (, %b) with optional MLP role attributes.
  std::string linearOp(const std::string &x, const std::vector<int64_t> &xs,
                       int64_t m, const std::string &attrs) {
    int64_t k = xs.back();
    std::string w = weight({maybeWrong(m), k}, false);
    bool bias = fdp.ConsumeBool();
    std::string b = bias ? weight({m}, false) : "";
    std::vector<int64_t> ys = xs;
    ys.back() = m;
    std::string y = fresh();
    line(y + " = fly.linear " + x + ", " + w + (bias ? ", " + b : "") + attrs +
         " : (" + tensor(xs) + ", " + tensor({m, k}) +
         (bias ? ", " + tensor({m}) : "") + ") -> " + tensor(ys));
    return y;
  }
  void linear() {
    std::vector<int64_t> xs = with(batchDims(), dim());
    int64_t m = dim();
    std::vector<int64_t> ys = xs;
    ys.back() = m;
    result(linearOp(arg(xs), xs, m, ""), ys);
  }
  void mlp() {
    std::vector<int64_t> xs =
        with(batchDims(), 4 * fdp.ConsumeIntegralInRange(1, 8));
    int64_t hidden = 4 * fdp.ConsumeIntegralInRange(1, 16);
    int id = fdp.ConsumeIntegralInRange(0, 2);
    std::string h = linearOp(arg(xs), xs, hidden, mlpAttrs(id, true));
    std::vector<int64_t> hs = xs;
    hs.back() = hidden;
    result(linearOp(h, hs, xs.back(), mlpAttrs(id, false)), xs);
  }
  void monarch() {
    int64_t k = pick<int64_t>({1, 2, 4, 4, 8}), p = dim() % 17 + 1,
            q = dim() % 17 + 1, s = dim() % 17 + 1;
    std::vector<int64_t> xs = with(batchDims(), maybeWrong(k * p));
    std::string w1 = weight({k, q, p}, false), w2 = weight({k, s, q}, false);
    std::vector<int64_t> ys = xs;
    ys.back() = k * s;
    std::string y = fresh();
    line(y + " = fly.monarch_matmul " + arg(xs) + ", " + w1 + ", " + w2 +
         " : (" + tensor(xs) + ", " + tensor({k, q, p}) + ", " +
         tensor({k, s, q}) + ") -> " + tensor(ys));
    result(y, ys);
  }
  void lowrank() {
    int64_t n = dim(), r = dim() % 9 + 1, m = dim();
    std::vector<int64_t> xs = with(batchDims(), n);
    std::string u = weight({r, maybeWrong(n)}, false),
                v = weight({m, r}, false);
    std::vector<int64_t> ys = xs;
    ys.back() = m;
    std::string y = fresh();
    line(y + " = fly.lowrank_matmul " + arg(xs) + ", " + u + ", " + v + " : (" +
         tensor(xs) + ", " + tensor({r, n}) + ", " + tensor({m, r}) + ") -> " +
         tensor(ys));
    result(y, ys);
  }
  void blocksparse() {
    int64_t b = pick<int64_t>({1, 2, 4, 8, 16}),
            in = fdp.ConsumeIntegralInRange(1, 4),
            out = fdp.ConsumeIntegralInRange(1, 4);
    int64_t nnz = fdp.ConsumeIntegralInRange<int64_t>(1, in * out);
    std::vector<int64_t> rows, cols;
    for (int64_t e = 0; e < nnz; ++e) { // distinct coordinates, row-major
      rows.push_back(e / in);
      cols.push_back(e % in);
    }
    if (fdp.ConsumeIntegralInRange(0, 15) == 0)
      cols.back() = in; // out of range: the verifier must say so
    std::vector<int64_t> xs = with(batchDims(), in * b);
    std::string w = weight({nnz, b, b}, false);
    std::vector<int64_t> ys = xs;
    ys.back() = out * b;
    std::string y = fresh();
    line(y + " = fly.blocksparse_matmul " + arg(xs) + ", " + w + " rows = [" +
         join(rows, ", ") + "] cols = [" + join(cols, ", ") + "] : (" +
         tensor(xs) + ", " + tensor({nnz, b, b}) + ") -> " + tensor(ys));
    result(y, ys);
  }
  void butterfly() {
    int64_t log = fdp.ConsumeIntegralInRange(1, 6), n = int64_t(1) << log;
    std::vector<int64_t> xs = with(batchDims(), n),
                         ts = {maybeWrong(log), n / 2, 2, 2};
    std::string t = weight(ts, false), y = fresh();
    line(y + " = fly.butterfly_matmul " + arg(xs) + ", " + t + " : (" +
         tensor(xs) + ", " + tensor(ts) + ") -> " + tensor(xs));
    result(y, xs);
  }
  void sketch() {
    int64_t r = pick<int64_t>({1, 2, 4}), bk = pick<int64_t>({1, 2, 4, 8}),
            bn = pick<int64_t>({1, 2, 4, 8, 16}),
            vec = pick<int64_t>({1, 2, 4, 8});
    int64_t k = r * bk * fdp.ConsumeIntegralInRange(1, 4),
            n = bn * fdp.ConsumeIntegralInRange(1, 4);
    std::vector<int64_t> xs = with(batchDims(), maybeWrong(k)), ws = {k / r, n};
    std::string w = weight(ws, false), y = fresh();
    std::vector<int64_t> ys = xs;
    ys.back() = n;
    line(y + " = fly.sketch_matmul " + arg(xs) + ", " + w + " {reduction = " +
         std::to_string(r) + " : i64, block_k = " + std::to_string(bk) +
         " : i64, block_n = " + std::to_string(bn) + " : i64, vec = " +
         std::to_string(vec) + " : i64, seeds = array<i64: " +
         std::to_string(fdp.ConsumeIntegralInRange(0, 9)) + ", 2, 3, " +
         std::to_string(fdp.ConsumeIntegralInRange(0, 9)) + ">} : (" +
         tensor(xs) + ", " + tensor(ws) + ") -> " + tensor(ys));
    result(y, ys);
  }
  std::vector<int64_t> qkvShape(int64_t t) {
    return {fdp.ConsumeIntegralInRange<int64_t>(1, 2),
            fdp.ConsumeIntegralInRange<int64_t>(1, 3), t,
            pick<int64_t>({2, 4, 8, 16, 64})};
  }
  void attention() {
    int64_t t = dim(), s = fdp.ConsumeBool() ? t : dim();
    std::vector<int64_t> qs = qkvShape(t), ks = qs, vs = qs;
    ks[2] = vs[2] = s;
    vs[3] = fdp.ConsumeBool() ? qs[3] : dim();
    std::string q = arg(qs), k = arg(ks), v = arg(vs);
    bool mask = fdp.ConsumeIntegralInRange(0, 3) == 0;
    bool causal = !mask && fdp.ConsumeBool();
    std::string m = mask ? weight({t, s}, false) : "";
    std::vector<int64_t> ys = qs;
    ys[3] = vs[3];
    std::string y = fresh();
    line(y + " = fly.attention " + q + ", " + k + ", " + v +
         (mask ? " mask(" + m + ")" : "") + (causal ? " causal" : "") +
         (fdp.ConsumeBool() ? " scale = 0.25" : "") + " : (" + tensor(qs) +
         ", " + tensor(ks) + ", " + tensor(vs) +
         (mask ? ", " + tensor({t, s}) : "") + ") -> " + tensor(ys));
    result(y, ys);
  }
  void approximateAttention() {
    std::vector<int64_t> qs = qkvShape(dim());
    std::string q = arg(qs), k = arg(qs), v = arg(qs), y = fresh();
    std::string causal = fdp.ConsumeBool() ? " causal" : "";
    std::string window = std::to_string(fdp.ConsumeIntegralInRange(1, 40));
    int64_t features = dim();
    switch (fdp.ConsumeIntegralInRange(0, 2)) {
    case 0:
      line(y + " = fly.local_attention " + q + ", " + k + ", " + v +
           " window = " + window + causal + " : (" + tensor(qs) + ", " +
           tensor(qs) + ", " + tensor(qs) + ") -> " + tensor(qs));
      break;
    case 1: {
      std::string p = weight({features, qs[3]}, false);
      line(y + " = fly.performer_attention " + q + ", " + k + ", " + v + ", " +
           p + causal + " : (" + tensor(qs) + ", " + tensor(qs) + ", " +
           tensor(qs) + ", " + tensor({features, qs[3]}) + ") -> " +
           tensor(qs));
      break;
    }
    default: {
      std::string p = weight({features, qs[3]}, false);
      line(y + " = fly.scatterbrain_attention " + q + ", " + k + ", " + v +
           ", " + p + " window = " + window + causal + " : (" + tensor(qs) +
           ", " + tensor(qs) + ", " + tensor(qs) + ", " +
           tensor({features, qs[3]}) + ") -> " + tensor(qs));
      break;
    }
    }
    result(y, qs);
  }

  /// linalg.matmul x[r, k] * W (+ bias), W stored [k, m] (Conv1D) or [m, k]
  /// behind a transpose (nn.Linear); f32 only, as imported models are.
  std::string denseLinearOn(const std::string &x, int64_t r, int64_t k,
                            int64_t m) {
    bool conv1d = fdp.ConsumeBool();
    std::string w =
        weight(conv1d ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k},
               fdp.ConsumeIntegralInRange(0, 3) != 0);
    if (!conv1d) {
      std::string e = fresh(), t = fresh();
      line(e + " = tensor.empty() : " + tensor({k, m}));
      line(t + " = linalg.transpose ins(" + w + " : " + tensor({m, k}) +
           ") outs(" + e + " : " + tensor({k, m}) + ") permutation = [1, 0]");
      w = t;
    }
    std::string zero = fresh(), e = fresh(), z = fresh(), y = fresh();
    line(zero + " = arith.constant 0.0 : " + elt);
    line(e + " = tensor.empty() : " + tensor({r, m}));
    line(z + " = linalg.fill ins(" + zero + " : " + elt + ") outs(" + e +
         " : " + tensor({r, m}) + ") -> " + tensor({r, m}));
    line(y + " = linalg.matmul ins(" + x + ", " + w + " : " + tensor({r, k}) +
         ", " + tensor({k, m}) + ") outs(" + z + " : " + tensor({r, m}) +
         ") -> " + tensor({r, m}));
    if (!fdp.ConsumeBool())
      return y;
    std::string b = weight({m}, fdp.ConsumeBool()), e2 = fresh(), out = fresh();
    line(e2 + " = tensor.empty() : " + tensor({r, m}));
    line(
        out +
        " = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> "
        "(d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) "
        "-> (d0, d1)>], iterator_types = [\"parallel\", \"parallel\"]} "
        "ins(" +
        y + ", " + b + " : " + tensor({r, m}) + ", " + tensor({m}) + ") outs(" +
        e2 + " : " + tensor({r, m}) + ") {\n  ^bb0(%i0: " + elt +
        ", %i1: " + elt + ", %o: " + elt + "):\n    %s = arith." +
        pick<std::string>({"addf %i0, %i1", "addf %i1, %i0", "mulf %i0, %i1"}) +
        " : " + elt + "\n    linalg.yield %s : " + elt + "\n  } -> " +
        tensor({r, m}));
    return out;
  }
  void denseLinear() {
    int64_t r = dim(), k = dim(), m = dim();
    result(denseLinearOn(arg({r, k}), r, k, m), {r, m});
  }
  void denseMlp() {
    int64_t r = dim(), d = 4 * fdp.ConsumeIntegralInRange(1, 8),
            h = 4 * fdp.ConsumeIntegralInRange(1, 16);
    std::string up = denseLinearOn(arg({r, d}), r, d, h);
    std::string e = fresh(), g = fresh();
    line(e + " = tensor.empty() : " + tensor({r, h}));
    line(g +
         " = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, "
         "d1)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = "
         "[\"parallel\", \"parallel\"]} ins(" +
         up + " : " + tensor({r, h}) + ") outs(" + e + " : " + tensor({r, h}) +
         ") {\n  ^bb0(%i0: " + elt + ", %o: " + elt +
         "):\n    %s = math.tanh %i0 : " + elt +
         "\n    linalg.yield %s : " + elt + "\n  } -> " + tensor({r, h}));
    result(denseLinearOn(g, r, h, d), {r, d});
  }

  /// softmax(scale * q k^T [+ causal mask]) v over [BH, T, D], decomposed as
  /// a GPT-2 import writes it, with variations the raise pass must accept
  /// or reject with a reason.
  void denseAttention() {
    int64_t bh = fdp.ConsumeIntegralInRange<int64_t>(1, 4), t = dim(),
            s = fdp.ConsumeIntegralInRange(0, 3) ? t : dim(),
            d = pick<int64_t>({4, 8, 16, 64});
    std::string q = arg({bh, t, d}), k = arg({bh, s, d}), v = arg({bh, s, d});
    auto T3 = [&](int64_t a, int64_t b, int64_t c) {
      return tensor({a, b, c});
    };
    std::string id3 = "affine_map<(d0, d1, d2) -> (d0, d1, d2)>",
                row = "affine_map<(d0, d1, d2) -> (d0, d1)>";
    std::string par3 = "[\"parallel\", \"parallel\", \"parallel\"]",
                red3 = "[\"parallel\", \"parallel\", \"reduction\"]";
    std::string zero = fresh(), ekt = fresh(), kt = fresh(), e0 = fresh(),
                z0 = fresh(), s0 = fresh();
    line(zero + " = arith.constant 0.0 : " + elt);
    line(ekt + " = tensor.empty() : " + T3(bh, d, s));
    line(kt + " = linalg.transpose ins(" + k + " : " + T3(bh, s, d) +
         ") outs(" + ekt + " : " + T3(bh, d, s) + ") permutation = [0, 2, 1]");
    line(e0 + " = tensor.empty() : " + T3(bh, t, s));
    line(z0 + " = linalg.fill ins(" + zero + " : " + elt + ") outs(" + e0 +
         " : " + T3(bh, t, s) + ") -> " + T3(bh, t, s));
    line(s0 + " = linalg.batch_matmul ins(" + q + ", " + kt + " : " +
         T3(bh, t, d) + ", " + T3(bh, d, s) + ") outs(" + z0 + " : " +
         T3(bh, t, s) + ") -> " + T3(bh, t, s));
    // Scale and mask in one elementwise body.
    std::string scaled = fresh(), e1 = fresh();
    std::string scaleOp =
        pick<std::string>({"arith.divf %in, %c", "arith.mulf %in, %c",
                           "arith.mulf %c, %in", "arith.addf %in, %c"});
    std::string maskCmp = pick<std::string>(
        {"ule %j, %i", "ult %j, %i", "uge %j, %i", "ule %i, %j"});
    bool masked = fdp.ConsumeBool();
    line(e1 + " = tensor.empty() : " + T3(bh, t, s));
    std::string bodyText = "  ^bb0(%in: " + elt + ", %out: " + elt +
                           "):\n    %c = arith.constant " +
                           pick<std::string>({"4.0", "8.0", "0.125", "-1.0"}) +
                           " : " + elt + "\n    %x = " + scaleOp + " : " + elt +
                           "\n";
    if (masked)
      bodyText += "    %i = linalg.index 1 : index\n    %j = linalg.index 2 : "
                  "index\n    %keep = arith.cmpi " +
                  maskCmp + " : index\n    %min = arith.constant " +
                  pick<std::string>({"-3.40282347E+38", "-1.0E+4", "0.0"}) +
                  " : " + elt +
                  "\n    %r = arith.select %keep, %x, %min : " + elt +
                  "\n    linalg.yield %r : " + elt + "\n";
    else
      bodyText += "    linalg.yield %x : " + elt + "\n";
    line(scaled + " = linalg.generic {indexing_maps = [" + id3 + ", " + id3 +
         "], iterator_types = " + par3 + "} ins(" + s0 + " : " + T3(bh, t, s) +
         ") outs(" + e1 + " : " + T3(bh, t, s) + ") {\n" + bodyText +
         "  } -> " + T3(bh, t, s));
    // max, exp(x - max), sum, normalise.
    std::string ninf = fresh(), er = fresh(), mi = fresh(), mx = fresh(),
                es = fresh(), ex = fresh(), si = fresh(), sum = fresh(),
                p = fresh(), e2 = fresh(), z2 = fresh(), o = fresh();
    line(ninf + " = arith.constant 0xFF800000 : f32");
    std::string rowT = tensor({bh, t});
    line(er + " = tensor.empty() : " + rowT);
    if (elt != "f32") // keep the -inf constant typed like the data
      line(mi + " = linalg.fill ins(" + zero + " : " + elt + ") outs(" + er +
           " : " + rowT + ") -> " + rowT);
    else
      line(mi + " = linalg.fill ins(" + ninf + " : f32) outs(" + er + " : " +
           rowT + ") -> " + rowT);
    line(mx + " = linalg.generic {indexing_maps = [" + id3 + ", " + row +
         "], iterator_types = " + red3 + "} ins(" + scaled + " : " +
         T3(bh, t, s) + ") outs(" + mi + " : " + rowT +
         ") {\n  ^bb0(%in: " + elt + ", %out: " + elt + "):\n    %m = arith." +
         pick<std::string>({"maximumf", "maxnumf", "minimumf"}) +
         " %in, %out : " + elt + "\n    linalg.yield %m : " + elt +
         "\n  } -> " + rowT);
    line(es + " = tensor.empty() : " + T3(bh, t, s));
    line(ex + " = linalg.generic {indexing_maps = [" + id3 + ", " + row + ", " +
         id3 + "], iterator_types = " + par3 + "} ins(" + scaled + ", " + mx +
         " : " + T3(bh, t, s) + ", " + rowT + ") outs(" + es + " : " +
         T3(bh, t, s) + ") {\n  ^bb0(%a: " + elt + ", %m: " + elt + ", %out: " +
         elt + "):\n    %0 = arith.subf %a, %m : " + elt + "\n    %1 = math." +
         pick<std::string>({"exp", "exp", "exp2"}) + " %0 : " + elt +
         "\n    linalg.yield %1 : " + elt + "\n  } -> " + T3(bh, t, s));
    line(si + " = linalg.fill ins(" + zero + " : " + elt + ") outs(" + er +
         " : " + rowT + ") -> " + rowT);
    line(sum + " = linalg.generic {indexing_maps = [" + id3 + ", " + row +
         "], iterator_types = " + red3 + "} ins(" + ex + " : " + T3(bh, t, s) +
         ") outs(" + si + " : " + rowT + ") {\n  ^bb0(%in: " + elt +
         ", %out: " + elt + "):\n    %0 = arith.addf %in, %out : " + elt +
         "\n    linalg.yield %0 : " + elt + "\n  } -> " + rowT);
    line(p + " = linalg.generic {indexing_maps = [" + id3 + ", " + row + ", " +
         id3 + "], iterator_types = " + par3 + "} ins(" + ex + ", " + sum +
         " : " + T3(bh, t, s) + ", " + rowT + ") outs(" + es + " : " +
         T3(bh, t, s) + ") {\n  ^bb0(%a: " + elt + ", %b: " + elt +
         ", %out: " + elt + "):\n    %0 = arith." +
         pick<std::string>({"divf %a, %b", "divf %a, %b", "mulf %a, %b"}) +
         " : " + elt + "\n    linalg.yield %0 : " + elt + "\n  } -> " +
         T3(bh, t, s));
    line(e2 + " = tensor.empty() : " + T3(bh, t, d));
    line(z2 + " = linalg.fill ins(" + zero + " : " + elt + ") outs(" + e2 +
         " : " + T3(bh, t, d) + ") -> " + T3(bh, t, d));
    line(o + " = linalg.batch_matmul ins(" + p + ", " + v + " : " +
         T3(bh, t, s) + ", " + T3(bh, s, d) + ") outs(" + z2 + " : " +
         T3(bh, t, d) + ") -> " + T3(bh, t, d));
    result(o, {bh, t, d});
  }

  FuzzedDataProvider &fdp;
  std::mt19937 rng;
  std::string elt = "f32";
  std::string body;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> results;
  int counter = 0;
};

/// What the pipeline guarantees about its output, checked after success.
enum class Expect { Anything, NoFlyOps, OnlyLLVM };

struct Pipeline {
  std::string text;
  Expect expect = Expect::Anything;
};

Pipeline pickPipeline(FuzzedDataProvider &fdp) {
  auto choose = [&](std::initializer_list<const char *> o) {
    std::vector<const char *> v(o);
    return std::string(v[fdp.ConsumeIntegralInRange<size_t>(0, v.size() - 1)]);
  };
  auto num = [&](int lo, int hi) {
    return std::to_string(fdp.ConsumeIntegralInRange(lo, hi));
  };
  // A full pipeline (CPU, reference CPU, GPU) ends the list: what runs
  // after it would see LLVM dialect only.
  bool terminal = false;
  auto stage = [&]() -> std::pair<std::string, Expect> {
    switch (fdp.ConsumeIntegralInRange(0, 14)) {
    case 0:
      return {"fly-raise-linear{remarks require-constant-weight=" +
                  choose({"true", "false"}) + "}",
              Expect::Anything};
    case 1:
      return {"fly-raise-attention{remarks}", Expect::Anything};
    case 2:
      return {"fly-structure-linear{kind=" +
                  choose({"monarch", "lowrank", "pixelfly", "butterfly",
                          "sketch", "tensor-train"}) +
                  " init=" + choose({"project", "random"}) +
                  " scope=" + choose({"mlp", "attn", "all"}) +
                  " nblocks=" + num(0, 9) + " rank=" + num(0, 9) +
                  " block-size=" + num(0, 17) + " reduction=" + num(0, 5) +
                  " seed=" + num(0, 3) + " remarks}",
              Expect::Anything};
    case 3:
      return {"fly-approximate-attention{kind=" +
                  choose({"local", "performer", "scatterbrain", "linformer"}) +
                  " window=" + num(-1, 40) + " features=" + num(-1, 70) +
                  " seed=" + num(0, 3) + " remarks}",
              Expect::Anything};
    case 4:
      return {"convert-fly-to-linalg", Expect::NoFlyOps};
    case 5:
      return {"convert-fly-to-linalg{keep-kernel-ops}", Expect::Anything};
    case 6:
      return {"fly-fold-weight-transposes", Expect::Anything};
    case 7:
      return {"fly-convert-float-storage{type=" +
                  choose({"f16", "bf16", "f64"}) + "}",
              Expect::Anything};
    case 8:
      return {"convert-fly-to-linalg,fly-cpu-tile-and-vectorize",
              Expect::NoFlyOps};
    case 9:
      terminal = true;
      return {"fly-reference-cpu-pipeline", Expect::OnlyLLVM};
    case 10:
      terminal = true;
      return {"fly-cpu-pipeline{num-threads=" + num(0, 3) + "}",
              Expect::OnlyLLVM};
    case 11:
      return {"fly-gpu-fold-layernorm,fly-gpu-weight-gemms,fly-gpu-attention-"
              "kernels,fly-gpu-monarch-kernels,fly-gpu-layernorm-kernels,fly-"
              "gpu-producer-row-statistics",
              Expect::Anything};
    case 12:
      return {"fly-raise-linear,fly-raise-attention,convert-fly-to-linalg{"
              "keep-kernel-ops},fly-fold-weight-transposes,canonicalize,fly-"
              "convert-float-storage{type=f16},fly-gpu-fold-layernorm,fly-gpu-"
              "weight-gemms,fly-gpu-attention-kernels,fly-gpu-monarch-kernels,"
              "fly-gpu-layernorm-kernels,fly-gpu-producer-row-statistics",
              Expect::Anything};
    case 13:
      // The whole GPU pipeline up to PTX text (no ptxas run in the fuzzer).
      terminal = true;
      return {"fly-gpu-pipeline{format=isa storage=" +
                  choose({"f32", "f16", "bf16"}) +
                  " gemm-kernels=" + choose({"true", "false"}) +
                  " producer-row-statistics=" + choose({"true", "false"}) + "}",
              Expect::Anything};
    default:
      return {"canonicalize,cse", Expect::Anything};
    }
  };
  Pipeline p;
  int stages = fdp.ConsumeIntegralInRange(1, 3);
  for (int i = 0; i < stages && !terminal; ++i) {
    auto [text, expect] = stage();
    p.text += (i ? "," : "") + text;
    if (expect != Expect::Anything)
      p.expect = expect;
    else if (llvm::StringRef(text).starts_with("fly-raise-"))
      p.expect = Expect::Anything; // raising turns linalg back into fly ops
    // The other Anything stages create no fly op from IR without one.
  }
  return p;
}

mlir::DialectRegistry &registry() {
  static mlir::DialectRegistry *r = [] {
    mlir::registerAllPasses();
    mlir::fly::registerFlyConversionPasses();
    mlir::fly::registerFlyPipelines();
    mlir::fly::registerFlyTransformsPasses();
    auto *reg = new mlir::DialectRegistry();
    mlir::registerAllDialects(*reg);
    mlir::registerAllExtensions(*reg);
    mlir::registerAllGPUToLLVMIRTranslations(*reg);
    reg->insert<mlir::fly::FlyDialect>();
    return reg;
  }();
  return *r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider fdp(data, size);
  Pipeline pipeline = pickPipeline(fdp);
  std::string source = ModuleWriter(fdp).write();

  mlir::MLIRContext context(registry(), mlir::MLIRContext::Threading::DISABLED);
  bool sawError = false;
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      sawError = true;
    if (verbose())
      diagnostics += d.str() + "\n";
    return mlir::success();
  });
  if (verbose())
    std::fprintf(stderr, "pipeline: %s\n%s", pipeline.text.c_str(),
                 source.c_str());

  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(source, &context);
  if (!module) {
    if (!sawError)
      fail("the parser failed without an error", source, pipeline.text);
    if (verbose())
      std::fprintf(stderr, "rejected by the parser/verifier:\n%s",
                   diagnostics.c_str());
    return 0;
  }

  mlir::PassManager pm(&context);
  if (mlir::failed(mlir::parsePassPipeline(pipeline.text, pm)))
    fail("the fuzzer's own pipeline does not parse", source, pipeline.text);
  sawError = false;
  if (mlir::failed(pm.run(*module))) {
    if (!sawError)
      fail("a pass failed without reporting an error", source, pipeline.text);
    if (verbose())
      std::fprintf(stderr, "pipeline failed:\n%s", diagnostics.c_str());
    return 0;
  }
  if (mlir::failed(mlir::verify(*module)))
    fail("the module does not verify after the passes", source, pipeline.text);
  (*module)->walk([&](mlir::Operation *op) {
    llvm::StringRef ns = op->getDialect() ? op->getDialect()->getNamespace()
                                          : llvm::StringRef("?");
    if (pipeline.expect == Expect::NoFlyOps && ns == "fly")
      fail("a fly op survived convert-fly-to-linalg: " +
               op->getName().getStringRef().str(),
           source, pipeline.text);
    // OpenMP ops (the CPU pipeline's parallel loops) translate to LLVM IR
    // like the LLVM dialect does.
    if (pipeline.expect == Expect::OnlyLLVM && ns != "llvm" && ns != "omp" &&
        !mlir::isa<mlir::ModuleOp>(op))
      fail("a CPU pipeline left a non-LLVM op: " +
               op->getName().getStringRef().str(),
           source, pipeline.text);
  });
  // The result must print and parse back.
  std::string printed;
  llvm::raw_string_ostream os(printed);
  module->print(os);
  sawError = false;
  mlir::OwningOpRef<mlir::ModuleOp> reparsed =
      mlir::parseSourceString<mlir::ModuleOp>(printed, &context);
  if (!reparsed)
    fail("the printed result does not parse back:\n" + diagnostics + printed,
         source, pipeline.text);
  if (verbose())
    std::fprintf(stderr, "ok\n%s", diagnostics.c_str());
  return 0;
}
