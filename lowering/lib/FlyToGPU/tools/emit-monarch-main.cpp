//===- emit-monarch-main.cpp - print one fused Monarch module ---*- C++ -*-===//
//
// Standalone driver for MonarchKernel.cpp (not part of the CMake build):
//
//   g++ -std=c++17 -O1 -I lowering/include
//   lowering/lib/FlyToGPU/MonarchKernel.cpp
//       lowering/lib/FlyToGPU/tools/emit-monarch-main.cpp -o /tmp/emit-monarch
//   /tmp/emit-monarch M K Q P L S R [--bias] [--gelu] [--type=f16|bf16]
//                     [--bench-repeats=R] [--test-wrapper=NAME] [--spec-line=I]
//                     [--tiles-in-flight=1|2] [--split]
//                     [--f1-warpgroups=1|2] [--f1-stages=N]
//
// --test-wrapper=NAME adds public llvm.emit_c_interface functions with one
// uniform signature (x, w1, w2, bias, y), bias ignored without --bias:
//   @NAME (one launch) and @NAME_repeat (needs --bench-repeats=R > 0).
// --spec-line=I prints, instead of the module, one line for the self-test:
//   FLY_MONARCH_TEST(I, "name", m, k, q, p, l, s, r, bf16, bias, gelu, repeats)
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToGPU/MonarchKernel.h"

#include <cstdlib>
#include <iostream>
#include <string>

using namespace fly::gpu;

namespace {

int usage(const char *argv0) {
  std::cerr << "usage: " << argv0
            << " M K Q P L S R [--bias] [--gelu] [--type=f16|bf16] "
               "[--bench-repeats=R] [--test-wrapper=NAME] [--spec-line=I]\n";
  return 2;
}

bool startsWith(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string wrapper(const MonarchSpec &s, const std::string &name,
                    const std::string &callee) {
  auto mem = [&](const std::string &shape) {
    return "memref<" + shape + "x" + s.elementType + ">";
  };
  auto d = [](int64_t v) { return std::to_string(v); };
  std::string x = mem(d(s.m) + "x" + d(s.k * s.p));
  std::string w1 = mem(d(s.k) + "x" + d(s.q) + "x" + d(s.p));
  std::string w2 = mem(d(s.l) + "x" + d(s.s) + "x" + d(s.r));
  std::string bias = mem(d(s.l * s.s));
  std::string y = mem(d(s.m) + "x" + d(s.l * s.s));
  std::string text = "  func.func @" + name + "(%x: " + x + ", %w1: " + w1 +
                     ", %w2: " + w2 + ", %bias: " + bias + ", %y: " + y +
                     ") attributes {llvm.emit_c_interface} {\n";
  std::string args = "%x, %w1, %w2", types = x + ", " + w1 + ", " + w2;
  if (s.bias) {
    args += ", %bias";
    types += ", " + bias;
  }
  args += ", %y";
  types += ", " + y;
  text += "    func.call @" + callee + "(" + args + ") : (" + types +
          ") -> ()\n    return\n  }\n";
  return text;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 8)
    return usage(argv[0]);
  MonarchSpec spec;
  MonarchEmitOptions options;
  std::string testWrapper, specLine;
  int64_t *dims[] = {&spec.m, &spec.k, &spec.q, &spec.p,
                     &spec.l, &spec.s, &spec.r};
  for (int i = 0; i < 7; ++i)
    *dims[i] = std::atoll(argv[i + 1]);
  for (int i = 8; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value = arg.substr(arg.find('=') + 1);
    if (arg == "--bias")
      spec.bias = true;
    else if (arg == "--gelu")
      spec.gelu = true;
    else if (startsWith(arg, "--type="))
      spec.elementType = value;
    else if (startsWith(arg, "--bench-repeats="))
      options.benchmarkRepeats = std::atoll(value.c_str());
    else if (arg == "--split")
      spec.splitFactors = true;
    else if (startsWith(arg, "--f1-warpgroups="))
      options.factor1Warpgroups = std::atoll(value.c_str());
    else if (startsWith(arg, "--f1-stages="))
      options.factor1Stages = std::atoll(value.c_str());
    else if (startsWith(arg, "--tiles-in-flight="))
      options.wgmmaTilesInFlight = std::atoll(value.c_str());
    else if (startsWith(arg, "--test-wrapper="))
      testWrapper = value;
    else if (startsWith(arg, "--spec-line="))
      specLine = value;
    else
      return usage(argv[0]);
  }
  std::string error;
  std::string text = emitMonarchMatmul(spec, error, options);
  if (text.empty()) {
    std::cerr << "error: " << error << "\n";
    return 1;
  }
  if (!specLine.empty()) {
    std::cout << "FLY_MONARCH_TEST(" << specLine << ", \""
              << monarchKernelName(spec) << "\", " << spec.m << ", " << spec.k
              << ", " << spec.q << ", " << spec.p << ", " << spec.l << ", "
              << spec.s << ", " << spec.r << ", "
              << (spec.elementType == "bf16") << ", " << spec.bias << ", "
              << spec.gelu << ", " << options.benchmarkRepeats << ")\n";
    return 0;
  }
  if (!testWrapper.empty()) {
    std::string extra = wrapper(spec, testWrapper, monarchLauncherName(spec));
    if (options.benchmarkRepeats > 0)
      extra +=
          wrapper(spec, testWrapper + "_repeat", monarchBenchmarkName(spec));
    text.insert(text.rfind('}'), extra);
  }
  std::cout << text;
  return 0;
}
