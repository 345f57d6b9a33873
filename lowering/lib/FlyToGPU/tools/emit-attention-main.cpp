//===- emit-attention-main.cpp - print one fused attention module -*- C++
//-*-===//
//
// Standalone driver for FlashAttention.cpp (not part of the CMake build):
//
//   g++ -std=c++17 -O1 -I lowering/include
//       lowering/lib/FlyToGPU/FlashAttention.cpp
//       lowering/lib/FlyToGPU/tools/emit-attention-main.cpp -o /tmp/emit-attn
//   /tmp/emit-attn BH T [--d=64|128] [--type=f16|bf16] [--causal|--full]
//                  [--scale=S] [--block-m=64|128] [--bench-repeats=R]
//                  [--window=W] [--packed-heads=H] [--stages=2|3]
//                  [--split-kv=0|1] [--staged-epilogue=0|1] [--wgmma=0|1]
//                  [--min-blocks=N] [--q-in-registers=0|1] [--name-suffix=S]
//                  [--test-wrapper=NAME] [--spec-line=I]
//
// --window=W sets the sliding window (fly.local_attention; with --causal
// keys (i-W, i], else [i-W/2, i-W/2+W)).
// --packed-heads=H sets packedQkv with H heads (launcher (%qkv, %o)).
// --stages / --split-kv / --staged-epilogue / --wgmma / --min-blocks /
// --q-in-registers set AttentionEmitOptions' tuning knobs; --name-suffix=S
// appends S to every generated symbol name (so that variants of one spec can
// be linked together).
//
// --test-wrapper=NAME adds public functions for the self-test
// (tools/gpu/attention-selftest), with llvm.emit_c_interface:
//   @NAME(q, k, v, o)         calls the launcher once;
//   @NAME_repeat(q, k, v, o)  calls the benchmark entry (--bench-repeats > 0).
// --spec-line=INDEX prints, instead of the module, one line for the
// self-test's spec table:
//   FLY_ATTN_TEST(INDEX, "kernel name", bh, t, d, bf16, causal, scale,
//                 blockM, repeats, heads, window)
// with heads = 0 for the [BH, T, D] layout and window = 0 for none.
// with the effective scale (1/sqrt(d) when not given) and blockM.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToGPU/FlashAttention.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

using namespace fly::gpu;

