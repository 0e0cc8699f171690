// `explain`: attention rollout, position-embedding similarity, the pictures and the output
// folder; see include/vit/explain.h.
#include "vit/explain.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "vit/draw.h"

namespace vit {

namespace {

const cv::Scalar kWhite{255, 255, 255};
constexpr int kPanel = 224;  // smallest side of a picture of the image

std::string percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * p);
  return buf;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

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
cv::Mat grid_mat(const float* v, int rows, int cols) { return cv::Mat(rows, cols, CV_32F, const_cast<float*>(v)).clone(); }

void check_trace(const AttentionTrace& t) {
  const size_t T = static_cast<size_t>(t.tokens);
  if (t.tokens != t.prefix + t.grid * t.grid || t.attention.size() != static_cast<size_t>(t.layers) * t.heads * T * T ||
      t.pos_embed.size() != T * static_cast<size_t>(t.dim))
    throw Error("explain: inconsistent attention trace: " + std::to_string(t.layers) + " layers, " + std::to_string(t.heads) +
                " heads, " + std::to_string(t.tokens) + " tokens (prefix " + std::to_string(t.prefix) + ", grid " +
                std::to_string(t.grid) + "), " + std::to_string(t.attention.size()) + " attention values, " +
                std::to_string(t.pos_embed.size()) + " position values for D=" + std::to_string(t.dim));
}

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

void make_dirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    const std::string part = dir.substr(0, pos);
    if (::mkdir(part.c_str(), 0777) != 0 && errno != EEXIST)
      throw OutputError("cannot create folder '" + part + "': " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw OutputError("cannot write into '" + dir + "': it exists and is not a folder");
}

std::string png_bytes(const cv::Mat& bgr) {
  std::vector<uchar> buf;
  if (!cv::imencode(".png", bgr, buf)) throw OutputError("cannot encode a PNG picture");
  return std::string(buf.begin(), buf.end());
}

std::string html_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

std::string layer_file(int layer1, const std::string& what) { return "attention/layer" + std::to_string(layer1) + what; }

}  // namespace

HeadFusion parse_head_fusion(const std::string& s) {
  if (s == "mean") return HeadFusion::Mean;
  if (s == "max") return HeadFusion::Max;
  if (s == "min") return HeadFusion::Min;
  throw UsageError("--head-fusion: expected mean, max or min, got '" + s + "'");
}

const char* head_fusion_name(HeadFusion f) {
  switch (f) {
    case HeadFusion::Mean: return "mean";
    case HeadFusion::Max: return "max";
    case HeadFusion::Min: return "min";
  }
  return "?";
}

