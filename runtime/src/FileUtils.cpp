//===- FileUtils.cpp - Small file and JSON helpers for the runtime -------===//

#include "fly/runtime/FileUtils.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>

using namespace fly::runtime;

namespace {
template <typename Append>
bool readChunks(const std::string &path, std::string &error, Append append) {
  std::FILE *file = std::fopen(path.c_str(), "rb");
  if (!file) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  char chunk[65536];
  size_t got;
  while ((got = std::fread(chunk, 1, sizeof(chunk), file)) > 0)
    append(chunk, got);
  bool failed = std::ferror(file);
  std::fclose(file);
  if (failed) {
    error = path + ": read error";
    return false;
  }
  return true;
}

using Json = nlohmann::json;

/// A SAX handler that only records the parser's diagnostic. It is run again
/// on input that failed to parse, because parsing with allow_exceptions=false
/// discards the position and reason of the error.
class ParseErrorRecorder : public nlohmann::json_sax<Json> {
public:
  std::string message;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t &) override { return true; }
  bool string(string_t &) override { return true; }
  bool binary(binary_t &) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t &) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string &,
                   const nlohmann::detail::exception &ex) override {
    // Drop the "[json.exception.parse_error.101] " tag; users need the rest.
    message = ex.what();
    size_t tagEnd = message.find("] ");
    if (message.rfind("[json.exception.", 0) == 0 &&
        tagEnd != std::string::npos)
      message = message.substr(tagEnd + 2);
    return false;
  }
};
} // namespace

bool fly::runtime::readFileBytes(const std::string &path,
                                 std::vector<uint8_t> &bytes,
                                 std::string &error) {
  bytes.clear();
  return readChunks(path, error, [&](const char *data, size_t n) {
    bytes.insert(bytes.end(), data, data + n);
  });
}

bool fly::runtime::readFileText(const std::string &path, std::string &text,
                                std::string &error) {
  text.clear();
  return readChunks(path, error,
                    [&](const char *data, size_t n) { text.append(data, n); });
}

std::string fly::runtime::describeJsonSyntaxError(const char *begin,
                                                  const char *end) {
  ParseErrorRecorder recorder;
  Json::sax_parse(begin, end, &recorder);
  return recorder.message;
}
