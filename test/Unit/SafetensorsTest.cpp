//===- SafetensorsTest.cpp - Tests for the safetensors reader ---*- C++ -*-===//
//
// Round trips go through the writer and reader; every malformed case is built
// byte by byte here (not with the writer) so the reader is tested against
// files the writer would never produce.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/Safetensors.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>

using namespace fly::runtime;

namespace {
/// Returns a path in GoogleTest's temp dir, unique per test.
std::string tempPath(const std::string &name) {
  const ::testing::TestInfo *info =
      ::testing::UnitTest::GetInstance()->current_test_info();
  return ::testing::TempDir() + "fly_st_" + info->name() + "_" + name;
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  ASSERT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
  ASSERT_EQ(std::fclose(f), 0);
}

/// The 8-byte little-endian length prefix.
std::string lengthPrefix(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i)
    s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

/// A file with the given header text and `dataBytes` zero bytes of data.
std::string fileWithHeader(const std::string &header, size_t dataBytes) {
  return lengthPrefix(header.size()) + header + std::string(dataBytes, '\0');
}

/// Writes a file with `header` and `dataBytes` of data, opens it and expects
/// failure with a message containing `expected`.
void expectOpenError(const std::string &header, size_t dataBytes,
                     const std::string &expected) {
  std::string path = tempPath("bad.safetensors");
  writeBytes(path, fileWithHeader(header, dataBytes));
  std::string error;
  auto file = SafetensorsFile::open(path, error);
  EXPECT_EQ(file, nullptr) << header;
  EXPECT_NE(error.find(path + ": "), std::string::npos) << error;
  EXPECT_NE(error.find(expected), std::string::npos)
      << "error: " << error << "\nexpected substring: " << expected;
}

std::string readFile(const std::string &path) {
  std::string out;
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    out.append(buf, n);
  std::fclose(f);
  return out;
}
} // namespace

