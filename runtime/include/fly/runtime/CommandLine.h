//===- CommandLine.h - Shared pieces of the runtime tools' parsers -*- C++
//-*-===//
//
// fly-run and fly-classify parse their options by hand (no LLVM at run
// time); the error type, its report and the strict integer parser are the
// same for both.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_RUNTIME_COMMANDLINE_H
#define FLY_RUNTIME_COMMANDLINE_H

#include <cstdint>
#include <cstdio>
#include <limits>
#include <string>

namespace fly::runtime {

/// A failure to report: the message and the exit status (2: command line).
struct Failure {
  std::string message;
  int status = 1;
};

/// Prints "TOOL: error: MESSAGE" (and a --help hint for command-line
/// errors); returns the exit status.
inline int reportFailure(const char *tool, const Failure &failure) {
  std::fprintf(stderr, "%s: error: %s\n", tool, failure.message.c_str());
  if (failure.status == 2)
    std::fprintf(stderr, "Run '%s --help' for usage.\n", tool);
  return failure.status;
}

/// Parses a decimal unsigned integer, rejecting signs, junk and overflow
/// (strtoull alone accepts "-1" and "12abc").
inline bool parseUnsigned(const std::string &text, uint64_t &value) {
  if (text.empty() || text.size() > 20)
    return false;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return false;
    unsigned digit = static_cast<unsigned>(c - '0');
    if (result > (std::numeric_limits<uint64_t>::max() - digit) / 10)
      return false;
    result = result * 10 + digit;
  }
  value = result;
  return true;
}

} // namespace fly::runtime

#endif // FLY_RUNTIME_COMMANDLINE_H
