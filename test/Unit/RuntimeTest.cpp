//===- RuntimeTest.cpp - Tests for the thin runtime -------------*- C++ -*-===//
//
// Manifest parsing, .npy files, half-precision conversions, random weights,
// timing statistics and an end-to-end load+run of a fake model.so
// (FakeModel.cpp: out = x + w over f32[4]). Expected encodings come from the
// IEEE 754 / bfloat16 definitions, not from the code under test.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/Artifact.h"
#include "fly/runtime/Npy.h"
#include "fly/runtime/Timing.h"

#include "gtest/gtest.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <unistd.h>

using namespace fly::runtime;
using json = nlohmann::json;

namespace {

json validManifest() {
  return json::parse(R"({
    "format": "fly-artifact", "version": 1,
    "model": "gpt2", "target": "cpu", "library": "model.so",
    "entry": "fly_entry", "weights_file": "weights.safetensors",
    "options": {"batch": 1, "seq": 16, "dtype": "f32", "structure": ""},
    "config": {"vocab_size": 512, "n_embd": 64, "activation": "gelu_new",
               "layer_norm_epsilon": 1e-5},
    "inputs": [{"name": "input_ids", "dtype": "i64", "shape": [1, 16]}],
    "weights": [{"name": "transformer.wte.weight", "dtype": "f32",
                 "shape": [512, 64]},
                {"name": "h.0.w", "dtype": "bf16", "shape": [64]}],
    "outputs": [{"name": "logits", "dtype": "f32", "shape": [1, 16, 512]}]
  })");
}

/// Parses `manifest` expecting failure; returns the error.
std::string parseError(const json &manifest) {
  Manifest m;
  std::string error;
  EXPECT_FALSE(parseManifest(manifest.dump(), m, error)) << manifest.dump();
  return error;
}

//===----------------------------------------------------------------------===//
// Manifest
//===----------------------------------------------------------------------===//

TEST(ManifestTest, ParsesValidManifest) {
  Manifest m;
  std::string error;
  ASSERT_TRUE(parseManifest(validManifest().dump(), m, error)) << error;
  EXPECT_EQ(m.format, "fly-artifact");
  EXPECT_EQ(m.version, 1);
  EXPECT_EQ(m.model, "gpt2");
  EXPECT_EQ(m.target, "cpu");
  EXPECT_EQ(m.library, "model.so");
  EXPECT_EQ(m.entry, "fly_entry");
  EXPECT_EQ(m.weightsFile, "weights.safetensors");
  EXPECT_EQ(m.options.batch, 1);
  EXPECT_EQ(m.options.seq, 16);
  EXPECT_EQ(m.options.dtype, "f32");
  EXPECT_EQ(m.options.structure, "");
  EXPECT_EQ(m.configInt("vocab_size"), 512);
  EXPECT_EQ(m.configInt("n_embd"), 64);
  EXPECT_FALSE(m.configInt("activation").has_value());
  EXPECT_FALSE(m.configInt("layer_norm_epsilon").has_value());
  EXPECT_EQ(json::parse(m.configJson)["activation"], "gelu_new");

  ASSERT_EQ(m.inputs.size(), 1u);
  EXPECT_EQ(m.inputs[0].name, "input_ids");
  EXPECT_EQ(m.inputs[0].dtype, DType::I64);
  EXPECT_EQ(m.inputs[0].shape, (std::vector<int64_t>{1, 16}));
  EXPECT_EQ(m.inputs[0].byteSize(), 16u * 8);
  ASSERT_EQ(m.weights.size(), 2u);
  EXPECT_EQ(m.weights[0].numElements(), 512 * 64);
  EXPECT_EQ(m.weights[1].dtype, DType::BF16);
  EXPECT_EQ(m.weights[1].byteSize(), 128u);
  ASSERT_EQ(m.outputs.size(), 1u);
  EXPECT_EQ(m.outputs[0].shape, (std::vector<int64_t>{1, 16, 512}));
  EXPECT_EQ(m.numBuffers(), 4u);
}

TEST(ManifestTest, AcceptsEveryManifestDType) {
  for (const char *name :
       {"f32", "f16", "bf16", "f64", "i64", "i32", "i8", "u8", "bool"}) {
    DType dtype;
    ASSERT_TRUE(parseManifestDType(name, dtype)) << name;
    EXPECT_STREQ(manifestDTypeName(dtype), name);
  }
  DType dtype;
  EXPECT_FALSE(parseManifestDType("F32", dtype));
  EXPECT_FALSE(parseManifestDType("float32", dtype));
}