std::vector<float> attention_rollout(const AttentionTrace& t, HeadFusion fusion, double discard_ratio) {
  check_trace(t);
  if (!(discard_ratio >= 0 && discard_ratio < 1))
    throw UsageError("--discard-ratio must be in [0, 1), got " + std::to_string(discard_ratio));
  const size_t T = static_cast<size_t>(t.tokens), TT = T * T;
  const size_t discard = static_cast<size_t>(static_cast<double>(TT) * discard_ratio);  // Python's int(n * ratio)
  // The product A_L ... A_1 is only needed in its first row: v = e_0ᵀ A_L ... A_1, built from
  // the last layer down.
  std::vector<std::vector<double>> layers(static_cast<size_t>(t.layers));
  std::vector<float> fused(TT);
  std::vector<size_t> order(TT);
  for (int l = 0; l < t.layers; ++l) {
    const float* a = t.attention.data() + static_cast<size_t>(l) * t.heads * TT;  // (heads, T, T)
    for (size_t i = 0; i < TT; ++i) {
      double sum = 0;
      float mx = a[i], mn = a[i];
      for (int h = 0; h < t.heads; ++h) {
        const float v = a[static_cast<size_t>(h) * TT + i];
        sum += v;
        mx = std::max(mx, v);
        mn = std::min(mn, v);
      }
      fused[i] = fusion == HeadFusion::Mean ? static_cast<float>(sum / t.heads) : fusion == HeadFusion::Max ? mx : mn;
    }
    if (discard > 0) {
      std::iota(order.begin(), order.end(), size_t{0});
      std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(discard - 1), order.end(),
                       [&](size_t x, size_t y) { return fused[x] < fused[y] || (fused[x] == fused[y] && x < y); });
      for (size_t k = 0; k < discard; ++k)
        if (order[k] != 0) fused[order[k]] = 0;  // the class token's attention to itself stays
    }
    auto& m = layers[static_cast<size_t>(l)];  // (T, T): (fused + I) / 2, rows summing to one
    m.resize(TT);
    for (size_t i = 0; i < T; ++i) {
      double row = 0;
      for (size_t j = 0; j < T; ++j) {
        const float v = (fused[i * T + j] + (i == j ? 1.0f : 0.0f)) / 2;
        m[i * T + j] = v;
        row += v;
      }
      for (size_t j = 0; j < T; ++j) m[i * T + j] /= row;
    }
  }
  std::vector<double> v(T, 0.0), next(T);
  v[0] = 1;
  for (int l = t.layers - 1; l >= 0; --l) {
    const auto& m = layers[static_cast<size_t>(l)];
    std::fill(next.begin(), next.end(), 0.0);
    for (size_t i = 0; i < T; ++i)
      if (v[i] != 0)
        for (size_t j = 0; j < T; ++j) next[j] += v[i] * m[i * T + j];
    v.swap(next);
  }
  const auto first = v.begin() + t.prefix;
  const double peak = *std::max_element(first, v.end());
  std::vector<float> out;
  out.reserve(T - static_cast<size_t>(t.prefix));
  for (auto it = first; it != v.end(); ++it) out.push_back(static_cast<float>(peak > 0 ? *it / peak : 0.0));
  return out;  // (grid, grid)
}

std::vector<float> position_similarity(const AttentionTrace& t) {
  check_trace(t);
  const int N = t.grid * t.grid, D = t.dim;
  const float* p = t.pos_embed.data() + static_cast<size_t>(t.prefix) * D;  // (N, D)
  std::vector<double> norm(static_cast<size_t>(N));
  for (int i = 0; i < N; ++i) {
    double s = 0;
    for (int d = 0; d < D; ++d) s += double(p[i * D + d]) * p[i * D + d];
    norm[static_cast<size_t>(i)] = std::max(std::sqrt(s), 1e-8);
  }
  std::vector<float> out(static_cast<size_t>(N) * N);
  for (int i = 0; i < N; ++i)
    for (int j = 0; j < N; ++j) {
      double s = 0;
      for (int d = 0; d < D; ++d) s += double(p[i * D + d]) * p[j * D + d];
      out[static_cast<size_t>(i) * N + j] = static_cast<float>(s / (norm[static_cast<size_t>(i)] * norm[static_cast<size_t>(j)]));
    }
  return out;
}

std::vector<float> cls_attention(const AttentionTrace& t, int layer) {
  check_trace(t);
  if (layer < 0 || layer >= t.layers)
    throw UsageError("layer " + std::to_string(layer) + " out of range: the model has " + std::to_string(t.layers) + " blocks");
  const size_t T = static_cast<size_t>(t.tokens), N = T - static_cast<size_t>(t.prefix);
  std::vector<float> out;
  out.reserve(static_cast<size_t>(t.heads) * N);
  for (int h = 0; h < t.heads; ++h) {
    const float* row = t.attention.data() + (static_cast<size_t>(layer) * t.heads + h) * T * T;  // query 0
    out.insert(out.end(), row + t.prefix, row + T);
  }
  return out;  // (heads, N)
}

std::vector<float> attention_matrix(const AttentionTrace& t, int layer, int head) {
  check_trace(t);
  if (layer < 0 || layer >= t.layers || head < 0 || head >= t.heads)
    throw UsageError("layer " + std::to_string(layer) + ", head " + std::to_string(head) + " out of range: the model has " +
                     std::to_string(t.layers) + " blocks of " + std::to_string(t.heads) + " heads");
  const size_t T = static_cast<size_t>(t.tokens);
  const float* m = t.attention.data() + (static_cast<size_t>(layer) * t.heads + head) * T * T;
  return std::vector<float>(m, m + T * T);
}

