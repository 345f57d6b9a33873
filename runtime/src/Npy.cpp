//===- Npy.cpp - Read and write NumPy .npy files ----------------*- C++ -*-===//
//
// The header is a Python literal, so it gets a tiny recursive-descent parser
// for exactly the subset NumPy writes: a dict of string keys whose values are
// strings, True/False or tuples of integers.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/Npy.h"
#include "fly/runtime/FileUtils.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

namespace fly::runtime {

namespace {
constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = 6;

struct NpyType {
  const char *descr;
  DType dtype;
};
constexpr NpyType kTypes[] = {
    {"<f4", DType::F32},
    {"<f2", DType::F16},
    {"<i8", DType::I64},
    {"<i4", DType::I32},
};
} // namespace

int64_t NpyArray::numElements() const {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

bool npyDescrToDType(const std::string &descr, DType &dtype) {
  for (const NpyType &type : kTypes) {
    if (descr == type.descr) {
      dtype = type.dtype;
      return true;
    }
  }
  return false;
}

namespace {
const char *dtypeToDescr(DType dtype) {
  for (const NpyType &type : kTypes)
    if (type.dtype == dtype)
      return type.descr;
  return nullptr;
}

/// Parser for the header dict. Every method returns false and sets `error`
/// on malformed input; it never reads past `text`.
class HeaderParser {
public:
  HeaderParser(const std::string &text, std::string &error)
      : text(text), error(error) {}

  bool parse(std::string &descr, bool &fortranOrder,
             std::vector<int64_t> &shape) {
    bool haveDescr = false, haveOrder = false, haveShape = false;
    if (!expect('{'))
      return false;
    while (true) {
      skipSpace();
      if (peek() == '}') {
        ++pos;
        break;
      }
      std::string key;
      if (!parseString(key) || !expect(':'))
        return false;
      skipSpace();
      if (key == "descr") {
        if (!parseString(descr))
          return false;
        haveDescr = true;
      } else if (key == "fortran_order") {
        if (!parseBool(fortranOrder))
          return false;
        haveOrder = true;
      } else if (key == "shape") {
        if (!parseShape(shape))
          return false;
        haveShape = true;
      } else {
        return fail("unexpected key '" + key + "' in header");
      }
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (!expect('}'))
        return false;
      break;
    }
    skipSpace();
    if (pos != text.size())
      return fail("unexpected text after the header dict");
    if (!haveDescr)
      return fail("header has no 'descr'");
    if (!haveOrder)
      return fail("header has no 'fortran_order'");
    if (!haveShape)
      return fail("header has no 'shape'");
    return true;
  }

private:
  char peek() const { return pos < text.size() ? text[pos] : '\0'; }
  void skipSpace() {
    while (pos < text.size() &&
           std::isspace(static_cast<unsigned char>(text[pos])))
      ++pos;
  }
  bool fail(const std::string &what) {
    error = "malformed header: " + what;
    return false;
  }
  bool expect(char c) {
    skipSpace();
    if (peek() != c)
      return fail(std::string("expected '") + c + "' at offset " +
                  std::to_string(pos));
    ++pos;
    return true;
  }
  bool parseString(std::string &out) {
    skipSpace();
    char quote = peek();
    if (quote != '\'' && quote != '"')
      return fail("expected a string at offset " + std::to_string(pos));
    size_t end = text.find(quote, pos + 1);
    if (end == std::string::npos)
      return fail("unterminated string");
    out = text.substr(pos + 1, end - pos - 1);
    pos = end + 1;
    return true;
  }
  bool parseBool(bool &out) {
    if (text.compare(pos, 4, "True") == 0) {
      out = true;
      pos += 4;
      return true;
    }
    if (text.compare(pos, 5, "False") == 0) {
      out = false;
      pos += 5;
      return true;
    }
    return fail("'fortran_order' must be True or False");
  }
  bool parseShape(std::vector<int64_t> &shape) {
    if (!expect('('))
      return false;
    shape.clear();
    while (true) {
      skipSpace();
      if (peek() == ')') {
        ++pos;
        return true;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek())))
        return fail("'shape' must be a tuple of non-negative integers");
      int64_t dim = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        int digit = text[pos++] - '0';
        if (dim > (std::numeric_limits<int64_t>::max() - digit) / 10)
          return fail("dimension too large");
        dim = dim * 10 + digit;
      }
      if (peek() == 'L') // Python 2 long literal.
        ++pos;
      shape.push_back(dim);
      skipSpace();
      if (peek() == ',') {
        ++pos;
        continue;
      }
      if (!expect(')'))
        return false;
      return true;
    }
  }

  const std::string &text;
  std::string &error;
  size_t pos = 0;
};

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + ")";
}
} // namespace