TEST(Safetensors, DTypeNamesAndSizes) {
  struct Row {
    DType dtype;
    const char *name;
    size_t size;
  } rows[] = {
      {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
      {DType::F64, "F64", 8}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
      {DType::I8, "I8", 1},   {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1}};
  for (const Row &row : rows) {
    EXPECT_STREQ(dtypeName(row.dtype), row.name);
    EXPECT_EQ(dtypeSize(row.dtype), row.size);
    DType parsed = DType::F32;
    EXPECT_TRUE(parseDType(row.name, parsed));
    EXPECT_EQ(parsed, row.dtype);
  }
  DType parsed;
  EXPECT_FALSE(parseDType("f32", parsed));
  EXPECT_FALSE(parseDType("F8_E4M3", parsed));
  EXPECT_FALSE(parseDType("", parsed));
}

TEST(Safetensors, NumElements) {
  TensorInfo t;
  EXPECT_EQ(t.numElements(), 1); // scalar
  t.shape = {2, 3, 4};
  EXPECT_EQ(t.numElements(), 24);
  t.shape = {5, 0};
  EXPECT_EQ(t.numElements(), 0);
}

TEST(Safetensors, RoundTrip) {
  std::vector<float> f32 = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 42.0f};
  std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x7bff, 0x0001}; // 1, -2, max
  std::vector<uint16_t> bf16 = {0x3f80, 0xbf80, 0x4049};        // 1, -1, ~3.14
  std::vector<int64_t> i64 = {INT64_MIN, -1, 0, 1, INT64_MAX};
  std::vector<TensorToWrite> tensors = {
      {"wte.weight", DType::F32, {2, 3}, f32.data()},
      {"h.0.attn.c_attn.weight", DType::F16, {2, 2}, f16.data()},
      {"ln_f.bias", DType::BF16, {3}, bf16.data()},
      {"positions", DType::I64, {5}, i64.data()},
      {"empty", DType::F32, {0, 7}, nullptr},
      {"scalar", DType::F32, {}, f32.data() + 5},
  };
  std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                 {"source", "fly unit test"}};
  std::string path = tempPath("model.safetensors");
  std::string error;
  ASSERT_TRUE(writeSafetensors(path, tensors, metadata, error)) << error;

  // Check the framing bytes directly: the header length is little-endian and
  // a multiple of 8, and the header is space-padded JSON.
  std::string bytes = readFile(path);
  ASSERT_GE(bytes.size(), 8u);
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(headerSize % 8, 0u);
  EXPECT_EQ(bytes[8], '{');
  size_t dataBytes = 6 * 4 + 4 * 2 + 3 * 2 + 5 * 8 + 0 + 4;
  EXPECT_EQ(bytes.size(), 8 + headerSize + dataBytes);

  auto file = SafetensorsFile::open(path, error);
  ASSERT_NE(file, nullptr) << error;
  EXPECT_EQ(file->metadata(), metadata);
  ASSERT_EQ(file->tensors().size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorInfo &t = file->tensors()[i];
    EXPECT_EQ(t.name, tensors[i].name) << "header order must be kept";
    EXPECT_EQ(t.dtype, tensors[i].dtype);
    EXPECT_EQ(t.shape, tensors[i].shape);
    EXPECT_EQ(file->find(t.name), &t);
    size_t size = t.end - t.begin;
    EXPECT_EQ(size, t.numElements() * dtypeSize(t.dtype));
    if (size) {
      EXPECT_EQ(std::memcmp(file->data(t), tensors[i].data, size), 0) << t.name;
    }
  }
  // Tensors are laid out back to back in the given order.
  EXPECT_EQ(file->tensors()[0].begin, 0u);
  EXPECT_EQ(file->tensors()[1].begin, file->tensors()[0].end);
  EXPECT_EQ(file->find("missing"), nullptr);
  EXPECT_EQ(file->find("__metadata__"), nullptr);

  // The F32 data section starts 8-byte aligned, so this read is aligned.
  const float *w =
      static_cast<const float *>(file->data(*file->find("wte.weight")));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w) % alignof(float), 0u);
  EXPECT_EQ(w[2], 3.25f);
  // Safetensors does not align tensors: the I64 data follows 12 bytes of
  // F32 here, so it is read with memcpy (a direct load is undefined
  // behaviour, which UBSan reports).
  const char *pos =
      static_cast<const char *>(file->data(*file->find("positions")));
  int64_t first, last;
  std::memcpy(&first, pos, sizeof(first));
  std::memcpy(&last, pos + 4 * sizeof(int64_t), sizeof(last));
  EXPECT_EQ(first, INT64_MIN);
  EXPECT_EQ(last, INT64_MAX);
}

TEST(Safetensors, RoundTripWithoutMetadataOrTensors) {
  std::string path = tempPath("empty.safetensors");
  std::string error;
  ASSERT_TRUE(writeSafetensors(path, {}, {}, error)) << error;
  auto file = SafetensorsFile::open(path, error);
  ASSERT_NE(file, nullptr) << error;
  EXPECT_TRUE(file->tensors().empty());
  EXPECT_TRUE(file->metadata().empty());
}

TEST(Safetensors, ReadsHandWrittenHeader) {
  // Key order in the header differs from offset order, and there is trailing
  // space padding, as other writers may produce.
  std::string header =
      "{\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":"
      "[2,4]},\"a\":{\"dtype\":\"I8\",\"shape\":[2],"
      "\"data_offsets\":[0,2]}}   ";
  std::string path = tempPath("hand.safetensors");
  writeBytes(path, lengthPrefix(header.size()) + header + "\x01\x02\x03\x04");
  std::string error;
  auto file = SafetensorsFile::open(path, error);
  ASSERT_NE(file, nullptr) << error;
  ASSERT_EQ(file->tensors().size(), 2u);
  EXPECT_EQ(file->tensors()[0].name, "b");
  EXPECT_EQ(static_cast<const uint8_t *>(file->data(file->tensors()[0]))[0], 3);
  EXPECT_EQ(static_cast<const int8_t *>(file->data(*file->find("a")))[1], 2);
}

