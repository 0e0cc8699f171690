// Decoding and Pillow-compatible preprocessing; see include/vit/preprocess.h.
#include "vit/preprocess.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <sstream>

#include "vit/errors.h"

namespace vit {

// ---------------------------------------------------------------------------------------
// Names and presets

namespace {
struct InterpName {
  Interpolation value;
  const char* name;
};
constexpr InterpName kInterpNames[] = {
    {Interpolation::Nearest, "nearest"}, {Interpolation::Bilinear, "bilinear"},
    {Interpolation::Bicubic, "bicubic"}, {Interpolation::Lanczos, "lanczos"},
    {Interpolation::Box, "box"},         {Interpolation::Hamming, "hamming"},
};
}  // namespace

const char* interpolation_name(Interpolation i) {
  for (const auto& n : kInterpNames)
    if (n.value == i) return n.name;
  return "?";
}

Interpolation parse_interpolation(const std::string& s) {
  for (const auto& n : kInterpNames)
    if (s == n.name) return n.value;
  throw UsageError("unknown interpolation '" + s + "' (expected nearest, bilinear, bicubic, lanczos, box or hamming)");
}

std::string PreprocessConfig::describe() const {
  std::ostringstream o;
  o << "preset " << preset << ": ";
  if (resize_width > 0 && resize_height > 0)
    o << "resize to " << resize_width << "x" << resize_height;
  else if (resize_short > 0)
    o << "resize shorter side to " << resize_short;
  else
    o << "no resize";
  o << " (" << interpolation_name(interpolation) << "), ";
  if (crop > 0)
    o << "center crop " << crop;
  else
    o << "no crop";
  o << ", mean " << mean[0] << "," << mean[1] << "," << mean[2] << ", std " << std[0] << "," << std[1] << ","
    << std[2];
  return o.str();
}

const std::vector<std::string>& preset_names() {
  static const std::vector<std::string> names{"timm", "torchvision", "hf", "deit"};
  return names;
}

PreprocessConfig preset_config(const std::string& name, int image_size) {
  const std::array<float, 3> imagenet_mean{0.485f, 0.456f, 0.406f}, imagenet_std{0.229f, 0.224f, 0.225f};
  const std::array<float, 3> half{0.5f, 0.5f, 0.5f};
  PreprocessConfig c;
  c.preset = name;
  c.crop = image_size;
  // timm and torchvision evaluate 224-pixel models on a crop of a slightly larger resize
  // (crop_pct 0.9 and 224/256); their 384-pixel weights use crop_pct 1.0.
  const bool full = image_size > 224;
  if (name == "timm" || name == "deit") {
    c.resize_short = full ? image_size : static_cast<int>(std::floor(image_size / 0.9));
    c.interpolation = Interpolation::Bicubic;
    c.mean = name == "timm" ? half : imagenet_mean;
    c.std = name == "timm" ? half : imagenet_std;
  } else if (name == "torchvision") {
    c.resize_short = full ? image_size : image_size * 256 / 224;
    c.interpolation = full ? Interpolation::Bicubic : Interpolation::Bilinear;
    c.mean = imagenet_mean;
    c.std = imagenet_std;
  } else if (name == "hf") {
    c.resize_short = 0;
    c.resize_width = c.resize_height = image_size;
    c.crop = 0;
    c.interpolation = Interpolation::Bilinear;
    c.mean = half;
    c.std = half;
  } else {
    throw UsageError("unknown preset '" + name + "' (expected auto, timm, torchvision, hf or deit)");
  }
  return c;
}

// ---------------------------------------------------------------------------------------
// Decoding

namespace {

// A JPEG cut short still decodes in libjpeg (the rest is filled with gray); we refuse it.
// Walk the marker segments to the first start-of-scan, then require an end-of-image marker
// after it (0xFF 0xD9 cannot occur inside entropy-coded data, where 0xFF is stuffed).
bool jpeg_is_complete(const std::vector<uint8_t>& b) {
  size_t i = 2;
  while (i + 4 <= b.size()) {
    if (b[i] != 0xFF) return false;
    uint8_t marker = b[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    if (marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
      i += 2;
      continue;
    }
    if (marker == 0xD9) return false;  // EOI before any scan
    size_t len = (static_cast<size_t>(b[i + 2]) << 8) | b[i + 3];
    if (marker == 0xDA) {
      for (size_t j = i + 2 + len; j + 1 < b.size(); ++j)
        if (b[j] == 0xFF && b[j + 1] == 0xD9) return true;
      return false;
    }
    i += 2 + len;
  }
  return false;
}

// Width and height from the first start-of-frame marker; false when not found.
bool jpeg_size(const std::vector<uint8_t>& b, int* w, int* h) {
  size_t i = 2;
  while (i + 9 <= b.size()) {
    if (b[i] != 0xFF) return false;
    const uint8_t m = b[i + 1];
    if (m == 0xFF) {
      ++i;
      continue;
    }
    if (m == 0xD8 || (m >= 0xD0 && m <= 0xD7) || m == 0x01) {
      i += 2;
      continue;
    }
    if (m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      *h = (b[i + 5] << 8) | b[i + 6];
      *w = (b[i + 7] << 8) | b[i + 8];
      return *w > 0 && *h > 0;
    }
    if (m == 0xDA || m == 0xD9) return false;
    i += 2 + ((static_cast<size_t>(b[i + 2]) << 8) | b[i + 3]);
  }
  return false;
}

// libjpeg can decode at 1/2, 1/4 or 1/8 scale almost for free. Pick the largest that keeps
// the image at least twice the size the preprocessing resizes to.
int jpeg_reduction(int w, int h, const PreprocessConfig& cfg) {
  int need_w = 0, need_h = 0;
  if (cfg.resize_width > 0 && cfg.resize_height > 0) {
    need_w = cfg.resize_width;
    need_h = cfg.resize_height;
  } else if (cfg.resize_short > 0) {
    need_w = need_h = cfg.resize_short;  // on the shorter side; the longer one follows
    if (w < h) need_h = static_cast<int>(static_cast<int64_t>(cfg.resize_short) * h / w);
    else need_w = static_cast<int>(static_cast<int64_t>(cfg.resize_short) * w / h);
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
  return "unrecognised or unsupported image format";
}

}  // namespace

cv::Mat decode_image_bytes(const std::vector<uint8_t>& bytes, const std::string& name, const PreprocessConfig* fast_for) {
  if (bytes.empty()) throw ImageError("'" + name + "' is empty (0 bytes)");
  const bool is_jpeg = bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
  if (is_jpeg && !jpeg_is_complete(bytes))
    throw ImageError("'" + name + "' is a truncated or corrupt JPEG (no end-of-image marker after the scan data)");
  int flags = cv::IMREAD_COLOR;
  int w = 0, h = 0;
  if (fast_for && is_jpeg && jpeg_size(bytes, &w, &h)) {
    const int f = jpeg_reduction(w, h, *fast_for);
    flags = f == 8 ? cv::IMREAD_REDUCED_COLOR_8 : f == 4 ? cv::IMREAD_REDUCED_COLOR_4 : f == 2 ? cv::IMREAD_REDUCED_COLOR_2 : flags;
  }
  cv::Mat bgr;
  try {
    // IMREAD_COLOR: 8-bit, 3 channels; applies EXIF orientation, drops alpha (as PIL's
    // convert("RGB") does), expands gray and palette images, scales 16-bit down.
    bgr = cv::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<uint8_t*>(bytes.data())),
                       flags);
  } catch (const cv::Exception& e) {
    throw ImageError("cannot decode '" + name + "': " + e.what());
  }
  if (bgr.empty()) {
    if (is_jpeg) throw ImageError("cannot decode '" + name + "': corrupt JPEG data");
    throw ImageError("cannot decode '" + name + "': " + describe_bytes(bytes));
  }
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

cv::Mat decode_image(const std::string& path, const PreprocessConfig* fast_for) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw ImageError("cannot open '" + path + "': " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw ImageError("'" + path + "' is a directory, not an image");
  if (!S_ISREG(st.st_mode)) throw ImageError("'" + path + "' is not a regular file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError("cannot open '" + path + "': " + std::strerror(errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  if (!bytes.empty() && !in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size())))
    throw ImageError("cannot read '" + path + "': read failed");
  return decode_image_bytes(bytes, path, fast_for);
}

// ---------------------------------------------------------------------------------------
// Pillow's resampler (Pillow src/libImaging/Resample.c), 8 bits per channel.

namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;

double filter_bilinear(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}
double filter_bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double filter_lanczos(double x) { return (-3.0 <= x && x < 3.0) ? sinc(x) * sinc(x / 3) : 0.0; }
double filter_box(double x) { return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0; }
double filter_hamming(double x) {
  x = std::fabs(x);
  if (x == 0.0) return 1.0;
  if (x >= 1.0) return 0.0;
  x *= M_PI;
  return std::sin(x) / x * (0.54 + 0.46 * std::cos(x));
}

struct Filter {
  double (*fn)(double);
  double support;
};

Filter filter_for(Interpolation i) {
  switch (i) {
    case Interpolation::Bilinear: return {filter_bilinear, 1.0};
    case Interpolation::Bicubic: return {filter_bicubic, 2.0};
    case Interpolation::Lanczos: return {filter_lanczos, 3.0};
    case Interpolation::Box: return {filter_box, 0.5};
    case Interpolation::Hamming: return {filter_hamming, 1.0};
    case Interpolation::Nearest: break;
  }
  throw Error("internal: no resampling filter for nearest");
}

// Per output pixel: first input index, count, and ksize fixed-point weights.
struct Coeffs {
  int ksize = 0;
  std::vector<int> bounds;  // (out, 2): xmin, count
  std::vector<int32_t> kk;  // (out, ksize)
};

Coeffs precompute_coeffs(int in_size, int out_size, const Filter& f) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = f.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(out_size) * 2);
  c.kk.assign(static_cast<size_t>(out_size) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = f.fn((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      c.kk[static_cast<size_t>(xx) * c.ksize + x] =
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    c.bounds[xx * 2] = xmin;
    c.bounds[xx * 2 + 1] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

// Vertical pass; c.bounds are relative to in's first row. The inner loop runs along rows
// (contiguous), so it vectorises; AVX2 is chosen at run time where the CPU has it.
__attribute__((target_clones("avx2", "default")))
void resample_vertical(const cv::Mat& in, cv::Mat& out, const Coeffs& c, int row_shift) {
  const int width3 = out.cols * 3;
  std::vector<int32_t> acc(width3);
  for (int yy = 0; yy < out.rows; ++yy) {
    const int ymin = c.bounds[yy * 2] - row_shift, ymax = c.bounds[yy * 2 + 1];
    const int32_t* k = &c.kk[static_cast<size_t>(yy) * c.ksize];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < ymax; ++y) {
      const uint8_t* src = in.ptr<uint8_t>(y + ymin);
      const int32_t w = k[y];
      for (int i = 0; i < width3; ++i) acc[i] += src[i] * w;
    }
    uint8_t* dst = out.ptr<uint8_t>(yy);
    for (int i = 0; i < width3; ++i) dst[i] = clip8(acc[i]);
  }
}

// Pillow's NEAREST resize (ImagingScaleAffine): source = trunc(scale * (x + 0.5)),
// accumulated in double as Pillow does.
cv::Mat resize_nearest(const cv::Mat& in, int width, int height) {
  cv::Mat out(height, width, CV_8UC3);
  const double sx = static_cast<double>(in.cols) / width, sy = static_cast<double>(in.rows) / height;
  std::vector<int> xin(width);
  double xo = sx * 0.5;
  for (int x = 0; x < width; ++x, xo += sx) xin[x] = std::min(static_cast<int>(xo), in.cols - 1);
  double yo = sy * 0.5;
  for (int y = 0; y < height; ++y, yo += sy) {
    const uint8_t* src = in.ptr<uint8_t>(std::min(static_cast<int>(yo), in.rows - 1));
    uint8_t* dst = out.ptr<uint8_t>(y);
    for (int x = 0; x < width; ++x) std::memcpy(dst + x * 3, src + xin[x] * 3, 3);
  }
  return out;
}

}  // namespace

cv::Mat resize_pil(const cv::Mat& rgb, int width, int height, Interpolation interp) {
  CV_Assert(rgb.type() == CV_8UC3);
  if (width <= 0 || height <= 0) throw UsageError("resize target must be positive");
  if (width == rgb.cols && height == rgb.rows) return rgb.clone();
  if (interp == Interpolation::Nearest) return resize_nearest(rgb, width, height);
  const Filter f = filter_for(interp);
  const bool need_h = width != rgb.cols, need_v = height != rgb.rows;
  const Coeffs ch = precompute_coeffs(rgb.cols, width, f);
  const Coeffs cv_ = precompute_coeffs(rgb.rows, height, f);
  cv::Mat cur = rgb;
  int row_shift = 0;
  if (need_h) {
    // Only the source rows the vertical pass will read. The horizontal pass is the vertical
    // one on the transposed image: the same integer arithmetic per pixel, but vectorised.
    const int first = need_v ? cv_.bounds[0] : 0;
    const int last = need_v ? cv_.bounds[(height - 1) * 2] + cv_.bounds[(height - 1) * 2 + 1] : rgb.rows;
    cv::Mat t, tmp_t(width, last - first, CV_8UC3), tmp;
    cv::transpose(rgb.rowRange(first, last), t);
    resample_vertical(t, tmp_t, ch, 0);
    cv::transpose(tmp_t, tmp);
    cur = tmp;
    row_shift = first;
  }
  if (!need_v) return cur.data == rgb.data ? cur.clone() : cur;
  cv::Mat out(height, width, CV_8UC3);
  resample_vertical(cur, out, cv_, row_shift);
  return out;
}

cv::Mat center_crop(const cv::Mat& rgb, int width, int height) {
  cv::Mat img = rgb;
  if (width > img.cols || height > img.rows) {
    const int left = width > img.cols ? (width - img.cols) / 2 : 0;
    const int top = height > img.rows ? (height - img.rows) / 2 : 0;
    const int right = width > img.cols ? (width - img.cols + 1) / 2 : 0;
    const int bottom = height > img.rows ? (height - img.rows + 1) / 2 : 0;
    cv::copyMakeBorder(rgb, img, top, bottom, left, right, cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
    if (img.cols == width && img.rows == height) return img;
  }
  // torchvision: int(round((h - th) / 2.0)), Python's round is half-to-even.
  const int top = static_cast<int>(std::nearbyint((img.rows - height) / 2.0));
  const int left = static_cast<int>(std::nearbyint((img.cols - width) / 2.0));
  return img(cv::Rect(left, top, width, height)).clone();
}

namespace {
constexpr int64_t kMaxResizedPixels = int64_t{1} << 27;  // 134 M pixels (400 MB at 3 bytes)
}  // namespace

cv::Mat resize_and_crop(const cv::Mat& rgb, const PreprocessConfig& cfg) {
  cv::Mat img = rgb;
  if (cfg.resize_width > 0 && cfg.resize_height > 0) {
    img = resize_pil(img, cfg.resize_width, cfg.resize_height, cfg.interpolation);
  } else if (cfg.resize_short > 0) {
    // torchvision Resize(int): the shorter side becomes size, the longer int(size * long / short).
    const bool wide = img.cols >= img.rows;
    const int shorter = wide ? img.rows : img.cols, longer = wide ? img.cols : img.rows;
    const int new_short = cfg.resize_short;
    const int64_t new_long64 = static_cast<int64_t>(new_short) * longer / shorter;
    // A sliver (say 1 x 20000 pixels) would become hundreds of megapixels here.
    if (new_long64 * new_short > kMaxResizedPixels)
      throw ImageError("the image is " + std::to_string(img.cols) + "x" + std::to_string(img.rows) +
                       ": resizing its shorter side to " + std::to_string(new_short) + " would make " +
                       std::to_string(new_long64) + " pixels along the other; aspect ratio too extreme");
    const int new_long = static_cast<int>(new_long64);
    if (new_short != shorter)
      img = resize_pil(img, wide ? new_long : new_short, wide ? new_short : new_long, cfg.interpolation);
  }
  if (cfg.crop > 0) img = center_crop(img, cfg.crop, cfg.crop);
  return img;
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
  cv::Mat img = resize_and_crop(rgb, cfg);
  if (img.cols != img.rows)
    throw UsageError("preprocessing gives a " + std::to_string(img.cols) + "x" + std::to_string(img.rows) +
                     " image; the model needs a square input (set --crop or --resize WxH)");
  std::vector<float> out(static_cast<size_t>(3) * img.rows * img.cols);
  normalize_chw(img, cfg, out.data());
  if (side) *side = img.cols;
  return out;
}

}  // namespace vit