TEST(ManifestTest, ReportsEachMissingField) {
  for (const char *key :
       {"format", "version", "model", "target", "library", "entry",
        "weights_file", "options", "config", "inputs", "weights", "outputs"}) {
    json m = validManifest();
    m.erase(key);
    std::string error = parseError(m);
    EXPECT_NE(error.find(std::string("missing field '") + key + "'"),
              std::string::npos)
        << error;
  }
  for (const char *key : {"batch", "seq", "dtype", "structure"}) {
    json m = validManifest();
    m["options"].erase(key);
    std::string error = parseError(m);
    EXPECT_NE(error.find(std::string("options.") + key), std::string::npos)
        << error;
  }
  for (const char *key : {"name", "dtype", "shape"}) {
    json m = validManifest();
    m["weights"][1].erase(key);
    std::string error = parseError(m);
    EXPECT_NE(error.find(std::string("weights[1].") + key), std::string::npos)
        << error;
  }
}

TEST(ManifestTest, ReportsWrongTypesAndValues) {
  struct Case {
    const char *pointer;
    json value;
    const char *expected;
  };
  const Case cases[] = {
      {"/model", 3, "'model' must be a string"},
      {"/version", "1", "'version' must be an integer"},
      {"/version", 2, "version 1"},
      {"/format", "onnx", "fly-artifact"},
      {"/library", "", "'library' must not be empty"},
      {"/options", json::array(), "'options' must be an object"},
      {"/options/batch", 1.5, "'options.batch' must be an integer"},
      {"/options/structure", nullptr, "'options.structure' must be a string"},
      {"/config", "gpt2", "'config' must be an object"},
      {"/inputs", json::object(), "'inputs' must be an array"},
      {"/inputs/0/shape", "1x16", "inputs[0].shape"},
      {"/inputs/0/shape/1", -16, "inputs[0].shape[1]' must not be negative"},
      {"/inputs/0/shape/1", true, "inputs[0].shape[1]' must be an integer"},
      {"/inputs/0/dtype", "f8", "unknown dtype 'f8'"},
      {"/inputs/0/name", "", "must not be empty"},
      {"/weights/1/name", "input_ids", "more than once"},
      {"/outputs", json::array(), "'outputs' must not be empty"},
      {"/outputs/0", 7, "outputs[0]"},
      {"/outputs/0/shape", json::array({int64_t(1) << 40, int64_t(1) << 40}),
       "too large"},
      {"/version", uint64_t(1) << 63, "out of range"},
  };
  for (const Case &c : cases) {
    json m = validManifest();
    m[json::json_pointer(c.pointer)] = c.value;
    std::string error = parseError(m);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << c.pointer << ": " << error;
  }
  Manifest m;
  std::string error;
  EXPECT_FALSE(parseManifest("{\"format\": ", m, error));
  EXPECT_EQ(error, "not valid JSON");
  EXPECT_FALSE(parseManifest("[1, 2]", m, error));
  EXPECT_NE(error.find("object"), std::string::npos);
  EXPECT_FALSE(parseManifest("", m, error));
}

//===----------------------------------------------------------------------===//
// Npy
//===----------------------------------------------------------------------===//

