//===- FileUtils.h - File and JSON helpers ----------------------*- C++ -*-===//
//
// Shared by the readers (safetensors, .npy, manifest, config.json) and
// fly-run, none of which may use LLVM's support library.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_RUNTIME_FILEUTILS_H
#define FLY_RUNTIME_FILEUTILS_H

#include <cstdint>
#include <string>
#include <vector>

namespace fly::runtime {

/// Reads a whole file; false with "<path>: <reason>" on failure.
bool readFileBytes(const std::string &path, std::vector<uint8_t> &bytes,
                   std::string &error);
bool readFileText(const std::string &path, std::string &text,
                  std::string &error);

/// The position and reason of a JSON syntax error in [begin, end) (e.g.
/// "parse error at line 7, column 1: ..."). Parsing without exceptions
/// discards both, so the text is parsed again with a recording handler.
std::string describeJsonSyntaxError(const char *begin, const char *end);

} // namespace fly::runtime

#endif // FLY_RUNTIME_FILEUTILS_H