bool parseNpy(const uint8_t *bytes, size_t size, NpyArray &out,
              std::string &error) {
  if (size < kMagicSize + 2 || std::memcmp(bytes, kMagic, kMagicSize) != 0) {
    error = "not a .npy file (bad magic)";
    return false;
  }
  unsigned major = bytes[6];
  size_t headerStart, headerLen;
  if (major == 1) {
    headerStart = 10;
    if (size < headerStart) {
      error = "truncated header";
      return false;
    }
    headerLen = bytes[8] | (size_t(bytes[9]) << 8);
  } else if (major == 2 || major == 3) {
    headerStart = 12;
    if (size < headerStart) {
      error = "truncated header";
      return false;
    }
    headerLen = bytes[8] | (size_t(bytes[9]) << 8) | (size_t(bytes[10]) << 16) |
                (size_t(bytes[11]) << 24);
  } else {
    error = "unsupported .npy version " + std::to_string(major);
    return false;
  }
  if (headerLen > size - headerStart) {
    error = "truncated header";
    return false;
  }
  std::string header(reinterpret_cast<const char *>(bytes) + headerStart,
                     headerLen);
  std::string descr;
  bool fortranOrder = false;
  NpyArray array;
  if (!HeaderParser(header, error).parse(descr, fortranOrder, array.shape))
    return false;
  if (!npyDescrToDType(descr, array.dtype)) {
    if (!descr.empty() && descr[0] == '>')
      error = "big-endian data ('" + descr + "') is not supported";
    else
      error = "unsupported dtype '" + descr +
              "' (supported: '<f4', '<f2', '<i8', '<i4')";
    return false;
  }
  if (fortranOrder) {
    error = "Fortran-order arrays are not supported (save a C-order array, "
            "e.g. numpy.ascontiguousarray)";
    return false;
  }
  // Compute the data size without overflow before trusting it.
  size_t dataBytes = dtypeSize(array.dtype);
  for (int64_t dim : array.shape) {
    if (dim != 0 && dataBytes > std::numeric_limits<size_t>::max() / 2 /
                                    static_cast<uint64_t>(dim)) {
      error = "shape " + shapeString(array.shape) + " is too large";
      return false;
    }
    dataBytes *= static_cast<size_t>(dim);
  }
  size_t available = size - headerStart - headerLen;
  if (available != dataBytes) {
    error = "shape " + shapeString(array.shape) + " of '" + descr + "' needs " +
            std::to_string(dataBytes) + " data bytes, the file has " +
            std::to_string(available);
    return false;
  }
  const uint8_t *data = bytes + headerStart + headerLen;
  array.data.assign(data, data + dataBytes);
  out = std::move(array);
  return true;
}

namespace {} // namespace

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::vector<uint8_t> bytes;
  if (!readFileBytes(path, bytes, error))
    return false;
  if (!parseNpy(bytes.data(), bytes.size(), out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool encodeNpy(DType dtype, const std::vector<int64_t> &shape, const void *data,
               std::vector<uint8_t> &out, std::string &error) {
  const char *descr = dtypeToDescr(dtype);
  if (!descr) {
    error = std::string("cannot write dtype ") + dtypeName(dtype) +
            " to .npy (supported: F32, F16, I64, I32)";
    return false;
  }
  size_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      error = "negative dimension in shape " + shapeString(shape);
      return false;
    }
    count *= static_cast<size_t>(dim);
  }
  // A 1-element tuple needs its trailing comma in Python: (3,).
  std::string shapeText = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    shapeText += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1)
    shapeText += ",";
  shapeText += ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shapeText +
                       ", }";
  // NumPy pads the header with spaces and a final newline so that the data
  // starts on a 64-byte boundary.
  size_t preamble = 10;
  if (header.size() + 1 + 64 > 65535)
    preamble = 12;
  size_t total = preamble + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');

  size_t dataBytes = count * dtypeSize(dtype);
  out.clear();
  out.reserve(preamble + header.size() + dataBytes);
  out.insert(out.end(), kMagic, kMagic + kMagicSize);
  out.push_back(preamble == 10 ? 1 : 2);
  out.push_back(0);
  size_t len = header.size();
  out.push_back(static_cast<uint8_t>(len & 0xff));
  out.push_back(static_cast<uint8_t>((len >> 8) & 0xff));
  if (preamble == 12) {
    out.push_back(static_cast<uint8_t>((len >> 16) & 0xff));
    out.push_back(static_cast<uint8_t>((len >> 24) & 0xff));
  }
  out.insert(out.end(), header.begin(), header.end());
  const uint8_t *bytes = static_cast<const uint8_t *>(data);
  if (dataBytes)
    out.insert(out.end(), bytes, bytes + dataBytes);
  return true;
}

bool writeNpy(const std::string &path, DType dtype,
              const std::vector<int64_t> &shape, const void *data,
              std::string &error) {
  std::vector<uint8_t> bytes;
  if (!encodeNpy(dtype, shape, data, bytes, error)) {
    error = path + ": " + error;
    return false;
  }
  std::FILE *file = std::fopen(path.c_str(), "wb");
  if (!file) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  ok = (std::fclose(file) == 0) && ok;
  if (!ok) {
    error = path + ": write error";
    return false;
  }
  return true;
}

} // namespace fly::runtime
