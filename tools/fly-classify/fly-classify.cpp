//===- fly-classify.cpp - Top-1 accuracy of a compiled image classifier ---===//
//
// Runs a fly artifact of an image classifier (HF ViT: pixel_values [batch, 3,
// H, W] -> logits [batch, classes]) over a directory in torchvision's
// ImageFolder layout and reports the top-1 accuracy, overall and per class.
// Like fly-run it uses only the thin runtime (no LLVM); images are decoded by
// ImageFolder.cpp.
//
//===----------------------------------------------------------------------===//

#include "ImageFolder.h"

#include "fly/runtime/Artifact.h"
#include "fly/runtime/CommandLine.h"
#include "fly/runtime/FileUtils.h"
#include "fly/runtime/Timing.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

using namespace fly::runtime;
using namespace fly::classify;

namespace {

constexpr const char *kUsage =
    R"(USAGE: fly-classify ARTIFACT_DIR IMAGE_FOLDER [options]

Runs a compiled image classifier (an HF ViT artifact from fly-compile: input
pixel_values [batch, 3, H, W], output logits [batch, classes]) on every image
of IMAGE_FOLDER and prints the top-1 accuracy, overall and per class.

IMAGE_FOLDER has torchvision's ImageFolder layout: one subfolder per class
holding that class's images (subfolders of it included), JPEG or PNG
(.jpg, .jpeg, .png). Class folders sorted by name are classes 0, 1, ...,
which must then number as many as the model's logits; with --labels the
folder names are looked up in the config's id2label instead. Names starting
with '.' are ignored; any other file that is not a JPEG or PNG image, a file
beside the class folders, an empty class folder or a corrupt image is an
error.

Each image is decoded as 8-bit RGB (grey replicated, alpha dropped), resized
to the model's H x W with a bilinear (triangle) filter when its size differs
(aspect ratio not kept, like HF's ViTImageProcessor), and normalised to
(pixel / 255 - mean) / std per channel. Images run in batches of the
artifact's batch size; the last batch is padded with zeros and the padded
rows' logits are ignored.

OPTIONS:
  --labels FILE         An HF config.json (or an artifact's manifest.json)
                        whose id2label names the model's classes: each
                        class folder must be one of those names, and its
                        images are of that class index.
  --mean M[,M,M]        Per-channel (R,G,B) mean, or one for all (default
                        0.5, HF's ViT default; ImageNet models trained with
                        torchvision use 0.485,0.456,0.406).
  --std S[,S,S]         Per-channel standard deviation (default 0.5;
                        torchvision: 0.229,0.224,0.225).
  --predictions FILE    Write one CSV row per image: path (relative to
                        IMAGE_FOLDER), class, class_index, predicted_index,
                        predicted_class, correct (0/1), logit (the top one).
  --limit N             Classify N images only, taken round-robin over the
                        classes (the first image of each class, then the
                        second, ...) so that a quick run sees every class.
  --save-inputs FILE    Write the preprocessed images to FILE (.npy, f32
                        [images, 3, H, W], in the order classified): to
                        check preprocessing or to feed fly-run.
  --quiet               No progress messages on stderr.
  -h, --help            Show this help.

Options also accept the --name=value form. The report goes to stdout,
progress (every 2 s on long runs) to stderr. Errors exit with status 1 (2 for
command-line errors).

EXAMPLES:
  fly-compile path/to/vit --batch 32 -o vit.fly
  fly-classify vit.fly imagenet/val    (n01440764/ ... sorted: classes 0..999)
  fly-classify vit.fly my-images --labels path/to/vit/config.json \
      --predictions preds.csv          (folders named like id2label's values)
)";

struct Options {
  std::string artifact;
  std::string folder;
  std::string labels;
  double mean[3] = {0.5, 0.5, 0.5};
  double std[3] = {0.5, 0.5, 0.5};
  std::string predictions;
  uint64_t limit = 0; ///< 0: every image.
  std::string saveInputs;
  bool quiet = false;
};

int report(const Failure &failure) {
  return reportFailure("fly-classify", failure);
}

/// Parses "a,b,c" or "a" (then used for all three channels) into `values`.
bool parseChannelValues(const std::string &text, double (&values)[3],
                        bool positive) {
  std::vector<double> parsed;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item.empty())
      return false;
    errno = 0;
    char *tail = nullptr;
    double value = std::strtod(item.c_str(), &tail);
    if (errno || *tail != '\0' || !std::isfinite(value) ||
        (positive && value <= 0))
      return false;
    parsed.push_back(value);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  if (parsed.size() != 1 && parsed.size() != 3)
    return false;
  for (int c = 0; c < 3; ++c)
    values[c] = parsed[parsed.size() == 1 ? 0 : c];
  return true;
}

std::optional<Failure> parseArgs(int argc, char **argv, Options &opts,
                                 bool &help) {
  auto usage = [](const std::string &message) { return Failure{message, 2}; };
  std::vector<std::string> positional;
  bool endOfOptions = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (endOfOptions || arg.empty() || arg[0] != '-' || arg == "-") {
      positional.push_back(arg);
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
    static const char *const kValued[] = {"--labels", "--mean",
                                          "--std",    "--predictions",
                                          "--limit",  "--save-inputs"};
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

    if (name == "--labels") {
      opts.labels = value;
    } else if (name == "--mean") {
      if (!parseChannelValues(value, opts.mean, /*positive=*/false))
        return usage("--mean needs one or three comma-separated numbers, not "
                     "'" +
                     value + "'");
    } else if (name == "--std") {
      if (!parseChannelValues(value, opts.std, /*positive=*/true))
        return usage("--std needs one or three comma-separated positive "
                     "numbers, not '" +
                     value + "'");
    } else if (name == "--predictions") {
      opts.predictions = value;
    } else if (name == "--limit") {
      if (!parseUnsigned(value, opts.limit) || opts.limit == 0)
        return usage("--limit needs a positive integer, not '" + value + "'");
    } else if (name == "--save-inputs") {
      opts.saveInputs = value;
    }
  }
  if (positional.size() < 2)
    return usage(positional.empty() ? "missing ARTIFACT_DIR and IMAGE_FOLDER"
                                    : "missing IMAGE_FOLDER");
  if (positional.size() > 2)
    return usage("unexpected argument '" + positional[2] +
                 "' (one artifact and one image folder)");
  opts.artifact = positional[0];
  opts.folder = positional[1];
  while (opts.folder.size() > 1 && opts.folder.back() == '/')
    opts.folder.pop_back();
  return std::nullopt;
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// The model's classes as id2label names them (index -> name), read from
/// an HF config.json or an artifact manifest (its "config" object).
std::optional<Failure> readLabels(const std::string &path,
                                  std::vector<std::string> &names) {
  using Json = nlohmann::json;
  std::string text, error;
  if (!readFileText(path, text, error))
    return Failure{"--labels: " + error};
  Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded())
    return Failure{
        "--labels: " + path + ": " +
        describeJsonSyntaxError(text.data(), text.data() + text.size())};
  const Json *id2label = nullptr;
  if (root.is_object() && root.contains("id2label"))
    id2label = &root["id2label"];
  else if (root.is_object() && root.contains("config") &&
           root["config"].is_object() && root["config"].contains("id2label"))
    id2label = &root["config"]["id2label"];
  if (!id2label)
    return Failure{"--labels: " + path + " has no id2label object"};
  if (!id2label->is_object() || id2label->empty())
    return Failure{"--labels: " + path +
                   ": id2label must be a non-empty object"};
  size_t count = id2label->size();
  names.assign(count, std::string());
  std::vector<bool> seen(count, false);
  for (auto it = id2label->begin(); it != id2label->end(); ++it) {
    uint64_t index;
    if (!parseUnsigned(it.key(), index) || index >= count || seen[index])
      return Failure{"--labels: " + path + ": id2label key '" + it.key() +
                     "' is not one of the class indices 0.." +
                     std::to_string(count - 1) + " (each once)"};
    if (!it.value().is_string())
      return Failure{"--labels: " + path + ": id2label[\"" + it.key() +
                     "\"] is not a string"};
    seen[index] = true;
    names[index] = it.value().get<std::string>();
  }
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

/// The header of a version 1.0 .npy file of little-endian f32 in C order
/// with `shape`: the data can then be appended image by image, so that
/// --save-inputs never holds the whole folder in memory.
std::string npyF32Header(const std::vector<int64_t> &shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i)
    dict += std::to_string(shape[i]) +
            (shape.size() == 1 || i + 1 < shape.size() ? ", " : "");
  dict += "), }";
  // Magic (6) + version (2) + length (2) + dict + '\n', padded with spaces
  // to a multiple of 64 bytes.
  size_t total = (10 + dict.size() + 1 + 63) / 64 * 64;
  dict.append(total - 10 - dict.size() - 1, ' ');
  dict += '\n';
  std::string header("\x93NUMPY\x01\x00", 8);
  header += static_cast<char>(dict.size() & 0xff);
  header += static_cast<char>(dict.size() >> 8);
  return header + dict;
}

/// An output file opened for writing, closed on every return path;
/// close() reports write errors.
class OutputFile {
public:
  explicit OutputFile(const std::string &path) : path(path) {
    if (!path.empty())
      file = std::fopen(path.c_str(), "wb");
  }
  ~OutputFile() {
    if (file)
      std::fclose(file);
  }
  OutputFile(const OutputFile &) = delete;
  OutputFile &operator=(const OutputFile &) = delete;

  bool enabled() const { return !path.empty(); }
  std::FILE *get() const { return file; }
  bool write(const void *data, size_t bytes) {
    return std::fwrite(data, 1, bytes, file) == bytes;
  }
  /// Closes the file; false when anything failed to reach it.
  bool close() {
    std::FILE *f = file;
    file = nullptr;
    bool failed = std::ferror(f) != 0;
    return std::fclose(f) == 0 && !failed;
  }

private:
  std::string path;
  std::FILE *file = nullptr;
};

/// One image to classify.
struct Item {
  size_t folder; ///< Index into the listed class folders.
  std::string path;
};

/// Per class folder tallies.
struct ClassStats {
  int64_t images = 0, correct = 0;
};

double percent(int64_t part, int64_t whole) {
  return whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole)
               : 0.0;
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
      Artifact::load(opts.artifact, WeightSource::File, 0, error);
  if (!artifact)
    return report({error});
  const Manifest &m = artifact->manifest();

  // An image classifier: one float input [batch, 3, H, W] and float logits
  // [batch, classes] first among the outputs.
  std::string notClassifier =
      opts.artifact + " is not an image classifier (fly-classify needs one "
                      "float input [batch, 3, H, W] and float logits [batch, "
                      "classes]): ";
  if (m.inputs.size() != 1)
    return report({notClassifier + "it takes " +
                   std::to_string(m.inputs.size()) + " inputs"});
  const TensorSpec &in = m.inputs[0];
  if (!isFloatDType(in.dtype) || in.shape.size() != 4 || in.shape[1] != 3 ||
      in.shape[0] < 1 || in.shape[2] < 1 || in.shape[3] < 1 ||
      in.shape[2] > (1 << 15) || in.shape[3] > (1 << 15))
    return report({notClassifier + "input '" + in.name + "' is " +
                   manifestDTypeName(in.dtype) + " " + shapeString(in.shape)});
  if (m.outputs.empty())
    return report({notClassifier + "it has no output"});
  const TensorSpec &outSpec = m.outputs[0];
  if (!isFloatDType(outSpec.dtype) || outSpec.shape.size() != 2 ||
      outSpec.shape[0] != in.shape[0] || outSpec.shape[1] < 1)
    return report({notClassifier + "output '" + outSpec.name + "' is " +
                   manifestDTypeName(outSpec.dtype) + " " +
                   shapeString(outSpec.shape)});
  const int64_t batch = in.shape[0];
  const int64_t numLogits = outSpec.shape[1];
  Preprocess pre;
  pre.height = in.shape[2];
  pre.width = in.shape[3];
  std::copy(opts.mean, opts.mean + 3, pre.mean);
  std::copy(opts.std, opts.std + 3, pre.std);

  std::vector<ClassFolder> folders;
  if (!listImageFolder(opts.folder, folders, error))
    return report({error});

  // The model's class index of each folder, and the names of the model's
  // classes for the predictions (the folder names without --labels).
  std::vector<int64_t> classIndex(folders.size());
  std::vector<std::string> modelClassNames;
  if (opts.labels.empty()) {
    if (static_cast<int64_t>(folders.size()) != numLogits)
      return report(
          {opts.folder + " has " + std::to_string(folders.size()) +
           " class folders but the model's logits have " +
           std::to_string(numLogits) +
           " classes; pass --labels CONFIG.json to map folder names to the "
           "model's classes through its id2label"});
    for (size_t i = 0; i < folders.size(); ++i) {
      classIndex[i] = static_cast<int64_t>(i);
      modelClassNames.push_back(folders[i].name);
    }
  } else {
    if (std::optional<Failure> failure =
            readLabels(opts.labels, modelClassNames))
      return report(*failure);
    if (static_cast<int64_t>(modelClassNames.size()) != numLogits)
      return report({"--labels: " + opts.labels + " names " +
                     std::to_string(modelClassNames.size()) +
                     " classes in id2label but the model's logits have " +
                     std::to_string(numLogits)});
    std::map<std::string, std::vector<int64_t>> byName;
    for (size_t i = 0; i < modelClassNames.size(); ++i)
      byName[modelClassNames[i]].push_back(static_cast<int64_t>(i));
    for (size_t i = 0; i < folders.size(); ++i) {
      auto it = byName.find(folders[i].name);
      if (it == byName.end()) {
        std::string some;
        for (size_t j = 0; j < std::min<size_t>(3, modelClassNames.size()); ++j)
          some += (j ? "', '" : "") + modelClassNames[j];
        return report({opts.folder + "/" + folders[i].name +
                       ": class folder '" + folders[i].name +
                       "' is not a label of " + opts.labels +
                       "'s id2label (which names " +
                       std::to_string(modelClassNames.size()) + " classes: '" +
                       some + (modelClassNames.size() > 3 ? "', ...)" : "')")});
      }
      if (it->second.size() > 1)
        return report({opts.folder + "/" + folders[i].name + ": label '" +
                       folders[i].name + "' names classes " +
                       std::to_string(it->second[0]) + " and " +
                       std::to_string(it->second[1]) + " in " + opts.labels +
                       "'s id2label; the folder is ambiguous"});
      classIndex[i] = it->second[0];
    }
  }

  // The images in listing order, or a round-robin selection of --limit.
  std::vector<Item> items;
  {
    size_t total = 0, longest = 0;
    for (const ClassFolder &f : folders) {
      total += f.files.size();
      longest = std::max(longest, f.files.size());
    }
    std::vector<size_t> take(folders.size(), 0);
    if (opts.limit == 0 || opts.limit >= total) {
      for (size_t i = 0; i < folders.size(); ++i)
        take[i] = folders[i].files.size();
    } else {
      uint64_t left = opts.limit;
      for (size_t round = 0; round < longest && left; ++round)
        for (size_t i = 0; i < folders.size() && left; ++i)
          if (round < folders[i].files.size()) {
            ++take[i];
            --left;
          }
    }
    for (size_t i = 0; i < folders.size(); ++i)
      for (size_t j = 0; j < take[i]; ++j)
        items.push_back({i, folders[i].name + "/" + folders[i].files[j]});
  }
  const int64_t numImages = static_cast<int64_t>(items.size());

  // Both output files are opened before the first image is decoded, so
  // that a bad path fails at once rather than after a long run.
  OutputFile csv(opts.predictions);
  if (csv.enabled() && !csv.get())
    return report(
        {"--predictions: " + opts.predictions + ": " + std::strerror(errno)});
  if (csv.enabled())
    std::fprintf(csv.get(), "path,class,class_index,predicted_index,"
                            "predicted_class,correct,logit\n");
  OutputFile savedInputs(opts.saveInputs);
  if (savedInputs.enabled()) {
    if (!savedInputs.get())
      return report(
          {"--save-inputs: " + opts.saveInputs + ": " + std::strerror(errno)});
    std::string header = npyF32Header({numImages, 3, in.shape[2], in.shape[3]});
    savedInputs.write(header.data(), header.size());
  }

  std::string config =
      m.model + ", target " + m.target + ", batch " + std::to_string(batch) +
      ", " + std::to_string(pre.height) + "x" + std::to_string(pre.width);
  if (!m.options.structure.empty())
    config += ", structure " + m.options.structure;
  std::printf("fly-classify: %s (%s)\n", opts.artifact.c_str(), config.c_str());
  std::printf("fly-classify: %s: %" PRId64 " images in %zu classes\n",
              opts.folder.c_str(), numImages, folders.size());
  std::fflush(stdout);

  AlignedBuffer inputBuffer = allocateAligned(in.byteSize());
  AlignedBuffer outputBuffer = allocateAligned(outSpec.byteSize());
  if (!inputBuffer || !outputBuffer)
    return report({"out of memory allocating the model's buffers"});
  const size_t imageElements = static_cast<size_t>(3 * pre.height * pre.width);
  std::vector<float> image(imageElements);

  std::vector<ClassStats> stats(folders.size());
  int64_t correct = 0, resized = 0, done = 0, batches = 0;
  double decodeMs = 0, modelMs = 0;
  Stopwatch total, sinceProgress;
  for (int64_t start = 0; start < numImages; start += batch) {
    int64_t rows = std::min(batch, numImages - start);
    Stopwatch decodeTime;
    // Padding rows stay zero.
    std::memset(inputBuffer.get(), 0, in.byteSize());
    for (int64_t r = 0; r < rows; ++r) {
      const Item &item = items[start + r];
      ImageInfo info;
      if (!loadImage(opts.folder + "/" + item.path, pre, image.data(), info,
                     error))
        return report({error});
      resized += info.resized;
      size_t offset = static_cast<size_t>(r) * imageElements;
      if (in.dtype == DType::F32) {
        std::memcpy(reinterpret_cast<float *>(inputBuffer.get()) + offset,
                    image.data(), imageElements * sizeof(float));
      } else {
        for (size_t i = 0; i < imageElements; ++i)
          storeFromDouble(in.dtype, inputBuffer.get(),
                          static_cast<int64_t>(offset + i), image[i]);
      }
      if (savedInputs.enabled() &&
          !savedInputs.write(image.data(), imageElements * sizeof(float)))
        return report({"--save-inputs: " + opts.saveInputs + ": write error"});
    }
    decodeMs += decodeTime.elapsedMs();

    Stopwatch modelTime;
    // All-ones bytes are NaN: logits the model never writes are caught.
    std::memset(outputBuffer.get(), 0xff, outSpec.byteSize());
    if (!artifact->run({inputBuffer.get()}, {outputBuffer.get()}, error))
      return report({"run failed: " + error});
    modelMs += modelTime.elapsedMs();
    ++batches;

    for (int64_t r = 0; r < rows; ++r) {
      const Item &item = items[start + r];
      int64_t best = -1;
      double bestLogit = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < numLogits; ++j) {
        double v =
            loadAsDouble(outSpec.dtype, outputBuffer.get(), r * numLogits + j);
        if (!std::isfinite(v))
          return report({"the model's logit " + std::to_string(j) + " for " +
                         opts.folder + "/" + item.path + " is " +
                         (std::isnan(v) ? "NaN" : "infinite")});
        if (best < 0 || v > bestLogit) {
          best = j;
          bestLogit = v;
        }
      }
      int64_t truth = classIndex[item.folder];
      bool hit = best == truth;
      ++stats[item.folder].images;
      stats[item.folder].correct += hit;
      correct += hit;
      if (csv.enabled())
        std::fprintf(csv.get(), "%s,%s,%" PRId64 ",%" PRId64 ",%s,%d,%.9g\n",
                     csvField(item.path).c_str(),
                     csvField(folders[item.folder].name).c_str(), truth, best,
                     csvField(modelClassNames[best]).c_str(), hit ? 1 : 0,
                     bestLogit);
    }
    done += rows;
    if (!opts.quiet && sinceProgress.elapsedMs() >= 2000 && done < numImages) {
      std::fprintf(stderr,
                   "fly-classify: %" PRId64 "/%" PRId64
                   " images, top-1 so far %.2f%%, %.0f images/s\n",
                   done, numImages, percent(correct, done),
                   1e3 * static_cast<double>(done) / total.elapsedMs());
      sinceProgress.restart();
    }
  }
  if (csv.enabled() && !csv.close())
    return report({"--predictions: " + opts.predictions + ": write error"});
  if (savedInputs.enabled() && !savedInputs.close())
    return report({"--save-inputs: " + opts.saveInputs + ": write error"});

