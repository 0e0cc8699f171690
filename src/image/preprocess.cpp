// Presets, overrides, crop and normalisation; see include/vit/image/preprocess.h.
#include "vit/image/preprocess.h"

#include <algorithm>
#include <cmath>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "vit/errors.h"

namespace vit {

std::string PreprocessConfig::describe() const {
  std::ostringstream o;
  o << "preset " << preset << ": ";
  if (resize_width > 0 && resize_height > 0)
    o << "resize to " << resize_width << "x" << resize_height;
  else if (resize_long > 0)
    o << "resize longer side to " << resize_long;
  else if (resize_short > 0)
    o << "resize shorter side to " << resize_short;
  else
    o << "no resize";
  o << " (" << interpolation_name(interpolation) << "), ";
  if (crop > 0) o << "center crop " << crop;
  if (crop > 0 && pad_color != std::array<uint8_t, 3>{0, 0, 0})
    o << " (padded with " << int(pad_color[0]) << "," << int(pad_color[1]) << "," << int(pad_color[2]) << ")";
  if (crop <= 0) o << "no crop";
  o << ", mean " << mean[0] << "," << mean[1] << "," << mean[2] << ", std " << std[0] << "," << std[1] << "," << std[2];
  return o.str();
}

const Vocabulary<Preset>& preset_names() {
  static const Vocabulary<Preset> names{{"timm", Preset::Timm},
                                        {"torchvision", Preset::Torchvision},
                                        {"hf", Preset::Hf},
                                        {"deit", Preset::Deit},
                                        {"clip", Preset::Clip}};
  return names;
}

const Vocabulary<CropMode>& crop_mode_names() {
  static const Vocabulary<CropMode> names{
      {"center", CropMode::Center}, {"squash", CropMode::Squash}, {"border", CropMode::Border}};
  return names;
}

PreprocessConfig timm_eval_preprocess(const TimmEvalConfig& t, int side) {
  PreprocessConfig c;
  c.preset = "timm pretrained_cfg";
  const int scale = static_cast<int>(std::floor(side / t.crop_pct));  // math.floor(img_size / crop_pct)
  c.resize_short = 0;
  switch (t.crop_mode) {
    case CropMode::Center: c.resize_short = scale; break;
    case CropMode::Squash: c.resize_width = c.resize_height = scale; break;
    case CropMode::Border:
      c.resize_long = scale;
      // fill = [round(255 * v) for v in mean], Python's round
      for (int i = 0; i < 3; ++i)
        c.pad_color[i] = static_cast<uint8_t>(std::clamp(std::nearbyint(255.0 * t.mean[i]), 0.0, 255.0));
      break;
  }
  c.crop = side;
  c.interpolation = t.interpolation;
  c.mean = t.mean;
  c.std = t.std;
  return c;
}

PreprocessConfig preset_config(const std::string& name, int image_size) {
  return preset_config(parse_named(preset_names(), name, "preset"), image_size);
}

PreprocessConfig preset_config(Preset preset, int image_size) {
  const std::array<float, 3> imagenet_mean{0.485f, 0.456f, 0.406f}, imagenet_std{0.229f, 0.224f, 0.225f};
  const std::array<float, 3> half{0.5f, 0.5f, 0.5f};
  PreprocessConfig c;
  c.preset = name_of(preset_names(), preset);
  c.crop = image_size;
  // timm and torchvision evaluate 224-pixel models on a crop of a slightly larger resize
  // (crop_pct 0.9 and 224/256); their 384-pixel weights use crop_pct 1.0.
  const bool full = image_size > 224;
  switch (preset) {
    case Preset::Timm:
    case Preset::Deit:
      c.resize_short = full ? image_size : static_cast<int>(std::floor(image_size / 0.9));
      c.interpolation = Interpolation::Bicubic;
      c.mean = preset == Preset::Timm ? half : imagenet_mean;
      c.std = preset == Preset::Timm ? half : imagenet_std;
      break;
    case Preset::Torchvision:
      c.resize_short = full ? image_size : image_size * 256 / 224;
      c.interpolation = full ? Interpolation::Bicubic : Interpolation::Bilinear;
      c.mean = imagenet_mean;
      c.std = imagenet_std;
      break;
    case Preset::Hf:
      c.resize_short = 0;
      c.resize_width = c.resize_height = image_size;
      c.crop = 0;
      c.interpolation = Interpolation::Bilinear;
      c.mean = half;
      c.std = half;
      break;
    case Preset::Clip:  // open_clip's eval transform: shorter side to the input, center crop, OpenAI's statistics
      c.resize_short = image_size;
      c.interpolation = Interpolation::Bicubic;
      c.mean = {0.48145466f, 0.4578275f, 0.40821073f};
      c.std = {0.26862954f, 0.26130258f, 0.27577711f};
      break;
  }
  return c;
}

PreprocessConfig choose_preprocess(const PreprocessOverrides& o, const PreprocessConfig& model_default,
                                   int image_size) {
  PreprocessConfig c = o.preset ? preset_config(*o.preset, image_size) : model_default;
  if (o.resize) {
    c.resize_short = o.resize->shorter;
    c.resize_width = o.resize->width;
    c.resize_height = o.resize->height;
    c.resize_long = 0;
  }
  if (o.crop) c.crop = *o.crop;
  if (o.interpolation) c.interpolation = *o.interpolation;
  if (o.mean) c.mean = *o.mean;
  if (o.std) c.std = *o.std;
  if (o.resize || o.crop || o.interpolation || o.mean || o.std) c.preset += "+overrides";
  return c;
}

std::optional<std::pair<int, int>> output_size(const PreprocessConfig& cfg) {
  if (cfg.crop > 0) return std::make_pair(cfg.crop, cfg.crop);
  if (cfg.resize_width > 0 && cfg.resize_height > 0) return std::make_pair(cfg.resize_width, cfg.resize_height);
  return std::nullopt;
}

void check_preprocess_fits(const PreprocessConfig& cfg, int side) {
  const std::string need =
      " but the model takes " + std::to_string(side) + "x" + std::to_string(side) + " (check --crop / --resize)";
  const auto size = output_size(cfg);
  if (!size) throw UsageError("with no crop and no WxH resize the input keeps the photo's aspect" + need);
  if (size->first != side || size->second != side)
    throw UsageError(std::string("preprocessing ") + (cfg.crop > 0 ? "crops" : "resizes") + " to " +
                     std::to_string(size->first) + "x" + std::to_string(size->second) + need);
}

namespace {

// Where a centred crop of `crop` starts in `size` (crop <= size): torchvision's
// int(round((size - crop) / 2.0)), Python's round being half-to-even; Hugging Face's
// (size - crop) // 2.
int center_offset(int size, int crop, CropRounding r) {
  return r == CropRounding::HuggingFace ? (size - crop) / 2 : static_cast<int>(std::nearbyint((size - crop) / 2.0));
}

}  // namespace

cv::Mat center_crop(const cv::Mat& rgb, int width, int height, std::array<uint8_t, 3> fill, CropRounding r) {
  cv::Mat img = rgb;
  if (width > img.cols || height > img.rows) {
    // The odd pixel of padding goes after the image (torchvision) or before it (Hugging Face).
    const auto before = [&](int crop, int size) {
      return crop > size ? (r == CropRounding::HuggingFace ? (crop - size + 1) / 2 : (crop - size) / 2) : 0;
    };
    const int left = before(width, img.cols), top = before(height, img.rows);
    const int right = std::max(0, width - img.cols - left), bottom = std::max(0, height - img.rows - top);
    cv::copyMakeBorder(rgb, img, top, bottom, left, right, cv::BORDER_CONSTANT, cv::Scalar(fill[0], fill[1], fill[2]));
    if (img.cols == width && img.rows == height) return img;
  }
  return img(cv::Rect(center_offset(img.cols, width, r), center_offset(img.rows, height, r), width, height)).clone();
}

namespace {

constexpr int64_t kMaxResizedPixels = int64_t{1} << 27;  // 134 M pixels (400 MB at 3 bytes)

// Resizes to width x height, then center-crops when cfg asks: when the crop lies inside the
// resized image, only the crop is computed (a 1x20000 sliver resized to 256 on its short side
// would otherwise be 5 million pixels wide).
cv::Mat resize_then_crop(const cv::Mat& rgb, int64_t width, int64_t height, const PreprocessConfig& cfg) {
  const bool window = cfg.crop > 0 && width >= cfg.crop && height >= cfg.crop;
  if (width > INT32_MAX / 4 || height > INT32_MAX / 4 || (!window && width * height > kMaxResizedPixels))
    throw ImageError("the image is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + ": resizing it to " +
                     std::to_string(width) + "x" + std::to_string(height) + " would make more than " +
                     std::to_string(kMaxResizedPixels) + " pixels; aspect ratio too extreme for this preprocessing");
  const int w = static_cast<int>(width), h = static_cast<int>(height);
  if (!window) {
    const cv::Mat img = w == rgb.cols && h == rgb.rows ? rgb : resize_pil(rgb, w, h, cfg.interpolation);
    return cfg.crop > 0 ? center_crop(img, cfg.crop, cfg.crop, cfg.pad_color, cfg.crop_rounding) : img;
  }
  const cv::Rect crop_window(center_offset(w, cfg.crop, cfg.crop_rounding),
                             center_offset(h, cfg.crop, cfg.crop_rounding), cfg.crop, cfg.crop);
  return resize_pil(rgb, w, h, cfg.interpolation, crop_window);
}

}  // namespace

cv::Mat resize_and_crop(const cv::Mat& rgb, const PreprocessConfig& cfg) {
  if (cfg.resize_width > 0 && cfg.resize_height > 0)
    return resize_then_crop(rgb, cfg.resize_width, cfg.resize_height, cfg);
  if (cfg.resize_long > 0) {
    // timm ResizeKeepRatio(longest=1): ratio = max(h / size, w / size); each side round(side / ratio).
    const double ratio = std::max(rgb.rows / double(cfg.resize_long), rgb.cols / double(cfg.resize_long));
    const auto w = static_cast<int64_t>(std::nearbyint(rgb.cols / ratio));
    const auto h = static_cast<int64_t>(std::nearbyint(rgb.rows / ratio));
    if (w < 1 || h < 1)
      throw ImageError("the image is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) +
                       ": scaling its longer side to " + std::to_string(cfg.resize_long) +
                       " leaves the shorter one under a pixel");
    return resize_then_crop(rgb, w, h, cfg);
  }
  if (cfg.resize_short > 0) {
    // torchvision Resize(int): the shorter side becomes size, the longer int(size * long / short).
    const bool wide = rgb.cols >= rgb.rows;
    const int shorter = wide ? rgb.rows : rgb.cols, longer = wide ? rgb.cols : rgb.rows;
    const int64_t new_short = cfg.resize_short, new_long = new_short * longer / shorter;
    if (new_short == shorter) return resize_then_crop(rgb, rgb.cols, rgb.rows, cfg);
    return resize_then_crop(rgb, wide ? new_long : new_short, wide ? new_short : new_long, cfg);
  }
  return resize_then_crop(rgb, rgb.cols, rgb.rows, cfg);
}

void normalize_chw(const cv::Mat& rgb, const PreprocessConfig& cfg, float* out) {
  CV_Assert(rgb.type() == CV_8UC3);
  const size_t plane = static_cast<size_t>(rgb.rows) * rgb.cols;
  // Same float32 operations as ToTensor (x / 255) then Normalize ((x - mean) / std).
  float lut[3][256];
  for (int c = 0; c < 3; ++c)
    for (int v = 0; v < 256; ++v) lut[c][v] = (static_cast<float>(v) / 255.0f - cfg.mean[c]) / cfg.std[c];
  for (int y = 0; y < rgb.rows; ++y) {
    const uint8_t* p = rgb.ptr<uint8_t>(y);
    for (int x = 0; x < rgb.cols; ++x) {
      const size_t i = static_cast<size_t>(y) * rgb.cols + x;
      out[i] = lut[0][p[x * 3]];
      out[plane + i] = lut[1][p[x * 3 + 1]];
      out[2 * plane + i] = lut[2][p[x * 3 + 2]];
    }
  }
}

std::vector<float> preprocess(const cv::Mat& rgb, const PreprocessConfig& cfg, int* side) {
  const cv::Mat img = resize_and_crop(rgb, cfg);
  if (img.cols != img.rows)
    throw UsageError("preprocessing gives a " + std::to_string(img.cols) + "x" + std::to_string(img.rows) +
                     " image; the model needs a square input (set --crop or --resize WxH)");
  std::vector<float> out(static_cast<size_t>(3) * img.rows * img.cols);
  normalize_chw(img, cfg, out.data());
  if (side) *side = img.cols;
  return out;
}

}  // namespace vit
