//===- KernelText.h - MLIR text building for FlyToGPU kernels ---*- C++ -*-===//
//
// Internal to lowering/lib/FlyToGPU: the small text-building helpers the
// kernel generators (WgmmaGemm.cpp, MonarchKernel.cpp) share. Plain C++17,
// no MLIR headers.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_LIB_FLYTOGPU_KERNELTEXT_H
#define FLY_LIB_FLYTOGPU_KERNELTEXT_H

#include <cstdint>
#include <iomanip>
#include <limits>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fly::gpu::detail {

inline std::string fmtF32(double v) {
  std::ostringstream os;
  os << std::scientific << std::setprecision(9) << v;
  return os.str();
}

/// `v` printed with `precision` significant digits as a symbol-name
/// fragment: '.' becomes 'p', other non-alphanumerics '_' (1e-05 ->
/// 1e_05, 0.125 -> 0p125).
inline std::string symbolNumber(double v, int precision = 6) {
  std::ostringstream os;
  os << std::setprecision(precision) << v;
  std::string text = os.str();
  for (char &c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')))
      c = c == '.' ? 'p' : '_';
  return text;
}

/// The symbols every generator derives from a kernel's name: its
/// gpu.module, its launcher and its benchmark (repeated launches) function.
inline std::string moduleNameOf(const std::string &kernel) {
  return kernel + "_kernels";
}
inline std::string launcherNameOf(const std::string &kernel) {
  return kernel + "_launch";
}
inline std::string benchmarkNameOf(const std::string &kernel) {
  return kernel + "_repeat";
}

/// Writes the body of one function. SSA names are unique within it and
/// constants are collected and emitted at the function entry, so they
/// dominate every nested region that uses them.
class FuncWriter {
public:
  explicit FuncWriter(int indent) : baseIndent(indent), depth(indent + 1) {}

  std::string fresh(const std::string &hint) {
    return "%" + hint + "_" + std::to_string(counter++);
  }
  void line(const std::string &text) {
    body << std::string(2 * depth, ' ') << text << "\n";
  }
  /// Emits `%hint_N = rhs` and returns the new name.
  std::string def(const std::string &hint, const std::string &rhs) {
    std::string name = fresh(hint);
    line(name + " = " + rhs);
    return name;
  }
  void open(const std::string &text) {
    line(text + " {");
    ++depth;
  }
  void close() {
    --depth;
    line("}");
  }
  /// Ends the then-region of an open scf.if and opens its else-region.
  void elseRegion() {
    --depth;
    line("} else {");
    ++depth;
  }
  /// Closes a region with trailing text (`} : type`, `} {attrs}`).
  void closeWith(const std::string &text) {
    --depth;
    line("} " + text);
  }

  std::string index(int64_t v) {
    return constant("c" +
                        (v < 0 ? "m" + std::to_string(-v) : std::to_string(v)),
                    std::to_string(v) + " : index");
  }
  std::string i32(int64_t v) {
    return constant("c" + std::to_string(v) + "_i32",
                    std::to_string(v) + " : i32");
  }
  std::string i64(int64_t v) {
    return constant(
        "c" + (v < 0 ? "m" + std::to_string(-v) : std::to_string(v)) + "_i64",
        std::to_string(v) + " : i64");
  }
  std::string f32(double v) {
    return constant("cst_f32_" + std::to_string(constants.size()),
                    fmtF32(v) + " : f32");
  }
  std::string f32NegInf() { return constant("cst_ninf", "0xFF800000 : f32"); }
  /// The lowest finite f32 (-FLT_MAX).
  std::string f32Lowest() { return constant("cst_lowest", "0xFF7FFFFF : f32"); }
  std::string zeros(const std::string &vectorType) {
    return constant("cst_z" + std::to_string(constants.size()),
                    "dense<0.0> : " + vectorType);
  }
  std::string splatF32(double v, int64_t lanes) {
    std::string type = "vector<" + std::to_string(lanes) + "xf32>";
    return constant("cst_v" + std::to_string(constants.size()),
                    "dense<" + fmtF32(v) + "> : " + type);
  }

  /// Constants first, then the body.
  std::string finish() const {
    std::ostringstream os;
    std::string pad(2 * (baseIndent + 1), ' ');
    for (const auto &[name, value] : constants)
      os << pad << name << " = arith.constant " << value << "\n";
    os << body.str();
    return os.str();
  }

private:
  /// One constant per distinct value; `name` must be unique per value.
  std::string constant(const std::string &name, const std::string &value) {
    for (const auto &[existingName, existingValue] : constants)
      if (existingValue == value)
        return existingName;
    std::string ssa = "%" + name;
    constants.emplace_back(ssa, value);
    return ssa;
  }

  int baseIndent;
  int depth;
  int counter = 0;
  std::ostringstream body;
  std::vector<std::pair<std::string, std::string>> constants;
};

/// The warpgroup index of thread `tid` (an index), made provably uniform
/// for ptxas: it serializes every wgmma (C7520) unless it can tell that a
/// branch around them is warpgroup-uniform, so the role comes from a
/// shuffle of lane 0's value (as CUTLASS does), not from tid directly.
inline std::string uniformWarpgroup(FuncWriter &w, const std::string &tid,
                                    int64_t threadsPerWarpgroup) {
  std::string lane = w.def(
      "wg_i32", "arith.index_cast " +
                    w.def("g", "arith.divui " + tid + ", " +
                                   w.index(threadsPerWarpgroup) + " : index") +
                    " : index to i32");
  std::string uniform = w.fresh("wg_uniform");
  w.line(uniform + ", %" + uniform.substr(1) + "_valid = gpu.shuffle idx " +
         lane + ", " + w.i32(0) + ", " + w.i32(32) + " : i32");
  return w.def("wg", "arith.index_cast " + uniform + " : i32 to index");
}

/// Kernels of one producer warpgroup and two computing warpgroups hand
/// registers over with setmaxnreg: 40 per producer thread, 232 per
/// computing thread (128 x 40 + 256 x 232 <= 64K) instead of ptxas' 168
/// for every thread. ptxas ignores setmaxnreg (C7508) unless the kernel
/// states its count at entry (.maxnreg: 64K / threads, rounded down to
/// setmaxnreg's multiple of 8) and one CTA per SM (.minnctapersm):
/// registerHandOffAttributes gives both as gpu.func attributes.
inline constexpr int64_t kProducerRegisters = 40;
inline constexpr int64_t kConsumerRegisters = 232;
inline std::string registerHandOffAttributes(int64_t threads) {
  return ", nvvm.minctasm = 1 : i32, nvvm.maxnreg = " +
         std::to_string(65536 / threads / 8 * 8) + " : i32";
}

/// ", name: type" for each (name, type) of `args` (`sep` ": " in
/// signatures, " : " in gpu.launch_func argument lists).
inline std::string
joinArgs(const std::vector<std::pair<std::string, std::string>> &args,
         const std::string &sep) {
  std::string text;
  for (const auto &[name, type] : args)
    text += ", " + name + sep + type;
  return text;
}

/// The synchronous `gpu.launch_func`s of `launches`, in order (repeats ==
/// 0: a launcher), or `repeats` rounds of them as async launches chained on
/// one stream and one wait at the end (benchmark entry points: launch
/// latency overlaps the kernels).
inline void emitLaunches(FuncWriter &w,
                         const std::vector<std::string> &launches,
                         int64_t repeats) {
  if (repeats == 0) {
    for (const std::string &launch : launches)
      w.line("gpu.launch_func " + launch);
    return;
  }
  std::string token = w.def("token", "gpu.wait async");
  for (int64_t i = 0; i < repeats; ++i)
    for (const std::string &launch : launches)
      token = w.def("token", "gpu.launch_func async [" + token + "] " + launch);
  w.line("gpu.wait [" + token + "]");
}

inline void emitLaunches(FuncWriter &w, const std::string &launch,
                         int64_t repeats) {
  emitLaunches(w, std::vector<std::string>{launch}, repeats);
}

//===----------------------------------------------------------------------===//
// wgmma as inline asm
//
// MLIR 22's nvvm.wgmma.mma_async has no register-A form and nvgpu's
// accumulator is opaque; and when anything but a wgmma defines a register
// of an in-flight wgmma (a zero initialisation, a copy at a loop edge)
// ptxas serialises every wgmma of the function (C7515). A block of wgmmas
// written as one inline-asm statement that ends with `wait_group 0` avoids
// all three: the compiler sees its accumulator outputs defined only once
// the MMAs are complete. (FlashAttention.cpp, and the Monarch MLP's hidden
// kernel in MonarchKernel.cpp.)
//===----------------------------------------------------------------------===//

/// Ends a wgmma block: the MMAs complete before the asm statement does.
inline constexpr const char *kWgmmaCommitAndWait =
    "wgmma.commit_group.sync.aligned; wgmma.wait_group.sync.aligned 0; }";

/// The !llvm.struct of an accumulator of `values` f32 (the asm outputs).
inline std::string wgmmaResultStruct(int64_t values) {
  std::string fields;
  for (int64_t i = 0; i < values; ++i)
    fields += i ? ", f32" : "f32";
  return "!llvm.struct<(" + fields + ")>";
}

/// Constraints of the `values` f32 accumulator outputs ($0 .. $values-1).
inline std::string wgmmaAccumulatorOutputs(int64_t values) {
  std::string constraints;
  for (int64_t i = 0; i < values; ++i)
    constraints += i ? ",=f" : "=f";
  return constraints;
}

/// The accumulator operand of a wgmma in the block: {$0, ..., $values-1}.
inline std::string wgmmaAccumulatorList(int64_t values) {
  std::string list = "{";
  for (int64_t i = 0; i < values; ++i)
    list += (i ? ", $" : "$") + std::to_string(i);
  return list + "}";
}

/// One wgmma block with both operands in shared memory: `instruction`
/// (e.g. "wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16") per k16
/// step with the i64 descriptors aDescs[i] and bDescs[i], the first step
/// without accumulate (scale-d off), so no accumulator input is needed.
/// Returns the wgmmaResultStruct(values) value, in fragment order.
/// With `waitForCompletion` false the block ends after its commit: the
/// outputs are in flight until wgmmaWaitForResults.
inline std::string
wgmmaSharedOperandsBlock(FuncWriter &w, const std::string &instruction,
                         int64_t values, const std::vector<std::string> &aDescs,
                         const std::vector<std::string> &bDescs,
                         bool waitForCompletion = true) {
  int64_t steps = int64_t(aDescs.size());
  std::string one = "$" + std::to_string(values + 2 * steps);
  std::string body = "{ .reg .pred fly_acc, fly_init; setp.ne.b32 fly_acc, " +
                     one + ", 0; setp.eq.b32 fly_init, " + one +
                     ", 0; wgmma.fence.sync.aligned; ";
  for (int64_t ks = 0; ks < steps; ++ks)
    body += instruction + " " + wgmmaAccumulatorList(values) + ", $" +
            std::to_string(values + ks) + ", $" +
            std::to_string(values + steps + ks) + ", " +
            (ks ? "fly_acc" : "fly_init") + ", 1, 1, 0, 0; ";
  body += waitForCompletion ? kWgmmaCommitAndWait
                            : "wgmma.commit_group.sync.aligned; }";
  std::string constraints = wgmmaAccumulatorOutputs(values);
  std::string args, types;
  for (const std::vector<std::string> *descs : {&aDescs, &bDescs})
    for (const std::string &d : *descs) {
      constraints += ",l";
      args += (args.empty() ? "" : ", ") + d;
      types += (types.empty() ? "" : ", ") + std::string("i64");
    }
  constraints += ",r";
  args += ", " + w.i32(1);
  types += ", i32";
  return w.def("wgmma", "llvm.inline_asm has_side_effects asm_dialect = att "
                        "\"" +
                            body + "\", \"" + constraints + "\" " + args +
                            " : (" + types + ") -> " +
                            wgmmaResultStruct(values));
}

/// `wgmma.wait_group pending` as an asm statement whose outputs are the
/// `values` f32 of `block` (a wgmmaSharedOperandsBlock issued without
/// waiting), tied to its inputs: code that reads the result can only use
/// these outputs, so nothing reads a register before the MMAs that write
/// it retire, and no copy of an in-flight register is needed.
inline std::string wgmmaWaitForResults(FuncWriter &w, const std::string &block,
                                       int64_t values, int64_t pending) {
  std::string structType = wgmmaResultStruct(values);
  std::string constraints = wgmmaAccumulatorOutputs(values), args, types;
  for (int64_t i = 0; i < values; ++i) {
    constraints += "," + std::to_string(i);
    args += (i ? ", " : "") +
            w.def("in_flight", "llvm.extractvalue " + block + "[" +
                                   std::to_string(i) + "] : " + structType);
    types += i ? ", f32" : "f32";
  }
  return w.def("wgmma_done",
               "llvm.inline_asm has_side_effects asm_dialect = att "
               "\"wgmma.wait_group.sync.aligned " +
                   std::to_string(pending) + ";\", \"" + constraints + "\" " +
                   args + " : (" + types + ") -> " + structType);
}

//===----------------------------------------------------------------------===//
// Row statistics for folded LayerNorms
//
// A folded LayerNorm's consumer (GEMM or Monarch kernel) needs the mean and
// variance of each row of its input x. They arrive as "partials": an f32
// array [rows, P, 2] holding, for each of P equal slices of a row's
// columns, (mean, biased variance) of that slice. The row-statistics kernel
// writes P = 1; a producer kernel that owns a slice of every row it writes
// (a GEMM column tile, a Monarch warpgroup's half) writes one partial per
// slice, so that no kernel has to see whole rows.
//===----------------------------------------------------------------------===//

/// "" when a folded LayerNorm's epsilon and partial count suit a kernel
/// whose input rows have `inputWidth` columns, else why not.
inline std::string verifyLayerNormFields(double eps, int64_t partials,
                                         int64_t inputWidth) {
  if (!(eps >= 0) || eps == std::numeric_limits<double>::infinity())
    return "the LayerNorm epsilon must be finite and >= 0";
  if (partials < 1 || inputWidth % partials != 0)
    return "layerNormPartials=" + std::to_string(partials) +
           " must be positive and divide the input width " +
           std::to_string(inputWidth);
  return "";
}

/// memref<rows x partials x 2 x f32>.
inline std::string rowPartialsType(int64_t rows, int64_t partials) {
  return "memref<" + std::to_string(rows) + "x" + std::to_string(partials) +
         "x2xf32>";
}

/// `v` (f32) of the lane whose id differs from this one's in `mask`.
inline std::string xorShuffle(FuncWriter &w, const std::string &v,
                              int64_t mask) {
  std::string name = w.fresh("shfl");
  w.line(name + ", " + name + "_ok = gpu.shuffle xor " + v + ", " +
         w.i32(mask) + ", " + w.i32(32) + " : f32");
  return name;
}

/// `v` (f32) summed over the lanes that differ from this one in the bits of
/// `xorMasks` (butterfly shuffles: every such lane gets the same sum).
inline std::string xorLaneSum(FuncWriter &w, std::string v,
                              const std::vector<int64_t> &xorMasks) {
  for (int64_t mask : xorMasks)
    v = w.def("lane_sum",
              "arith.addf " + v + ", " + xorShuffle(w, v, mask) + " : f32");
  return v;
}

/// (mean, biased variance) of `count` values: the f32 vectors `values` (of
/// `vectorType`) of this lane and those of the lanes reached through
/// `xorMasks` (two passes: the mean, then the squares of the centred
/// values, so no cancellation).
inline std::pair<std::string, std::string>
sliceMeanVariance(FuncWriter &w, const std::vector<std::string> &values,
                  const std::string &vectorType,
                  const std::vector<int64_t> &xorMasks, int64_t count) {
  auto laneSum = [&](const std::vector<std::string> &vs) {
    std::string acc;
    for (const std::string &v : vs) {
      std::string r = w.def("vsum", "vector.reduction <add>, " + v + " : " +
                                        vectorType + " into f32");
      acc = acc.empty()
                ? r
                : w.def("vsum", "arith.addf " + acc + ", " + r + " : f32");
    }
    return xorLaneSum(w, acc, xorMasks);
  };
  std::string inv = w.f32(1.0 / double(count));
  std::string mean = w.def("slice_mean", "arith.mulf " + laneSum(values) +
                                             ", " + inv + " : f32");
  std::string meanV = w.def("slice_mean_v", "vector.broadcast " + mean +
                                                " : f32 to " + vectorType);
  std::vector<std::string> squares;
  for (const std::string &v : values) {
    std::string d =
        w.def("centred", "arith.subf " + v + ", " + meanV + " : " + vectorType);
    squares.push_back(
        w.def("sq", "arith.mulf " + d + ", " + d + " : " + vectorType));
  }
  std::string var = w.def("slice_var", "arith.mulf " + laneSum(squares) + ", " +
                                           inv + " : f32");
  return {mean, var};
}

/// Chan's update for two equal counts: this lane's (keptMean, keptM2)
/// merged with the (sentMean, sentM2) of the lane `mask` away (each pair
/// over `count` values): mean = (a + b) / 2, M2 = M2a + M2b +
/// (b - a)^2 count / 2, symmetric, so partners that send what they keep get
/// the same pair.
inline std::pair<std::string, std::string>
xorChanMerge(FuncWriter &w, const std::string &keptMean,
             const std::string &keptM2, const std::string &sentMean,
             const std::string &sentM2, int64_t mask, int64_t count) {
  std::string otherMean = xorShuffle(w, sentMean, mask);
  std::string otherM2 = xorShuffle(w, sentM2, mask);
  std::string delta =
      w.def("delta", "arith.subf " + otherMean + ", " + keptMean + " : f32");
  std::string sum =
      w.def("pair_sum", "arith.addf " + keptMean + ", " + otherMean + " : f32");
  std::string mean =
      w.def("pair_mean", "arith.mulf " + sum + ", " + w.f32(0.5) + " : f32");
  std::string m2 =
      w.def("pair_m2", "arith.addf " + keptM2 + ", " + otherM2 + " : f32");
  std::string dd =
      w.def("delta_sq", "arith.mulf " + delta + ", " + delta + " : f32");
  m2 = w.def("pair_m2", "math.fma " + dd + ", " + w.f32(double(count) / 2.0) +
                            ", " + m2 + " : f32");
  return {mean, m2};
}

/// (mean, M2 = sum of squared deviations) of B = rows.size() rows at once,
/// each row spread over a group of `lanesPerRow` lanes (power of two <= 32)
/// that hold one f32 vector (`vectorType`, `perLane` values) of it; B is a
/// power of two <= lanesPerRow. Each lane first reduces its own values
/// (mean, then centred squares: no cancellation), then a transposed
/// butterfly merges lane pairs by Chan's update for equal counts
/// (mean = (a + b) / 2, M2 = M2a + M2b + (b - a)^2 n / 2, symmetric so both
/// partners agree): at the first log2 B steps each lane keeps half of its
/// rows and sends the other half, so B rows take
/// 2 (B - 1 + log2 lanesPerRow) shuffles instead of 2 B log2 lanesPerRow,
/// and the B shuffles of a step are independent. Returns this lane's
/// (mean, M2) of row (lane % lanesPerRow) / (lanesPerRow / B) of the batch;
/// `lane` is the lane id (index).
inline std::pair<std::string, std::string>
transposedRowMeanM2(FuncWriter &w, const std::vector<std::string> &rows,
                    const std::string &vectorType, int64_t perLane,
                    int64_t lanesPerRow, const std::string &lane) {
  std::vector<std::string> means, m2s;
  std::string invLocal = w.f32(1.0 / double(perLane));
  for (const std::string &v : rows) {
    std::string sum = w.def("vsum", "vector.reduction <add>, " + v + " : " +
                                        vectorType + " into f32");
    std::string mean =
        w.def("lane_mean", "arith.mulf " + sum + ", " + invLocal + " : f32");
    std::string meanV = w.def("lane_mean_v", "vector.broadcast " + mean +
                                                 " : f32 to " + vectorType);
    std::string d =
        w.def("centred", "arith.subf " + v + ", " + meanV + " : " + vectorType);
    std::string sq =
        w.def("sq", "arith.mulf " + d + ", " + d + " : " + vectorType);
    means.push_back(mean);
    m2s.push_back(w.def("lane_m2", "vector.reduction <add>, " + sq + " : " +
                                       vectorType + " into f32"));
  }
  int64_t count = perLane; // values behind each (mean, M2) before a merge
  for (int64_t mask = lanesPerRow / 2; mask >= 1; mask /= 2) {
    size_t keep = means.size() > 1 ? means.size() / 2 : 1;
    std::string hi;
    if (means.size() > 1) {
      std::string bit = w.def("lane_bit", "arith.andi " + lane + ", " +
                                              w.index(mask) + " : index");
      hi = w.def("lane_hi",
                 "arith.cmpi ne, " + bit + ", " + w.index(0) + " : index");
    }
    std::vector<std::string> nextMeans, nextM2s;
    for (size_t j = 0; j < keep; ++j) {
      std::string keptMean = means[j], keptM2 = m2s[j];
      std::string sentMean = means[j], sentM2 = m2s[j];
      if (means.size() > 1) {
        // The upper lane of a pair keeps the upper half of the rows.
        auto pick = [&](const std::string &upper, const std::string &lower) {
          return w.def("pick", "arith.select " + hi + ", " + upper + ", " +
                                   lower + " : f32");
        };
        keptMean = pick(means[j + keep], means[j]);
        keptM2 = pick(m2s[j + keep], m2s[j]);
        sentMean = pick(means[j], means[j + keep]);
        sentM2 = pick(m2s[j], m2s[j + keep]);
      }
      auto [mean, m2] =
          xorChanMerge(w, keptMean, keptM2, sentMean, sentM2, mask, count);
      nextMeans.push_back(mean);
      nextM2s.push_back(m2);
    }
    means = std::move(nextMeans);
    m2s = std::move(nextM2s);
    count *= 2;
  }
  return {means[0], m2s[0]};
}

/// (rstd, shift = -mean * rstd) of a row from its `partials` partials,
/// `parts` a vector<(2*partials) x f32> of (mean_p, var_p) pairs over equal
/// slices: mean = avg(mean_p), var = avg(var_p) + avg((mean_p - mean)^2).
inline std::pair<std::string, std::string>
mergeRowPartials(FuncWriter &w, const std::string &parts, int64_t partials,
                 double eps) {
  std::string type = "vector<" + std::to_string(2 * partials) + "xf32>";
  std::vector<std::string> means, vars;
  for (int64_t i = 0; i < partials; ++i)
    for (int64_t e = 0; e < 2; ++e)
      (e ? vars : means)
          .push_back(w.def(e ? "part_var" : "part_mean",
                           "vector.extract " + parts + "[" +
                               std::to_string(2 * i + e) + "] : f32 from " +
                               type));
  std::string inv = w.f32(1.0 / double(partials));
  auto average = [&](const std::vector<std::string> &vs) {
    std::string acc = vs[0];
    for (size_t i = 1; i < vs.size(); ++i)
      acc = w.def("part_sum", "arith.addf " + acc + ", " + vs[i] + " : f32");
    return partials == 1
               ? acc
               : w.def("part_avg", "arith.mulf " + acc + ", " + inv + " : f32");
  };
  std::string mean = average(means);
  std::string var = average(vars);
  if (partials > 1) {
    std::vector<std::string> spread;
    for (const std::string &m : means) {
      std::string d =
          w.def("part_d", "arith.subf " + m + ", " + mean + " : f32");
      spread.push_back(
          w.def("part_d2", "arith.mulf " + d + ", " + d + " : f32"));
    }
    var = w.def("row_var",
                "arith.addf " + var + ", " + average(spread) + " : f32");
  }
  std::string rstd =
      w.def("rstd", "math.rsqrt " +
                        w.def("var_eps", "arith.addf " + var + ", " +
                                             w.f32(eps) + " : f32") +
                        " : f32");
  std::string shift =
      w.def("shift", "arith.mulf " +
                         w.def("neg_mean", "arith.negf " + mean + " : f32") +
                         ", " + rstd + " : f32");
  return {rstd, shift};
}

} // namespace fly::gpu::detail

#endif // FLY_LIB_FLYTOGPU_KERNELTEXT_H