std::vector<uint8_t> toBytes(const std::string &text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

/// A version-1 .npy file with the given header text (not padded) and data.
std::vector<uint8_t> npyBytes(const std::string &header,
                              const std::vector<uint8_t> &data,
                              int version = 1) {
  std::vector<uint8_t> bytes = toBytes(std::string("\x93NUMPY", 6));
  bytes.push_back(static_cast<uint8_t>(version));
  bytes.push_back(0);
  bytes.push_back(static_cast<uint8_t>(header.size() & 0xff));
  bytes.push_back(static_cast<uint8_t>(header.size() >> 8));
  if (version >= 2) {
    bytes.push_back(0);
    bytes.push_back(0);
  }
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

template <typename T>
void expectRoundTrip(DType dtype, const std::vector<int64_t> &shape,
                     const std::vector<T> &values) {
  std::vector<uint8_t> bytes;
  std::string error;
  ASSERT_TRUE(encodeNpy(dtype, shape, values.data(), bytes, error)) << error;
  // NumPy aligns the data to 64 bytes; the header ends with a newline.
  size_t dataStart = bytes.size() - values.size() * sizeof(T);
  EXPECT_EQ(dataStart % 64, 0u);
  EXPECT_EQ(bytes[dataStart - 1], '\n');
  NpyArray array;
  ASSERT_TRUE(parseNpy(bytes.data(), bytes.size(), array, error)) << error;
  EXPECT_EQ(array.dtype, dtype);
  EXPECT_EQ(array.shape, shape);
  ASSERT_EQ(array.data.size(), values.size() * sizeof(T));
  // memcmp must not see the null data pointer of an empty vector.
  if (!values.empty()) {
    EXPECT_EQ(std::memcmp(array.data.data(), values.data(), array.data.size()),
              0);
  }
}

TEST(NpyTest, RoundTripsEachDType) {
  expectRoundTrip<float>(DType::F32, {2, 3}, {1, -2, 3.5f, 0, 1e-30f, 7});
  expectRoundTrip<int64_t>(DType::I64, {5},
                           {0, -1, int64_t(1) << 40, 50256, 3});
  expectRoundTrip<int32_t>(DType::I32, {}, {42});
  expectRoundTrip<uint16_t>(DType::F16, {2, 1, 2},
                            {0x3c00, 0xc000, 0x7bff, 0x0001});
  expectRoundTrip<float>(DType::F32, {0, 4}, {});
}

TEST(NpyTest, WritesNumPyHeaderText) {
  std::vector<uint8_t> bytes;
  std::string error;
  int64_t value = 5;
  ASSERT_TRUE(encodeNpy(DType::I64, {1}, &value, bytes, error));
  std::string header(bytes.begin() + 10, bytes.end() - 8);
  EXPECT_EQ(header.substr(0, header.find('}') + 1),
            "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }");
  EXPECT_FALSE(encodeNpy(DType::BF16, {1}, &value, bytes, error));
}

TEST(NpyTest, FileRoundTrip) {
  std::string path = ::testing::TempDir() + "fly_runtime_test.npy";
  std::vector<float> values = {0.5f, -1.25f, 3};
  std::string error;
  ASSERT_TRUE(writeNpy(path, DType::F32, {3}, values.data(), error)) << error;
  NpyArray array;
  ASSERT_TRUE(readNpy(path, array, error)) << error;
  EXPECT_EQ(array.numElements(), 3);
  EXPECT_EQ(std::memcmp(array.data.data(), values.data(), 12), 0);
  std::remove(path.c_str());
  EXPECT_FALSE(readNpy(path, array, error));
  EXPECT_NE(error.find(path), std::string::npos);
}

TEST(NpyTest, ParsesHeaderVariants) {
  std::vector<uint8_t> data(12, 0);
  NpyArray array;
  std::string error;
  // Double quotes, no trailing comma, extra spaces, version 2.
  std::vector<uint8_t> bytes = npyBytes(
      "{\"descr\" : \"<i4\",\"shape\":( 3 , ),'fortran_order':False}\n", data,
      2);
  ASSERT_TRUE(parseNpy(bytes.data(), bytes.size(), array, error)) << error;
  EXPECT_EQ(array.dtype, DType::I32);
  EXPECT_EQ(array.shape, (std::vector<int64_t>{3}));
}

TEST(NpyTest, RejectsMalformedFiles) {
  const std::string ok = "{'descr': '<f4', 'fortran_order': False, "
                         "'shape': (2,), }\n";
  std::vector<uint8_t> eight(8, 0);
  struct Case {
    std::vector<uint8_t> bytes;
    const char *expected;
  };
  std::vector<uint8_t> badMagic = npyBytes(ok, eight);
  badMagic[1] = 'X';
  std::vector<uint8_t> badVersion = npyBytes(ok, eight);
  badVersion[6] = 9;
  std::vector<uint8_t> truncated = npyBytes(ok, eight);
  truncated.resize(20);
  const Case cases[] = {
      {{}, "bad magic"},
      {badMagic, "bad magic"},
      {badVersion, "version 9"},
      {truncated, "truncated"},
      {npyBytes(ok, std::vector<uint8_t>(4, 0)), "needs 8 data bytes"},
      {npyBytes(ok, std::vector<uint8_t>(12, 0)), "needs 8 data bytes"},
      {npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                eight),
       "big-endian"},
      {npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                eight),
       "unsupported dtype '<f8'"},
      {npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
                eight),
       "Fortran"},
      {npyBytes("{'descr': '<f4', 'shape': (2,), }", eight), "fortran_order"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
                eight),
       "non-negative"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,) ",
                eight),
       "malformed header"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                "'extra': 1}",
                eight),
       "unexpected key 'extra'"},
      {npyBytes("garbage", eight), "malformed header"},
      {npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': "
                "(99999999999999, 99999999999999), }",
                eight),
       "too large"},
  };
  for (const Case &c : cases) {
    NpyArray array;
    std::string error;
    EXPECT_FALSE(parseNpy(c.bytes.data(), c.bytes.size(), array, error))
        << c.expected;
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "want '" << c.expected << "', got '" << error << "'";
  }
}

