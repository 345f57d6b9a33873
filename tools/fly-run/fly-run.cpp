//===- fly-run.cpp - Run and time a compiled fly artifact -------*- C++ -*-===//
//
// Loads an artifact directory written by fly-compile (manifest.json, model.so,
// weights.safetensors), feeds it inputs from files or a seeded generator,
// times repeated calls and summarises the outputs. It uses only the thin
// runtime, so it builds and runs on machines without LLVM.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/Artifact.h"
#include "fly/runtime/CommandLine.h"
#include "fly/runtime/CudaDevice.h"
#include "fly/runtime/FileUtils.h"
#include "fly/runtime/Npy.h"
#include "fly/runtime/Timing.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include <sys/stat.h>

using namespace fly::runtime;

namespace {

constexpr const char *kUsage = R"(USAGE: fly-run ARTIFACT_DIR [options]

Loads a compiled fly artifact (a directory with manifest.json, the model
library and its weights), runs it WARMUP times untimed and ITERS times timed,
and prints the timing and a summary of each output. CUDA artifacts keep
weights, inputs and outputs on the GPU: timed calls include every kernel and
the final stream synchronisation, not the host<->device copies.

OPTIONS:
  --input FILE|random   Source of one model input; give it once per input, in
                        manifest order, or not at all (all random). FILE is:
                          *.npy  int32/int64 for integer inputs (token ids),
                                 f32/f16 for float inputs; the element count
                                 must match the manifest
                          *.txt  whitespace-separated integers (token ids)
                          other  raw little-endian bytes of exactly the
                                 manifest's size (e.g. a raw f32 image)
                        random: token ids uniform in [0, vocab) where vocab is
                        config.vocab_size (100 when absent), floats uniform in
                        [-1, 1]. Token ids are checked against vocab_size.
  --weights file|random The artifact's weights file (default), or seeded
                        random weights (for timing without a checkpoint).
  --seed N              Seed for random inputs and weights (default 0).
  --iters N             Timed calls (default 10, at least 1).
  --warmup N            Untimed calls before timing (default 2).
  --csv FILE            Append model,target,batch,seq,structure,iters,
                        avgTime,medianTime,minTime (ms) to FILE, writing the
                        header first when FILE is new.
  --output FILE.npy     Write the first output as .npy (f16/bf16 converted to
                        f32) for conformance checks.
  --profile FILE        CUDA artifacts: after timing, run 3 more calls with
                        a CUDA event pair around every kernel launch, write
                        them to FILE as a Chrome trace (chrome://tracing,
                        Perfetto) and print a per-kernel table.
  --cuda-graph on|off   CUDA artifacts: replay the model call as a CUDA graph
                        (default on): the first call runs the compiled host
                        code, the second is recorded, later calls replay the
                        recording without host code or launch gaps. The
                        timing line says which mode ran (and why a capture
                        failed). Profiled calls always run the host code.
  --quiet               Print only the timing line (and errors).
  -h, --help            Show this help.

Options also accept the --name=value form. Errors exit with status 1 (2 for
command-line errors).

EXAMPLE:
  fly-run gpt2.fly --input prompt.txt --iters 100 --csv results.csv
)";

struct Options {
  std::string dir;
  std::vector<std::string> inputs;
  WeightSource weights = WeightSource::File;
  uint64_t seed = 0;
  uint64_t iters = 10;
  uint64_t warmup = 2;
  std::string csv;
  std::string output;
  std::string profile;
  bool cudaGraph = true;
  bool quiet = false;
};

int report(const Failure &failure) { return reportFailure("fly-run", failure); }

