//===- LayerNormKernel.cpp - row LayerNorm kernel generator -----*- C++ -*-===//
//
// CTA = 4 warps = 4 rows; lane l of a row's warp holds the 8-element
// vectors l, l + 32, ... (of cols / 8) in f32 registers: loads and
// stores are 16 bytes and a warp's accesses are contiguous. Sum and sum of
// squares of the centred values are reduced with butterfly shuffles, so the
// row is read once and written once.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToGPU/LayerNormKernel.h"
#include "KernelText.h"

#include <cmath>
#include <sstream>
#include <vector>

namespace fly::gpu {
namespace {

using detail::FuncWriter;

constexpr int64_t kRowsPerCta = 4;
constexpr int64_t kVector = 8;
constexpr int64_t kMaxCols = 4096;
constexpr int64_t kMaxGrid = 2147483647;

std::string str(int64_t v) { return std::to_string(v); }

struct Types {
  std::string x, vec, gamma, stats, vecF32 = "vector<8xf32>";
  bool statsOnly = false;
  explicit Types(const LayerNormSpec &s) : statsOnly(s.statsOnly) {
    x = "memref<" + str(s.rows) + "x" + str(s.cols) + "x" + s.elementType + ">";
    stats = detail::rowPartialsType(s.rows, 1);
    gamma = "memref<" + str(s.cols) + "x" + s.elementType + ">";
    vec = "vector<" + str(kVector) + "x" + s.elementType + ">";
  }
};

std::string args(const Types &t, const std::string &sep) {
  if (t.statsOnly)
    return "(%x" + sep + t.x + ", %stats" + sep + t.stats + ")";
  return "(%x" + sep + t.x + ", %gamma" + sep + t.gamma + ", %beta" + sep +
         t.gamma + ", %y" + sep + t.x + ")";
}

std::string finishKernel(const LayerNormSpec &s, const Types &t,
                         const FuncWriter &w) {
  std::ostringstream os;
  os << "    gpu.func @" << layerNormKernelName(s) << args(t, ": ")
     << " kernel attributes {known_block_size = array<i32: " << kRowsPerCta * 32
     << ", 1, 1>} {\n"
     << w.finish() << "    }\n";
  return os.str();
}

std::string emitKernel(const LayerNormSpec &s, const Types &t) {
  FuncWriter w(/*indent=*/2);
  // Vectors per row, per lane (the last one only on lanes < vectors % 32
  // when 32 does not divide them).
  int64_t vectors = s.cols / kVector;
  int64_t perLane = (vectors + 31) / 32;
  bool ragged = vectors % 32 != 0;
  auto fop = [&](const std::string &op, const std::string &a,
                 const std::string &b, const std::string &type = "f32") {
    return w.def("f", "arith." + op + " " + a + ", " + b + " : " + type);
  };
  auto allReduce = [&](const std::string &v) {
    return detail::xorLaneSum(w, v, {16, 8, 4, 2, 1});
  };
  std::string tid = w.def("tid", "gpu.thread_id x");
  std::string bx = w.def("bx", "gpu.block_id x");
  std::string lane =
      w.def("lane", "arith.remui " + tid + ", " + w.index(32) + " : index");
  std::string warp =
      w.def("warp", "arith.divui " + tid + ", " + w.index(32) + " : index");
  std::string row =
      w.def("row", "arith.addi " +
                       w.def("r", "arith.muli " + bx + ", " +
                                      w.index(kRowsPerCta) + " : index") +
                       ", " + warp + " : index");
  if (s.rows % kRowsPerCta != 0) {
    std::string inside = w.def("in", "arith.cmpi ult, " + row + ", " +
                                         w.index(s.rows) + " : index");
    w.open("scf.if " + inside);
  }
  std::vector<std::string> cols, xs;
  std::string laneCol =
      w.def("c", "arith.muli " + lane + ", " + w.index(kVector) + " : index");
  std::string active; // ragged: this lane has a last vector
  if (ragged)
    active = w.def("act", "arith.cmpi ult, " + lane + ", " +
                              w.index(vectors % 32) + " : index");
  for (int64_t i = 0; i < perLane; ++i) {
    cols.push_back(w.def("c", "arith.addi " + laneCol + ", " +
                                  w.index(i * 32 * kVector) + " : index"));
    std::string load = "vector.load %x[" + row + ", " + cols.back() +
                       "] {alignment = 16 : i64} : " + t.x + ", " + t.vec;
    std::string v;
    if (ragged && i + 1 == perLane) {
      // Lanes without a last vector read zeros (they add nothing).
      v = w.fresh("xv");
      w.open(v + " = scf.if " + active + " -> (" + t.vec + ")");
      w.line("scf.yield " + w.def("xv", load) + " : " + t.vec);
      w.close();
      w.open("else");
      w.line("scf.yield " + w.zeros(t.vec) + " : " + t.vec);
      w.close();
    } else {
      v = w.def("xv", load);
    }
    xs.push_back(
        w.def("xf", "arith.extf " + v + " : " + t.vec + " to " + t.vecF32));
  }
  auto rowSum = [&](const std::vector<std::string> &vs) {
    std::string acc = w.f32(0.0);
    for (const std::string &v : vs)
      acc = fop("addf", acc,
                w.def("s", "vector.reduction <add>, " + v + " : " + t.vecF32 +
                               " into f32"));
    return allReduce(acc);
  };
  double inv = 1.0 / double(s.cols);
  std::string mean = fop("mulf", rowSum(xs), w.f32(inv));
  std::string meanV =
      w.def("mv", "vector.broadcast " + mean + " : f32 to " + t.vecF32);
  std::vector<std::string> centred, squares;
  for (size_t i = 0; i < xs.size(); ++i) {
    centred.push_back(fop("subf", xs[i], meanV, t.vecF32));
    if (ragged && i + 1 == xs.size()) // x - mean is not 0 where x was
      centred.back() =
          w.def("cz", "arith.select " + active + ", " + centred.back() + ", " +
                          w.zeros(t.vecF32) + " : " + t.vecF32);
    squares.push_back(fop("mulf", centred.back(), centred.back(), t.vecF32));
  }
  std::string var = fop("mulf", rowSum(squares), w.f32(inv));
  if (s.statsOnly) {
    // Lane 0 writes the row's (mean, variance): one partial (KernelText.h).
    std::string pair = w.def("st", "vector.from_elements " + mean + ", " + var +
                                       " : vector<2xf32>");
    std::string first = w.def("first", "arith.cmpi eq, " + lane + ", " +
                                           w.index(0) + " : index");
    w.open("scf.if " + first);
    w.line("vector.store " + pair + ", %stats[" + row + ", " + w.index(0) +
           ", " + w.index(0) + "] : " + t.stats + ", vector<2xf32>");
    w.close();
    if (s.rows % kRowsPerCta != 0)
      w.close();
    w.line("gpu.return");
    return finishKernel(s, t, w);
  }
  std::string rstd =
      w.def("rstd", "math.rsqrt " + fop("addf", var, w.f32(s.eps)) + " : f32");
  std::string rstdV =
      w.def("rv", "vector.broadcast " + rstd + " : f32 to " + t.vecF32);
  for (int64_t i = 0; i < perLane; ++i) {
    bool guarded = ragged && i + 1 == perLane;
    if (guarded)
      w.open("scf.if " + active);
    auto param = [&](const std::string &mem) {
      std::string v = w.def("pv", "vector.load " + mem + "[" + cols[i] +
                                      "] {alignment = 16 : i64} : " + t.gamma +
                                      ", " + t.vec);
      return w.def("pf", "arith.extf " + v + " : " + t.vec + " to " + t.vecF32);
    };
    std::string n = fop("mulf", centred[i], rstdV, t.vecF32);
    std::string y = w.def("y", "math.fma " + n + ", " + param("%gamma") + ", " +
                                   param("%beta") + " : " + t.vecF32);
    std::string h =
        w.def("yh", "arith.truncf " + y + " : " + t.vecF32 + " to " + t.vec);
    w.line("vector.store " + h + ", %y[" + row + ", " + cols[i] +
           "] {alignment = 16 : i64} : " + t.x + ", " + t.vec);
    if (guarded)
      w.close();
  }
  if (s.rows % kRowsPerCta != 0)
    w.close();
  w.line("gpu.return");
  return finishKernel(s, t, w);
}

std::string emitHost(const LayerNormSpec &s, const Types &t) {
  FuncWriter w(/*indent=*/1);
  int64_t grid = (s.rows + kRowsPerCta - 1) / kRowsPerCta;
  w.line("gpu.launch_func @" + layerNormKernelName(s) + "_kernels::@" +
         layerNormKernelName(s) + " blocks in (" + w.index(grid) + ", " +
         w.index(1) + ", " + w.index(1) + ") threads in (" +
         w.index(kRowsPerCta * 32) + ", " + w.index(1) + ", " + w.index(1) +
         ") args" + args(t, " : "));
  w.line("return");
  std::ostringstream os;
  os << "  func.func private @" << layerNormLauncherName(s) << args(t, ": ")
     << " {\n"
     << w.finish() << "  }\n";
  return os.str();
}

} // namespace

std::string verifyLayerNormSpec(const LayerNormSpec &s) {
  if (s.elementType != "f16" && s.elementType != "bf16")
    return "element type '" + s.elementType +
           "' is not supported (expected f16 or bf16)";
  if (s.cols < kVector || s.cols > kMaxCols || s.cols % kVector != 0)
    return "cols=" + str(s.cols) +
           " is not supported (expected a multiple of 8 up to " +
           str(kMaxCols) + ")";
  if (s.rows < 1 || (s.rows + kRowsPerCta - 1) / kRowsPerCta > kMaxGrid)
    return "rows=" + str(s.rows) + " is out of range";
  if (!(s.eps >= 0) || std::isinf(s.eps))
    return "eps must be finite and >= 0";
  return "";
}

std::string layerNormKernelName(const LayerNormSpec &s) {
  if (s.statsOnly) // no eps: the consumer adds it
    return "fly_rowstats_r" + str(s.rows) + "_c" + str(s.cols) + "_" +
           s.elementType;
  return "fly_layernorm_r" + str(s.rows) + "_c" + str(s.cols) + "_" +
         s.elementType + "_eps" + detail::symbolNumber(s.eps);
}

std::string layerNormLauncherName(const LayerNormSpec &s) {
  return detail::launcherNameOf(layerNormKernelName(s));
}

std::string emitLayerNorm(const LayerNormSpec &spec, std::string &error) {
  error = verifyLayerNormSpec(spec);
  if (!error.empty())
    return "";
  Types t(spec);
  std::ostringstream os;
  os << "// " << layerNormKernelName(spec)
     << (spec.statsOnly ? ": LayerNorm statistics of " : ": LayerNorm over ")
     << spec.rows << " rows of " << spec.cols << ", one warp per row\n";
  os << "module attributes {gpu.container_module} {\n";
  os << "  gpu.module @" << layerNormKernelName(spec) << "_kernels {\n";
  os << emitKernel(spec, t);
  os << "  }\n";
  os << emitHost(spec, t);
  os << "}\n";
  return os.str();
}

} // namespace fly::gpu
