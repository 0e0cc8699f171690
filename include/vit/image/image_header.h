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
  std::string format;  // "PNG", "JPEG", "BMP", "WebP", "TIFF", "PNM", "Sun raster", "Radiance HDR", "JPEG 2000"
  int64_t width = 0;
  int64_t height = 0;
  uint64_t pixels() const { return static_cast<uint64_t>(width) * static_cast<uint64_t>(height); }
};

// The format and size from the first bytes of a file; none when the format is not one of the
// above or the header is too short or malformed to tell.
std::optional<ImageHeader> read_image_header(const std::vector<uint8_t>& bytes);

bool is_jpeg(const std::vector<uint8_t>& bytes);

// A JPEG cut short still decodes in libjpeg (the rest filled with gray): true only when an
// end-of-image marker follows the first scan's data.
bool jpeg_is_complete(const std::vector<uint8_t>& bytes);

}  // namespace vit