std::optional<Failure> parseArgs(int argc, char **argv, Options &opts,
                                 bool &help) {
  auto usage = [](const std::string &message) { return Failure{message, 2}; };
  bool sawDir = false, endOfOptions = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (endOfOptions || arg.empty() || arg[0] != '-' || arg == "-") {
      if (sawDir)
        return usage("unexpected argument '" + arg +
                     "' (only one artifact directory)");
      opts.dir = arg;
      sawDir = true;
      continue;
    }
    if (arg == "--") {
      endOfOptions = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      help = true;
      return std::nullopt;
    }
    std::string name = arg, value;
    bool hasValue = false;
    size_t eq = arg.find('=');
    if (arg.compare(0, 2, "--") == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      hasValue = true;
    }
    if (name == "--quiet") {
      if (hasValue)
        return usage("option '--quiet' takes no value");
      opts.quiet = true;
      continue;
    }
    static const char *const kValued[] = {
        "--input", "--weights", "--seed",    "--iters",     "--warmup",
        "--csv",   "--output",  "--profile", "--cuda-graph"};
    bool known = false;
    for (const char *option : kValued)
      known |= name == option;
    if (!known)
      return usage("unknown option '" + name + "'");
    if (!hasValue) {
      if (i + 1 >= argc)
        return usage("option '" + name + "' needs a value");
      value = argv[++i];
    }
    if (value.empty())
      return usage("option '" + name + "' needs a non-empty value");

    if (name == "--input") {
      opts.inputs.push_back(value);
    } else if (name == "--weights") {
      if (value == "file")
        opts.weights = WeightSource::File;
      else if (value == "random")
        opts.weights = WeightSource::Random;
      else
        return usage("--weights must be 'file' or 'random', not '" + value +
                     "'");
    } else if (name == "--seed") {
      if (!parseUnsigned(value, opts.seed))
        return usage("--seed needs a non-negative integer, not '" + value +
                     "'");
    } else if (name == "--iters" || name == "--warmup") {
      uint64_t count;
      // A billion calls is beyond any sensible run; the bound also keeps
      // the timing vector allocation sane.
      if (!parseUnsigned(value, count) || count > 1000000000u)
        return usage(name + " needs an integer in [0, 1e9], not '" + value +
                     "'");
      if (name == "--iters") {
        if (count == 0)
          return usage("--iters must be at least 1");
        opts.iters = count;
      } else {
        opts.warmup = count;
      }
    } else if (name == "--csv") {
      opts.csv = value;
    } else if (name == "--output") {
      opts.output = value;
    } else if (name == "--profile") {
      opts.profile = value;
    } else if (name == "--cuda-graph") {
      if (value != "on" && value != "off")
        return usage("--cuda-graph must be 'on' or 'off', not '" + value + "'");
      opts.cudaGraph = value == "on";
    }
  }
  if (!sawDir)
    return usage("missing ARTIFACT_DIR");
  return std::nullopt;
}