namespace {

int usage(const char *argv0) {
  std::cerr << "usage: " << argv0
            << " BH T [--d=64|128] [--type=f16|bf16] [--causal|--full] "
               "[--scale=S] [--block-m=64|128] [--bench-repeats=R] "
               "[--window=W] [--packed-heads=H] [--stages=2|3] "
               "[--split-kv=0|1] [--staged-epilogue=0|1] [--wgmma=0|1] "
               "[--min-blocks=N] "
               "[--q-in-registers=0|1] [--name-suffix=S] "
               "[--test-wrapper=NAME] [--spec-line=I]\n";
  return 2;
}

bool startsWith(const std::string &s, const std::string &prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string wrapper(const AttentionSpec &s, const std::string &name,
                    const std::string &callee) {
  if (s.packedQkv) {
    int64_t rows = s.batchHeads / s.heads * s.seq, hd = s.heads * s.headDim;
    std::string qkv = "memref<" + std::to_string(rows) + "x" +
                      std::to_string(3 * hd) + "x" + s.elementType + ">";
    std::string o = "memref<" + std::to_string(rows) + "x" +
                    std::to_string(hd) + "x" + s.elementType + ">";
    return "  func.func @" + name + "(%qkv: " + qkv + ", %o: " + o +
           ") attributes {llvm.emit_c_interface} {\n" + "    func.call @" +
           callee + "(%qkv, %o) : (" + qkv + ", " + o +
           ") -> ()\n    return\n  }\n";
  }
  std::string m = "memref<" + std::to_string(s.batchHeads) + "x" +
                  std::to_string(s.seq) + "x" + std::to_string(s.headDim) +
                  "x" + s.elementType + ">";
  return "  func.func @" + name + "(%q: " + m + ", %k: " + m + ", %v: " + m +
         ", %o: " + m + ") attributes {llvm.emit_c_interface} {\n" +
         "    func.call @" + callee + "(%q, %k, %v, %o) : (" + m + ", " + m +
         ", " + m + ", " + m + ") -> ()\n    return\n  }\n";
}

} // namespace

int main(int argc, char **argv) {
  if (argc < 3)
    return usage(argv[0]);
  AttentionSpec spec;
  AttentionEmitOptions options;
  std::string testWrapper, specLine, suffix;
  spec.batchHeads = std::atoll(argv[1]);
  spec.seq = std::atoll(argv[2]);
  for (int i = 3; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value = arg.substr(arg.find('=') + 1);
    if (startsWith(arg, "--d="))
      spec.headDim = std::atoll(value.c_str());
    else if (startsWith(arg, "--type="))
      spec.elementType = value;
    else if (arg == "--causal")
      spec.causal = true;
    else if (arg == "--full")
      spec.causal = false;
    else if (startsWith(arg, "--scale="))
      spec.scale = std::atof(value.c_str());
    else if (startsWith(arg, "--block-m="))
      spec.blockM = std::atoll(value.c_str());
    else if (startsWith(arg, "--window="))
      spec.window = std::atoll(value.c_str());
    else if (startsWith(arg, "--packed-heads=")) {
      spec.packedQkv = true;
      spec.heads = std::atoll(value.c_str());
    } else if (startsWith(arg, "--stages="))
      options.kvStages = std::atoll(value.c_str());
    else if (startsWith(arg, "--q-in-registers="))
      options.qInRegisters = value == "1";
    else if (startsWith(arg, "--min-blocks="))
      options.minBlocksPerSM = std::atoll(value.c_str());
    else if (startsWith(arg, "--split-kv="))
      options.splitKVGroups = value == "1";
    else if (startsWith(arg, "--staged-epilogue="))
      options.stagedEpilogue = value == "1";
    else if (startsWith(arg, "--wgmma="))
      options.wgmma = value == "1";
    else if (startsWith(arg, "--name-suffix="))
      suffix = value;
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
  std::string text = emitFlashAttention(spec, error, options);
  if (text.empty()) {
    std::cerr << "error: " << error << "\n";
    return 1;
  }
  std::string kernelName = attentionKernelName(spec);
  if (!suffix.empty()) {
    // Every symbol starts with the kernel name.
    std::string renamed;
    size_t pos = 0;
    for (size_t hit; (hit = text.find(kernelName, pos)) != std::string::npos;
         pos = hit + kernelName.size())
      renamed += text.substr(pos, hit - pos) + kernelName + suffix;
    text = renamed + text.substr(pos);
  }
  if (!specLine.empty()) {
    double scale =
        spec.scale > 0 ? spec.scale : 1.0 / std::sqrt(double(spec.headDim));
    char scaleText[64];
    std::snprintf(scaleText, sizeof(scaleText), "%.17g", scale);
    std::cout << "FLY_ATTN_TEST(" << specLine << ", \"" << kernelName + suffix
              << "\", " << spec.batchHeads << ", " << spec.seq << ", "
              << spec.headDim << ", " << (spec.elementType == "bf16") << ", "
              << spec.causal << ", " << scaleText << ", "
              << (spec.blockM ? spec.blockM : 64) << ", "
              << options.benchmarkRepeats << ", "
              << (spec.packedQkv ? spec.heads : 0) << ", " << spec.window
              << ")\n";
    return 0;
  }
  if (!testWrapper.empty()) {
    std::string extra =
        wrapper(spec, testWrapper, kernelName + suffix + "_launch");
    if (options.benchmarkRepeats > 0)
      extra += wrapper(spec, testWrapper + "_repeat",
                       kernelName + suffix + "_repeat");
    size_t close = text.rfind('}');
    text.insert(close, extra);
  }
  std::cout << text;
  return 0;
}
