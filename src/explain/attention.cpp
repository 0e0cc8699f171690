// Attention rollout, position similarity and attention slices; see include/vit/explain/attention.h.
#include "vit/explain/attention.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>

#include "vit/errors.h"

namespace vit {

void check_trace(const AttentionTrace& t) {
  const size_t T = static_cast<size_t>(t.tokens);
  const size_t N = static_cast<size_t>(t.grid) * t.grid;
  if (t.tokens != t.prefix + t.grid * t.grid || t.prefix != t.class_tokens + t.dist_tokens + t.registers ||
      t.attention.size() != static_cast<size_t>(t.layers) * t.heads * T * T || t.readout_weights.size() != T ||
      t.pos_prefix < 0 || t.pos_prefix > t.prefix || t.pos_embed.size() != (t.pos_prefix + N) * t.dim)
    throw Error("explain: inconsistent attention trace: " + std::to_string(t.layers) + " layers, " +
                std::to_string(t.heads) + " heads, " + std::to_string(t.tokens) + " tokens (prefix " +
                std::to_string(t.prefix) + ", grid " + std::to_string(t.grid) + "), " +
                std::to_string(t.attention.size()) + " attention values, " + std::to_string(t.pos_embed.size()) +
                " position values for D=" + std::to_string(t.dim));
}

std::string reader_name(const AttentionTrace& t) { return t.readout.empty() ? "the class token" : t.readout; }

std::string token_legend(const AttentionTrace& t) {
  std::vector<std::string> parts;
  int next = 0;
  const auto range = [&](int count, const std::string& one, const std::string& many) {
    if (count <= 0) return;
    parts.push_back(count == 1
                        ? "token " + std::to_string(next) + " = " + one
                        : "tokens " + std::to_string(next) + "-" + std::to_string(next + count - 1) + " = " + many);
    next += count;
  };
  range(t.class_tokens, "class token", "class tokens");
  range(t.dist_tokens, "distillation token", "distillation tokens");
  range(t.registers, "register", "registers");
  // Patches are numbered from 1: patch n is token n - 1 + prefix.
  const std::string patch_token = next == 0 ? "n-1" : next == 1 ? "n" : "n+" + std::to_string(next - 1);
  parts.push_back("token " + patch_token + " = patch n");
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  out[0] = static_cast<char>(std::toupper(out[0]));
  return out;
}

const Vocabulary<HeadFusion>& head_fusion_names() {
  static const Vocabulary<HeadFusion> names{
      {"mean", HeadFusion::Mean}, {"max", HeadFusion::Max}, {"min", HeadFusion::Min}};
  return names;
}

const char* head_fusion_name(HeadFusion f) { return name_of(head_fusion_names(), f); }

const Vocabulary<HeadScale>& head_scale_names() {
  static const Vocabulary<HeadScale> names{{"panel", HeadScale::Panel}, {"shared", HeadScale::Shared}};
  return names;
}

std::vector<bool> high_norm_patches(const AttentionTrace& t) {
  const size_t N = static_cast<size_t>(t.grid) * t.grid;
  std::vector<bool> out(N, false);
  if (t.token_norms.size() != N + static_cast<size_t>(t.prefix)) return out;
  std::vector<float> norms(t.token_norms.begin() + t.prefix, t.token_norms.end());
  std::nth_element(norms.begin(), norms.begin() + static_cast<std::ptrdiff_t>(N / 2), norms.end());
  const float median = norms[N / 2];
  for (size_t i = 0; i < N; ++i) out[i] = t.token_norms[static_cast<size_t>(t.prefix) + i] > 2 * median;
  return out;
}

float panel_scale(const float* row, size_t n, const std::vector<bool>& excluded) {
  float hi = 0, all = 0;
  for (size_t i = 0; i < n; ++i) {
    all = std::max(all, row[i]);
    if (i >= excluded.size() || !excluded[i]) hi = std::max(hi, row[i]);
  }
  return std::max(hi > 0 ? hi : all, 1e-6f);
}

namespace {

// One layer's rollout matrix (T, T): its heads fused, the lowest `discard` entries zeroed
// (never the class token's attention to itself), averaged with the identity, rows summing to 1.
std::vector<double> rollout_layer(const float* a, size_t T, int heads, HeadFusion fusion, size_t discard,
                                  bool class_token) {
  const size_t TT = T * T;
  std::vector<float> fused(TT);
  for (size_t i = 0; i < TT; ++i) {
    double sum = 0;
    float mx = a[i], mn = a[i];
    for (int h = 0; h < heads; ++h) {
      const float v = a[static_cast<size_t>(h) * TT + i];
      sum += v;
      mx = std::max(mx, v);
      mn = std::min(mn, v);
    }
    fused[i] = fusion == HeadFusion::Mean ? static_cast<float>(sum / heads) : fusion == HeadFusion::Max ? mx : mn;
  }
  if (discard > 0) {
    std::vector<size_t> order(TT);
    std::iota(order.begin(), order.end(), size_t{0});
    std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(discard - 1), order.end(),
                     [&](size_t x, size_t y) { return fused[x] < fused[y] || (fused[x] == fused[y] && x < y); });
    for (size_t k = 0; k < discard; ++k)
      if (order[k] != 0 || !class_token) fused[order[k]] = 0;  // the class token's attention to itself stays
  }
  std::vector<double> m(TT);
  for (size_t i = 0; i < T; ++i) {
    double row = 0;
    for (size_t j = 0; j < T; ++j) {
      const float v = (fused[i * T + j] + (i == j ? 1.0f : 0.0f)) / 2;
      m[i * T + j] = v;
      row += v;
    }
    for (size_t j = 0; j < T; ++j) m[i * T + j] /= row;
  }
  return m;
}

}  // namespace

