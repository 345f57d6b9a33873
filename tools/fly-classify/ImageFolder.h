//===- ImageFolder.h - ImageFolder listing and image decoding ---*- C++ -*-===//
//
// The pieces of fly-classify that know about images: listing a directory in
// torchvision's ImageFolder layout (one subfolder per class) and turning a
// JPEG or PNG file into the CHW float tensor an HF ViT takes. Decoding and
// resizing use stb_image and stb_image_resize (Debian: libstb-dev), compiled
// into ImageFolder.cpp for JPEG and PNG only. No LLVM, no exceptions: every
// function reports failure through its return value and `error`.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_TOOLS_FLY_CLASSIFY_IMAGEFOLDER_H
#define FLY_TOOLS_FLY_CLASSIFY_IMAGEFOLDER_H

#include <cstdint>
#include <string>
#include <vector>

namespace fly::classify {

/// One class folder: its name and its images, as paths relative to the
/// class folder, in torchvision's order.
struct ClassFolder {
  std::string name;
  std::vector<std::string> files;
};

/// Lists `root` the way torchvision.datasets.ImageFolder does: the class
/// folders are the subdirectories of `root` sorted by name (byte order), and
/// the images of a class are every file below its folder (subfolders
/// included, symbolic links followed) sorted by (directory, file name).
/// Unlike torchvision, where other files are skipped silently, any file that
/// is not .jpg/.jpeg/.png (case-insensitive) is an error, and so are files
/// directly in `root` and class folders without images. Entries whose name
/// starts with '.' (.DS_Store, .git) are ignored. On failure returns false
/// with `error` naming the offending path.
bool listImageFolder(const std::string &root, std::vector<ClassFolder> &classes,
                     std::string &error);

/// How an image becomes model input.
struct Preprocess {
  int64_t height = 0, width = 0;
  /// Per channel (R, G, B): value = (pixel / 255 - mean) / std.
  double mean[3] = {0.5, 0.5, 0.5};
  double std[3] = {0.5, 0.5, 0.5};
};

/// What loadImage did, for the report.
struct ImageInfo {
  int width = 0, height = 0;
  /// Channels stored in the file (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA).
  int channels = 0;
  bool resized = false;
};

/// Decodes the JPEG or PNG file `path` as 8-bit RGB (grey is replicated,
/// alpha dropped, 16-bit PNG samples rounded to 8 bits), resizes it to
/// `pre.height` x `pre.width` with stb_image_resize's triangle (bilinear)
/// filter when its size differs (aspect ratio not kept, as HF's
/// ViTImageProcessor does), and writes `3 * height * width` normalised
/// values in CHW order to `out` (row-major [3][height][width]). Returns
/// false with `error` set for unreadable, corrupt, truncated or oversized
/// files and for formats other than JPEG and PNG.
bool loadImage(const std::string &path, const Preprocess &pre, float *out,
               ImageInfo &info, std::string &error);

} // namespace fly::classify

#endif // FLY_TOOLS_FLY_CLASSIFY_IMAGEFOLDER_H
