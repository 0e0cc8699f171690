// Pillow's resampler (Pillow src/libImaging/Resample.c) on OpenCV images: separable filters
// whose support widens with the shrink factor, 8-bit fixed point, so resized pixels equal the
// ones torchvision, timm and Hugging Face pipelines get from PIL.
#pragma once

#include <opencv2/core.hpp>

#include "vit/vocabulary.h"

namespace vit {

enum class Interpolation { Nearest, Bilinear, Bicubic, Lanczos, Box, Hamming };

// nearest, bilinear, bicubic, lanczos, box, hamming (timm's and PIL's names).
const Vocabulary<Interpolation>& interpolation_names();
const char* interpolation_name(Interpolation i);
Interpolation parse_interpolation(const std::string& s);  // throws UsageError

// Pillow-compatible resize of an 8-bit RGB image (CV_8UC3).
cv::Mat resize_pil(const cv::Mat& rgb, int width, int height, Interpolation interp);

// Only `window` of that resized image, computed directly (the same pixels as resizing whole,
// then cropping): resize-then-crop costs the crop's memory, however extreme the aspect ratio.
cv::Mat resize_pil(const cv::Mat& rgb, int width, int height, Interpolation interp, const cv::Rect& window);

}  // namespace vit
