// Decoding image files; see include/vit/image/decode.h.
#include "vit/image/decode.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
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

namespace {

uint32_t be32(const std::vector<uint8_t>& b, size_t i) {
  return (uint32_t{b[i]} << 24) | (uint32_t{b[i + 1]} << 16) | (uint32_t{b[i + 2]} << 8) | b[i + 3];
}
uint32_t le(const std::vector<uint8_t>& b, size_t i, int n) {
  uint32_t v = 0;
  for (int k = n - 1; k >= 0; --k) v = (v << 8) | b[i + static_cast<size_t>(k)];
  return v;
}
bool starts(const std::vector<uint8_t>& b, size_t at, const char* s) {
  const size_t n = std::strlen(s);
  return b.size() >= at + n && std::equal(s, s + n, b.begin() + static_cast<std::ptrdiff_t>(at),
                                          [](char c, uint8_t u) { return static_cast<uint8_t>(c) == u; });
}

std::optional<std::pair<int, int>> webp_size(const std::vector<uint8_t>& b) {
  if (starts(b, 12, "VP8X") && b.size() >= 30) return std::make_pair(int(le(b, 24, 3) + 1), int(le(b, 27, 3) + 1));
  if (starts(b, 12, "VP8 ") && b.size() >= 30)
    return std::make_pair(int(le(b, 26, 2) & 0x3FFF), int(le(b, 28, 2) & 0x3FFF));
  if (starts(b, 12, "VP8L") && b.size() >= 25) {
    const uint32_t bits = le(b, 21, 4);
    return std::make_pair(int((bits & 0x3FFF) + 1), int(((bits >> 14) & 0x3FFF) + 1));
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::pair<int, int>> image_size_from_header(const std::vector<uint8_t>& b) {
  if (starts(b, 0, "\x89PNG\r\n\x1a\n") && starts(b, 12, "IHDR") && b.size() >= 24)
    return std::make_pair(int(std::min<uint32_t>(be32(b, 16), INT32_MAX)),
                          int(std::min<uint32_t>(be32(b, 20), INT32_MAX)));
  int w = 0, h = 0;
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF && jpeg_size(b, &w, &h))
    return std::make_pair(w, h);
  if (starts(b, 0, "BM") && b.size() >= 26) {
    const auto bw = static_cast<int32_t>(le(b, 18, 4)), bh = static_cast<int32_t>(le(b, 22, 4));
    return std::make_pair(bw == INT32_MIN ? INT32_MAX : std::abs(bw), bh == INT32_MIN ? INT32_MAX : std::abs(bh));
  }
  if (starts(b, 0, "RIFF") && starts(b, 8, "WEBP")) return webp_size(b);
  return std::nullopt;
}

cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name, const PreprocessConfig* fast_for,
                           uint64_t max_pixels) {
  if (bytes.empty()) throw ImageError("'" + name + "' is empty (0 bytes)");
  if (const auto size = image_size_from_header(bytes)) {
    const uint64_t pixels = static_cast<uint64_t>(size->first) * static_cast<uint64_t>(size->second);
    if (pixels > max_pixels)
      throw ImageError("'" + name + "' says it is " + std::to_string(size->first) + "x" + std::to_string(size->second) +
                       " = " + std::to_string(pixels / 1000000) + " megapixels, over the limit of " +
                       std::to_string(max_pixels / 1000000) + " (--max-pixels); not decoded");
  }
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

cv::Mat decode_image(const std::string& path, const PreprocessConfig* fast_for, uint64_t max_pixels) {
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
  return decode_image_bytes(bytes, path, fast_for, max_pixels);
}

}  // namespace vit
