// What an image file's header says, read before anything is decoded: its format and its
// width and height, so that a decompression bomb (a small file whose header claims 30000x30000)
// is refused before the codec allocates for it. Only formats whose size can be read here are
// decoded at all: the pixel limit has no way round.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vit {

struct ImageHeader {
  std::string format;  // "PNG", "JPEG", "BMP", "WebP", "TIFF", "PNM", "Sun raster", "Radiance HDR", "JPEG 2000",
                       // "DICOM" (refused)
  int64_t width = 0;
  int64_t height = 0;
  // Why the file is not decoded although its format is known: its header says two things (two
  // TIFF widths), or it is a format whose size cannot be checked first (DICOM). Empty: decode.
  std::string refusal;
  uint64_t pixels() const { return static_cast<uint64_t>(width) * static_cast<uint64_t>(height); }
};

// The format and size from the first bytes of a file; none when the format is not one of the
// above or the header is too short or malformed to tell.
std::optional<ImageHeader> read_image_header(const std::vector<uint8_t>& bytes);

bool is_jpeg(const std::vector<uint8_t>& bytes);

// The scans (SOS markers) of a JPEG, counted up to most + 1. A progressive JPEG decodes once per
// scan: 8000 scans of an 8000x8000 image took 93 s, so the decoder refuses more than
// kMaxJpegScans, as libjpeg-turbo's djpeg -maxscans does.
size_t jpeg_scan_count(const std::vector<uint8_t>& bytes, size_t most);
constexpr size_t kMaxJpegScans = 1000;

// A JPEG cut short still decodes in libjpeg (the rest filled with gray): true only when an
// end-of-image marker follows the first scan's data.
bool jpeg_is_complete(const std::vector<uint8_t>& bytes);

}  // namespace vit