//===----------------------------------------------------------------------===//
// Half-precision conversions
//===----------------------------------------------------------------------===//

TEST(HalfTest, EncodesKnownValues) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff); // Largest half.
  EXPECT_EQ(floatToHalf(65519.0f), 0x7bff); // Below the midpoint.
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00); // Midpoint: ties to inf.
  EXPECT_EQ(floatToHalf(1e10f), 0x7c00);
  EXPECT_EQ(floatToHalf(-INFINITY), 0xfc00);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400); // Smallest normal.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001); // Smallest subnormal.
  EXPECT_EQ(floatToHalf(std::ldexp(1023.0f, -24)), 0x03ff);
  // Ties to even: 1 + 2^-11 is halfway between 1 and 1 + 2^-10.
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)),
            0x3c01);
  // Subnormal ties: 2^-25 -> 0 (even), 1.5 * 2^-24 -> 2, 2.5 * 2^-24 -> 2.
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);
  EXPECT_EQ(floatToHalf(std::ldexp(1.5f, -24)), 0x0002);
  EXPECT_EQ(floatToHalf(std::ldexp(2.5f, -24)), 0x0002);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -26)), 0x0000);
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -130)), 0x0000); // Float subnormal.
  uint16_t nan = floatToHalf(NAN);
  EXPECT_EQ(nan & 0x7c00, 0x7c00);
  EXPECT_NE(nan & 0x03ff, 0);
}

TEST(HalfTest, DecodesAndRoundTripsEveryHalf) {
  EXPECT_EQ(halfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(halfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(halfToFloat(0x8400), -std::ldexp(1.0f, -14));
  EXPECT_TRUE(std::isinf(halfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0x7e00)));
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    uint16_t h = static_cast<uint16_t>(bits);
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
      continue; // NaN payloads need not survive.
    ASSERT_EQ(floatToHalf(halfToFloat(h)), h) << std::hex << bits;
  }
}

TEST(HalfTest, BFloat16) {
  EXPECT_EQ(floatToBFloat16(1.0f), 0x3f80);
  EXPECT_EQ(floatToBFloat16(-2.0f), 0xc000);
  EXPECT_EQ(bfloat16ToFloat(0x3f80), 1.0f);
  // Ties to even: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
  EXPECT_EQ(floatToBFloat16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  EXPECT_EQ(floatToBFloat16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(
      floatToBFloat16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)),
      0x3f81);
  EXPECT_EQ(floatToBFloat16(3.0e38f), 0x7f62);
  EXPECT_EQ(floatToBFloat16(3.4028235e38f), 0x7f80); // Rounds up to inf.
  EXPECT_TRUE(std::isnan(bfloat16ToFloat(floatToBFloat16(NAN))));
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    uint16_t b = static_cast<uint16_t>(bits);
    if ((b & 0x7f80) == 0x7f80 && (b & 0x7f))
      continue;
    ASSERT_EQ(floatToBFloat16(bfloat16ToFloat(b)), b) << std::hex << bits;
  }
}

//===----------------------------------------------------------------------===//
// Random weights and timing
//===----------------------------------------------------------------------===//

std::vector<double> randomValues(DType dtype, uint64_t seed, int64_t n) {
  TensorSpec spec{"w", dtype, {n}};
  std::vector<uint8_t> buffer(spec.byteSize());
  std::mt19937_64 rng(seed);
  fillRandomWeights(spec, buffer.data(), rng);
  std::vector<double> values;
  for (int64_t i = 0; i < n; ++i)
    values.push_back(loadAsDouble(dtype, buffer.data(), i));
  return values;
}