TEST(Safetensors, WriterRejectsBadInput) {
  std::string path = tempPath("w.safetensors");
  std::string error;
  float x = 0;
  EXPECT_FALSE(writeSafetensors(
      path, {{"a", DType::F32, {1}, &x}, {"a", DType::F32, {1}, &x}}, {},
      error));
  EXPECT_NE(error.find("duplicate tensor name"), std::string::npos) << error;
  EXPECT_FALSE(writeSafetensors(path, {{"__metadata__", DType::F32, {1}, &x}},
                                {}, error));
  EXPECT_NE(error.find("reserved"), std::string::npos) << error;
  EXPECT_FALSE(writeSafetensors(path, {{"", DType::F32, {1}, &x}}, {}, error));
  EXPECT_NE(error.find("must not be empty"), std::string::npos) << error;
  EXPECT_FALSE(
      writeSafetensors(path, {{"n", DType::F32, {-1}, &x}}, {}, error));
  EXPECT_NE(error.find("negative dimension"), std::string::npos) << error;
  EXPECT_FALSE(writeSafetensors(path, {{"big", DType::F64, {INT64_MAX, 4}, &x}},
                                {}, error));
  EXPECT_NE(error.find("too large"), std::string::npos) << error;
  EXPECT_FALSE(
      writeSafetensors(path, {{"p", DType::F32, {2}, nullptr}}, {}, error));
  EXPECT_NE(error.find("null"), std::string::npos) << error;
  std::string dir = ::testing::TempDir() + "fly_st_no_such_dir/x.safetensors";
  EXPECT_FALSE(writeSafetensors(dir, {}, {}, error));
  EXPECT_NE(error.find(dir + ": cannot open for writing"), std::string::npos)
      << error;
}

//===----------------------------------------------------------------------===//
// Malformed files
//===----------------------------------------------------------------------===//

TEST(SafetensorsMalformed, MissingFile) {
  std::string path = tempPath("does-not-exist.safetensors");
  std::string error;
  EXPECT_EQ(SafetensorsFile::open(path, error), nullptr);
  EXPECT_EQ(error.find(path + ": cannot open file"), 0u) << error;
}

TEST(SafetensorsMalformed, Directory) {
  std::string path = tempPath("dir");
  ::mkdir(path.c_str(), 0755);
  std::string error;
  EXPECT_EQ(SafetensorsFile::open(path, error), nullptr);
  EXPECT_NE(error.find("is a directory"), std::string::npos) << error;
}

TEST(SafetensorsMalformed, EmptyAndShortFiles) {
  for (size_t size : {0, 1, 7}) {
    std::string path = tempPath("short.safetensors");
    writeBytes(path, std::string(size, '\0'));
    std::string error;
    EXPECT_EQ(SafetensorsFile::open(path, error), nullptr);
    EXPECT_NE(error.find("too short (" + std::to_string(size) + " bytes)"),
              std::string::npos)
        << error;
  }
}

TEST(SafetensorsMalformed, HeaderLength) {
  std::string error;
  std::string path = tempPath("len.safetensors");

  writeBytes(path, lengthPrefix(0) + "{}");
  EXPECT_EQ(SafetensorsFile::open(path, error), nullptr);
  EXPECT_NE(error.find("header length is 0"), std::string::npos) << error;

  writeBytes(path, lengthPrefix((100ull << 20) + 1) + "{}");
  EXPECT_EQ(SafetensorsFile::open(path, error), nullptr);
  EXPECT_NE(error.find("exceeds the limit"), std::string::npos) << error;

  // A huge length must not wrap around when added to 8.
  writeBytes(path, lengthPrefix(UINT64_MAX) + "{}");
  EXPECT_EQ(SafetensorsFile::open(path, error), nullptr);
  EXPECT_NE(error.find("exceeds the limit"), std::string::npos) << error;

  writeBytes(path, lengthPrefix(64) + "{}");
  EXPECT_EQ(SafetensorsFile::open(path, error), nullptr);
  EXPECT_NE(error.find("header length 64 extends beyond the end of the file "
                       "(10 bytes)"),
            std::string::npos)
      << error;
}

