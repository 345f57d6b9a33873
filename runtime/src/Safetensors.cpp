//===- Safetensors.cpp - Read and write safetensors files -------*- C++ -*-===//
//
// The reader maps the whole file and validates the header against the mapped
// size before any tensor pointer is handed out, so later code can index the
// data without further bounds checks. JSON is parsed without exceptions and
// every field is type-checked before it is read, because nlohmann::json
// aborts on a type mismatch when exceptions are disabled.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/Safetensors.h"
#include "fly/runtime/FileUtils.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace fly::runtime;

// ordered_json keeps the header's key order, which tensors() promises.
using Json = nlohmann::ordered_json;

namespace {
/// Headers larger than this are rejected: real checkpoints stay far below it,
/// and it bounds the memory the JSON parser may allocate for a hostile file.
constexpr uint64_t kMaxHeaderSize = 100ull << 20;

struct DTypeEntry {
  DType dtype;
  const char *name;
  size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::F64, "F64", 8}, {DType::I64, "I64", 8}, {DType::I32, "I32", 4},
    {DType::I8, "I8", 1},   {DType::U8, "U8", 1},   {DType::BOOL, "BOOL", 1},
};

const DTypeEntry &entryFor(DType dtype) {
  for (const DTypeEntry &e : kDTypes)
    if (e.dtype == dtype)
      return e;
  // Every enumerator is in the table; this only guards against a new one
  // being added without a row.
  return kDTypes[0];
}

std::string shapeToString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i)
      s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

/// Appends the compact JSON text of `value` (as dump() writes it) to `out`,
/// stopping soon after `out` grows beyond `limit` characters. Every nesting
/// level adds a bracket, so the recursion is at most about `limit` deep: a
/// plain dump() of a deeply nested hostile value overflows the stack.
void appendBrief(const Json &value, std::string &out, size_t limit) {
  if (value.is_array() || value.is_object()) {
    bool isArray = value.is_array();
    out += isArray ? '[' : '{';
    bool first = true;
    for (auto it = value.begin(); it != value.end(); ++it) {
      if (out.size() > limit)
        return;
      if (!first)
        out += ',';
      first = false;
      if (!isArray) {
        out += Json(it.key()).dump();
        out += ':';
      }
      appendBrief(it.value(), out, limit);
    }
    out += isArray ? ']' : '}';
    return;
  }
  out += value.dump();
}

/// A short rendering of a JSON value for error messages; hostile headers can
/// contain huge or deeply nested values, so long renderings are cut.
std::string brief(const Json &value) {
  std::string s;
  appendBrief(value, s, 60);
  if (s.size() > 60)
    s = s.substr(0, 57) + "...";
  return s;
}

/// Computes the byte size of a tensor; returns false if it does not fit in
/// 64 bits (a crafted shape could otherwise wrap around to match the offsets).
bool byteSize(const std::vector<int64_t> &shape, DType dtype, uint64_t &out) {
  uint64_t bytes = dtypeSize(dtype);
  for (int64_t dim : shape) {
    if (dim < 0 ||
        __builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes))
      return false;
  }
  out = bytes;
  return true;
}

/// Reads a non-negative JSON integer. nlohmann stores every non-negative
/// integer literal as number_unsigned, so negative values and floats fail.
bool getUnsigned(const Json &value, uint64_t &out) {
  if (!value.is_number_unsigned())
    return false;
  out = value.get<uint64_t>();
  return true;
}

