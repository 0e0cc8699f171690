// The preprocessing each model family was trained with: named presets, the user's overrides,
// and the steps (resize, center crop, normalise) as torchvision and timm run them on PIL
// images. No torch here: the output is a plain float CHW buffer.
#pragma once

#include <array>
#include <opencv2/core.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vit/image/resample.h"
#include "vit/vocabulary.h"

namespace vit {

enum class Preset { Timm, Torchvision, Hf, Deit, Clip };

// Where a center crop starts when the margin is odd, and where the odd pixel of padding goes.
enum class CropRounding {
  Torchvision,  // offset round-half-even((size - crop) / 2); padding's odd pixel after (torchvision, timm)
  HuggingFace,  // offset (size - crop) // 2; padding's odd pixel before (transformers' center_crop)
};
// timm, torchvision, hf, deit, clip (see README, "Preprocessing").
const Vocabulary<Preset>& preset_names();

struct PreprocessConfig {
  std::string preset;  // where the values came from, for logs ("timm", "torchvision+overrides", ...)
  // Resize: shorter side to resize_short (aspect kept, torchvision Resize(int)), or exactly
  // resize_width x resize_height when both are set (HF's squash), or not at all.
  int resize_short = 256;
  int resize_width = 0;
  int resize_height = 0;
  // timm's border mode: the longer side to resize_long (aspect kept, timm ResizeKeepRatio).
  int resize_long = 0;
  int crop = 224;  // center crop side; 0 = none (padding with pad_color when the image is smaller)
  std::array<uint8_t, 3> pad_color{0, 0, 0};  // RGB
  CropRounding crop_rounding = CropRounding::Torchvision;
  Interpolation interpolation = Interpolation::Bilinear;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};

  std::string describe() const;
};

// timm's pretrained_cfg for evaluation (timm.data.transforms_imagenet_eval): resize to
// floor(side / crop_pct) by crop_mode, then crop side x side.
enum class CropMode {
  Center,  // shorter side to floor(side / crop_pct), center crop
  Squash,  // both sides to floor(side / crop_pct) (aspect not kept), center crop
  Border,  // longer side to floor(side / crop_pct) (aspect kept), center crop or pad with the mean colour
};
const Vocabulary<CropMode>& crop_mode_names();  // center, squash, border
struct TimmEvalConfig {
  int input_size = 224;
  double crop_pct = 0.875;
  CropMode crop_mode = CropMode::Center;
  Interpolation interpolation = Interpolation::Bilinear;
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
};
// The preprocessing that config gives at input side `side` (its own input_size, or another
// one the model is run at).
PreprocessConfig timm_eval_preprocess(const TimmEvalConfig& cfg, int side);

// A preset for a model whose input side is image_size.
PreprocessConfig preset_config(Preset preset, int image_size);
PreprocessConfig preset_config(const std::string& name, int image_size);  // throws UsageError

// --resize: the shorter side (aspect kept), an exact width x height, or none at all.
struct ResizeSpec {
  int shorter = 0;
  int width = 0, height = 0;
  static ResizeSpec none() { return {}; }
};

// What the user changed (--preset, --resize, --crop, --interpolation, --mean, --std).
struct PreprocessOverrides {
  std::optional<Preset> preset;  // none: the model's own ("auto")
  std::optional<ResizeSpec> resize;
  std::optional<int> crop;  // 0 = no crop
  std::optional<Interpolation> interpolation;
  std::optional<std::array<float, 3>> mean, std;
};

// The preprocessing to run: the model's own (model_default, "auto") or the named preset, with
// the overrides applied ("+overrides" is added to the preset's name when any is).
PreprocessConfig choose_preprocess(const PreprocessOverrides& o, const PreprocessConfig& model_default, int image_size);

// The size resize_and_crop gives whatever the photo (width, height): the crop, else an exact
// resize; none when the photo's aspect ratio is kept.
std::optional<std::pair<int, int>> output_size(const PreprocessConfig& cfg);
// Throws UsageError unless every photo comes out side x side, the model's input.
void check_preprocess_fits(const PreprocessConfig& cfg, int side);

// A center crop as torchvision's CenterCrop (offsets rounded half-to-even) or transformers'
// center_crop (offsets floored) does it, padding with `fill` (RGB; black, or timm's border
// mode's mean colour) when the image is smaller.
cv::Mat center_crop(const cv::Mat& rgb, int width, int height, std::array<uint8_t, 3> fill = {0, 0, 0},
                    CropRounding rounding = CropRounding::Torchvision);
// Resize and crop per config: the 8-bit picture the model sees (before normalisation).
// Throws ImageError when the photo's aspect ratio would make the resize enormous.
cv::Mat resize_and_crop(const cv::Mat& rgb, const PreprocessConfig& cfg);
// Scales to [0,1], normalises with mean/std, and writes planar RGB (3, H, W) to out.
void normalize_chw(const cv::Mat& rgb, const PreprocessConfig& cfg, float* out);
// resize_and_crop -> normalize_chw; returns (3, side, side) floats and sets side. Throws
// UsageError when the result is not square.
std::vector<float> preprocess(const cv::Mat& rgb, const PreprocessConfig& cfg, int* side = nullptr);

}  // namespace vit