// ---- pictures -------------------------------------------------------------------------------

Figure draw_input(const cv::Mat& rgb, const std::string& preprocess) {
  const cv::Mat img = big_input(rgb);
  std::string title = "What the model sees: " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " px after resize and crop";
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
    throw UsageError("explain: a " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " input cannot be cut into " +
                     std::to_string(patch) + "-pixel patches");
  const cv::Mat bgr = to_bgr(rgb);
  const int gw = rgb.cols / patch, gh = rgb.rows / patch;
  const int scale = draw::scale_for(patch, std::max(32, 448 / std::max(gw, 1)));
  const int tile = patch * scale, gap = std::max(3, tile / 10);
  const double ls = 0.4;
  const int left = draw::text_size(std::to_string(gh), ls).width + 12, top = draw::text_size("0", ls).height + 12;
  cv::Mat canvas(top + gh * (tile + gap), left + gw * (tile + gap), CV_8UC3, kWhite);
  Figure f;
  for (int r = 0; r < gh; ++r)
    for (int c = 0; c < gw; ++c) {
      const cv::Rect at(left + c * (tile + gap), top + r * (tile + gap), tile, tile);
      draw::upscale(bgr(cv::Rect(c * patch, r * patch, patch, patch)), scale).copyTo(canvas(at));
      f.panels.push_back(at);
    }
  for (int c = 0; c < gw; ++c) {
    const std::string s = std::to_string(c + 1);
    draw::text(canvas, s, left + c * (tile + gap) + (tile - draw::text_size(s, ls).width) / 2, 4, ls);
  }
  for (int r = 0; r < gh; ++r) {
    const std::string s = std::to_string(r + 1);
    const cv::Size sz = draw::text_size(s, ls);
    draw::text(canvas, s, left - 6 - sz.width, top + r * (tile + gap) + (tile - sz.height) / 2, ls);
  }
  const std::string title = "The input cut into " + std::to_string(gh) + "x" + std::to_string(gw) + " = " +
                            std::to_string(gh * gw) + " patches of " + std::to_string(patch) + "x" + std::to_string(patch) +
                            " px (rows and columns numbered)\nThe model reads them in this order: patch n = (row - 1) x " +
                            std::to_string(gw) + " + column, its token n after the class token";
  const cv::Mat out = draw::pad(draw::titled(canvas, title, 0.5), 8);
  const int dx = 8 + (out.cols - 16 - canvas.cols) / 2, dy = out.rows - 8 - canvas.rows;
  for (auto& r : f.panels) r += cv::Point(dx, dy);
  f.bgr = out;
  return f;
}

