// Image headers: format and size before decoding; see include/vit/image/image_header.h.
// Every reader is bounds-checked against the bytes it is given and never allocates by a size
// the file states (tests/fuzz/fuzz_image.cpp runs them on arbitrary bytes).
#include "vit/image/image_header.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>
#include <utility>

#include "vit/io/bytes.h"

namespace vit {

namespace {

using Bytes = std::vector<uint8_t>;

bool starts(const Bytes& b, size_t at, const char* s, size_t n) {
  return b.size() >= at + n && std::memcmp(b.data() + at, s, n) == 0;
}
bool starts(const Bytes& b, size_t at, const char* s) { return starts(b, at, s, std::strlen(s)); }

// Unsigned integers of n bytes at i, big- or little-endian; the caller checks i + n <= size.
uint64_t read_uint(const Bytes& b, size_t i, int n, bool big_endian) {
  return big_endian ? load_be(b.data() + i, static_cast<size_t>(n)) : load_le(b.data() + i, static_cast<size_t>(n));
}
uint64_t be(const Bytes& b, size_t i, int n) { return read_uint(b, i, n, true); }
uint64_t le(const Bytes& b, size_t i, int n) { return read_uint(b, i, n, false); }

ImageHeader sized(const char* format, uint64_t w, uint64_t h) {
  ImageHeader r;
  r.format = format;
  // Sizes beyond 2^31 are kept (capped) so that they are refused as over the limit, not as 0.
  r.width = static_cast<int64_t>(std::min<uint64_t>(w, INT32_MAX));
  r.height = static_cast<int64_t>(std::min<uint64_t>(h, INT32_MAX));
  return r;
}
ImageHeader unsized(const char* format) { return sized(format, 0, 0); }
ImageHeader refused(const char* format, std::string why) {
  ImageHeader r = unsized(format);
  r.refusal = std::move(why);
  return r;
}

bool is_sof(uint8_t m) { return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC; }
bool is_standalone(uint8_t m) { return m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01; }

// Walks a JPEG's marker segments after SOI (skipping fill bytes and standalone markers, and
// each other segment by its length) to the first marker for which stop(marker) holds; returns
// its offset, or none when the segments run out or are malformed first.
template <class Stop>
std::optional<size_t> find_marker(const Bytes& b, Stop stop) {
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return std::nullopt;
    const uint8_t m = b[i + 1];
    if (m == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (is_standalone(m)) {
      i += 2;
      continue;
    }
    if (stop(m)) return i;
    i += 2 + be(b, i + 2, 2);
  }
  return std::nullopt;
}

bool is_scan_or_end(uint8_t m) { return m == 0xDA || m == 0xD9; }

ImageHeader jpeg_header(const Bytes& b) {
  const auto at = find_marker(b, [](uint8_t m) { return is_sof(m) || is_scan_or_end(m); });
  if (!at || !is_sof(b[*at + 1]) || *at + 9 > b.size()) return unsized("JPEG");
  return sized("JPEG", be(b, *at + 7, 2), be(b, *at + 5, 2));
}

ImageHeader bmp_header(const Bytes& b) {
  if (b.size() < 26) return unsized("BMP");
  if (le(b, 14, 4) == 12) return sized("BMP", le(b, 18, 2), le(b, 20, 2));  // OS/2 BITMAPCOREHEADER
  const auto w = static_cast<int32_t>(le(b, 18, 4)), h = static_cast<int32_t>(le(b, 22, 4));
  const auto magnitude = [](int32_t v) {
    return v < 0 ? uint64_t{0} - static_cast<uint64_t>(int64_t{v}) : uint64_t(v);
  };
  return sized("BMP", magnitude(w), magnitude(h));  // a negative height is a top-down image
}

ImageHeader webp_header(const Bytes& b) {
  if (starts(b, 12, "VP8X") && b.size() >= 30) return sized("WebP", le(b, 24, 3) + 1, le(b, 27, 3) + 1);
  if (starts(b, 12, "VP8 ") && b.size() >= 30) return sized("WebP", le(b, 26, 2) & 0x3FFF, le(b, 28, 2) & 0x3FFF);
  if (starts(b, 12, "VP8L") && b.size() >= 25) {
    const uint64_t bits = le(b, 21, 4);
    return sized("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  }
  return unsized("WebP");
}

// TIFF and BigTIFF: ImageWidth (256) and ImageLength (257) of the first image file directory,
// the page OpenCV decodes.
ImageHeader tiff_header(const Bytes& b) {
  const bool big_endian = b[0] == 'M';
  const auto rd = [&](size_t i, int n) { return read_uint(b, i, n, big_endian); };
  const bool big = rd(2, 2) == 43;
  if (big && (b.size() < 16 || rd(4, 2) != 8)) return unsized("TIFF");
  const uint64_t ifd = big ? rd(8, 8) : rd(4, 4);
  const size_t count_size = big ? 8 : 2, entry_size = big ? 20 : 12, value_at = big ? 12 : 8;
  if (ifd > b.size() || b.size() - ifd < count_size) return unsized("TIFF");
  const uint64_t entries = rd(static_cast<size_t>(ifd), static_cast<int>(count_size));
  uint64_t w = 0, h = 0;
  int seen_w = 0, seen_h = 0;
  for (uint64_t k = 0; k < entries; ++k) {
    const uint64_t at = ifd + count_size + k * entry_size;
    if (at > b.size() || b.size() - at < entry_size) break;
    const auto e = static_cast<size_t>(at);
    const uint64_t tag = rd(e, 2), type = rd(e + 2, 2);
    if (tag != 256 && tag != 257) continue;
    // libtiff takes the first of duplicated tags, a reader taking the last would check another
    // size than the one decoded: a file that says two things is refused.
    if (++(tag == 256 ? seen_w : seen_h) > 1)
      return refused("TIFF", std::string("its first image directory has two ") +
                                 (tag == 256 ? "ImageWidth" : "ImageLength") +
                                 " tags, so its size is ambiguous; not decoded");
    // SHORT, LONG or (BigTIFF only: its entries have 8 bytes for the value) LONG8.
    const int n = type == 3 ? 2 : type == 4 ? 4 : type == 16 && big ? 8 : 0;
    (tag == 256 ? w : h) = n ? rd(e + value_at, n) : 0;
  }
  return w && h ? sized("TIFF", w, h) : unsized("TIFF");
}

// Netpbm (P1-P6 and PFM: "P6 <w> <h> ...", with # comments) and PAM (P7: WIDTH/HEIGHT lines).
ImageHeader pnm_header(const Bytes& b) {
  const std::string text(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(b.size(), 4096)));
  std::string cleaned;  // comments removed
  for (size_t i = 2; i < text.size(); ++i) {
    if (text[i] == '#')  // to the end of the line: '\n' or '\r', as OpenCV's reader ends it
      while (i < text.size() && text[i] != '\n' && text[i] != '\r') ++i;
    if (i < text.size()) cleaned += text[i];
  }
  std::istringstream in(cleaned);
  uint64_t w = 0, h = 0;
  if (text[1] == '7') {
    std::string key;
    while (in >> key && key != "ENDHDR") {
      if (key == "WIDTH") in >> w;
      if (key == "HEIGHT") in >> h;
    }
  } else {
    in >> w >> h;
  }
  return !in.fail() && w && h ? sized("PNM", w, h) : unsized("PNM");
}

// Radiance: header lines up to a blank one, then the resolution line "-Y <rows> +X <columns>".
ImageHeader hdr_header(const Bytes& b) {
  const std::string text(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(b.size(), 8192)));
  const size_t blank = text.find("\n\n");
  if (blank == std::string::npos) return unsized("Radiance HDR");
  std::istringstream line(text.substr(blank + 2, text.find('\n', blank + 2) - (blank + 2)));
  std::string axis1, axis2;
  uint64_t n1 = 0, n2 = 0;
  if (!(line >> axis1 >> n1 >> axis2 >> n2) || axis1.size() != 2 || axis2.size() != 2) return unsized("Radiance HDR");
  return axis1[1] == 'Y' ? sized("Radiance HDR", n2, n1) : sized("Radiance HDR", n1, n2);
}

// JPEG 2000: a bare codestream (SIZ marker) or a JP2 file (the ihdr box inside jp2h).
ImageHeader jpeg2000_header(const Bytes& b) {
  if (b[0] == 0xFF) {
    if (b.size() < 24) return unsized("JPEG 2000");
    const uint64_t xs = be(b, 8, 4), ys = be(b, 12, 4), x0 = be(b, 16, 4), y0 = be(b, 20, 4);
    return xs > x0 && ys > y0 ? sized("JPEG 2000", xs - x0, ys - y0) : unsized("JPEG 2000");
  }
  size_t at = 0, end = b.size();
  for (int boxes = 0; boxes < 64 && at + 8 <= end; ++boxes) {
    uint64_t length = be(b, at, 4);
    size_t header = 8;
    if (length == 1) {
      if (at + 16 > end) break;
      length = be(b, at + 8, 8);
      header = 16;
    } else if (length == 0) {
      length = end - at;
    }
    if (length < header || length > end - at) break;
    if (starts(b, at + 4, "jp2h")) {  // a superbox: look inside it
      end = at + static_cast<size_t>(length);
      at += header;
      continue;
    }
    if (starts(b, at + 4, "ihdr") && at + 16 <= end) return sized("JPEG 2000", be(b, at + 12, 4), be(b, at + 8, 4));
    at += static_cast<size_t>(length);
  }
  return unsized("JPEG 2000");
}

// DICOM: "DICM" after a 128-byte preamble that may hold anything, another format's header
// included. OpenCV (with GDCM) tries DICOM before JPEG 2000 and PAM.
bool is_dicom(const Bytes& b) { return starts(b, 128, "DICM"); }

}  // namespace

bool is_jpeg(const Bytes& b) { return b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF; }

std::optional<ImageHeader> read_image_header(const Bytes& b) {
  if (starts(b, 0, "\x89PNG\r\n\x1a\n"))
    return starts(b, 12, "IHDR") && b.size() >= 24 ? sized("PNG", be(b, 16, 4), be(b, 20, 4)) : unsized("PNG");
  if (is_jpeg(b)) return jpeg_header(b);
  if (starts(b, 0, "BM")) return bmp_header(b);
  if (starts(b, 0, "RIFF") && starts(b, 8, "WEBP")) return webp_header(b);
  if (starts(b, 0, "II*\0", 4) || starts(b, 0, "MM\0*", 4) || starts(b, 0, "II+\0", 4) || starts(b, 0, "MM\0+", 4))
    return b.size() >= 8 ? tiff_header(b) : unsized("TIFF");
  const bool dicom = is_dicom(b);
  if (b.size() >= 3 && b[0] == 'P' && b[1] != 0 && std::strchr("1234567Ff", b[1]) && std::isspace(b[2]) &&
      !(b[1] == '7' && dicom))
    return pnm_header(b);
  if (starts(b, 0, "\x59\xA6\x6A\x95"))
    return b.size() >= 12 ? sized("Sun raster", be(b, 4, 4), be(b, 8, 4)) : unsized("Sun raster");
  if (starts(b, 0, "#?RADIANCE") || starts(b, 0, "#?RGBE")) return hdr_header(b);
  if (dicom)
    return refused("DICOM",
                   "it is a DICOM file (DICM at byte 128), which vit-classify does not decode: its size cannot be "
                   "checked before decoding; export it as PNG");
  if (starts(b, 0, "\xFF\x4F\xFF\x51") || starts(b, 0, "\0\0\0\x0CjP  \r\n\x87\n", 12)) return jpeg2000_header(b);
  return std::nullopt;
}

size_t jpeg_scan_count(const Bytes& b, size_t most) {
  size_t scans = 0;
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return scans;
    const uint8_t m = b[i + 1];
    if (m == 0xFF || is_standalone(m)) {
      i += m == 0xFF ? 1 : 2;
      continue;
    }
    if (m == 0xD9) return scans;
    i += 2 + be(b, i + 2, 2);
    if (m != 0xDA) continue;
    if (++scans > most) return scans;
    // The entropy-coded data: to the next marker that is not a stuffed 0xFF00 or a restart.
    while (i + 1 < b.size() && !(b[i] == 0xFF && b[i + 1] != 0 && !(b[i + 1] >= 0xD0 && b[i + 1] <= 0xD7))) ++i;
  }
  return scans;
}

bool jpeg_is_complete(const Bytes& b) {
  const auto at = find_marker(b, is_scan_or_end);
  if (!at || b[*at + 1] != 0xDA) return false;  // no scan: EOI first, or malformed
  // 0xFF 0xD9 cannot occur inside entropy-coded data (0xFF is stuffed).
  for (size_t j = *at + 2 + be(b, *at + 2, 2); j + 1 < b.size(); ++j)
    if (b[j] == 0xFF && b[j + 1] == 0xD9) return true;
  return false;
}

}  // namespace vit
