// Small drawing helpers for the explain pictures, on OpenCV only: colour maps with their colour
// bars, titles, labelled axes, overlays and grids of panels. Every image here is 8-bit BGR
// (OpenCV's order); values are CV_32F.
#pragma once

#include <opencv2/core.hpp>
#include <string>
#include <vector>

namespace vit::draw {

// Text: DejaVu Sans through OpenCV's FreeType module where the build and the machine have
// them, else OpenCV's Hershey simplex; anti-aliased, black on white unless said otherwise.
// `scale` is Hershey's (0.5: about 15-pixel type).
constexpr int kFont = 0;  // cv::FONT_HERSHEY_SIMPLEX
cv::Size text_size(const std::string& text, double scale, int* baseline = nullptr);
// Draws text with its top-left corner at (x, y).
void text(cv::Mat& img, const std::string& s, int x, int y, double scale, cv::Scalar colour = {0, 0, 0});
// Shortens s with "..." until it fits width pixels at scale.
std::string fit_text(const std::string& s, int width, double scale);

// values (CV_32F) mapped linearly from [lo, hi] onto viridis; outside values are clamped.
cv::Mat colorize(const cv::Mat& values, float lo, float hi);
// A vertical colour bar height pixels tall with tick labels (lo at the bottom) and a caption
// written along its side.
cv::Mat colour_bar(int height, float lo, float hi, const std::string& caption);

// Enlarges by an integer factor with nearest-neighbour, so pixels stay exact and square.
cv::Mat upscale(const cv::Mat& img, int factor);
// The smallest integer factor that makes side at least min_side (at least 1).
int scale_for(int side, int min_side);

// heat (CV_32F, any size, values in [lo, hi]) resized to rgb's size with nearest-neighbour and
// blended over it: alpha of the colour, 1 - alpha of the photo.
cv::Mat overlay(const cv::Mat& bgr, const cv::Mat& heat, float lo, float hi, float alpha = 0.5f);

// img with a white band above it holding title (one or more lines, split on '\n').
cv::Mat titled(const cv::Mat& img, const std::string& title, double scale = 0.55);
// Images side by side (top-aligned) on white, gap pixels apart.
cv::Mat hstack(const std::vector<cv::Mat>& imgs, int gap = 10);
// Images one under the other (left-aligned) on white.
cv::Mat vstack(const std::vector<cv::Mat>& imgs, int gap = 10);
// White margin around img.
cv::Mat pad(const cv::Mat& img, int margin);

}  // namespace vit::draw