Figure draw_position_similarity(const std::vector<float>& sim, int grid) {
  const int N = grid * grid;
  if (grid <= 0 || sim.size() != static_cast<size_t>(N) * N)
    throw Error("draw_position_similarity: " + std::to_string(sim.size()) + " values for a " + std::to_string(grid) + "x" +
                std::to_string(grid) + " grid");
  const int scale = draw::scale_for(grid, std::max(56, 400 / grid));  // maps of 56 px or more
  const int cell = grid * scale, gap = std::max(3, cell / 12);
  const double ls = 0.4;
  const int left = draw::text_size(std::to_string(grid), ls).width + 12, top = draw::text_size("0", ls).height + 12;
  cv::Mat canvas(top + grid * (cell + gap), left + grid * (cell + gap), CV_8UC3, kWhite);
  Figure f;
  for (int r = 0; r < grid; ++r)
    for (int c = 0; c < grid; ++c) {
      const int i = r * grid + c;
      const cv::Rect at(left + c * (cell + gap), top + r * (cell + gap), cell, cell);
      draw::upscale(draw::colorize(grid_mat(sim.data() + static_cast<size_t>(i) * N, grid, grid), -1, 1), scale).copyTo(canvas(at));
      f.panels.push_back(at);
    }
  for (int c = 0; c < grid; ++c) {
    const std::string s = std::to_string(c + 1);
    draw::text(canvas, s, left + c * (cell + gap) + (cell - draw::text_size(s, ls).width) / 2, 4, ls);
  }
  for (int r = 0; r < grid; ++r) {
    const std::string s = std::to_string(r + 1);
    const cv::Size sz = draw::text_size(s, ls);
    draw::text(canvas, s, left - 6 - sz.width, top + r * (cell + gap) + (cell - sz.height) / 2, ls);
  }
  const cv::Mat bar = draw::colour_bar(canvas.rows - top, -1, 1, "cosine similarity");
  cv::Mat body = draw::hstack({canvas, bar}, 12);
  const std::string title =
      "Position embeddings: cosine similarity between patches\nThe small map at row r, column c compares patch (r, c) "
      "with every patch (brightest: itself);\nsimilarity that follows rows, columns and distance means the model learned the 2-D layout";
  Figure out;
  out.bgr = draw::pad(draw::titled(body, title, 0.5), 8);
  const int dx = 8 + (out.bgr.cols - 16 - body.cols) / 2, dy = out.bgr.rows - 8 - body.rows;
  for (auto r : f.panels) out.panels.push_back(r + cv::Point(dx, dy));
  return out;
}

Figure draw_head_attention(const cv::Mat& rgb, const std::vector<float>& cls, int heads, int grid, int layer1) {
  const int N = grid * grid;
  if (heads <= 0 || cls.size() != static_cast<size_t>(heads) * N)
    throw Error("draw_head_attention: " + std::to_string(cls.size()) + " values for " + std::to_string(heads) + " heads of " +
                std::to_string(N) + " patches");
  const cv::Mat img = big_input(rgb);
  const float hi = std::max(*std::max_element(cls.begin(), cls.end()), 1e-6f);
  std::vector<cv::Mat> panels;
  for (int h = 0; h < heads; ++h) {
    const float* row = cls.data() + static_cast<size_t>(h) * N;
    const double on_patches = std::accumulate(row, row + N, 0.0);
    const cv::Mat heat = grid_mat(row, grid, grid);
    panels.push_back(draw::titled(draw::overlay(img, heat, 0, hi, 0.6f),
                                  "head " + std::to_string(h + 1) + ": " + percent(on_patches) + " on patches", 0.5));
  }
  const int per_row = heads <= 4 ? heads : (heads + 1) / 2 <= 6 ? (heads + 1) / 2 : 6;
  std::vector<cv::Mat> rows;
  for (int h = 0; h < heads; h += per_row)
    rows.push_back(draw::hstack(std::vector<cv::Mat>(panels.begin() + h, panels.begin() + std::min(heads, h + per_row)), 10));
  const cv::Mat grid_img = draw::vstack(rows, 10);
  const cv::Mat bar = draw::colour_bar(grid_img.rows, 0, hi, "attention weight");
  const cv::Mat body = draw::hstack({grid_img, bar}, 12);
  const std::string title = "Layer " + std::to_string(layer1) + ": where the class token looks, one panel per head\n" +
                            "Colour = attention weight from the class token to each patch (the rest goes to the class token itself)\n" +
                            "Bright corners or plain background: tokens ViT uses as scratch space (Darcet et al. 2023), not the object";
  Figure f;
  f.bgr = draw::pad(draw::titled(body, title, 0.5), 8);
  return f;
}

