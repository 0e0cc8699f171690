// The explain pictures; see include/vit/explain/figures.h.
#include "vit/explain/figures.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <numeric>
#include <opencv2/imgproc.hpp>

#include "vit/errors.h"
#include "vit/explain/draw.h"

namespace vit {

std::string percent(double p) { return fmt::format("{:.1f}%", 100.0 * p); }

namespace {

const cv::Scalar kWhite{255, 255, 255};
constexpr int kPanel = 224;  // smallest side of a picture of the image

cv::Mat to_bgr(const cv::Mat& rgb) {
  if (rgb.type() != CV_8UC3)
    throw UsageError("explain: the input picture must be 8-bit RGB, got OpenCV type " + std::to_string(rgb.type()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  return bgr;
}

// The model input enlarged (integer factor, nearest) so that it is at least kPanel wide.
cv::Mat big_input(const cv::Mat& rgb) { return draw::upscale(to_bgr(rgb), draw::scale_for(rgb.cols, kPanel)); }

// A (rows, cols) float grid as a CV_32F matrix (copied).
cv::Mat grid_mat(const float* v, int rows, int cols) {
  return cv::Mat(rows, cols, CV_32F, const_cast<float*>(v)).clone();
}

// body under its title with a white margin; panels (in body's coordinates) moved along.
Figure framed(const cv::Mat& body, const std::string& title, const std::vector<cv::Rect>& panels = {},
              double scale = 0.5) {
  Figure f;
  f.bgr = draw::pad(draw::titled(body, title, scale), 8);
  const int dx = 8 + (f.bgr.cols - 16 - body.cols) / 2, dy = f.bgr.rows - 8 - body.rows;
  for (const auto& r : panels) f.panels.push_back(r + cv::Point(dx, dy));
  return f;
}

// rows x cols white cells of `cell` pixels, `gap` apart, numbered from 1 along the top and
// the left; cells in reading order.
struct NumberedGrid {
  cv::Mat canvas;
  std::vector<cv::Rect> cells;
  int top = 0;  // height of the numbers' band
};

NumberedGrid numbered_grid(int rows, int cols, int cell, int gap) {
  const double ls = 0.4;
  const int left = draw::text_size(std::to_string(rows), ls).width + 12, top = draw::text_size("0", ls).height + 12;
  NumberedGrid g;
  g.top = top;
  g.canvas = cv::Mat(top + rows * (cell + gap), left + cols * (cell + gap), CV_8UC3, kWhite);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) g.cells.emplace_back(left + c * (cell + gap), top + r * (cell + gap), cell, cell);
  for (int c = 0; c < cols; ++c) {
    const std::string s = std::to_string(c + 1);
    draw::text(g.canvas, s, left + c * (cell + gap) + (cell - draw::text_size(s, ls).width) / 2, 4, ls);
  }
  for (int r = 0; r < rows; ++r) {
    const std::string s = std::to_string(r + 1);
    const cv::Size sz = draw::text_size(s, ls);
    draw::text(g.canvas, s, left - 6 - sz.width, top + r * (cell + gap) + (cell - sz.height) / 2, ls);
  }
  return g;
}

}  // namespace

std::vector<int> round_ticks(int count) {
  int step = 1;
  for (int s : {1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000})
    if ((step = s) * 8 >= count) break;
  std::vector<int> ticks;
  for (int t = 0; t < count; t += step) ticks.push_back(t);
  return ticks;
}

namespace {

// Tick labels of an attention matrix of `tokens` tokens drawn at (left, top) with `scale`
// pixels per token, at round token numbers, plus the axis captions.
void draw_token_axes(cv::Mat& canvas, int left, int top, int scale, int tokens) {
  const double ls = 0.4;
  for (int tk : round_ticks(tokens)) {
    const int c = tk * scale + scale / 2;
    const std::string s = std::to_string(tk);
    cv::line(canvas, {left + c, top - 4}, {left + c, top - 1}, {0, 0, 0});
    cv::line(canvas, {left - 4, top + c}, {left - 1, top + c}, {0, 0, 0});
    const cv::Size sz = draw::text_size(s, ls);
    draw::text(canvas, s, left + c - sz.width / 2, top - 6 - sz.height, ls);
    draw::text(canvas, s, left - 6 - sz.width, top + c - sz.height / 2, ls);
  }
  draw::text(canvas, "key token (attended to) ->", left, 2, ls);
  const int lab_h = draw::text_size("0", ls).height;
  cv::Mat strip(lab_h + 6, std::max(1, draw::text_size("query token (looks)", ls).width + 4), CV_8UC3, kWhite);
  draw::text(strip, "query token (looks)", 2, 2, ls);
  cv::Mat rotated;
  cv::rotate(strip, rotated, cv::ROTATE_90_CLOCKWISE);
  if (rotated.rows <= canvas.rows - top) rotated.copyTo(canvas(cv::Rect(0, top, rotated.cols, rotated.rows)));
}

}  // namespace

Figure draw_input(const cv::Mat& rgb, const std::string& preprocess) {
  const cv::Mat img = big_input(rgb);
  std::string title =
      "What the model sees: " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " px after resize and crop";
  if (img.cols != rgb.cols) title += " (shown " + std::to_string(img.cols / rgb.cols) + "x larger)";
  if (!preprocess.empty()) title += "\n" + preprocess;
  Figure f;
  f.bgr = draw::pad(draw::titled(img, title, 0.5), 8);
  // titled() centres the image under the band; find it again for the panel.
  const int band = f.bgr.rows - 16 - img.rows;
  f.panels.push_back(cv::Rect((f.bgr.cols - img.cols) / 2, 8 + band, img.cols, img.rows));
  return f;
}

Figure draw_patches(const cv::Mat& rgb, int patch) {
  if (patch <= 0 || rgb.cols % patch || rgb.rows % patch)
    throw UsageError("explain: a " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) +
                     " input cannot be cut into " + std::to_string(patch) + "-pixel patches");
  const cv::Mat bgr = to_bgr(rgb);
  const int gw = rgb.cols / patch, gh = rgb.rows / patch;
  const int scale = draw::scale_for(patch, std::max(32, 448 / std::max(gw, 1)));
  const int tile = patch * scale;
  NumberedGrid g = numbered_grid(gh, gw, tile, std::max(3, tile / 10));
  for (int r = 0; r < gh; ++r)
    for (int c = 0; c < gw; ++c)
      draw::upscale(bgr(cv::Rect(c * patch, r * patch, patch, patch)), scale).copyTo(g.canvas(g.cells[r * gw + c]));
  const std::string title =
      "The input cut into " + std::to_string(gh) + "x" + std::to_string(gw) + " = " + std::to_string(gh * gw) +
      " patches of " + std::to_string(patch) + "x" + std::to_string(patch) +
      " px (rows and columns numbered)\nThe model reads them in this order: patch n = (row - 1) x " +
      std::to_string(gw) +
      " + column, its token n after the prefix tokens (class token, registers: see the attention matrix)";
  return framed(g.canvas, title, g.cells);
}

Figure draw_position_similarity(const std::vector<float>& sim, int grid) {
  const int N = grid * grid;
  if (grid <= 0 || sim.size() != static_cast<size_t>(N) * N)
    throw Error("draw_position_similarity: " + std::to_string(sim.size()) + " values for a " + std::to_string(grid) +
                "x" + std::to_string(grid) + " grid");
  const int scale = draw::scale_for(grid, std::max(56, 400 / grid));  // maps of 56 px or more
  const int cell = grid * scale;
  NumberedGrid g = numbered_grid(grid, grid, cell, std::max(3, cell / 12));
  for (int i = 0; i < N; ++i)
    draw::upscale(draw::colorize(grid_mat(sim.data() + static_cast<size_t>(i) * N, grid, grid), -1, 1), scale)
        .copyTo(g.canvas(g.cells[static_cast<size_t>(i)]));
  const cv::Mat bar = draw::colour_bar(g.canvas.rows - g.top, -1, 1, "cosine similarity");
  const cv::Mat body = draw::hstack({g.canvas, bar}, 12);
  const std::string title =
      "Position embeddings: cosine similarity between patches\nThe small map at row r, column c compares patch (r, c) "
      "with every patch (brightest: itself);\nsimilarity that follows rows, columns and distance means the model "
      "learned the 2-D layout";
  return framed(body, title, g.cells);
}

namespace {

// One head's panel: its attention over the photo, scaled to [0, hi], the high-norm patches outlined.
cv::Mat head_panel(const cv::Mat& img, const float* row, int grid, float hi, const std::vector<bool>& high_norm,
                   const std::string& title) {
  cv::Mat panel = draw::overlay(img, grid_mat(row, grid, grid), 0, hi, 0.6f);
  const int cell = img.cols / grid;
  for (int i = 0; i < grid * grid; ++i)
    if (high_norm[static_cast<size_t>(i)])
      cv::rectangle(panel, cv::Rect((i % grid) * cell, (i / grid) * cell, cell, cell), {255, 255, 255}, 1);
  return draw::titled(panel, title, 0.5);
}

std::string head_attention_title(int layer1, HeadScale scale, size_t high_norm, const std::string& reader) {
  const std::string head = "Layer " + std::to_string(layer1) + ": where " + reader + " looks, one panel per head\n";
  const std::string outlined = std::to_string(high_norm) + " high-norm patch" + (high_norm == 1 ? "" : "es") +
                               " outlined (token norm over twice the median: scratch space, Darcet et al. 2023)";
  if (scale == HeadScale::Shared)
    return head + "Colour = attention weight to each patch, one scale for all heads\n" + outlined;
  return head + "Colour = share of the panel's largest weight on an ordinary patch (each head its own scale)\n" +
         outlined + ",\nleft out of the scale: they saturate";
}

}  // namespace

Figure draw_head_attention(const cv::Mat& rgb, const std::vector<float>& cls, int heads, int grid, int layer1,
                           HeadScale scale, const std::vector<bool>& high_norm, const std::string& reader) {
  const int N = grid * grid;
  if (heads <= 0 || cls.size() != static_cast<size_t>(heads) * N || high_norm.size() != static_cast<size_t>(N))
    throw Error("draw_head_attention: " + std::to_string(cls.size()) + " values for " + std::to_string(heads) +
                " heads of " + std::to_string(N) + " patches");
  const cv::Mat img = big_input(rgb);
  const float shared = std::max(*std::max_element(cls.begin(), cls.end()), 1e-6f);
  std::vector<cv::Mat> panels;
  for (int h = 0; h < heads; ++h) {
    const float* row = cls.data() + static_cast<size_t>(h) * N;
    const float hi = scale == HeadScale::Shared ? shared : panel_scale(row, static_cast<size_t>(N), high_norm);
    std::string title =
        "head " + std::to_string(h + 1) + ": " + percent(std::accumulate(row, row + N, 0.0)) + " on patches";
    if (scale == HeadScale::Panel) title += ", 1 = " + fmt::format("{:.3f}", hi);
    panels.push_back(head_panel(img, row, grid, hi, high_norm, title));
  }
  const int per_row = heads <= 4 ? heads : (heads + 1) / 2 <= 6 ? (heads + 1) / 2 : 6;
  std::vector<cv::Mat> rows;
  for (int h = 0; h < heads; h += per_row)
    rows.push_back(
        draw::hstack(std::vector<cv::Mat>(panels.begin() + h, panels.begin() + std::min(heads, h + per_row)), 10));
  const cv::Mat grid_img = draw::vstack(rows, 10);
  const cv::Mat bar = scale == HeadScale::Shared ? draw::colour_bar(grid_img.rows, 0, shared, "attention weight")
                                                 : draw::colour_bar(grid_img.rows, 0, 1, "share of the panel's top");
  const auto outlined = static_cast<size_t>(std::count(high_norm.begin(), high_norm.end(), true));
  return framed(draw::hstack({grid_img, bar}, 12), head_attention_title(layer1, scale, outlined, reader));
}

Figure draw_attention_matrix(const std::vector<float>& m, int tokens, const std::string& legend, int layer1,
                             int head1) {
  if (tokens <= 0 || m.size() != static_cast<size_t>(tokens) * tokens)
    throw Error("draw_attention_matrix: " + std::to_string(m.size()) + " values for " + std::to_string(tokens) +
                " tokens");
  const int scale = draw::scale_for(tokens, 400);
  const float hi = std::max(*std::max_element(m.begin(), m.end()), 1e-6f);
  const cv::Mat heat = draw::upscale(draw::colorize(grid_mat(m.data(), tokens, tokens), 0, hi), scale);
  const double ls = 0.4;
  const int lab_w = draw::text_size(std::to_string(tokens), ls).width, lab_h = draw::text_size("0", ls).height;
  const int left = lab_w + 10 + lab_h + 12, top = lab_h + 10 + lab_h + 12;
  cv::Mat canvas(top + heat.rows + 4, left + heat.cols + 4, CV_8UC3, kWhite);
  heat.copyTo(canvas(cv::Rect(left, top, heat.cols, heat.rows)));
  draw_token_axes(canvas, left, top, scale, tokens);
  const cv::Mat bar = draw::colour_bar(heat.rows + top, 0, hi, "attention weight");
  const cv::Mat body = draw::hstack({canvas, bar}, 12);
  const std::string title = "Layer " + std::to_string(layer1) + ", head " + std::to_string(head1) +
                            ": full attention matrix (" + std::to_string(tokens) + "x" + std::to_string(tokens) +
                            ")\nRow = the token that looks, column = " + "the token it looks at; each row sums to 1\n" +
                            legend + " (patches in reading order, see patches.png)";
  return framed(body, title);
}

Figure draw_rollout(const cv::Mat& rgb, const std::vector<float>& rollout, int grid, HeadFusion fusion,
                    double discard_ratio, int layers, const std::string& reader) {
  if (rollout.size() != static_cast<size_t>(grid) * grid)
    throw Error("draw_rollout: " + std::to_string(rollout.size()) + " values for a " + std::to_string(grid) + "x" +
                std::to_string(grid) + " grid");
  cv::Mat img = to_bgr(rgb);
  img = draw::upscale(img, draw::scale_for(rgb.cols, 336));
  const cv::Mat heat = grid_mat(rollout.data(), grid, grid);
  const cv::Mat photo = draw::titled(img, "input", 0.5);
  const cv::Mat over = draw::titled(draw::overlay(img, heat, 0, 1, 0.6f), "rollout over the input", 0.5);
  const cv::Mat bar = draw::colour_bar(over.rows, 0, 1, "share of the largest value");
  const cv::Mat body = draw::hstack({photo, over, bar}, 12);
  const std::string title =
      "Attention rollout: how much each patch reaches " + reader + " through all " + std::to_string(layers) +
      " layers\nHeads fused by " + head_fusion_name(fusion) + ", lowest " + fmt::format("{:.0f}", discard_ratio * 100) +
      "% of weights discarded; 1 = the patch that contributes most\n" +
      "Bright corners or plain background: tokens ViT uses as scratch space (Darcet et al. 2023), not the object";
  return framed(body, title);
}

Figure draw_result(const cv::Mat& rgb, const std::vector<Prediction>& top) {
  const cv::Mat img = big_input(rgb);
  const double ls = 0.5;
  const int bar_max = 260, row_h = 44;
  int label_w = 0;
  for (const auto& p : top)
    label_w = std::max(label_w, draw::text_size(std::to_string(p.index) + " " + p.label, ls).width);
  label_w = std::min(std::max(label_w - bar_max, 0), 400);  // text wider than the bar spills to the right
  cv::Mat chart(std::max(img.rows, static_cast<int>(top.size()) * row_h + 10), label_w + bar_max + 70, CV_8UC3, kWhite);
  for (size_t i = 0; i < top.size(); ++i) {
    const Prediction& p = top[i];
    const int y = 6 + static_cast<int>(i) * row_h;
    draw::text(chart, draw::fit_text(std::to_string(p.index) + " " + p.label, label_w + bar_max, ls), 4, y, ls);
    const int w = std::max(1, static_cast<int>(std::lround(p.probability * bar_max)));
    const int by = y + draw::text_size("Ag", ls).height + 6;
    cv::rectangle(chart, cv::Rect(4, by, w, 14), i == 0 ? cv::Scalar(84, 140, 33) : cv::Scalar(140, 104, 59),
                  cv::FILLED);
    cv::rectangle(chart, cv::Rect(4, by, bar_max, 14), {180, 180, 180}, 1);
    draw::text(chart, percent(p.probability), 4 + bar_max + 8, by, ls);
  }
  const cv::Mat body = draw::hstack({img, chart}, 16);
  return framed(body, "Top " + std::to_string(top.size()) + " classes (class index, name, probability)", {}, 0.55);
}

}  // namespace vit