std::vector<float> attention_rollout(const AttentionTrace& t, HeadFusion fusion, double discard_ratio) {
  check_trace(t);
  if (!(discard_ratio >= 0 && discard_ratio < 1))
    throw UsageError("--discard-ratio must be in [0, 1), got " + std::to_string(discard_ratio));
  const size_t T = static_cast<size_t>(t.tokens), TT = T * T;
  const size_t discard = static_cast<size_t>(static_cast<double>(TT) * discard_ratio);  // Python's int(n * ratio)
  // The product A_L ... A_1 is only needed in the row the head reads: v = rᵀ A_L ... A_1 with r
  // the readout weights (e_0 for the class token), built from the last layer down.
  std::vector<double> v(t.readout_weights.begin(), t.readout_weights.end()), next(T);
  for (int l = t.layers - 1; l >= 0; --l) {
    const auto m = rollout_layer(t.attention.data() + static_cast<size_t>(l) * t.heads * TT, T, t.heads, fusion,
                                 discard, t.class_tokens > 0);
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
  const float* p = t.pos_embed.data() + static_cast<size_t>(t.pos_prefix) * D;  // (N, D)
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
      out[static_cast<size_t>(i) * N + j] =
          static_cast<float>(s / (norm[static_cast<size_t>(i)] * norm[static_cast<size_t>(j)]));
    }
  return out;
}

std::vector<float> readout_attention(const AttentionTrace& t, int layer) {
  check_trace(t);
  if (layer < 0 || layer >= t.layers)
    throw UsageError("layer " + std::to_string(layer) + " out of range: the model has " + std::to_string(t.layers) +
                     " blocks");
  const size_t T = static_cast<size_t>(t.tokens), N = T - static_cast<size_t>(t.prefix);
  std::vector<float> out(static_cast<size_t>(t.heads) * N, 0.0f);
  for (int h = 0; h < t.heads; ++h) {
    const float* a = t.attention.data() + (static_cast<size_t>(layer) * t.heads + h) * T * T;
    for (size_t q = 0; q < T; ++q) {  // the queries the head reads, weighted as it reads them
      const float w = t.readout_weights[q];
      if (w == 0) continue;
      for (size_t n = 0; n < N; ++n) out[h * N + n] += w * a[q * T + t.prefix + n];
    }
  }
  return out;  // (heads, N)
}

std::vector<float> attention_matrix(const AttentionTrace& t, int layer, int head) {
  check_trace(t);
  if (layer < 0 || layer >= t.layers || head < 0 || head >= t.heads)
    throw UsageError("layer " + std::to_string(layer) + ", head " + std::to_string(head) +
                     " out of range: the model has " + std::to_string(t.layers) + " blocks of " +
                     std::to_string(t.heads) + " heads");
  const size_t T = static_cast<size_t>(t.tokens);
  const float* m = t.attention.data() + (static_cast<size_t>(layer) * t.heads + head) * T * T;
  return std::vector<float>(m, m + T * T);
}

}  // namespace vit