/// Validates one header entry and fills `info` (whose name is already set).
bool parseTensorEntry(const Json &entry, uint64_t dataSize, TensorInfo &info,
                      std::string &what) {
  std::string prefix = "tensor \"" + info.name + "\": ";
  if (!entry.is_object()) {
    what = prefix + "entry must be an object, got " + brief(entry);
    return false;
  }

  auto dtypeIt = entry.find("dtype");
  if (dtypeIt == entry.end()) {
    what = prefix + "missing \"dtype\"";
    return false;
  }
  if (!dtypeIt->is_string()) {
    what = prefix + "\"dtype\" must be a string, got " + brief(*dtypeIt);
    return false;
  }
  const std::string &dtypeStr = dtypeIt->get_ref<const std::string &>();
  if (!parseDType(dtypeStr, info.dtype)) {
    what = prefix + "unknown dtype \"" + dtypeStr +
           "\" (supported: F32, F16, BF16, F64, I64, I32, I8, U8, BOOL)";
    return false;
  }

  auto shapeIt = entry.find("shape");
  if (shapeIt == entry.end()) {
    what = prefix + "missing \"shape\"";
    return false;
  }
  if (!shapeIt->is_array()) {
    what = prefix +
           "\"shape\" must be an array of non-negative integers, "
           "got " +
           brief(*shapeIt);
    return false;
  }
  for (size_t i = 0; i < shapeIt->size(); ++i) {
    uint64_t dim = 0;
    if (!getUnsigned((*shapeIt)[i], dim) ||
        dim > static_cast<uint64_t>(INT64_MAX)) {
      what = prefix +
             "\"shape\" must be an array of non-negative integers, "
             "but dimension " +
             std::to_string(i) + " is " + brief((*shapeIt)[i]);
      return false;
    }
    info.shape.push_back(static_cast<int64_t>(dim));
  }

  auto offsetsIt = entry.find("data_offsets");
  if (offsetsIt == entry.end()) {
    what = prefix + "missing \"data_offsets\"";
    return false;
  }
  if (!offsetsIt->is_array() || offsetsIt->size() != 2 ||
      !getUnsigned((*offsetsIt)[0], info.begin) ||
      !getUnsigned((*offsetsIt)[1], info.end)) {
    what = prefix +
           "\"data_offsets\" must be [begin, end] with non-negative "
           "integers, got " +
           brief(*offsetsIt);
    return false;
  }
  std::string offsets =
      "[" + std::to_string(info.begin) + ", " + std::to_string(info.end) + "]";
  if (info.begin > info.end) {
    what = prefix + "data_offsets " + offsets + " have begin > end";
    return false;
  }
  if (info.end > dataSize) {
    what = prefix + "data_offsets " + offsets +
           " extend beyond the data section (" + std::to_string(dataSize) +
           " bytes)";
    return false;
  }

  uint64_t expected = 0;
  if (!byteSize(info.shape, info.dtype, expected)) {
    what = prefix + "shape " + shapeToString(info.shape) + " of " + dtypeStr +
           " is too large (byte size overflows 64 bits)";
    return false;
  }
  if (info.end - info.begin != expected) {
    what = prefix + "data_offsets " + offsets + " span " +
           std::to_string(info.end - info.begin) + " bytes but shape " +
           shapeToString(info.shape) + " of " + dtypeStr + " needs " +
           std::to_string(expected) + " bytes";
    return false;
  }
  return true;
}

/// Rejects tensors whose byte ranges share a byte. Empty tensors occupy no
/// bytes and never overlap.
bool checkNoOverlap(const std::vector<TensorInfo> &tensors, std::string &what) {
  std::vector<const TensorInfo *> sorted;
  for (const TensorInfo &t : tensors)
    if (t.begin != t.end)
      sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const TensorInfo *a, const TensorInfo *b) {
              return a->begin < b->begin;
            });
  // With ranges sorted by begin, a range overlaps an earlier one exactly when
  // it starts before the furthest end seen so far.
  const TensorInfo *furthest = nullptr;
  for (const TensorInfo *t : sorted) {
    if (furthest && t->begin < furthest->end) {
      what = "tensors \"" + furthest->name + "\" [" +
             std::to_string(furthest->begin) + ", " +
             std::to_string(furthest->end) + "] and \"" + t->name + "\" [" +
             std::to_string(t->begin) + ", " + std::to_string(t->end) +
             "] overlap";
      return false;
    }
    if (!furthest || t->end > furthest->end)
      furthest = t;
  }
  return true;
}
} // namespace

size_t fly::runtime::dtypeSize(DType dtype) { return entryFor(dtype).size; }

const char *fly::runtime::dtypeName(DType dtype) {
  return entryFor(dtype).name;
}

bool fly::runtime::parseDType(const std::string &name, DType &dtype) {
  for (const DTypeEntry &e : kDTypes) {
    if (name == e.name) {
      dtype = e.dtype;
      return true;
    }
  }
  return false;
}

int64_t TensorInfo::numElements() const {
  int64_t n = 1;
  for (int64_t dim : shape)
    n *= dim;
  return n;
}

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string &path,
                                                       std::string &error) {
  auto fail = [&](const std::string &what) {
    error = path + ": " + what;
    return nullptr;
  };

  // The constructor is private, so make_unique is not available. Owning the
  // object from here on lets the destructor release the descriptor and the
  // mapping on every error path.
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file->fd < 0)
    return fail(std::string("cannot open file: ") + std::strerror(errno));

  struct stat st;
  if (::fstat(file->fd, &st) != 0)
    return fail(std::string("cannot stat file: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    return fail("is a directory, not a safetensors file");
  if (!S_ISREG(st.st_mode))
    return fail("not a regular file");
  uint64_t fileSize = static_cast<uint64_t>(st.st_size);
  if (fileSize < 8)
    return fail("file is too short (" + std::to_string(fileSize) +
                " bytes) to hold the 8-byte header length");

  file->mappingSize = static_cast<size_t>(fileSize);
  void *mapped =
      ::mmap(nullptr, file->mappingSize, PROT_READ, MAP_PRIVATE, file->fd, 0);
  if (mapped == MAP_FAILED)
    return fail(std::string("cannot map file: ") + std::strerror(errno));
  file->mapping = mapped;
  const unsigned char *bytes = static_cast<const unsigned char *>(mapped);

  // The length is little-endian regardless of the host.
  uint64_t headerSize = 0;
  for (int i = 7; i >= 0; --i)
    headerSize = (headerSize << 8) | bytes[i];
  if (headerSize == 0)
    return fail("header length is 0");
  if (headerSize > kMaxHeaderSize)
    return fail("header length " + std::to_string(headerSize) +
                " exceeds the limit of " + std::to_string(kMaxHeaderSize) +
                " bytes (100 MiB)");
  if (headerSize > fileSize - 8)
    return fail("header length " + std::to_string(headerSize) +
                " extends beyond the end of the file (" +
                std::to_string(fileSize) + " bytes)");

  const char *headerBegin = reinterpret_cast<const char *>(bytes + 8);
  Json header = Json::parse(headerBegin, headerBegin + headerSize, nullptr,
                            /*allow_exceptions=*/false);
  if (header.is_discarded()) {
    return fail("header is not valid JSON: " +
                describeJsonSyntaxError(headerBegin, headerBegin + headerSize));
  }
  if (!header.is_object())
    return fail("header must be a JSON object, got " +
                std::string(header.type_name()));

  file->dataStart = static_cast<size_t>(8 + headerSize);
  uint64_t dataSize = fileSize - 8 - headerSize;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object())
        return fail("\"__metadata__\" must be an object of strings, got " +
                    brief(it.value()));
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string())
          return fail("\"__metadata__\" entry \"" + m.key() +
                      "\" must be a string, got " + brief(m.value()));
        file->metadataMap[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    TensorInfo info;
    info.name = it.key();
    std::string what;
    if (!parseTensorEntry(it.value(), dataSize, info, what))
      return fail(what);
    file->indexByName[info.name] = file->tensorList.size();
    file->tensorList.push_back(std::move(info));
  }

  std::string what;
  if (!checkNoOverlap(file->tensorList, what))
    return fail(what);
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping)
    ::munmap(mapping, mappingSize);
  if (fd >= 0)
    ::close(fd);
}

