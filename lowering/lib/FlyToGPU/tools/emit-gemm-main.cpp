//===- emit-gemm-main.cpp - print one wgmma GEMM module ---------*- C++ -*-===//
//
// Standalone driver for WgmmaGemm.cpp (not part of the CMake build):
//
//   g++ -std=c++17 -O1 -I lowering/include lowering/lib/FlyToGPU/WgmmaGemm.cpp
//       lowering/lib/FlyToGPU/tools/emit-gemm-main.cpp -o /tmp/emit-gemm
//   /tmp/emit-gemm M N K [--epilogue=none|bias|gelu] [--residual]
//                  [--tile-n=128|64] [--type=f16|bf16] [--stages=S]
//                  [--warp-specialized] [--staging-epilogue]
//                  [--producer-warpgroup] [--ctas=C]
//                  [--bench-repeats=R] [--test-wrapper=NAME] [--spec-line=I]
//
// --test-wrapper=NAME adds public functions for the self-test
// (tools/gpu/gemm-selftest), both with llvm.emit_c_interface and one uniform
// signature (a, b, bias, residual, c) whatever the epilogue, unused operands
// being ignored:
//   @NAME         calls the launcher once;
//   @NAME_repeat  calls the benchmark entry (needs --bench-repeats=R > 0).
// --spec-line=INDEX prints, instead of the module, one line for the
// self-test's spec table:
//   FLY_GEMM_TEST(INDEX, "kernel name", m, n, k, bf16, epilogue, residual,
//                 tileN, repeats)
// with bf16 0/1, epilogue 0 none / 1 bias / 2 bias+GELU, residual 0/1.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToGPU/WgmmaGemm.h"

#include <cstdlib>
#include <iostream>
#include <string>

using namespace fly::gpu;

namespace {

int usage(const char *argv0) {
  std::cerr << "usage: " << argv0
            << " M N K [--epilogue=none|bias|gelu] [--residual] "
               "[--tile-n=128|64] [--type=f16|bf16] [--stages=S] "
               "[--warp-specialized] [--staging-epilogue] "
               "[--producer-warpgroup] [--ctas=C] "
               "[--bench-repeats=R] "
               "[--test-wrapper=NAME] [--spec-line=I]\n";
  return 2;
}

bool startsWith(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

/// A public wrapper with the uniform self-test signature that forwards the
/// operands `callee` takes.
std::string wrapper(const GemmSpec &s, const std::string &name,
                    const std::string &callee) {
  auto mem = [&](int64_t r, int64_t c) {
    return "memref<" + std::to_string(r) + "x" + std::to_string(c) + "x" +
           s.elementType + ">";
  };
  std::string a = mem(s.m, s.k), b = mem(s.n, s.k), c = mem(s.m, s.n);
  std::string bias =
      "memref<" + std::to_string(s.n) + "x" + s.elementType + ">";
  std::string text = "  func.func @" + name + "(%a: " + a + ", %b: " + b +
                     ", %bias: " + bias + ", %residual: " + c + ", %c: " + c +
                     ") attributes {llvm.emit_c_interface} {\n";
  std::string args = "%a, %b", types = a + ", " + b;
  if (s.epilogue != GemmEpilogue::None) {
    args += ", %bias";
    types += ", " + bias;
  }
  if (s.residual) {
    args += ", %residual";
    types += ", " + c;
  }
  args += ", %c";
  types += ", " + c;
  text += "    func.call @" + callee + "(" + args + ") : (" + types +
          ") -> ()\n    return\n  }\n";
  return text;
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 4)
    return usage(argv[0]);
  GemmSpec spec;
  GemmEmitOptions options;
  std::string testWrapper;
  std::string specLine;
  spec.m = std::atoll(argv[1]);
  spec.n = std::atoll(argv[2]);
  spec.k = std::atoll(argv[3]);
  for (int i = 4; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value = arg.substr(arg.find('=') + 1);
    if (arg == "--epilogue=none")
      spec.epilogue = GemmEpilogue::None;
    else if (arg == "--epilogue=bias")
      spec.epilogue = GemmEpilogue::Bias;
    else if (arg == "--epilogue=gelu")
      spec.epilogue = GemmEpilogue::BiasGeluTanh;
    else if (arg == "--residual")
      spec.residual = true;
    else if (startsWith(arg, "--tile-n="))
      spec.tileN = std::atoll(value.c_str());
    else if (startsWith(arg, "--type="))
      spec.elementType = value;
    else if (startsWith(arg, "--stages="))
      spec.stages = std::atoll(value.c_str());
    else if (arg == "--warp-specialized")
      spec.warpSpecialized = true;
    else if (arg == "--staging-epilogue")
      spec.stagingEpilogue = true;
    else if (arg == "--producer-warpgroup")
      spec.producerWarpgroup = true;
    else if (startsWith(arg, "--ctas="))
      spec.persistentCtas = std::atoll(value.c_str());
    else if (startsWith(arg, "--bench-repeats="))
      options.benchmarkRepeats = std::atoll(value.c_str());
    else if (startsWith(arg, "--test-wrapper="))
      testWrapper = value;
    else if (startsWith(arg, "--spec-line="))
      specLine = value;
    else
      return usage(argv[0]);
  }

  std::string error;
  std::string text = emitWgmmaGemm(spec, error, options);
  if (text.empty()) {
    std::cerr << "error: " << error << "\n";
    return 1;
  }
  if (!specLine.empty()) {
    std::cout << "FLY_GEMM_TEST(" << specLine << ", \"" << gemmKernelName(spec)
              << "\", " << spec.m << ", " << spec.n << ", " << spec.k << ", "
              << (spec.elementType == "bf16") << ", "
              << static_cast<int>(spec.epilogue) << ", " << spec.residual
              << ", " << spec.tileN << ", " << options.benchmarkRepeats
              << ")\n";
    return 0;
  }
  if (!testWrapper.empty()) {
    // Insert the wrappers before the closing brace of the module.
    std::string extra = wrapper(spec, testWrapper, gemmLauncherName(spec));
    if (options.benchmarkRepeats > 0)
      extra += wrapper(spec, testWrapper + "_repeat", gemmBenchmarkName(spec));
    size_t close = text.rfind('}');
    text.insert(close, extra);
  }
  std::cout << text;
  return 0;
}