bool endsWith(const std::string &text, const char *suffix) {
  size_t n = std::strlen(suffix);
  return text.size() >= n && text.compare(text.size() - n, n, suffix) == 0;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

bool isIntegerDType(DType dtype) {
  return dtype == DType::I64 || dtype == DType::I32 || dtype == DType::I8 ||
         dtype == DType::U8 || dtype == DType::BOOL;
}

/// Stores integer `value` into element `index` of an integer buffer,
/// failing when the destination type cannot hold it.
bool storeInteger(DType dtype, void *dst, int64_t index, int64_t value) {
  char *base = static_cast<char *>(dst);
  switch (dtype) {
  case DType::I64:
    std::memcpy(base + index * 8, &value, 8);
    return true;
  case DType::I32: {
    if (value < std::numeric_limits<int32_t>::min() ||
        value > std::numeric_limits<int32_t>::max())
      return false;
    int32_t narrow = static_cast<int32_t>(value);
    std::memcpy(base + index * 4, &narrow, 4);
    return true;
  }
  case DType::I8:
    if (value < -128 || value > 127)
      return false;
    base[index] = static_cast<char>(value);
    return true;
  case DType::U8:
  case DType::BOOL:
    if (value < 0 || value > 255)
      return false;
    base[index] = static_cast<char>(value);
    return true;
  default:
    return false;
  }
}

int64_t loadInteger(DType dtype, const void *src, int64_t index) {
  const char *base = static_cast<const char *>(src);
  if (dtype == DType::I64) {
    int64_t value;
    std::memcpy(&value, base + index * 8, 8);
    return value;
  }
  if (dtype == DType::I32) {
    int32_t value;
    std::memcpy(&value, base + index * 4, 4);
    return value;
  }
  return static_cast<int64_t>(loadAsDouble(dtype, src, index));
}

/// Uniform double in [0, 1) from one 64-bit draw: hand-rolled so a seed
/// gives the same inputs with every standard library.
double unitUniform(std::mt19937_64 &rng) {
  return static_cast<double>(rng() >> 11) * 0x1p-53;
}

/// Fills input buffer `dst` for `spec` from `source` ("random" or a path).
std::optional<Failure> loadInput(const TensorSpec &spec,
                                 const std::string &source, void *dst,
                                 int64_t vocab, std::mt19937_64 &rng) {
  std::string what = "input '" + spec.name + "'";
  int64_t count = spec.numElements();
  bool integer = isIntegerDType(spec.dtype);
  if (!integer && !isFloatDType(spec.dtype))
    return Failure{what + ": unsupported dtype"};

  if (source == "random") {
    for (int64_t i = 0; i < count; ++i) {
      if (integer)
        storeInteger(
            spec.dtype, dst, i,
            static_cast<int64_t>(rng() % static_cast<uint64_t>(vocab)));
      else
        storeFromDouble(spec.dtype, dst, i, 2 * unitUniform(rng) - 1);
    }
    return std::nullopt;
  }

  std::string error;
  if (endsWith(source, ".npy")) {
    NpyArray array;
    if (!readNpy(source, array, error))
      return Failure{what + ": " + error};
    if (array.numElements() != count)
      return Failure{what + ": " + source + " has shape " +
                     shapeString(array.shape) + ", the model takes " +
                     shapeString(spec.shape)};
    bool arrayInteger = isIntegerDType(array.dtype);
    if (arrayInteger != integer)
      return Failure{what + ": " + source + " holds " +
                     (arrayInteger ? "integers" : "floats") +
                     ", the model takes " + manifestDTypeName(spec.dtype)};
    for (int64_t i = 0; i < count; ++i) {
      if (!integer) {
        storeFromDouble(spec.dtype, dst, i,
                        loadAsDouble(array.dtype, array.data.data(), i));
        continue;
      }
      int64_t value = loadInteger(array.dtype, array.data.data(), i);
      if (!storeInteger(spec.dtype, dst, i, value))
        return Failure{what + ": value " + std::to_string(value) +
                       " at position " + std::to_string(i) + " of " + source +
                       " does not fit " + manifestDTypeName(spec.dtype)};
    }
    return std::nullopt;
  }

  std::vector<uint8_t> bytes;
  if (!fly::runtime::readFileBytes(source, bytes, error))
    return Failure{what + ": " + error};

  if (endsWith(source, ".txt")) {
    if (!integer)
      return Failure{what + ": .txt files hold token ids, but the input is " +
                     manifestDTypeName(spec.dtype)};
    std::string text(bytes.begin(), bytes.end());
    size_t pos = 0;
    int64_t n = 0;
    while (true) {
      while (pos < text.size() &&
             std::isspace(static_cast<unsigned char>(text[pos])))
        ++pos;
      if (pos == text.size())
        break;
      size_t end = pos;
      while (end < text.size() &&
             !std::isspace(static_cast<unsigned char>(text[end])))
        ++end;
      std::string token = text.substr(pos, end - pos);
      pos = end;
      errno = 0;
      char *tail = nullptr;
      long long value = std::strtoll(token.c_str(), &tail, 10);
      if (errno || *tail != '\0')
        return Failure{what + ": '" + token + "' in " + source +
                       " is not an integer"};
      if (n < count && !storeInteger(spec.dtype, dst, n, value))
        return Failure{what + ": value " + token + " in " + source +
                       " does not fit " + manifestDTypeName(spec.dtype)};
      ++n;
    }
    if (n != count)
      return Failure{what + ": " + source + " has " + std::to_string(n) +
                     " integers, the model takes " + std::to_string(count) +
                     " (shape " + shapeString(spec.shape) + ")"};
    return std::nullopt;
  }

  if (bytes.size() != spec.byteSize())
    return Failure{
        what + ": raw file " + source + " has " + std::to_string(bytes.size()) +
        " bytes, the model takes " + std::to_string(spec.byteSize()) + " (" +
        manifestDTypeName(spec.dtype) + " " + shapeString(spec.shape) + ")"};
  if (!bytes.empty())
    std::memcpy(dst, bytes.data(), bytes.size());
  return std::nullopt;
}

/// Quotes a CSV field when it contains a separator, quote or newline.
std::string csvField(const std::string &text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos)
    return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"')
      quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::optional<Failure> appendCsv(const std::string &path, const Manifest &m,
                                 uint64_t iters, const TimingStats &stats) {
  struct stat info;
  bool fresh = ::stat(path.c_str(), &info) != 0 || info.st_size == 0;
  std::FILE *file = std::fopen(path.c_str(), "a");
  if (!file)
    return Failure{path + ": " + std::strerror(errno)};
  if (fresh)
    std::fprintf(file, "model,target,batch,seq,structure,iters,avgTime,"
                       "medianTime,minTime\n");
  std::fprintf(
      file, "%s,%s,%" PRId64 ",%" PRId64 ",%s,%" PRIu64 ",%.6f,%.6f,%.6f\n",
      csvField(m.model).c_str(), csvField(m.target).c_str(), m.options.batch,
      m.options.seq, csvField(m.options.structure).c_str(), iters, stats.avg,
      stats.median, stats.min);
  if (std::fclose(file) != 0)
    return Failure{path + ": write error"};
  return std::nullopt;
}

std::optional<Failure> writeOutput(const std::string &path,
                                   const TensorSpec &spec, const void *data) {
  std::string error;
  bool ok;
  if (spec.dtype == DType::F32 || spec.dtype == DType::I64 ||
      spec.dtype == DType::I32) {
    ok = writeNpy(path, spec.dtype, spec.shape, data, error);
  } else {
    // Conformance scripts compare in f32 (or i64 for small integer types).
    DType target = isFloatDType(spec.dtype) ? DType::F32 : DType::I64;
    TensorSpec converted{spec.name, target, spec.shape};
    AlignedBuffer buffer = allocateAligned(converted.byteSize());
    if (!buffer)
      return Failure{"out of memory converting output '" + spec.name + "'"};
    for (int64_t i = 0; i < spec.numElements(); ++i)
      storeFromDouble(target, buffer.get(), i,
                      loadAsDouble(spec.dtype, data, i));
    ok = writeNpy(path, target, spec.shape, buffer.get(), error);
  }
  if (!ok)
    return Failure{error};
  return std::nullopt;
}

void printSummary(const TensorSpec &spec, const void *data) {
  int64_t count = spec.numElements();
  double minValue = std::numeric_limits<double>::infinity();
  double maxValue = -minValue, sum = 0;
  int64_t nans = 0;
  for (int64_t i = 0; i < count; ++i) {
    double v = loadAsDouble(spec.dtype, data, i);
    if (std::isnan(v)) {
      ++nans;
      continue;
    }
    minValue = std::min(minValue, v);
    maxValue = std::max(maxValue, v);
    sum += v;
  }
  std::printf("output %s %s %s:", spec.name.c_str(),
              shapeString(spec.shape).c_str(), manifestDTypeName(spec.dtype));
  if (count > nans)
    std::printf(" min %.6g  max %.6g  mean %.6g", minValue, maxValue,
                sum / static_cast<double>(count - nans));
  if (nans)
    std::printf("  NaN %" PRId64 " of %" PRId64, nans, count);
  std::printf("\n  first:");
  for (int64_t i = 0; i < std::min<int64_t>(count, 5); ++i)
    std::printf(" %.6g", loadAsDouble(spec.dtype, data, i));
  std::printf("\n");
  // For logits ([batch, seq, vocab] or [batch, classes]) the last row's
  // argmax is the predicted next token or class: a quick sanity check.
  size_t rank = spec.shape.size();
  if (isFloatDType(spec.dtype) && (rank == 2 || rank == 3) && count > 0) {
    int64_t row = spec.shape.back();
    int64_t start = count - row;
    int64_t best = 0;
    double bestValue = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < row; ++j) {
      double v = loadAsDouble(spec.dtype, data, start + j);
      if (v > bestValue) {
        bestValue = v;
        best = j;
      }
    }
    std::printf("  argmax of last row: %" PRId64 " (%.6g)\n", best, bestValue);
  }
}

