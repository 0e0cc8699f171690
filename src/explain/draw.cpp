// Drawing helpers for the explain pictures; see include/vit/explain/draw.h.
#include "vit/explain/draw.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <opencv2/imgproc.hpp>
#ifdef VIT_HAVE_FREETYPE
#include <spdlog/fmt/fmt.h>

#include <mutex>
#include <opencv2/freetype.hpp>
#endif

namespace vit::draw {

namespace {

const cv::Scalar kWhite{255, 255, 255};

std::string tick_label(float v, float span) {
  // Enough decimals that the quarter steps print exactly enough to tell apart (0.25, not 0.2).
  const double step = span > 0 ? span / 4.0 : 1.0;
  const int decimals = std::clamp(static_cast<int>(std::ceil(-std::log10(step))) + 1, 0, 6);
  return fmt::format("{:.{}f}", static_cast<double>(v), decimals);
}

}  // namespace

#ifdef VIT_HAVE_FREETYPE
namespace {

// DejaVu Sans (Debian's fonts-dejavu-core) through OpenCV's FreeType module; null when the
// font is not installed, and the Hershey font is used instead.
cv::freetype::FreeType2* sans() {
  static std::mutex mu;
  static cv::Ptr<cv::freetype::FreeType2> font = [] {
    for (const char* path :
         {"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf"}) {
      if (FILE* f = std::fopen(path, "rb")) {
        std::fclose(f);
        cv::Ptr<cv::freetype::FreeType2> ft = cv::freetype::createFreeType2();
        ft->loadFontData(path, 0);
        return ft;
      }
    }
    return cv::Ptr<cv::freetype::FreeType2>();
  }();
  std::lock_guard<std::mutex> lock(mu);
  return font.get();
}

int pixel_height(double scale) { return std::max(8, static_cast<int>(std::lround(scale * 30))); }

}  // namespace
#endif

cv::Size text_size(const std::string& s, double scale, int* baseline) {
  int base = 0;
#ifdef VIT_HAVE_FREETYPE
  if (cv::freetype::FreeType2* ft = sans()) {
    const cv::Size sz = ft->getTextSize(s, pixel_height(scale), -1, &base);
    if (baseline) *baseline = base;
    return sz;
  }
#endif
  cv::Size sz = cv::getTextSize(s, kFont, scale, 1, &base);
  if (baseline) *baseline = base;
  return sz;
}

void text(cv::Mat& img, const std::string& s, int x, int y, double scale, cv::Scalar colour) {
  const cv::Size sz = text_size(s, scale);
#ifdef VIT_HAVE_FREETYPE
  if (cv::freetype::FreeType2* ft = sans()) {
    ft->putText(img, s, {x, y + sz.height}, pixel_height(scale), colour, -1, cv::LINE_AA, true);
    return;
  }
#endif
  cv::putText(img, s, {x, y + sz.height}, kFont, scale, colour, 1, cv::LINE_AA);
}

std::string fit_text(const std::string& s, int width, double scale) {
  if (text_size(s, scale).width <= width) return s;
  std::string t = s;
  while (!t.empty() && text_size(t + "...", scale).width > width) t.pop_back();
  return t + "...";
}

cv::Mat colorize(const cv::Mat& values, float lo, float hi) {
  CV_Assert(values.type() == CV_32F);
  cv::Mat u8;
  const double span = hi > lo ? hi - lo : 1.0;
  values.convertTo(u8, CV_8U, 255.0 / span, -lo * 255.0 / span);  // saturates outside [lo, hi]
  cv::Mat bgr;
  cv::applyColorMap(u8, bgr, cv::COLORMAP_VIRIDIS);
  return bgr;
}

cv::Mat colour_bar(int height, float lo, float hi, const std::string& caption) {
  const int bar_w = 18, top = 8, bottom = 8;
  const int bar_h = std::max(40, height - top - bottom);
  const double scale = 0.45;
  cv::Mat ramp(bar_h, 1, CV_32F);
  for (int i = 0; i < bar_h; ++i) ramp.at<float>(i) = hi - (hi - lo) * i / std::max(1, bar_h - 1);
  cv::Mat bar;
  cv::resize(colorize(ramp, lo, hi), bar, {bar_w, bar_h}, 0, 0, cv::INTER_NEAREST);

  const float span = hi - lo;
  std::vector<std::pair<float, std::string>> ticks;
  for (int i = 0; i <= 4; ++i) {
    const float v = lo + span * i / 4;
    ticks.emplace_back(v, tick_label(v, span));
  }
  int label_w = 0;
  for (const auto& t : ticks) label_w = std::max(label_w, text_size(t.second, scale).width);
  const cv::Size cap = text_size(caption, scale);
  const int width = bar_w + 6 + label_w + 10 + cap.height + 10;
  cv::Mat out(bar_h + top + bottom, width, CV_8UC3, kWhite);
  bar.copyTo(out(cv::Rect(0, top, bar_w, bar_h)));
  cv::rectangle(out, cv::Rect(0, top, bar_w, bar_h), {0, 0, 0}, 1);
  for (const auto& t : ticks) {
    const int y = top + static_cast<int>(std::lround((hi - t.first) / (span > 0 ? span : 1) * (bar_h - 1)));
    cv::line(out, {bar_w, y}, {bar_w + 4, y}, {0, 0, 0}, 1);
    const cv::Size sz = text_size(t.second, scale);
    text(out, t.second, bar_w + 6, std::clamp(y - sz.height / 2, 0, out.rows - sz.height - 1), scale);
  }
  // Caption written bottom-to-top along the right edge.
  cv::Mat strip(cap.height + 8, std::max(cap.width + 4, 1), CV_8UC3, kWhite);
  text(strip, caption, 2, 2, scale);
  cv::Mat rotated;
  cv::rotate(strip, rotated, cv::ROTATE_90_COUNTERCLOCKWISE);
  const int x0 = bar_w + 6 + label_w + 8;
  if (rotated.rows > out.rows) {
    cv::Mat bigger(rotated.rows, out.cols, CV_8UC3, kWhite);
    out.copyTo(bigger(cv::Rect(0, (rotated.rows - out.rows) / 2, out.cols, out.rows)));
    out = bigger;
  }
  const int w = std::min(rotated.cols, out.cols - x0);
  rotated(cv::Rect(0, 0, w, rotated.rows)).copyTo(out(cv::Rect(x0, (out.rows - rotated.rows) / 2, w, rotated.rows)));
  if (out.rows < height) {
    cv::Mat full(height, out.cols, CV_8UC3, kWhite);
    out.copyTo(full(cv::Rect(0, 0, out.cols, out.rows)));
    out = full;
  }
  return out;
}

cv::Mat upscale(const cv::Mat& img, int factor) {
  if (factor <= 1) return img.clone();
  cv::Mat out;
  cv::resize(img, out, {img.cols * factor, img.rows * factor}, 0, 0, cv::INTER_NEAREST);
  return out;
}

int scale_for(int side, int min_side) { return side <= 0 ? 1 : std::max(1, (min_side + side - 1) / side); }

cv::Mat overlay(const cv::Mat& bgr, const cv::Mat& heat, float lo, float hi, float alpha) {
  cv::Mat big;
  cv::resize(heat, big, bgr.size(), 0, 0, cv::INTER_NEAREST);
  cv::Mat out;
  cv::addWeighted(colorize(big, lo, hi), alpha, bgr, 1.0 - alpha, 0.0, out);
  return out;
}

cv::Mat titled(const cv::Mat& img, const std::string& title, double scale) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (true) {
    const size_t nl = title.find('\n', start);
    lines.push_back(title.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  const int line_h = text_size("Ag", scale).height + 8;
  int width = img.cols;
  for (const auto& l : lines) width = std::max(width, text_size(l, scale).width + 8);
  const int band = line_h * static_cast<int>(lines.size()) + 6;
  cv::Mat out(img.rows + band, width, CV_8UC3, kWhite);
  for (size_t i = 0; i < lines.size(); ++i) text(out, lines[i], 4, 4 + static_cast<int>(i) * line_h, scale);
  img.copyTo(out(cv::Rect((width - img.cols) / 2, band, img.cols, img.rows)));
  return out;
}

cv::Mat hstack(const std::vector<cv::Mat>& imgs, int gap) {
  int w = 0, h = 0;
  for (const auto& m : imgs) {
    w += m.cols + (w ? gap : 0);
    h = std::max(h, m.rows);
  }
  cv::Mat out(h, w, CV_8UC3, kWhite);
  int x = 0;
  for (const auto& m : imgs) {
    m.copyTo(out(cv::Rect(x, 0, m.cols, m.rows)));
    x += m.cols + gap;
  }
  return out;
}

cv::Mat vstack(const std::vector<cv::Mat>& imgs, int gap) {
  int w = 0, h = 0;
  for (const auto& m : imgs) {
    h += m.rows + (h ? gap : 0);
    w = std::max(w, m.cols);
  }
  cv::Mat out(h, w, CV_8UC3, kWhite);
  int y = 0;
  for (const auto& m : imgs) {
    m.copyTo(out(cv::Rect(0, y, m.cols, m.rows)));
    y += m.rows + gap;
  }
  return out;
}

cv::Mat pad(const cv::Mat& img, int margin) {
  cv::Mat out;
  cv::copyMakeBorder(img, out, margin, margin, margin, margin, cv::BORDER_CONSTANT, kWhite);
  return out;
}

}  // namespace vit::draw