Figure draw_attention_matrix(const std::vector<float>& m, int tokens, int prefix, int grid, int layer1, int head1) {
  if (tokens <= 0 || m.size() != static_cast<size_t>(tokens) * tokens)
    throw Error("draw_attention_matrix: " + std::to_string(m.size()) + " values for " + std::to_string(tokens) + " tokens");
  const int scale = draw::scale_for(tokens, 400);
  const float hi = std::max(*std::max_element(m.begin(), m.end()), 1e-6f);
  const cv::Mat heat = draw::upscale(draw::colorize(grid_mat(m.data(), tokens, tokens), 0, hi), scale);
  const double ls = 0.4;
  // Ticks: token 0 (class token) and the first patch of every row of patches.
  std::vector<int> ticks{0};
  const int step = grid > 10 ? 2 : 1;
  for (int r = step; r < grid; r += step) ticks.push_back(prefix + r * grid);
  const int lab_w = draw::text_size(std::to_string(tokens), ls).width, lab_h = draw::text_size("0", ls).height;
  const int left = lab_w + 10 + lab_h + 12, top = lab_h + 10 + lab_h + 12;
  cv::Mat canvas(top + heat.rows + 4, left + heat.cols + 4, CV_8UC3, kWhite);
  heat.copyTo(canvas(cv::Rect(left, top, heat.cols, heat.rows)));
  for (int tk : ticks) {
    const int c = tk * scale + scale / 2;
    const std::string s = std::to_string(tk);
    cv::line(canvas, {left + c, top - 4}, {left + c, top - 1}, {0, 0, 0});
    cv::line(canvas, {left - 4, top + c}, {left - 1, top + c}, {0, 0, 0});
    const cv::Size sz = draw::text_size(s, ls);
    draw::text(canvas, s, left + c - sz.width / 2, top - 6 - sz.height, ls);
    draw::text(canvas, s, left - 6 - sz.width, top + c - sz.height / 2, ls);
  }
  draw::text(canvas, "key token (attended to) ->", left, 2, ls);
  cv::Mat strip(lab_h + 6, std::max(1, draw::text_size("query token (looks)", ls).width + 4), CV_8UC3, kWhite);
  draw::text(strip, "query token (looks)", 2, 2, ls);
  cv::Mat rotated;
  cv::rotate(strip, rotated, cv::ROTATE_90_CLOCKWISE);
  if (rotated.rows <= canvas.rows - top) rotated.copyTo(canvas(cv::Rect(0, top, rotated.cols, rotated.rows)));
  const cv::Mat bar = draw::colour_bar(heat.rows + top, 0, hi, "attention weight");
  const cv::Mat body = draw::hstack({canvas, bar}, 12);
  const std::string tok0 = prefix == 2 ? "Tokens 0, 1 = class and distillation tokens, token n+1 = patch n"
                                        : "Token 0 = class token, token n = patch n";
  const std::string title = "Layer " + std::to_string(layer1) + ", head " + std::to_string(head1) + ": full attention matrix (" +
                            std::to_string(tokens) + "x" + std::to_string(tokens) + ")\nRow = the token that looks, column = " +
                            "the token it looks at; each row sums to 1\n" + tok0 + " (patches in reading order, see patches.png)";
  Figure f;
  f.bgr = draw::pad(draw::titled(body, title, 0.5), 8);
  return f;
}

Figure draw_rollout(const cv::Mat& rgb, const std::vector<float>& rollout, int grid, HeadFusion fusion, double discard_ratio,
                    int layers) {
  if (rollout.size() != static_cast<size_t>(grid) * grid)
    throw Error("draw_rollout: " + std::to_string(rollout.size()) + " values for a " + std::to_string(grid) + "x" + std::to_string(grid) + " grid");
  cv::Mat img = to_bgr(rgb);
  img = draw::upscale(img, draw::scale_for(rgb.cols, 336));
  const cv::Mat heat = grid_mat(rollout.data(), grid, grid);
  const cv::Mat photo = draw::titled(img, "input", 0.5);
  const cv::Mat over = draw::titled(draw::overlay(img, heat, 0, 1, 0.6f), "rollout over the input", 0.5);
  const cv::Mat bar = draw::colour_bar(over.rows, 0, 1, "share of the largest value");
  const cv::Mat body = draw::hstack({photo, over, bar}, 12);
  const std::string title =
      "Attention rollout: how much each patch reaches the class token through all " + std::to_string(layers) +
      " layers\nHeads fused by " + head_fusion_name(fusion) + ", lowest " + fmt("%.0f", discard_ratio * 100) +
      "% of weights discarded; 1 = the patch that contributes most\n" +
      "Bright corners or plain background: tokens ViT uses as scratch space (Darcet et al. 2023), not the object";
  Figure f;
  f.bgr = draw::pad(draw::titled(body, title, 0.5), 8);
  return f;
}