/// Runs `kProfiledCalls` calls with per-launch events, writes the Chrome
/// trace and prints a per-kernel table (times per call).
std::optional<Failure> profileCalls(Artifact &artifact,
                                    const std::string &path) {
  constexpr size_t kProfiledCalls = 3;
  std::vector<std::vector<cuda::KernelRecord>> calls;
  std::vector<cuda::KernelRecord> all;
  std::string error;
  for (size_t i = 0; i < kProfiledCalls; ++i) {
    cuda::beginProfile();
    bool ok = artifact.rerun(error);
    std::vector<cuda::KernelRecord> records;
    std::string profileError;
    if (!cuda::endProfile(records, profileError))
      return Failure{"profiling failed: " + profileError};
    if (!ok)
      return Failure{"run failed: " + error};
    all.insert(all.end(), records.begin(), records.end());
    calls.push_back(std::move(records));
  }
  FILE *file = std::fopen(path.c_str(), "w");
  if (!file)
    return Failure{path + ": " + std::strerror(errno)};
  std::string json = cuda::chromeTraceJson(calls);
  bool written = std::fwrite(json.data(), 1, json.size(), file) == json.size();
  if (std::fclose(file) != 0 || !written)
    return Failure{path + ": write failed"};

  // Generic kernels are numbered per launch site (fly_main_12_reduce):
  // totals per family (fly_main_#_reduce) first, then every kernel.
  std::vector<cuda::KernelRecord> families = all;
  for (cuda::KernelRecord &r : families) {
    std::string family;
    for (size_t i = 0; i < r.name.size(); ++i) {
      bool digit = std::isdigit(static_cast<unsigned char>(r.name[i]));
      bool afterUnderscore = i > 0 && r.name[i - 1] == '_';
      if (digit && afterUnderscore) {
        while (i + 1 < r.name.size() &&
               std::isdigit(static_cast<unsigned char>(r.name[i + 1])))
          ++i;
        family += '#';
      } else {
        family += r.name[i];
      }
    }
    r.name = family;
  }
  std::vector<cuda::KernelSummary> byFamily = cuda::summarizeProfile(families);
  std::vector<cuda::KernelSummary> summary = cuda::summarizeProfile(all);
  double total = 0;
  for (const cuda::KernelSummary &k : summary)
    total += k.totalMs;
  double perCall = total / double(kProfiledCalls);
  std::printf("profile: %zu calls, %zu launches per call, %.3f ms of kernels "
              "per call (trace: %s)\n",
              kProfiledCalls, all.size() / kProfiledCalls, perCall,
              path.c_str());
  auto printTable = [&](const std::vector<cuda::KernelSummary> &rows,
                        const char *what) {
    std::printf("  %8s %8s %9s %6s  %s\n", "ms/call", "launches", "us/launch",
                "share", what);
    for (const cuda::KernelSummary &k : rows)
      std::printf("  %8.3f %8zu %9.1f %5.1f%%  %s\n",
                  k.totalMs / double(kProfiledCalls),
                  k.launches / kProfiledCalls,
                  1e3 * k.totalMs / double(k.launches),
                  total > 0 ? 100.0 * k.totalMs / total : 0.0, k.name.c_str());
  };
  printTable(byFamily, "kernel family (# = any launch site)");
  printTable(summary, "kernel");
  std::fflush(stdout);
  return std::nullopt;
}