const TensorInfo *SafetensorsFile::find(const std::string &name) const {
  auto it = indexByName.find(name);
  return it == indexByName.end() ? nullptr : &tensorList[it->second];
}

const void *SafetensorsFile::data(const TensorInfo &t) const {
  return static_cast<const char *>(mapping) + dataStart + t.begin;
}

//===----------------------------------------------------------------------===//
// Writer
//===----------------------------------------------------------------------===//

bool fly::runtime::writeSafetensors(
    const std::string &path, const std::vector<TensorToWrite> &tensors,
    const std::map<std::string, std::string> &metadata, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = path + ": " + what;
    return false;
  };

  Json header = Json::object();
  // Hugging Face writes the metadata first; readers do not care, but doing
  // the same makes our headers read like theirs.
  if (!metadata.empty()) {
    Json meta = Json::object();
    for (const auto &kv : metadata)
      meta[kv.first] = kv.second;
    header["__metadata__"] = std::move(meta);
  }

  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const TensorToWrite &t : tensors) {
    std::string prefix = "tensor \"" + t.name + "\": ";
    if (t.name.empty())
      return fail("tensor names must not be empty");
    if (t.name == "__metadata__")
      return fail("\"__metadata__\" is reserved and cannot name a tensor");
    if (header.contains(t.name))
      return fail(prefix + "duplicate tensor name");
    for (int64_t dim : t.shape)
      if (dim < 0)
        return fail(prefix + "shape " + shapeToString(t.shape) +
                    " has a negative dimension");
    uint64_t size = 0;
    if (!byteSize(t.shape, t.dtype, size) ||
        __builtin_add_overflow(offset, size, &offset))
      return fail(prefix + "shape " + shapeToString(t.shape) + " is too large");
    if (size != 0 && !t.data)
      return fail(prefix + "data pointer is null");
    Json entry = Json::object();
    entry["dtype"] = dtypeName(t.dtype);
    entry["shape"] = t.shape;
    entry["data_offsets"] = {offset - size, offset};
    header[t.name] = std::move(entry);
    sizes.push_back(size);
  }

  // The pad keeps the data section 8-byte aligned, as the format recommends,
  // so mapped tensors of every dtype are naturally aligned.
  std::string headerText = header.dump();
  headerText.append((8 - headerText.size() % 8) % 8, ' ');
  unsigned char lengthBytes[8];
  uint64_t headerSize = headerText.size();
  for (int i = 0; i < 8; ++i)
    lengthBytes[i] = static_cast<unsigned char>(headerSize >> (8 * i));

  std::FILE *out = std::fopen(path.c_str(), "wb");
  if (!out)
    return fail(std::string("cannot open for writing: ") +
                std::strerror(errno));
  bool ok = std::fwrite(lengthBytes, 1, 8, out) == 8 &&
            std::fwrite(headerText.data(), 1, headerText.size(), out) ==
                headerText.size();
  for (size_t i = 0; ok && i < tensors.size(); ++i)
    if (sizes[i] != 0)
      ok = std::fwrite(tensors[i].data, 1, sizes[i], out) == sizes[i];
  int savedErrno = errno;
  // fclose flushes, so its failure is a write failure too.
  if (std::fclose(out) != 0 && ok) {
    ok = false;
    savedErrno = errno;
  }
  if (!ok) {
    std::remove(path.c_str());
    return fail(std::string("write failed: ") + std::strerror(savedErrno));
  }
  return true;
}