Figure draw_result(const cv::Mat& rgb, const std::vector<Prediction>& top) {
  const cv::Mat img = big_input(rgb);
  const double ls = 0.5;
  const int bar_max = 260, row_h = 44;
  int label_w = 0;
  for (const auto& p : top) label_w = std::max(label_w, draw::text_size(std::to_string(p.index) + " " + p.label, ls).width);
  label_w = std::min(std::max(label_w - bar_max, 0), 400);  // text wider than the bar spills to the right
  cv::Mat chart(std::max(img.rows, static_cast<int>(top.size()) * row_h + 10), label_w + bar_max + 70, CV_8UC3, kWhite);
  for (size_t i = 0; i < top.size(); ++i) {
    const Prediction& p = top[i];
    const int y = 6 + static_cast<int>(i) * row_h;
    draw::text(chart, draw::fit_text(std::to_string(p.index) + " " + p.label, label_w + bar_max, ls), 4, y, ls);
    const int w = std::max(1, static_cast<int>(std::lround(p.probability * bar_max)));
    const int by = y + draw::text_size("Ag", ls).height + 6;
    cv::rectangle(chart, cv::Rect(4, by, w, 14), i == 0 ? cv::Scalar(84, 140, 33) : cv::Scalar(140, 104, 59), cv::FILLED);
    cv::rectangle(chart, cv::Rect(4, by, bar_max, 14), {180, 180, 180}, 1);
    draw::text(chart, percent(p.probability), 4 + bar_max + 8, by, ls);
  }
  const cv::Mat body = draw::hstack({img, chart}, 16);
  Figure f;
  f.bgr = draw::pad(draw::titled(body, "Top " + std::to_string(top.size()) + " classes (class index, name, probability)", 0.55), 8);
  return f;
}

// ---- the folder -----------------------------------------------------------------------------

void write_file_atomic(const std::string& path, const std::string& bytes) {
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const std::string tmp = dir + "/." + base + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw OutputError("cannot write '" + tmp + "': " + std::strerror(errno));
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) {
      const int e = errno;
      std::remove(tmp.c_str());
      throw OutputError("writing '" + tmp + "' failed after " + std::to_string(bytes.size()) + " bytes: " + std::strerror(e) +
                        " (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    std::remove(tmp.c_str());
    throw OutputError("cannot rename '" + tmp + "' to '" + path + "': " + std::strerror(e));
  }
}

std::vector<std::string> explain_files(const ExplainOptions& o, int layers) {
  const int layer1 = (o.layer < 0 ? layers - 1 : o.layer) + 1;
  std::vector<std::string> f{"input.png", "patches.png", "position_embedding.png",
                             layer_file(layer1, "_heads.png"),
                             layer_file(layer1, "_head" + std::to_string(o.head + 1) + "_matrix.png"),
                             "rollout.png", "result.png", "index.html"};
  if (o.json) f.push_back("explain.json");
  return f;
}

void check_explain(const ExplainOptions& o, int layers, int heads) {
  if (o.layer < -1 || o.layer >= layers)
    throw UsageError("--layer " + std::to_string(o.layer + 1) + " is out of range: this model has " + std::to_string(layers) +
                     " layers, numbered 1 to " + std::to_string(layers));
  if (o.head < 0 || o.head >= heads)
    throw UsageError("--head " + std::to_string(o.head + 1) + " is out of range: this model has " + std::to_string(heads) +
                     " heads per layer, numbered 1 to " + std::to_string(heads));
  if (!(o.discard_ratio >= 0 && o.discard_ratio < 1))
    throw UsageError("--discard-ratio must be at least 0 and below 1, got " + std::to_string(o.discard_ratio));
  if (o.out_dir.empty()) throw UsageError("no output folder: pass -o DIR");
  if (o.force) return;
  std::vector<std::string> existing;
  for (const auto& f : explain_files(o, layers))
    if (exists(o.out_dir + "/" + f)) existing.push_back(f);
  if (!existing.empty()) {
    std::string list;
    for (size_t i = 0; i < existing.size() && i < 4; ++i) list += (i ? ", " : "") + existing[i];
    if (existing.size() > 4) list += ", ...";
    throw UsageError("'" + o.out_dir + "' already holds " + std::to_string(existing.size()) + " of the files explain writes (" +
                     list + "); pass --force to replace them, or choose another folder with -o");
  }
}

