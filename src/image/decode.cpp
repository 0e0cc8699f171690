// Decoding image files; see include/vit/image/decode.h.
#include "vit/image/decode.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vit/errors.h"

namespace vit {

std::string opencv_version() { return CV_VERSION; }

namespace {

// A JPEG cut short still decodes in libjpeg (the rest is filled with gray); we refuse it.
// Walk the marker segments to the first start-of-scan, then require an end-of-image marker
// after it (0xFF 0xD9 cannot occur inside entropy-coded data, where 0xFF is stuffed).
bool jpeg_is_complete(const std::vector<uint8_t>& b) {
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return false;
    uint8_t marker = b[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    if (marker == 0xD9) return false;  // EOI before any scan
    size_t len = (static_cast<size_t>(b[i + 2]) << 8) | b[i + 3];
    if (marker == 0xDA) {
      for (size_t j = i + 2 + len; j + 1 < b.size(); ++j)
        if (b[j] == 0xFF && b[j + 1] == 0xD9) return true;
      return false;
    }
    i += 2 + len;
  }
  return false;
}

// Width and height from the first start-of-frame marker; false when not found.
bool jpeg_size(const std::vector<uint8_t>& b, int* w, int* h) {
  size_t i = 2;
  while (i + 9 <= b.size()) {
    if (b[i] != 0xFF) return false;
    const uint8_t m = b[i + 1];
    if (m == 0xFF) {
      ++i;
      continue;
    }
    if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
      i += 2;
      continue;
    }
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      *h = (b[i + 5] << 8) | b[i + 6];
      *w = (b[i + 7] << 8) | b[i + 8];
      return *w > 0 && *h > 0;
    }
    if (m == 0xDA || m == 0xD9) return false;
    i += 2 + ((static_cast<size_t>(b[i + 2]) << 8) | b[i + 3]);
  }
  return false;
}

// libjpeg can decode at 1/2, 1/4 or 1/8 scale almost for free. Pick the largest that keeps
// the image at least twice the size the preprocessing resizes to.
int jpeg_reduction(int w, int h, const PreprocessConfig& cfg) {
  int need_w = 0, need_h = 0;
  if (cfg.resize_width > 0 && cfg.resize_height > 0) {
    need_w = cfg.resize_width;
    need_h = cfg.resize_height;
  } else if (cfg.resize_short > 0) {
    need_w = need_h = cfg.resize_short;  // on the shorter side; the longer one follows
    if (w < h)
      need_h = static_cast<int>(static_cast<int64_t>(cfg.resize_short) * h / w);
    else
      need_w = static_cast<int>(static_cast<int64_t>(cfg.resize_short) * w / h);
  } else {
    return 1;
  }
  for (int f : {8, 4, 2})
    if (w / f >= 2 * need_w && h / f >= 2 * need_h) return f;
  return 1;
}

std::string describe_bytes(const std::vector<uint8_t>& b) {
  size_t n = std::min<size_t>(b.size(), 512);
  size_t printable = 0;
  for (size_t i = 0; i < n; ++i)
    if (b[i] == '\n' || b[i] == '\r' || b[i] == '\t' || (b[i] >= 0x20 && b[i] < 0x7F)) ++printable;
  if (printable == n) return "it looks like a text file";
  if (b.size() >= 6 && std::equal(b.begin(), b.begin() + 4, "GIF8"))
    return "it is a GIF, which this build's OpenCV (" + opencv_version() + ") cannot read; convert it to PNG";
  return "unrecognised or unsupported image format";
}

}  // namespace

cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                           const PreprocessConfig* fast_for) {
  if (bytes.empty()) throw ImageError("'" + name + "' is empty (0 bytes)");
  const bool is_jpeg = bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  if (is_jpeg && !jpeg_is_complete(bytes))
    throw ImageError("'" + name + "' is a truncated or corrupt JPEG (no end-of-image marker after the scan data)");
  int flags = cv::IMREAD_COLOR;
  int w = 0, h = 0;
  if (fast_for && is_jpeg && jpeg_size(bytes, &w, &h)) {
    const int f = jpeg_reduction(w, h, *fast_for);
    flags = f == 8   ? cv::IMREAD_REDUCED_COLOR_8
            : f == 4 ? cv::IMREAD_REDUCED_COLOR_4
            : f == 2 ? cv::IMREAD_REDUCED_COLOR_2
                     : flags;
  }
  cv::Mat bgr;
  try {
    // IMREAD_COLOR: 8-bit, 3 channels; applies EXIF orientation, drops alpha (as PIL's
    // convert("RGB") does), expands gray and palette images, scales 16-bit down.
    bgr = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data())), flags);
  } catch (const cv::Exception& e) {
    throw ImageError("cannot decode '" + name + "': " + e.what());
  }
  if (bgr.empty()) {
    if (is_jpeg) throw ImageError("cannot decode '" + name + "': corrupt JPEG data");
    throw ImageError("cannot decode '" + name + "': " + describe_bytes(bytes));
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat decode_image(const std::string& path, const PreprocessConfig* fast_for) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw ImageError("cannot open '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw ImageError("'" + path + "' is a directory, not an image");
  if (!S_ISREG(st.st_mode)) throw ImageError("'" + path + "' is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxImageFileBytes)
    throw ImageError("'" + path + "' is " + std::to_string(st.st_size) + " bytes, over the " +
                     std::to_string(kMaxImageFileBytes >> 20) + " MiB this tool reads for one image");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw ImageError("cannot read '" + path + "': read failed");
  return decode_image_bytes(bytes, path, fast_for);
}

}  // namespace vit