TEST(RandomWeightsTest, NeverZeroAndSmall) {
  for (DType dtype : {DType::F32, DType::F16, DType::BF16, DType::F64}) {
    std::vector<double> values = randomValues(dtype, 1, 10000);
    int negative = 0;
    for (double v : values) {
      ASSERT_GE(std::fabs(v), 0.0199) << dtypeName(dtype);
      ASSERT_LE(std::fabs(v), 0.1001) << dtypeName(dtype);
      negative += v < 0;
    }
    EXPECT_GT(negative, 4000);
    EXPECT_LT(negative, 6000);
  }
}

TEST(RandomWeightsTest, DeterministicPerSeed) {
  EXPECT_EQ(randomValues(DType::F32, 42, 100),
            randomValues(DType::F32, 42, 100));
  EXPECT_NE(randomValues(DType::F32, 42, 100),
            randomValues(DType::F32, 43, 100));
}

TEST(RandomWeightsTest, IntegerBuffersAreZero) {
  for (double v : randomValues(DType::I64, 3, 16))
    EXPECT_EQ(v, 0);
}

TEST(TimingTest, Stats) {
  TimingStats odd = computeStats({3, 1, 2, 10, 4});
  EXPECT_EQ(odd.count, 5u);
  EXPECT_DOUBLE_EQ(odd.avg, 4);
  EXPECT_DOUBLE_EQ(odd.median, 3);
  EXPECT_DOUBLE_EQ(odd.min, 1);
  EXPECT_DOUBLE_EQ(odd.max, 10);
  TimingStats even = computeStats({4, 1, 3, 2});
  EXPECT_DOUBLE_EQ(even.median, 2.5);
  EXPECT_EQ(computeStats({}).count, 0u);
  Stopwatch watch;
  EXPECT_GE(watch.elapsedMs(), 0);
}

//===----------------------------------------------------------------------===//
// Artifact (end to end with FakeModel.cpp)
//===----------------------------------------------------------------------===//

class ArtifactTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "fly_artifact_XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    ASSERT_NE(::mkdtemp(buffer.data()), nullptr);
    dir = buffer.data();
    // Copy the module in as model.so so the relative library path is used.
    std::ifstream in(FLY_FAKE_MODEL_PATH, std::ios::binary);
    ASSERT_TRUE(in) << FLY_FAKE_MODEL_PATH;
    std::ofstream out(dir + "/model.so", std::ios::binary);
    out << in.rdbuf();
  }

  void TearDown() override {
    for (const char *name :
         {"model.so", "manifest.json", "weights.safetensors"})
      std::remove((dir + "/" + name).c_str());
    ::rmdir(dir.c_str());
  }

  json manifest() const {
    return json::parse(R"({
      "format": "fly-artifact", "version": 1,
      "model": "fake", "target": "cpu", "library": "model.so",
      "entry": "fly_entry", "weights_file": "weights.safetensors",
      "options": {"batch": 1, "seq": 4, "dtype": "f32", "structure": ""},
      "config": {},
      "inputs": [{"name": "x", "dtype": "f32", "shape": [4]}],
      "weights": [{"name": "w", "dtype": "f32", "shape": [4]}],
      "outputs": [{"name": "out", "dtype": "f32", "shape": [4]}]
    })");
  }

  void writeManifest(const json &m) {
    std::ofstream(dir + "/manifest.json") << m.dump(2);
  }

  /// Writes weights.safetensors by hand: 8-byte little-endian header
  /// length, JSON header, data.
  void writeWeights(const std::string &name, const std::string &dtype,
                    const std::string &shape, const std::vector<float> &w) {
    std::string header = "{\"" + name + "\": {\"dtype\": \"" + dtype +
                         "\", \"shape\": " + shape +
                         ", \"data_offsets\": [0, " +
                         std::to_string(w.size() * 4) + "]}}";
    header.append((8 - header.size() % 8) % 8, ' ');
    std::ofstream out(dir + "/weights.safetensors", std::ios::binary);
    uint64_t length = header.size();
    for (int i = 0; i < 8; ++i)
      out.put(static_cast<char>((length >> (8 * i)) & 0xff));
    out << header;
    out.write(reinterpret_cast<const char *>(w.data()), w.size() * 4);
  }

  std::string loadError(WeightSource source = WeightSource::File) {
    std::string error;
    EXPECT_EQ(Artifact::load(dir, source, 0, error), nullptr);
    return error;
  }

  std::string dir;
};

