//===- ImageFolder.cpp - ImageFolder listing and image decoding ----------===//
//
// stb_image and stb_image_resize are single-header libraries: this file holds
// their implementation, limited to JPEG and PNG and to decoding from memory.
// The headers come from Debian's libstb-dev (/usr/include/stb), a system
// include directory, so their own warnings stay out of the build log.
//
//===----------------------------------------------------------------------===//

#include "ImageFolder.h"

#include "fly/runtime/FileUtils.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstring>
#include <memory>
#include <utility>

#include <dirent.h>
#include <sys/stat.h>

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STBI_FAILURE_USERMSG
// Larger images are refused before any pixel buffer is allocated.
#define STBI_MAX_DIMENSIONS (1 << 15)
#include <stb/stb_image.h>

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_STATIC
#include <stb/stb_image_resize.h>

using namespace fly::classify;

namespace {

/// Folder nesting below a class folder beyond which listing stops: symbolic
/// links are followed (as torchvision does), so a link cycle must end.
constexpr int kMaxDepth = 32;
/// Decoded images above this many pixels (a 16k x 16k photo) are refused.
constexpr int64_t kMaxPixels = int64_t(1) << 28;

std::string lower(std::string text) {
  for (char &c : text)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return text;
}

bool hasImageExtension(const std::string &name) {
  size_t dot = name.rfind('.');
  if (dot == std::string::npos)
    return false;
  std::string ext = lower(name.substr(dot));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

/// The entries of directory `dir` (without "." and ".."), or false with
/// `error` set.
bool readDirectory(const std::string &dir, std::vector<std::string> &names,
                   std::string &error) {
  DIR *handle = ::opendir(dir.c_str());
  if (!handle) {
    error = dir + ": " + std::strerror(errno);
    return false;
  }
  errno = 0;
  while (struct dirent *entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..")
      names.push_back(name);
  }
  int status = errno;
  ::closedir(handle);
  if (status) {
    error = dir + ": " + std::strerror(status);
    return false;
  }
  return true;
}

enum class EntryKind { Directory, File, Other };

/// What `path` is, following symbolic links.
bool entryKind(const std::string &path, EntryKind &kind, std::string &error) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    error = path + ": " + std::strerror(errno);
    return false;
  }
  kind = S_ISDIR(info.st_mode)   ? EntryKind::Directory
         : S_ISREG(info.st_mode) ? EntryKind::File
                                 : EntryKind::Other;
  return true;
}

/// Appends the images below `root`/`rel` to `files` as (directory, name)
/// pairs relative to `root`.
bool listImages(const std::string &root, const std::string &rel, int depth,
                std::vector<std::pair<std::string, std::string>> &files,
                std::string &error) {
  std::string dir = rel.empty() ? root : root + "/" + rel;
  if (depth > kMaxDepth) {
    error = dir + ": folders nested more than " + std::to_string(kMaxDepth) +
            " deep (a symbolic link cycle?)";
    return false;
  }
  std::vector<std::string> names;
  if (!readDirectory(dir, names, error))
    return false;
  std::sort(names.begin(), names.end());
  for (const std::string &name : names) {
    if (name[0] == '.')
      continue;
    std::string path = dir + "/" + name;
    EntryKind kind = EntryKind::Other;
    if (!entryKind(path, kind, error))
      return false;
    if (kind == EntryKind::Directory) {
      if (!listImages(root, rel.empty() ? name : rel + "/" + name, depth + 1,
                      files, error))
        return false;
    } else if (kind == EntryKind::File && hasImageExtension(name)) {
      files.emplace_back(rel, name);
    } else {
      error = path + ": not an image (fly-classify reads .jpg, .jpeg and .png "
                     "files; remove it or move it out of the folder)";
      return false;
    }
  }
  return true;
}

/// JPEG entropy-coded data escapes every 0xFF byte, so an intact file has an
/// end-of-image marker (FF D9) after its last start-of-scan marker (FF DA).
/// stb_image pads a truncated scan with zeros and reports success; this
/// catches that case. Bytes after the end marker (some cameras append data)
/// are allowed.
bool jpegLooksComplete(const uint8_t *data, size_t size) {
  size_t lastScan = 0;
  bool sawScan = false;
  for (size_t i = 0; i + 1 < size; ++i) {
    if (data[i] == 0xFF && data[i + 1] == 0xDA) {
      lastScan = i;
      sawScan = true;
    }
  }
  if (!sawScan)
    return false;
  for (size_t i = lastScan + 2; i + 1 < size; ++i)
    if (data[i] == 0xFF && data[i + 1] == 0xD9)
      return true;
  return false;
}

/// CRC-32 (ISO-HDLC, the one PNG uses) of [data, data + size).
uint32_t crc32(const uint8_t *data, size_t size) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k)
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i)
    crc = table[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t readBigEndian32(const uint8_t *p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 |
         uint32_t(p[3]);
}

/// Walks the chunks of a PNG file up to IEND and checks each one's CRC:
/// stb_image skips the CRCs, so flipped bits in the compressed pixel data
/// could otherwise decode to a plausible but wrong image. On failure returns
/// false with the reason in `why`.
bool pngChunksIntact(const uint8_t *data, size_t size, std::string &why) {
  size_t pos = 8; // The signature, which stb_image has checked.
  while (true) {
    if (size - pos < 12) {
      why = "truncated PNG (ends before its IEND chunk)";
      return false;
    }
    uint32_t length = readBigEndian32(data + pos);
    if (length > size - pos - 12) {
      why = "truncated PNG (a chunk runs past the end of the file)";
      return false;
    }
    const uint8_t *type = data + pos + 4;
    if (crc32(type, length + 4) != readBigEndian32(type + 4 + length)) {
      std::string name;
      for (int i = 0; i < 4; ++i)
        name += std::isalpha(type[i]) ? static_cast<char>(type[i]) : '?';
      why = "corrupt PNG (CRC mismatch in chunk '" + name + "')";
      return false;
    }
    pos += 12 + size_t(length);
    if (std::memcmp(type, "IEND", 4) == 0)
      return true;
  }
}

struct StbiFree {
  void operator()(stbi_uc *pixels) const { stbi_image_free(pixels); }
};

} // namespace

