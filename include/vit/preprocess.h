// Image decoding and the preprocessing each model family was trained with.
// Resizing reproduces Pillow's resampler (Resample.c: separable filters whose support widens
// with the shrink factor, 8-bit fixed point), so tensors match torchvision/timm/HF pipelines
// that run on PIL images. No torch here: the output is a plain float CHW buffer.
#pragma once

#include <array>
#include <cstdint>
#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace vit {

enum class Interpolation { Nearest, Bilinear, Bicubic, Lanczos, Box, Hamming };

const char* interpolation_name(Interpolation i);
Interpolation parse_interpolation(const std::string& s);  // throws UsageError

struct PreprocessConfig {
  std::string preset;  // where the values came from, for logs ("timm", "torchvision+overrides", ...)
  // Resize: shorter side to resize_short (aspect kept, torchvision Resize(int)), or exactly
  // resize_width x resize_height when both are set (HF's squash), or not at all.
  int resize_short = 256;
  int resize_width = 0;
  int resize_height = 0;
  int crop = 224;  // center crop side; 0 = none (padding with zeros when the image is smaller)
  Interpolation interpolation = Interpolation::Bilinear;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};

  std::string describe() const;
};

// Named presets for a model whose input side is image_size (see README / REFERENCE.md):
// "timm", "torchvision", "hf", "deit". Throws UsageError for other names.
PreprocessConfig preset_config(const std::string& name, int image_size);
const std::vector<std::string>& preset_names();

// Reads and decodes an image file into 8-bit RGB (EXIF orientation applied; gray, alpha,
// 16-bit and palette images converted). Throws ImageError with the reason.
// fast_for (--fast-decode): a large JPEG is decoded at 1/2, 1/4 or 1/8 scale by libjpeg
// while it stays at least twice the size this preprocessing resizes to. Faster, but the
// pixels then differ slightly from Pillow's full decode (see README, "Speed").
cv::Mat decode_image(const std::string& path, const PreprocessConfig* fast_for = nullptr);
cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name,
                           const PreprocessConfig* fast_for = nullptr);

// Pillow-compatible resize of an 8-bit RGB image (CV_8UC3).
cv::Mat resize_pil(const cv::Mat& rgb, int width, int height, Interpolation interp);
// torchvision CenterCrop: offsets rounded half-to-even, zero padding when the image is smaller.
cv::Mat center_crop(const cv::Mat& rgb, int width, int height);
// Resize and crop per config: the 8-bit picture the model sees (before normalisation).
cv::Mat resize_and_crop(const cv::Mat& rgb, const PreprocessConfig& cfg);
// Scales to [0,1], normalises with mean/std, and writes planar RGB (3, H, W) to out.
void normalize_chw(const cv::Mat& rgb, const PreprocessConfig& cfg, float* out);
// decode -> resize_and_crop -> normalize_chw; returns (3, H, W) floats and sets side.
std::vector<float> preprocess(const cv::Mat& rgb, const PreprocessConfig& cfg, int* side = nullptr);

}  // namespace vit