TEST(SafetensorsMalformed, HeaderNotJsonObject) {
  expectOpenError("{\"a\": ", 0,
                  "header is not valid JSON: parse error at line 1, column 7");
  expectOpenError("\xff\xfe", 0, "header is not valid JSON");
  expectOpenError("[1, 2]", 0, "header must be a JSON object, got array");
  expectOpenError("42      ", 0, "header must be a JSON object, got number");
}

TEST(SafetensorsMalformed, EntryNotObject) {
  expectOpenError("{\"w\": [1, 2]}", 0,
                  "tensor \"w\": entry must be an object");
}

TEST(SafetensorsMalformed, DType) {
  expectOpenError("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                  "tensor \"w\": missing \"dtype\"");
  expectOpenError("{\"w\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}",
                  4, "\"dtype\" must be a string");
  expectOpenError(
      "{\"w\":{\"dtype\":\"F8_E5M2\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
      "tensor \"w\": unknown dtype \"F8_E5M2\"");
}

TEST(SafetensorsMalformed, Shape) {
  expectOpenError("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
                  "missing \"shape\"");
  expectOpenError(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":4,\"data_offsets\":[0,4]}}", 4,
      "\"shape\" must be an array of non-negative integers, got 4");
  expectOpenError(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,4]}}", 4,
      "dimension 1 is -1");
  expectOpenError(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", 4,
      "dimension 0 is 1.0");
  expectOpenError(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4,
      "dimension 0 is \"1\"");
  expectOpenError("{\"w\":{\"dtype\":\"F32\",\"shape\":[18446744073709551615],"
                  "\"data_offsets\":[0,4]}}",
                  4, "dimension 0 is 18446744073709551615");
}

// Found with test/Fuzz/SafetensorsFuzzer (on a hand-made input: random
// mutation at its default input sizes does not nest this deep): the error
// message for a malformed entry used to dump() the offending value, which
// recurses once per nesting level and overflowed the stack.
TEST(SafetensorsMalformed, DeeplyNestedValue) {
  const size_t depth = 1000000;
  std::string nested = std::string(depth, '[') + std::string(depth, ']');
  expectOpenError("{\"w\": " + nested + "}", 0,
                  "tensor \"w\": entry must be an object, got [[[[");
  expectOpenError("{\"w\":{\"dtype\":\"F32\",\"shape\":" + nested + "}}", 0,
                  "\"shape\" must be an array of non-negative integers, "
                  "but dimension 0 is [[[[");
  expectOpenError("{\"__metadata__\":{\"k\":" + nested + "}}", 0,
                  "\"__metadata__\" entry \"k\" must be a string, got [[[[");
  // Short values still read as dump() writes them.
  expectOpenError("{\"w\": [[1, 2], {\"a\": \"b\"}]}", 0,
                  "got [[1,2],{\"a\":\"b\"}]");
  expectOpenError("{\"w\": [\"" + std::string(100, 'a') + "\"]}", 0,
                  "got [\"" + std::string(55, 'a') + "...");
}

