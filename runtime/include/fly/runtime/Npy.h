//===- Npy.h - Read and write NumPy .npy files ------------------*- C++ -*-===//
//
// The .npy format is a magic string, a version, a header length and a Python
// dict literal such as {'descr': '<f4', 'fortran_order': False,
// 'shape': (2, 3), } padded to a 64-byte boundary, followed by the raw data.
// fly-run reads inputs and writes outputs in it so results can be compared
// with NumPy/PyTorch. Only little-endian f32, f16, i64 and i32 in C order
// are supported: that covers token ids, images and logits.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_RUNTIME_NPY_H
#define FLY_RUNTIME_NPY_H

#include "fly/runtime/Safetensors.h"

#include <cstdint>
#include <string>
#include <vector>

namespace fly::runtime {

/// A dense C-order array read from a .npy file.
struct NpyArray {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// numElements() * dtypeSize(dtype) bytes, little-endian.
  std::vector<uint8_t> data;

  /// Product of the shape (1 for a scalar).
  int64_t numElements() const;
};

/// Maps a .npy descr ("<f4", "<f2", "<i8", "<i4") to a DType; false for any
/// other descr.
bool npyDescrToDType(const std::string &descr, DType &dtype);

/// Parses the bytes of a .npy file (versions 1, 2 and 3). On failure returns
/// false and sets `error` to what is wrong (bad magic, unsupported dtype,
/// Fortran order, size mismatch, ...).
bool parseNpy(const uint8_t *bytes, size_t size, NpyArray &out,
              std::string &error);
/// Reads and parses `path`; errors are prefixed with the path.
bool readNpy(const std::string &path, NpyArray &out, std::string &error);

/// Encodes a C-order array as .npy bytes (version 1, or 2 when the header
/// needs it). `dtype` must be F32, F16, I64 or I32; returns false otherwise.
bool encodeNpy(DType dtype, const std::vector<int64_t> &shape, const void *data,
               std::vector<uint8_t> &out, std::string &error);
/// Encodes and writes `path`; errors are prefixed with the path.
bool writeNpy(const std::string &path, DType dtype,
              const std::vector<int64_t> &shape, const void *data,
              std::string &error);

} // namespace fly::runtime

#endif // FLY_RUNTIME_NPY_H
