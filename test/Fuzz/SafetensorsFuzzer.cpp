//===- SafetensorsFuzzer.cpp - libFuzzer target for the safetensors reader ===//
//
// Feeds arbitrary bytes to fly::runtime::SafetensorsFile::open. The reader
// only opens paths, so every input is written to one per-process temporary
// file (created once with mkstemp, truncated and rewritten per input). When a
// file is accepted, every tensor's bytes are read (ASan catches a view that
// leaves the mapping) and the tensors are written back with writeSafetensors
// and re-read, which must give the same names, dtypes, shapes, bytes and
// metadata.
//
// Built with clang and -fsanitize=fuzzer by test/Fuzz/build.sh.
//
//===----------------------------------------------------------------------===//

#include "fly/runtime/Safetensors.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

using namespace fly::runtime;

namespace {
/// A temporary file that lives as long as the process.
struct TempFile {
  std::string path;
  int fd = -1;

  explicit TempFile(const char *tag) {
    // tmpfs keeps the per-input rewrite off the disk when it is available.
    const char *dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string pattern = std::string(dir) + "/fly-fuzz-" + tag + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    fd = ::mkstemp(buf.data());
    if (fd < 0) {
      std::perror("mkstemp");
      std::abort();
    }
    path = buf.data();
  }
  ~TempFile() {
    ::close(fd);
    ::unlink(path.c_str());
  }

  void write(const uint8_t *data, size_t size) {
    if (::ftruncate(fd, 0) != 0) {
      std::perror("ftruncate");
      std::abort();
    }
    size_t done = 0;
    while (done < size) {
      ssize_t n = ::pwrite(fd, data + done, size - done, done);
      if (n <= 0) {
        std::perror("pwrite");
        std::abort();
      }
      done += static_cast<size_t>(n);
    }
  }
};

TempFile &inputFile() {
  static TempFile file("safetensors-in");
  return file;
}

std::string &roundTripPath() {
  static TempFile file("safetensors-rt");
  return file.path;
}

void check(bool condition, const char *what) {
  if (!condition) {
    std::fprintf(stderr, "SafetensorsFuzzer: invariant violated: %s\n", what);
    __builtin_trap();
  }
}

/// Reads every byte of every tensor; the result is kept observable so the
/// loop is not optimized away.
volatile uint64_t gSink;

uint64_t sumBytes(const SafetensorsFile &file, const TensorInfo &t) {
  const unsigned char *p = static_cast<const unsigned char *>(file.data(t));
  uint64_t sum = 0;
  for (uint64_t i = 0; i < t.end - t.begin; ++i)
    sum += p[i];
  return sum;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  TempFile &in = inputFile();
  in.write(data, size);

  std::string error;
  std::unique_ptr<SafetensorsFile> file = SafetensorsFile::open(in.path, error);
  if (!file) {
    check(!error.empty(), "open failed without an error message");
    return 0;
  }

  // Every accepted view lies inside the data section (ASan checks each
  // read), and the size agrees with shape and dtype.
  uint64_t total = 0;
  for (const TensorInfo &t : file->tensors()) {
    check(t.begin <= t.end, "begin > end");
    uint64_t expected = dtypeSize(t.dtype);
    for (int64_t dim : t.shape) {
      check(dim >= 0, "negative dimension");
      check(!__builtin_mul_overflow(expected, static_cast<uint64_t>(dim),
                                    &expected),
            "byte size overflows");
    }
    check(t.end - t.begin == expected, "span does not match shape");
    check(file->find(t.name) == &t, "find() does not return the tensor");
    total += sumBytes(*file, t);
  }
  gSink = total;

  // Round trip. The writer refuses empty tensor names, which the reader
  // accepts; such files are not written back.
  std::vector<TensorToWrite> toWrite;
  for (const TensorInfo &t : file->tensors()) {
    if (t.name.empty())
      return 0;
    toWrite.push_back({t.name, t.dtype, t.shape, file->data(t)});
  }
  const std::string &rtPath = roundTripPath();
  if (!writeSafetensors(rtPath, toWrite, file->metadata(), error)) {
    std::fprintf(stderr, "SafetensorsFuzzer: %s\n", error.c_str());
    check(false, "an accepted file cannot be written back");
  }
  std::unique_ptr<SafetensorsFile> again = SafetensorsFile::open(rtPath, error);
  if (!again) {
    std::fprintf(stderr, "SafetensorsFuzzer: %s\n", error.c_str());
    check(false, "a written file cannot be read back");
  }
  check(again->tensors().size() == file->tensors().size(),
        "round trip changed the tensor count");
  check(again->metadata() == file->metadata(),
        "round trip changed the metadata");
  for (size_t i = 0; i < file->tensors().size(); ++i) {
    const TensorInfo &a = file->tensors()[i], &b = again->tensors()[i];
    check(a.name == b.name, "round trip changed a name or the order");
    check(a.dtype == b.dtype, "round trip changed a dtype");
    check(a.shape == b.shape, "round trip changed a shape");
    check(a.end - a.begin == b.end - b.begin, "round trip changed a size");
    check(std::memcmp(file->data(a), again->data(b), a.end - a.begin) == 0,
          "round trip changed tensor bytes");
  }
  return 0;
}
