// Decoding image files; see include/vit/image/decode.h.
#include "vit/image/decode.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vit/errors.h"
#include "vit/image/image_header.h"
#include "vit/io/files.h"

namespace vit {

std::string opencv_version() { return CV_VERSION; }

namespace {

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

// Decodes of images over this many pixels run one at a time in the process (each may take a
// few hundred MB while it lasts): a folder of large photos under several workers stays near one
// large decode's memory, not one per worker.
constexpr uint64_t kLargeDecodePixels = 24'000'000;
std::mutex large_decode;

// The header's format and size, refused when over the limit or unreadable: only images whose
// size was checked reach a codec.
ImageHeader checked_header(const std::vector<uint8_t>& bytes, const std::string& name, uint64_t max_pixels) {
  if (bytes.empty()) throw ImageError("'" + name + "' is empty (0 bytes)");
  const std::optional<ImageHeader> header = read_image_header(bytes);
  if (!header) throw ImageError("cannot decode '" + name + "': " + describe_bytes(bytes));
  if (!header->refusal.empty()) throw ImageError("cannot decode '" + name + "': " + header->refusal);
  if (header->pixels() == 0)
    throw ImageError("cannot decode '" + name + "': its " + header->format +
                     " header is cut short or corrupt (no image size in it)");
  if (header->pixels() > max_pixels)
    throw ImageError("'" + name + "' says it is " + std::to_string(header->width) + "x" +
                     std::to_string(header->height) + " = " + std::to_string(header->pixels() / 1000000) +
                     " megapixels, over the limit of " + std::to_string(max_pixels / 1000000) +
                     " (--max-pixels); not decoded");
  if (is_jpeg(bytes)) {
    const size_t scans = jpeg_scan_count(bytes, kMaxJpegScans);
    if (scans > kMaxJpegScans)
      throw ImageError("'" + name + "' is a JPEG with more than " + std::to_string(kMaxJpegScans) +
                       " scans (a progressive JPEG decodes once per scan: minutes for a large one); not decoded");
  }
  return *header;
}

}  // namespace

cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name, const PreprocessConfig* fast_for,
                           uint64_t max_pixels) {
  const ImageHeader header = checked_header(bytes, name, max_pixels);
  const bool jpeg = is_jpeg(bytes);
  if (jpeg && !jpeg_is_complete(bytes))
    throw ImageError("'" + name + "' is a truncated or corrupt JPEG (no end-of-image marker after the scan data)");
  int flags = cv::IMREAD_COLOR;
  if (fast_for && jpeg) {
    const int f = jpeg_reduction(static_cast<int>(header.width), static_cast<int>(header.height), *fast_for);
    flags = f == 8   ? cv::IMREAD_REDUCED_COLOR_8
            : f == 4 ? cv::IMREAD_REDUCED_COLOR_4
            : f == 2 ? cv::IMREAD_REDUCED_COLOR_2
                     : flags;
  }
  std::unique_lock<std::mutex> one_at_a_time(large_decode, std::defer_lock);
  if (header.pixels() > kLargeDecodePixels) one_at_a_time.lock();
  cv::Mat bgr;
  try {
    // IMREAD_COLOR: 8-bit, 3 channels; applies EXIF orientation, drops alpha (as PIL's
    // convert("RGB") does), expands gray and palette images, scales 16-bit down.
    bgr = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data())), flags);
  } catch (const cv::Exception& e) {
    throw ImageError("cannot decode '" + name + "': " + e.what());
  }
  if (bgr.empty())
    throw ImageError("cannot decode '" + name + "': its " + header.format + " data is corrupt or cut short");
  if (bgr.total() > max_pixels || (flags == cv::IMREAD_COLOR && bgr.total() > header.pixels()))
    throw ImageError("cannot decode '" + name + "': it decodes to " + std::to_string(bgr.cols) + "x" +
                     std::to_string(bgr.rows) + ", not the " + std::to_string(header.width) + "x" +
                     std::to_string(header.height) + " its " + header.format + " header says");
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat decode_image(const std::string& path, const PreprocessConfig* fast_for, uint64_t max_pixels) {
  // A FIFO put in place of the file after it was listed cannot hang the open.
  const ReadOnlyFile file(path);
  if (file.error()) throw ImageError("cannot open '" + path + "': " + std::strerror(file.error()));
  const struct stat& st = file.stat();
  if (S_ISDIR(st.st_mode)) throw ImageError("'" + path + "' is a directory, not an image");
  if (!S_ISREG(st.st_mode)) throw ImageError("'" + path + "' is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxImageFileBytes)
    throw ImageError("'" + path + "' is " + std::to_string(st.st_size) + " bytes, over the " +
                     std::to_string(kMaxImageFileBytes >> 20) + " MiB this tool reads for one image");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < bytes.size()) {
    const ssize_t n = ::read(file.fd(), bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ImageError("cannot read '" + path + "': " + std::strerror(errno));
    if (n == 0)
      throw ImageError("'" + path + "' shrank while it was read (" + std::to_string(got) + " of " +
                       std::to_string(bytes.size()) + " bytes)");
    got += static_cast<size_t>(n);
  }
  return decode_image_bytes(bytes, path, fast_for, max_pixels);
}

}  // namespace vit
