// Fuzz target: an image file's way in: header sniffing (format, size, pixel limit), OpenCV's
// decode, and the preprocessing of each preset. The pixel limit is lowered to 4 megapixels
// so that one input cannot take more memory than libFuzzer's limit allows; the first byte
// chooses the preset and whether the JPEG fast path (reduced decode) is taken.
#include <cmath>

#include "fuzz_util.h"
#include "vit/errors.h"
#include "vit/image/decode.h"
#include "vit/image/image_header.h"
#include "vit/image/preprocess.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  vit::fuzz::quiet();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static const vit::Preset presets[] = {vit::Preset::Timm, vit::Preset::Torchvision, vit::Preset::Hf,
                                        vit::Preset::Deit};
  const vit::PreprocessConfig cfg = vit::preset_config(presets[data[0] % 4], 32 + 16 * ((data[0] >> 2) % 4));
  const bool fast = data[0] & 0x10;
  const std::vector<uint8_t> bytes(data + 1, data + size);
  (void)vit::read_image_header(bytes);
  try {
    const cv::Mat rgb = vit::decode_image_bytes(bytes, "fuzz", fast ? &cfg : nullptr, 4'000'000);
    if (rgb.type() != CV_8UC3 || rgb.empty()) throw std::logic_error("decode gave a non-RGB image");
    int side = 0;
    const std::vector<float> x = vit::preprocess(rgb, cfg, &side);
    if (x.size() != static_cast<size_t>(3 * side * side)) throw std::logic_error("preprocess gave the wrong size");
    for (float v : x)
      if (!std::isfinite(v)) throw std::logic_error("preprocess gave a non-finite value");
  } catch (const vit::Error&) {
  }
  return 0;
}