int runMain(int argc, char **argv) {
  Options opts;
  bool help = false;
  if (std::optional<Failure> failure = parseArgs(argc, argv, opts, help))
    return report(*failure);
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }

  std::string error;
  std::unique_ptr<Artifact> artifact =
      Artifact::load(opts.dir, opts.weights, opts.seed, error);
  if (!artifact)
    return report({error});
  const Manifest &m = artifact->manifest();

  if (!opts.inputs.empty() && opts.inputs.size() != m.inputs.size()) {
    std::string names;
    for (const TensorSpec &spec : m.inputs)
      names += (names.empty() ? "" : ", ") + spec.name;
    return report({"got " + std::to_string(opts.inputs.size()) +
                       " --input options, the model takes " +
                       std::to_string(m.inputs.size()) + " (" + names + ")",
                   2});
  }

  std::optional<int64_t> vocabSize = m.configInt("vocab_size");
  if (vocabSize && *vocabSize <= 0)
    return report({opts.dir + ": config.vocab_size must be positive"});
  int64_t vocab = vocabSize.value_or(100);
  // A different stream from the weights' (which use `seed` itself).
  std::mt19937_64 rng(opts.seed ^ 0x9e3779b97f4a7c15ull);
  std::vector<AlignedBuffer> owned;
  std::vector<void *> inputs, outputs;
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    const TensorSpec &spec = m.inputs[i];
    AlignedBuffer buffer = allocateAligned(spec.byteSize());
    if (!buffer)
      return report({"out of memory allocating input '" + spec.name + "'"});
    std::string source = opts.inputs.empty() ? "random" : opts.inputs[i];
    if (std::optional<Failure> failure =
            loadInput(spec, source, buffer.get(), vocab, rng))
      return report(*failure);
    // Out-of-range token ids would make the embedding gather read out of
    // bounds inside the compiled code.
    if (vocabSize && isIntegerDType(spec.dtype)) {
      for (int64_t j = 0; j < spec.numElements(); ++j) {
        int64_t id = loadInteger(spec.dtype, buffer.get(), j);
        if (id < 0 || id >= *vocabSize)
          return report({"input '" + spec.name + "': token id " +
                         std::to_string(id) + " at position " +
                         std::to_string(j) + " is outside [0, " +
                         std::to_string(*vocabSize) + ") (config.vocab_size)"});
      }
    }
    inputs.push_back(buffer.get());
    owned.push_back(std::move(buffer));
  }
  for (const TensorSpec &spec : m.outputs) {
    AlignedBuffer buffer = allocateAligned(spec.byteSize());
    if (!buffer)
      return report({"out of memory allocating output '" + spec.name + "'"});
    // All-ones bytes are NaN for floats: an element the model never writes
    // shows up in the summary instead of passing as a plausible zero.
    std::memset(buffer.get(), 0xff, spec.byteSize());
    outputs.push_back(buffer.get());
    owned.push_back(std::move(buffer));
  }

  if (!opts.profile.empty() && !artifact->onDevice())
    return report({"--profile times GPU kernels; " + opts.dir +
                       " was compiled for '" + m.target + "'",
                   2});
  artifact->setUseGraphs(opts.cudaGraph);
  // The first call copies the inputs (to the device for CUDA artifacts).
  if (!artifact->run(inputs, outputs, error))
    return report({"run failed: " + error});
  for (uint64_t i = 1; i < opts.warmup; ++i)
    if (!artifact->rerun(error))
      return report({"run failed: " + error});
  std::vector<double> times;
  times.reserve(opts.iters);
  for (uint64_t i = 0; i < opts.iters; ++i) {
    Clock::time_point start = Clock::now();
    if (!artifact->rerun(error))
      return report({"run failed: " + error});
    times.push_back(elapsedMs(start, Clock::now()));
  }
  if (!artifact->fetchOutputs(error))
    return report({"reading the outputs failed: " + error});
  TimingStats stats = computeStats(times);

  std::string config = m.model + " target " + m.target + " batch " +
                       std::to_string(m.options.batch) + " seq " +
                       std::to_string(m.options.seq);
  if (!m.options.structure.empty())
    config += " structure " + m.options.structure;
  std::string graph;
  if (artifact->onDevice())
    graph = "; CUDA graph " + artifact->graphStatus();
  std::printf("fly-run: %s: avg %.3f ms  median %.3f ms  min %.3f ms  "
              "(%" PRIu64 " iters, %" PRIu64 " warmup%s)\n",
              config.c_str(), stats.avg, stats.median, stats.min, opts.iters,
              opts.warmup, graph.c_str());
  if (artifact->onDevice() && !opts.quiet)
    std::printf("  device: %s\n", cuda::deviceDescription().c_str());
  if (!opts.quiet)
    for (size_t i = 0; i < m.outputs.size(); ++i)
      printSummary(m.outputs[i], outputs[i]);
  std::fflush(stdout);
  if (!opts.profile.empty())
    if (std::optional<Failure> failure = profileCalls(*artifact, opts.profile))
      return report(*failure);

  if (!opts.csv.empty())
    if (std::optional<Failure> failure =
            appendCsv(opts.csv, m, opts.iters, stats))
      return report(*failure);
  if (!opts.output.empty())
    if (std::optional<Failure> failure =
            writeOutput(opts.output, m.outputs[0], outputs[0]))
      return report(*failure);
  return 0;
}

} // namespace

int main(int argc, char **argv) { return runMain(argc, argv); }