  // The report: one row per class folder, then the totals.
  size_t nameWidth = 5;
  for (const ClassFolder &f : folders)
    nameWidth = std::max(nameWidth, std::min<size_t>(f.name.size(), 40));
  int width = static_cast<int>(nameWidth);
  std::printf("  %-*s %7s %8s %8s %8s\n", width, "class", "index", "images",
              "correct", "top-1");
  for (size_t i = 0; i < folders.size(); ++i)
    std::printf("  %-*s %7" PRId64 " %8" PRId64 " %8" PRId64 " %7.2f%%\n",
                width, folders[i].name.c_str(), classIndex[i], stats[i].images,
                stats[i].correct, percent(stats[i].correct, stats[i].images));
  std::printf("  %-*s %7s %8" PRId64 " %8" PRId64 " %7.2f%%\n", width, "all",
              "", numImages, correct, percent(correct, numImages));
  std::printf("top-1 accuracy: %.2f%% (%" PRId64 " of %" PRId64 " images)\n",
              percent(correct, numImages), correct, numImages);
  int64_t padded = batches * batch - numImages;
  std::printf("time: %.3f s decoding (%" PRId64 " resized), %.3f s in the "
              "model (%" PRId64 " batches of %" PRId64 ", %" PRId64
              " padded rows), %.1f images/s\n",
              decodeMs / 1e3, resized, modelMs / 1e3, batches, batch, padded,
              total.elapsedMs() > 0
                  ? 1e3 * static_cast<double>(numImages) / total.elapsedMs()
                  : 0.0);
  return 0;
}

} // namespace

int main(int argc, char **argv) { return runMain(argc, argv); }