TEST_F(ArtifactTest, LoadsWeightsFromFileAndRuns) {
  writeManifest(manifest());
  writeWeights("w", "F32", "[4]", {10, 20, 30, 40});
  std::string error;
  std::unique_ptr<Artifact> artifact =
      Artifact::load(dir, WeightSource::File, 0, error);
  ASSERT_NE(artifact, nullptr) << error;
  EXPECT_EQ(artifact->manifest().model, "fake");
  std::vector<float> x = {1, 2, 3, 4}, out(4, NAN);
  std::string runError;
  ASSERT_TRUE(artifact->run({x.data()}, {out.data()}, runError)) << runError;
  EXPECT_EQ(out, (std::vector<float>{11, 22, 33, 44}));
}

TEST_F(ArtifactTest, RandomWeightsAreSeeded) {
  json m = manifest();
  m["library"] = FLY_FAKE_MODEL_PATH; // Absolute paths are used as given.
  writeManifest(m);
  std::string error;
  std::unique_ptr<Artifact> a =
      Artifact::load(dir, WeightSource::Random, 7, error);
  ASSERT_NE(a, nullptr) << error;
  std::unique_ptr<Artifact> b =
      Artifact::load(dir, WeightSource::Random, 7, error);
  std::unique_ptr<Artifact> c =
      Artifact::load(dir, WeightSource::Random, 8, error);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(std::memcmp(a->weightData(0), b->weightData(0), 16), 0);
  EXPECT_NE(std::memcmp(a->weightData(0), c->weightData(0), 16), 0);
  std::vector<float> x = {0, 0, 0, 0}, out(4, NAN);
  std::string runError;
  ASSERT_TRUE(a->run({x.data()}, {out.data()}, runError)) << runError;
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(out[i], static_cast<const float *>(a->weightData(0))[i]);
    EXPECT_GE(std::fabs(out[i]), 0.02f);
    EXPECT_LE(std::fabs(out[i]), 0.1f);
  }
}

TEST_F(ArtifactTest, ReportsWeightMismatches) {
  writeManifest(manifest());
  writeWeights("v", "F32", "[4]", {1, 2, 3, 4});
  EXPECT_NE(loadError().find("missing weight 'w'"), std::string::npos);
  writeWeights("w", "I32", "[4]", {1, 2, 3, 4});
  EXPECT_NE(loadError().find("'w' has dtype I32, the manifest says f32"),
            std::string::npos);
  writeWeights("w", "F32", "[2, 2]", {1, 2, 3, 4});
  EXPECT_NE(loadError().find("'w' has shape [2, 2], the manifest says [4]"),
            std::string::npos);
  std::remove((dir + "/weights.safetensors").c_str());
  EXPECT_NE(loadError().find("weights.safetensors"), std::string::npos);
}

TEST_F(ArtifactTest, ReportsBadDirectoriesAndLibraries) {
  std::string error;
  EXPECT_EQ(Artifact::load(dir + "/nope", WeightSource::Random, 0, error),
            nullptr);
  EXPECT_NE(error.find("nope"), std::string::npos);
  EXPECT_NE(loadError().find("manifest.json"), std::string::npos);
  EXPECT_EQ(Artifact::load(dir + "/model.so", WeightSource::Random, 0, error),
            nullptr);
  EXPECT_NE(error.find("not an artifact directory"), std::string::npos);

  std::ofstream(dir + "/manifest.json") << "{ not json";
  EXPECT_NE(loadError().find("manifest.json: not valid JSON"),
            std::string::npos);

  json m = manifest();
  m["library"] = "missing.so";
  writeManifest(m);
  EXPECT_NE(loadError(WeightSource::Random).find("cannot load"),
            std::string::npos);
  m = manifest();
  m["library"] = "manifest.json"; // Not an ELF file: dlopen fails.
  writeManifest(m);
  EXPECT_NE(loadError(WeightSource::Random).find("cannot load"),
            std::string::npos);
  m = manifest();
  m["entry"] = "no_such_entry";
  writeManifest(m);
  EXPECT_NE(loadError(WeightSource::Random)
                .find("entry point 'no_such_entry' not found"),
            std::string::npos);
}

} // namespace
