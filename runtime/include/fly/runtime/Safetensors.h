//===- Safetensors.h - Read and write safetensors files ---------*- C++ -*-===//
//
// A small reader and writer for the safetensors format used by Hugging Face
// checkpoints: an 8-byte little-endian header length N, N bytes of JSON
// header, then the raw tensor data. The header maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} with offsets relative to
// the start of the data section, plus an optional "__metadata__" object of
// strings.
//
// Weights come from files we do not control, so the reader validates
// everything before handing out a pointer: a malformed file yields an error
// message, never an out-of-bounds read. No exceptions are used, so the code
// can be linked into -fno-exceptions builds.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_RUNTIME_SAFETENSORS_H
#define FLY_RUNTIME_SAFETENSORS_H

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace fly::runtime {

/// Element types, spelled as in the safetensors "dtype" field.
enum class DType { F32, F16, BF16, F64, I64, I32, I8, U8, BOOL };

/// Returns the size of one element of `dtype` in bytes.
size_t dtypeSize(DType dtype);
/// Returns the safetensors spelling of `dtype` ("F32", "BF16", ...).
const char *dtypeName(DType dtype);
/// Parses a safetensors dtype name; returns false if `name` is not one of
/// the supported types.
bool parseDType(const std::string &name, DType &dtype);

/// One tensor described by a safetensors header.
struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// Byte offsets relative to the start of the data section.
  uint64_t begin = 0, end = 0;

  /// Product of the shape (1 for a scalar). For tensors returned by
  /// SafetensorsFile the product is known not to overflow.
  int64_t numElements() const;
};

/// A read-only, memory-mapped safetensors file.
class SafetensorsFile {
public:
  /// Maps the file read-only and validates it. On failure returns nullptr and
  /// sets `error` to "<path>: <what is wrong>".
  static std::unique_ptr<SafetensorsFile> open(const std::string &path,
                                               std::string &error);
  ~SafetensorsFile();

  SafetensorsFile(const SafetensorsFile &) = delete;
  SafetensorsFile &operator=(const SafetensorsFile &) = delete;

  /// The tensors, in the order they appear in the header.
  const std::vector<TensorInfo> &tensors() const { return tensorList; }
  /// Returns the tensor called `name`, or nullptr if there is none.
  const TensorInfo *find(const std::string &name) const;
  /// Returns a pointer to the first byte of `t` inside the mapping. `t` must
  /// come from this file. The pointer is only as aligned as the file makes it.
  const void *data(const TensorInfo &t) const;
  /// The string entries of "__metadata__" (empty if the header has none).
  const std::map<std::string, std::string> &metadata() const {
    return metadataMap;
  }

private:
  SafetensorsFile() = default;

  int fd = -1;
  void *mapping = nullptr;
  size_t mappingSize = 0;
  /// Offset of the data section from the start of the file.
  size_t dataStart = 0;
  std::vector<TensorInfo> tensorList;
  std::unordered_map<std::string, size_t> indexByName;
  std::map<std::string, std::string> metadataMap;
};

/// A tensor to be written by writeSafetensors. `data` must point to
/// numElements(shape) * dtypeSize(dtype) bytes (it may be null if that is 0).
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  const void *data = nullptr;
};

/// Writes a valid safetensors file: 8-byte little-endian header length, JSON
/// header padded with spaces to a multiple of 8, then the data of each tensor
/// in the given order. Returns false and sets `error` ("<path>: <what>") on
/// failure (bad names or shapes, I/O errors).
bool writeSafetensors(const std::string &path,
                      const std::vector<TensorToWrite> &tensors,
                      const std::map<std::string, std::string> &metadata,
                      std::string &error);

} // namespace fly::runtime

#endif // FLY_RUNTIME_SAFETENSORS_H