bool fly::classify::listImageFolder(const std::string &root,
                                    std::vector<ClassFolder> &classes,
                                    std::string &error) {
  EntryKind kind = EntryKind::Other;
  if (!entryKind(root, kind, error))
    return false;
  if (kind != EntryKind::Directory) {
    error = root + ": not a directory";
    return false;
  }
  std::vector<std::string> names;
  if (!readDirectory(root, names, error))
    return false;
  std::sort(names.begin(), names.end());
  classes.clear();
  for (const std::string &name : names) {
    if (name[0] == '.')
      continue;
    std::string path = root + "/" + name;
    if (!entryKind(path, kind, error))
      return false;
    if (kind != EntryKind::Directory) {
      error = path + ": a file at the top level; an image folder holds one "
                     "subfolder per class and nothing else";
      return false;
    }
    std::vector<std::pair<std::string, std::string>> files;
    if (!listImages(path, "", 1, files, error))
      return false;
    if (files.empty()) {
      error = path + ": class folder '" + name + "' holds no images";
      return false;
    }
    // torchvision sorts os.walk's (directory, subdirs, files) tuples, so the
    // images of a directory come before those of its subfolders only by the
    // directory path's order: sort the (directory, name) pairs the same way.
    std::sort(files.begin(), files.end());
    ClassFolder folder;
    folder.name = name;
    for (const auto &[dir, file] : files)
      folder.files.push_back(dir.empty() ? file : dir + "/" + file);
    classes.push_back(std::move(folder));
  }
  if (classes.empty()) {
    error = root + ": no class folders (an image folder holds one subfolder "
                   "per class, e.g. ROOT/cat/1.jpg, ROOT/dog/2.png)";
    return false;
  }
  return true;
}

bool fly::classify::loadImage(const std::string &path, const Preprocess &pre,
                              float *out, ImageInfo &info, std::string &error) {
  std::vector<uint8_t> bytes;
  if (!fly::runtime::readFileBytes(path, bytes, error))
    return false;
  if (bytes.empty()) {
    error = path + ": empty file";
    return false;
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    error = path + ": file too large for the image decoder (over 2 GiB)";
    return false;
  }
  int length = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  if (!stbi_info_from_memory(bytes.data(), length, &width, &height,
                             &channels)) {
    error = path + ": not a JPEG or PNG image, or a corrupt one (" +
            stbi_failure_reason() + ")";
    return false;
  }
  if (width <= 0 || height <= 0 ||
      static_cast<int64_t>(width) * height > kMaxPixels) {
    error = path + ": image of " + std::to_string(width) + "x" +
            std::to_string(height) + " pixels is too large";
    return false;
  }
  // stbi_info_from_memory succeeded, so the file starts with a JPEG or PNG
  // signature.
  bool isJpeg = bytes[0] == 0xFF;
  std::string why;
  if (isJpeg && !jpegLooksComplete(bytes.data(), bytes.size())) {
    error = path + ": truncated JPEG (no end-of-image marker after the last "
                   "scan)";
    return false;
  }
  if (!isJpeg && !pngChunksIntact(bytes.data(), bytes.size(), why)) {
    error = path + ": " + why;
    return false;
  }
  std::unique_ptr<stbi_uc, StbiFree> pixels(stbi_load_from_memory(
      bytes.data(), length, &width, &height, &channels, 3));
  if (!pixels) {
    error = path + ": corrupt image (" + stbi_failure_reason() + ")";
    return false;
  }
  info.width = width;
  info.height = height;
  info.channels = channels;

  const stbi_uc *rgb = pixels.get();
  std::vector<stbi_uc> resized;
  int outW = static_cast<int>(pre.width), outH = static_cast<int>(pre.height);
  info.resized = width != outW || height != outH;
  if (info.resized) {
    resized.resize(static_cast<size_t>(outW) * outH * 3);
    if (!stbir_resize_uint8_generic(rgb, width, height, 0, resized.data(), outW,
                                    outH, 0, 3, STBIR_ALPHA_CHANNEL_NONE, 0,
                                    STBIR_EDGE_CLAMP, STBIR_FILTER_TRIANGLE,
                                    STBIR_COLORSPACE_LINEAR, nullptr)) {
      error = path + ": resizing to " + std::to_string(outW) + "x" +
              std::to_string(outH) + " failed (out of memory)";
      return false;
    }
    rgb = resized.data();
  }

  // (pixel / 255 - mean) / std in double, rounded once to float: a table
  // per channel, so every pixel value maps to exactly one float.
  size_t plane = static_cast<size_t>(outW) * outH;
  for (int c = 0; c < 3; ++c) {
    float table[256];
    for (int v = 0; v < 256; ++v)
      table[v] = static_cast<float>((v / 255.0 - pre.mean[c]) / pre.std[c]);
    for (size_t i = 0; i < plane; ++i)
      out[c * plane + i] = table[rgb[i * 3 + c]];
  }
  return true;
}