TEST(SafetensorsMalformed, DataOffsets) {
  const char *kPrefix = "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]";
  auto header = [&](const std::string &rest) { return kPrefix + rest + "}}"; };
  expectOpenError(header(""), 4, "missing \"data_offsets\"");
  expectOpenError(header(",\"data_offsets\":[0]"), 4,
                  "\"data_offsets\" must be [begin, end]");
  expectOpenError(header(",\"data_offsets\":[0,4,8]"), 8,
                  "\"data_offsets\" must be [begin, end]");
  expectOpenError(header(",\"data_offsets\":[-4,0]"), 4,
                  "\"data_offsets\" must be [begin, end] with non-negative "
                  "integers, got [-4,0]");
  expectOpenError(header(",\"data_offsets\":{\"a\":0}"), 4,
                  "\"data_offsets\" must be [begin, end]");
  expectOpenError(header(",\"data_offsets\":[0.0,4]"), 4,
                  "\"data_offsets\" must be [begin, end]");
  expectOpenError(header(",\"data_offsets\":[8,4]"), 8,
                  "data_offsets [8, 4] have begin > end");
  expectOpenError(header(",\"data_offsets\":[0,4]"), 3,
                  "tensor \"w\": data_offsets [0, 4] extend beyond the data "
                  "section (3 bytes)");
  expectOpenError(header(",\"data_offsets\":[18446744073709551612,"
                         "18446744073709551615]"),
                  4, "extend beyond the data section");
}

TEST(SafetensorsMalformed, ByteSizeMismatch) {
  expectOpenError(
      "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,12]}}", 12,
      "tensor \"w\": data_offsets [0, 12] span 12 bytes but shape [2, 3] of "
      "F32 needs 24 bytes");
  expectOpenError(
      "{\"w\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16,
      "needs 8 bytes");
}

TEST(SafetensorsMalformed, ByteSizeOverflow) {
  // 2^62 * 2^2 elements * 4 bytes wraps to 0 in 64-bit arithmetic, which
  // would match the empty range if the multiplication were not checked.
  expectOpenError("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,"
                  "4],\"data_offsets\":[0,0]}}",
                  0, "too large (byte size overflows 64 bits)");
  expectOpenError("{\"w\":{\"dtype\":\"U8\",\"shape\":[4294967296,4294967296],"
                  "\"data_offsets\":[0,0]}}",
                  0, "overflows");
}

TEST(SafetensorsMalformed, Overlap) {
  expectOpenError(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
      12, "tensors \"a\" [0, 8] and \"b\" [4, 12] overlap");
  // A range nested inside a long one, after a short one in between.
  expectOpenError(
      "{\"long\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]},"
      "\"x\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]},"
      "\"y\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[10,11]}}",
      16, "overlap");
  // Identical ranges (a tensor aliasing another).
  expectOpenError(
      "{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
      4, "overlap");
}

TEST(SafetensorsMalformed, EmptyTensorsDoNotOverlap) {
  std::string header =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}";
  std::string path = tempPath("ok.safetensors");
  writeBytes(path, fileWithHeader(header, 8));
  std::string error;
  EXPECT_NE(SafetensorsFile::open(path, error), nullptr) << error;
}

TEST(SafetensorsMalformed, Metadata) {
  expectOpenError("{\"__metadata__\": [\"a\"]}", 0,
                  "\"__metadata__\" must be an object of strings");
  expectOpenError("{\"__metadata__\": {\"format\": \"pt\", \"n\": 3}}", 0,
                  "\"__metadata__\" entry \"n\" must be a string, got 3");
}

TEST(SafetensorsMalformed, TruncatedData) {
  // A valid file cut short: the last tensor no longer fits.
  std::vector<float> v(16, 1.0f);
  std::string path = tempPath("full.safetensors");
  std::string error;
  ASSERT_TRUE(writeSafetensors(
      path,
      {{"a", DType::F32, {8}, v.data()}, {"b", DType::F32, {8}, v.data() + 8}},
      {}, error))
      << error;
  std::string bytes = readFile(path);
  writeBytes(path, bytes.substr(0, bytes.size() - 5));
  EXPECT_EQ(SafetensorsFile::open(path, error), nullptr);
  EXPECT_NE(error.find("tensor \"b\": data_offsets [32, 64] extend beyond the "
                       "data section (59 bytes)"),
            std::string::npos)
      << error;
}
