// Pillow's resampler; see include/vit/image/resample.h.
#include "vit/image/resample.h"

#include <cmath>
#include <cstring>
#include <opencv2/core.hpp>

#include "vit/errors.h"

// The vertical pass is compiled twice, for AVX2 and plain x86-64, and chosen at load time by an
// ifunc resolver. The sanitizer builds have the plain version only (CMakeLists.txt defines
// VIT_NO_TARGET_CLONES): ThreadSanitizer cannot run such a resolver (it runs before TSan
// starts), and so the plain copy is tested there while the normal build tests the CPU's own.
#if defined(VIT_NO_TARGET_CLONES)
#define VIT_AVX2_CLONES
#else
#define VIT_AVX2_CLONES __attribute__((target_clones("avx2", "default")))
#endif

namespace vit {

const Vocabulary<Interpolation>& interpolation_names() {
  static const Vocabulary<Interpolation> names{
      {"nearest", Interpolation::Nearest}, {"bilinear", Interpolation::Bilinear}, {"bicubic", Interpolation::Bicubic},
      {"lanczos", Interpolation::Lanczos}, {"box", Interpolation::Box},           {"hamming", Interpolation::Hamming},
  };
  return names;
}

const char* interpolation_name(Interpolation i) { return name_of(interpolation_names(), i); }

Interpolation parse_interpolation(const std::string& s) {
  return parse_named(interpolation_names(), s, "interpolation");
}

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

// For the output pixels [first, first + count) of a resize from in_size to out_size: each one's
// coefficients depend only on its own index, so a window of the output is computed exactly.
Coeffs precompute_coeffs(int in_size, int out_size, const Filter& f, int first, int count) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale;
  const double support = f.support * filterscale;
  Coeffs c;
  c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.bounds.resize(static_cast<size_t>(count) * 2);
  c.kk.assign(static_cast<size_t>(count) * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int xx = 0; xx < count; ++xx) {
    const double center = (first + xx + 0.5) * scale;
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
VIT_AVX2_CLONES void resample_vertical(const cv::Mat& in, cv::Mat& out, const Coeffs& c, int row_shift) {
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
// accumulated in double as Pillow does; only the output pixels inside `window`.
cv::Mat resize_nearest(const cv::Mat& in, int width, int height, const cv::Rect& window) {
  cv::Mat out(window.height, window.width, CV_8UC3);
  const double sx = static_cast<double>(in.cols) / width, sy = static_cast<double>(in.rows) / height;
  std::vector<int> xin(static_cast<size_t>(window.width));
  double xo = sx * 0.5;
  for (int x = 0; x < window.x + window.width; ++x, xo += sx)
    if (x >= window.x) xin[x - window.x] = std::min(static_cast<int>(xo), in.cols - 1);
  double yo = sy * 0.5;
  for (int y = 0; y < window.y + window.height; ++y, yo += sy) {
    if (y < window.y) continue;
    const uint8_t* src = in.ptr<uint8_t>(std::min(static_cast<int>(yo), in.rows - 1));
    uint8_t* dst = out.ptr<uint8_t>(y - window.y);
    for (int x = 0; x < window.width; ++x) std::memcpy(dst + x * 3, src + xin[x] * 3, 3);
  }
  return out;
}

}  // namespace

cv::Mat resize_pil(const cv::Mat& rgb, int width, int height, Interpolation interp) {
  return resize_pil(rgb, width, height, interp, cv::Rect(0, 0, width, height));
}

cv::Mat resize_pil(const cv::Mat& rgb, int width, int height, Interpolation interp, const cv::Rect& window) {
  CV_Assert(rgb.type() == CV_8UC3);
  if (width <= 0 || height <= 0) throw UsageError("resize target must be positive");
  if (window.x < 0 || window.y < 0 || window.width <= 0 || window.height <= 0 || window.x > width - window.width ||
      window.y > height - window.height)
    throw Error("internal: resize window outside the resized image");
  const bool need_h = width != rgb.cols, need_v = height != rgb.rows;
  if (!need_h && !need_v) return rgb(window).clone();
  if (interp == Interpolation::Nearest) return resize_nearest(rgb, width, height, window);
  const Filter f = filter_for(interp);
  cv::Mat cur = need_h ? rgb : rgb.colRange(window.x, window.x + window.width);
  int row_shift = 0;
  const Coeffs cv_ = need_v ? precompute_coeffs(rgb.rows, height, f, window.y, window.height) : Coeffs();
  if (need_h) {
    // Only the source rows the vertical pass will read. The horizontal pass is the vertical
    // one on the transposed image: the same integer arithmetic per pixel, but vectorised.
    const int first = need_v ? cv_.bounds[0] : window.y;
    const int last = need_v ? cv_.bounds[(window.height - 1) * 2] + cv_.bounds[(window.height - 1) * 2 + 1]
                            : window.y + window.height;
    const Coeffs ch = precompute_coeffs(rgb.cols, width, f, window.x, window.width);
    cv::Mat t, tmp_t(window.width, last - first, CV_8UC3), tmp;
    cv::transpose(rgb.rowRange(first, last), t);
    resample_vertical(t, tmp_t, ch, 0);
    cv::transpose(tmp_t, tmp);
    cur = tmp;
    row_shift = first;
  }
  if (!need_v) return cur;
  cv::Mat out(window.height, window.width, CV_8UC3);
  resample_vertical(cur, out, cv_, row_shift);
  return out;
}

}  // namespace vit