ExplainResult run_explain(const cv::Mat& rgb, const AttentionTrace& trace, int patch, const Labels& labels,
                          const ExplainOptions& o) {
  check_trace(trace);
  check_explain(o, trace.layers, trace.heads);
  if (rgb.cols != trace.grid * patch || rgb.rows != trace.grid * patch)
    throw UsageError("explain: the input is " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) + " but the model reads " +
                     std::to_string(trace.grid) + "x" + std::to_string(trace.grid) + " patches of " + std::to_string(patch) +
                     " px; use the model's own crop");
  const int layer = o.layer < 0 ? trace.layers - 1 : o.layer;
  const int g = trace.grid;

  // Numbers.
  std::vector<float> probs(trace.logits.size());
  const float mx = *std::max_element(trace.logits.begin(), trace.logits.end());
  double z = 0;
  for (size_t i = 0; i < probs.size(); ++i) z += std::exp(double(trace.logits[i]) - mx);
  for (size_t i = 0; i < probs.size(); ++i) probs[i] = static_cast<float>(std::exp(double(trace.logits[i]) - mx) / z);
  ExplainResult r;
  r.top = top_k(probs.data(), static_cast<int>(probs.size()), o.top_k, labels);
  const auto cls = cls_attention(trace, layer);
  const auto matrix = attention_matrix(trace, layer, o.head);
  const auto rollout = attention_rollout(trace, o.fusion, o.discard_ratio);
  const auto similarity = position_similarity(trace);

  // Pictures, then the files, all in memory before anything is written.
  const auto names = explain_files(o, trace.layers);
  std::vector<std::string> data{
      png_bytes(draw_input(rgb, o.preprocess).bgr),
      png_bytes(draw_patches(rgb, patch).bgr),
      png_bytes(draw_position_similarity(similarity, g).bgr),
      png_bytes(draw_head_attention(rgb, cls, trace.heads, g, layer + 1).bgr),
      png_bytes(draw_attention_matrix(matrix, trace.tokens, trace.prefix, g, layer + 1, o.head + 1).bgr),
      png_bytes(draw_rollout(rgb, rollout, g, o.fusion, o.discard_ratio, trace.layers).bgr),
      png_bytes(draw_result(rgb, r.top).bgr),
  };

  const std::string L = std::to_string(layer + 1), H = std::to_string(o.head + 1), S = std::to_string(rgb.cols);
  const std::vector<std::pair<std::string, std::string>> captions{
      {"The model's input", "The " + S + "x" + S + " picture after resizing and cropping, before normalisation: exactly what the model sees."},
      {"Patches", "The input cut into " + std::to_string(g) + "x" + std::to_string(g) + " patches of " + std::to_string(patch) +
                      " px. Each becomes one token, read row by row after the class token."},
      {"Position embeddings", "Cosine similarity of each patch's learned position embedding with every other patch's. "
                              "Bright spots near each map's own position mean the model learned where patches are."},
      {"Attention per head, layer " + L, "How much the class token (which makes the prediction) attends to each patch in layer " +
                                             L + ", one panel per head, on one shared colour scale."},
      {"Attention matrix, layer " + L + " head " + H, "All " + std::to_string(trace.tokens) + "x" + std::to_string(trace.tokens) +
                                                          " attention weights of that head: row = the token that looks, column = the token it looks at."},
      {"Attention rollout", std::string("Attention combined through all ") + std::to_string(trace.layers) +
                                " layers (heads fused by " + head_fusion_name(o.fusion) + ", identity added for the skip "
                                "connections): which patches the class token's information comes from. Scaled so the top patch is 1. "
                                "Bright corners or plain-background patches are usually not about the object: ViTs store "
                                "global information in a few unimportant tokens (Darcet et al. 2023, Vision Transformers Need Registers)."},
      {"Prediction", "The top " + std::to_string(r.top.size()) + " classes with their probabilities."},
  };
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>vit-classify explain: " +
      html_escape(o.image_name) +
      "</title>\n<style>body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em}"
      "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}figcaption{color:#333;margin-top:.4em}</style>\n"
      "</head>\n<body>\n<h1>What the model looks at</h1>\n<p>Image <code>" +
      html_escape(o.image_name) + "</code>, model <code>" + html_escape(o.model_name) + "</code>";
  if (!r.top.empty())
    html += ": <b>" + html_escape(std::to_string(r.top[0].index) + " " + r.top[0].label) + "</b> (" + percent(r.top[0].probability) + ")";
  html += ".</p>\n";
  for (size_t i = 0; i < captions.size(); ++i)
    html += "<figure>\n<h2>" + html_escape(captions[i].first) + "</h2>\n<img src=\"" + names[i] + "\" alt=\"" +
            html_escape(captions[i].first) + "\">\n<figcaption>" + html_escape(captions[i].second) + "</figcaption>\n</figure>\n";
  html += std::string("<p id=\"images-loaded\">pictures: not checked</p>\n") +
          "<script>\nwindow.addEventListener('load', function () {\n"
          "  var imgs = document.images, ok = 0;\n"
          "  for (var i = 0; i < imgs.length; ++i) if (imgs[i].complete && imgs[i].naturalWidth > 0) ++ok;\n"
          "  document.getElementById('images-loaded').textContent = 'pictures: ' + ok + ' of ' + imgs.length + ' loaded';\n"
          "});\n</script>\n</body>\n</html>\n";
  data.push_back(html);

  if (o.json) {
    nlohmann::json j;
    j["image"] = o.image_name;
    j["model"] = o.model_name;
    j["image_size"] = rgb.cols;
    j["patch_size"] = patch;
    j["grid"] = g;
    j["layers"] = trace.layers;
    j["heads"] = trace.heads;
    j["prefix_tokens"] = trace.prefix;
    for (const auto& p : r.top) j["predictions"].push_back({{"index", p.index}, {"label", p.label}, {"probability", p.probability}});
    j["layer"] = layer + 1;
    const size_t N = static_cast<size_t>(g) * g;
    for (int h = 0; h < trace.heads; ++h)
      j["cls_attention"].push_back(std::vector<float>(cls.begin() + static_cast<std::ptrdiff_t>(h * N),
                                                      cls.begin() + static_cast<std::ptrdiff_t>((h + 1) * N)));
    j["rollout"] = {{"head_fusion", head_fusion_name(o.fusion)}, {"discard_ratio", o.discard_ratio}, {"grid", nlohmann::json::array()}};
    for (int rr = 0; rr < g; ++rr)
      j["rollout"]["grid"].push_back(std::vector<float>(rollout.begin() + rr * g, rollout.begin() + (rr + 1) * g));
    for (size_t i = 0; i < N; ++i)
      j["position_similarity"].push_back(std::vector<float>(similarity.begin() + static_cast<std::ptrdiff_t>(i * N),
                                                            similarity.begin() + static_cast<std::ptrdiff_t>((i + 1) * N)));
    j["notes"] = "layer and heads are numbered from 1; cls_attention[h][n] is head h+1's attention from the class token to "
                 "patch n+1 (reading order); rollout grid is [row][column], divided by its maximum; position_similarity is (N, N)";
    data.push_back(j.dump() + "\n");
  }

  make_dirs(o.out_dir);
  make_dirs(o.out_dir + "/attention");
  for (size_t i = 0; i < names.size(); ++i) {
    write_file_atomic(o.out_dir + "/" + names[i], data[i]);
    spdlog::info("wrote {}/{}", o.out_dir, names[i]);
  }
  r.files = names;
  return r;
}

}  // namespace vit
