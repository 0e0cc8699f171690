// Image files to 8-bit RGB pixels: OpenCV's codecs, with the checks Pillow makes that
// OpenCV does not (a truncated JPEG is an error, not a gray-filled picture).
#pragma once

#include <cstdint>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vit/image/preprocess.h"

namespace vit {

// "4.6.0": the OpenCV whose codecs decode the images.
std::string opencv_version();

// The largest image file read (1 GiB): a bigger one (a sparse file named .jpg, say) is an
// error for that input, not an allocation that ends the run.
constexpr uint64_t kMaxImageFileBytes = uint64_t{1} << 30;

// The default largest image decoded (--max-pixels): 100 megapixels, 300 MB as 8-bit RGB.
constexpr uint64_t kDefaultMaxPixels = 100'000'000;

// Reads and decodes an image file into 8-bit RGB (EXIF orientation applied; gray, alpha,
// 16-bit and palette images converted). Throws ImageError with the reason.
// fast_for (--fast-decode): a large JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg
// while it stays at least twice the size this preprocessing resizes to. Faster, but the
// pixels then differ slightly from Pillow's full decode (see README, "Speed").
// An image whose header gives more than max_pixels is refused before it is decoded (a
// decompression bomb: a small file that claims 30000x30000), and so is a file whose format
// and size image_header.h cannot read. Decodes over 24 megapixels run one at a time.
cv::Mat decode_image(const std::string& path, const PreprocessConfig* fast_for = nullptr,
                     uint64_t max_pixels = kDefaultMaxPixels);
cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                           const PreprocessConfig* fast_for = nullptr, uint64_t max_pixels = kDefaultMaxPixels);

}  // namespace vit
