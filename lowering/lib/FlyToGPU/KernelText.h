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

} // namespace fly::gpu::detail

#endif // FLY_LIB_FLYTOGPU_KERNELTEXT_H
