// Encoder parts; see include/vit/model/layers.h.
#include "vit/model/layers.h"

#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

#include "vit/errors.h"
#include "vit/model/parallel.h"

namespace vit {

torch::nn::LayerNorm layer_norm(int64_t width, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(eps));
}

Linear linear(int64_t in, int64_t out, bool bias) { return Linear(in, out, bias); }

torch::Tensor attention_weights(const torch::Tensor& q, const torch::Tensor& k) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  return torch::matmul(q * scale, k.transpose(-2, -1)).softmax(-1);
}

torch::Tensor attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, torch::Tensor* attn_out) {
  if (attn_out || q.dim() != 4 || !q.device().is_cpu()) {
    auto attn = attention_weights(q, k);
    if (attn_out) *attn_out = attn;
    return torch::matmul(attn, v);
  }
  // On the CPU, one (batch, head) per task: the same products and softmax as above, each head's
  // weights (T x T) made, used and dropped while in cache, and BLAS called single-threaded per
  // head instead of splitting each small product between threads (4x fewer cycles on ViT-B).
  const int64_t B = q.size(0), H = q.size(1);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  auto out = torch::empty({B, H, q.size(2), v.size(3)}, v.options());
  parallel_rows(0, B * H, 1, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / H, h = i % H;
      const auto w = torch::matmul(q[b][h] * scale, k[b][h].transpose(0, 1)).softmax(-1);
      auto o = out[b][h];
      at::mm_out(o, w, v[b][h]);
    }
  });
  return out;
}

torch::Tensor activate(const torch::Tensor& x, Activation act) {
  switch (act) {
    case Activation::Gelu: return torch::gelu(x);
    case Activation::GeluTanh: return torch::gelu(x, "tanh");
    case Activation::QuickGelu: return x * torch::sigmoid(1.702 * x);
    case Activation::SwiGlu: {
      const auto halves = x.chunk(2, -1);
      return torch::silu(halves[0]) * halves[1];
    }
  }
  return x;
}

RmsNormImpl::RmsNormImpl(int64_t width, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({width}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) const {
  return x * torch::rsqrt(x.pow(2).mean(-1, true) + eps) * weight;
}

DiffAttentionParts::DiffAttentionParts(torch::nn::Module& owner, const ViTConfig& cfg, int64_t block) {
  const int64_t half = cfg.head_dim() / 2;
  lambda_init = 0.8 - 0.6 * std::exp(-0.3 * static_cast<double>(block));
  if (cfg.diff_dual_lambda) {
    lambda_a = owner.register_parameter("lambda_a", torch::zeros({}));
    lambda_b = owner.register_parameter("lambda_b", torch::zeros({}));
  } else {
    lambda_q1 = owner.register_parameter("lambda_q1", torch::zeros({half}));
    lambda_k1 = owner.register_parameter("lambda_k1", torch::zeros({half}));
    lambda_q2 = owner.register_parameter("lambda_q2", torch::zeros({half}));
    lambda_k2 = owner.register_parameter("lambda_k2", torch::zeros({half}));
  }
  sub_norm = owner.register_module("sub_norm", RmsNorm(2 * half, 1e-5));
}

torch::Tensor DiffAttentionParts::attend(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                         torch::Tensor* attn_out) const {
  const int64_t B = v.size(0), h = v.size(1), T = v.size(2);
  const auto lambda = lambda_a.defined() ? torch::exp(lambda_a) - torch::exp(lambda_b) + lambda_init
                                         : torch::exp((lambda_q1 * lambda_k1).sum(-1)) -
                                               torch::exp((lambda_q2 * lambda_k2).sum(-1)) + lambda_init;
  auto maps = attention_weights(q, k).view({B, h, 2, T, T});
  auto attn = maps.select(2, 0) - lambda * maps.select(2, 1);  // (B, h, T, T)
  if (attn_out) {
    auto positive = attn.clamp_min(0);
    *attn_out = positive / positive.sum(-1, true).clamp_min(1e-12);
  }
  return sub_norm->forward(torch::matmul(attn, v)) * (1 - lambda_init);  // (B, h, T, hd)
}

torch::Tensor attend_rows(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const torch::Tensor& bias) {
  const int64_t B = v.size(0), T = v.size(1), H = v.size(2), hd = v.size(3);
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  auto out = torch::empty({B, T, H * hd}, v.options());
  const float *qp = q.data_ptr<float>(), *kp = k.data_ptr<float>(), *vp = v.data_ptr<float>();
  const float* bp = bias.defined() ? bias.data_ptr<float>() : nullptr;
  float* o = out.data_ptr<float>();
  std::atomic<bool> failed{false};
  parallel_rows(0, B * H, 1, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> buffer;
    buffer.resize(static_cast<size_t>(T * T));
    auto weights = torch::from_blob(buffer.data(), {T, T});
    for (int64_t i = begin; i < end; ++i) {
      const int64_t b = i / H, h = i % H;
      if (bp) std::copy(bp + h * T * T, bp + (h + 1) * T * T, buffer.begin());  // the product is added to it
      if (dnnl_sgemm('N', 'T', T, T, hd, scale, qp + b * q.stride(0) + h * q.stride(2), q.stride(1),
                     kp + b * k.stride(0) + h * k.stride(2), k.stride(1), bp ? 1.0f : 0.0f, buffer.data(),
                     T) != dnnl_success)
        failed = true;
      at::_softmax_out(weights, weights, -1, false);
      if (dnnl_sgemm('N', 'N', T, hd, T, 1.0f, buffer.data(), T, vp + b * v.stride(0) + h * v.stride(2), v.stride(1),
                     0.0f, o + (b * T * H + h) * hd, H * hd) != dnnl_success)
        failed = true;
    }
  });
  if (failed) throw ModelError("attention: oneDNN's sgemm failed");
  return out;
}

namespace {

// Multi-head self-attention from the q, k, v projections (B, T, D), shared by Attention and
// ParallelBlock: split into heads (differential attention: q and k as 2h half-width heads),
// q/k LayerNorms when the model has them, plain or differential attention, heads merged back
// into (B, T, D).
torch::Tensor self_attention(const torch::Tensor& q_in, const torch::Tensor& k_in, const torch::Tensor& v_in,
                             int64_t heads, torch::nn::LayerNorm& q_norm, torch::nn::LayerNorm& k_norm,
                             const DiffAttentionParts& diff, torch::Tensor* attn_out) {
  const int64_t B = v_in.size(0), T = v_in.size(1);
  const int64_t qk_heads = diff.sub_norm ? 2 * heads : heads;
  if (!diff.sub_norm && !attn_out && v_in.device().is_cpu() && v_in.scalar_type() == torch::kFloat32 &&
      q_in.scalar_type() == torch::kFloat32 && k_in.scalar_type() == torch::kFloat32) {
    // Heads split by views of the rows, no transpose; q/k LayerNorms act on each head's values.
    const auto heads_of = [&](const torch::Tensor& x) {
      auto h = x.reshape({B, T, heads, -1});
      return h.stride(3) == 1 ? h : h.contiguous();
    };
    auto q = heads_of(q_in), k = heads_of(k_in);
    if (q_norm) {
      q = q_norm(q);
      k = k_norm(k);
    }
    return attend_rows(q, k, heads_of(v_in));
  }
  auto q = q_in.reshape({B, T, qk_heads, -1}).transpose(1, 2);
  auto k = k_in.reshape({B, T, qk_heads, -1}).transpose(1, 2);
  const auto v = v_in.reshape({B, T, heads, -1}).transpose(1, 2);
  if (q_norm) {
    q = q_norm(q);
    k = k_norm(k);
  }
  const auto out = diff.sub_norm ? diff.attend(q, k, v, attn_out) : attend(q, k, v, attn_out);  // (B, h, T, hd)
  return out.transpose(1, 2).reshape({B, T, -1});
}

}  // namespace

AttentionImpl::AttentionImpl(const ViTConfig& cfg, int64_t block) : heads(cfg.heads) {
  const int64_t D = cfg.dim;
  TORCH_CHECK(heads > 0 && D % heads == 0, "[Attention] dim ", D, " is not divisible by heads ", heads);
  qkv = register_module("qkv", linear(D, 3 * D, cfg.qkv_bias));
  if (cfg.qk_norm) {
    q_norm = register_module("q_norm", layer_norm(cfg.qk_head_dim(), cfg.eps));
    k_norm = register_module("k_norm", layer_norm(cfg.qk_head_dim(), cfg.eps));
  }
  if (cfg.diff_attention) diff = DiffAttentionParts(*this, cfg, block);
  if (cfg.attn_norm) norm = register_module("norm", layer_norm(D, cfg.eps));
  proj = register_module("proj", linear(D, D, cfg.proj_bias));
}

namespace {

// f over x's first dimension in equal blocks of at most `most` entries, into one output whose
// last dimension is `width`: how the MLP (rows) and attention (images) take long inputs, so
// that their intermediates stay a few MB. f must treat each entry on its own.
template <class F>
torch::Tensor in_equal_blocks(const torch::Tensor& x, int64_t most, int64_t width, const F& f) {
  auto sizes = x.sizes().vec();
  sizes.back() = width;
  auto out = torch::empty(sizes, x.options());
  const int64_t total = x.size(0), block = equal_block_rows(total, most);
  for (int64_t first = 0; first < total; first += block) {
    const int64_t n = std::min(block, total - first);
    out.narrow(0, first, n).copy_(f(x.narrow(0, first, n)));
  }
  return out;
}

}  // namespace

// The images of a long batch go through attention a few at a time (at most kAttentionRows
// rows, equal groups), so that the qkv rows, the sublayer's largest activation (3D wide),
// stay a few MB: ViT-B batch 8's were 14.5 MB. Every step is per image: the same numbers.
constexpr int64_t kAttentionRows = 512;

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  const auto run = [&](const torch::Tensor& images, torch::Tensor* maps) {
    const auto parts = qkv(images).chunk(3, -1);  // rows [q; k; v]
    auto out = self_attention(parts[0], parts[1], parts[2], heads, q_norm, k_norm, diff, maps);
    if (norm) out = norm(out);
    return proj(out);
  };
  const int64_t B = x.size(0), T = x.dim() == 3 ? x.size(1) : 0;
  if (attn_out || T == 0 || B * T <= 2 * kAttentionRows || !x.device().is_cpu() || torch::GradMode::is_enabled())
    return run(x, attn_out);
  return in_equal_blocks(x, std::max<int64_t>(1, kAttentionRows / T), proj->out_features,
                         [&](const torch::Tensor& images) { return run(images, nullptr); });
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden, Activation act_, bool bias, bool with_norm, double eps) : act(act_) {
  const int64_t inner = act == Activation::SwiGlu ? hidden / 2 : hidden;
  fc1 = register_module("fc1", linear(dim, hidden, bias));
  if (with_norm) norm = register_module("norm", layer_norm(inner, eps));
  fc2 = register_module("fc2", linear(inner, dim, bias));
}

namespace {
// The most rows the MLP takes at once: its hidden activations (rows x 4D) are the largest tensor of a
// block; in blocks of this many tokens they stay a few MB instead of growing with the batch
// (ViT-B/16 batch 8: 19 MB), at the same speed (oneDNN's kernels are as fast on 512 rows).
constexpr int64_t kMlpRows = 512;
}  // namespace

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  const auto run = [&](const torch::Tensor& rows) {
    if (act == Activation::Gelu && !norm && fc1->kernel() && fc2->kernel()) {
      auto y = fc1->kernel()->forward_mlp(rows, *fc2->kernel());
      if (y.defined()) return y;
    }
    auto h = act == Activation::Gelu ? fc1->forward_gelu(rows) : activate(fc1(rows), act);
    if (norm) h = norm(h);
    return fc2(h);
  };
  const int64_t width = x.size(-1), M = x.numel() / std::max<int64_t>(width, 1);
  if (M <= 2 * kMlpRows || !x.device().is_cpu() || torch::GradMode::is_enabled()) return run(x);
  // Tokens (B, T, D): whole images per block, as the per-image products (Linear::per_image) take them.
  if (x.dim() == 3) return in_equal_blocks(x, std::max<int64_t>(1, kMlpRows / x.size(1)), fc2->out_features, run);
  auto sizes = x.sizes().vec();
  sizes.back() = fc2->out_features;
  return in_equal_blocks(x.reshape({M, width}), kMlpRows, fc2->out_features, run).view(sizes);
}

LayerScaleImpl::LayerScaleImpl(int64_t dim) { gamma = register_parameter("gamma", torch::ones({dim})); }

BlockImpl::BlockImpl(const ViTConfig& cfg, int64_t index) : post_norm(cfg.block == BlockKind::PostNorm) {
  norm1 = register_module("norm1", layer_norm(cfg.dim, cfg.eps));
  attn = register_module("attn", Attention(cfg, index));
  if (cfg.layer_scale) ls1 = register_module("ls1", LayerScale(cfg.dim));
  norm2 = register_module("norm2", layer_norm(cfg.dim, cfg.eps));
  mlp = register_module("mlp", Mlp(cfg.dim, cfg.mlp_dim, cfg.act, cfg.proj_bias, cfg.mlp_norm, cfg.eps));
  if (cfg.layer_scale) ls2 = register_module("ls2", LayerScale(cfg.dim));
}

namespace {

// x + y, into y's storage when y is a sublayer's fresh output and nothing records the graph
// (one (B, T, D) tensor less allocated per residual; the same sums: float addition commutes).
torch::Tensor residual(const torch::Tensor& x, torch::Tensor y) {
  if (torch::GradMode::is_enabled() || y.sizes() != x.sizes() || y.scalar_type() != x.scalar_type()) return x + y;
  return y.add_(x);
}

}  // namespace

torch::Tensor BlockImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  if (post_norm) {
    auto h = x + norm1(attn(x, attn_out));
    return h + norm2(mlp(h));
  }
  auto a = attn(norm1(x), attn_out);
  auto h = residual(x, ls1 ? ls1(a) : a);
  auto m = mlp(norm2(h));
  return residual(h, ls2 ? ls2(m) : m);
}

ParallelBlockImpl::ParallelBlockImpl(const ViTConfig& cfg, int64_t index)
    : heads(cfg.heads), hidden(cfg.mlp_dim), act(cfg.act) {
  const int64_t D = cfg.dim;
  TORCH_CHECK(heads > 0 && D % heads == 0, "[ParallelBlock] dim ", D, " is not divisible by heads ", heads);
  in_norm = register_module("in_norm", layer_norm(D, cfg.eps));
  in_proj = register_module("in_proj", linear(D, hidden + 3 * D, cfg.qkv_bias));
  if (!cfg.qkv_bias) mlp_bias = register_parameter("mlp_bias", torch::zeros({hidden}));
  if (cfg.qk_norm) {
    q_norm = register_module("q_norm", layer_norm(cfg.qk_head_dim(), cfg.eps));
    k_norm = register_module("k_norm", layer_norm(cfg.qk_head_dim(), cfg.eps));
  }
  if (cfg.diff_attention) diff = DiffAttentionParts(*this, cfg, index);
  if (cfg.fused_out_proj) {
    out_proj = register_module("out_proj", linear(D + hidden, D, cfg.proj_bias));
  } else {
    attn_out_proj = register_module("attn_out_proj", linear(D, D, cfg.proj_bias));
    mlp_out_proj = register_module("mlp_out_proj", linear(hidden, D, cfg.proj_bias));
  }
  if (cfg.layer_scale) ls = register_module("ls", LayerScale(D));
}

torch::Tensor ParallelBlockImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  const int64_t D = x.size(2);
  const auto parts = in_proj(in_norm(x)).split_with_sizes({hidden, D, D, D}, -1);  // [mlp; q; k; v]
  auto m = mlp_bias.defined() ? parts[0] + mlp_bias : parts[0];
  const auto a = self_attention(parts[1], parts[2], parts[3], heads, q_norm, k_norm, diff, attn_out);
  const auto mlp_out = activate(m, act);
  auto y = out_proj ? out_proj(torch::cat({a, mlp_out}, -1)) : attn_out_proj(a) + mlp_out_proj(mlp_out);
  return x + (ls ? ls(y) : y);
}

AttentionPoolImpl::AttentionPoolImpl(const ViTConfig& cfg) : heads(cfg.heads) {
  const int64_t D = cfg.dim;
  latent = register_parameter("latent", torch::zeros({1, 1, D}));
  q = register_module("q", linear(D, D, true));
  kv = register_module("kv", linear(D, 2 * D, true));
  proj = register_module("proj", linear(D, D, true));
  norm = register_module("norm", layer_norm(D, cfg.eps));
  mlp = register_module("mlp", Mlp(D, cfg.pool_mlp_dim, cfg.act, true, false, cfg.eps));
}

torch::Tensor AttentionPoolImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2), hd = D / heads;
  auto q_ = q(latent.expand({B, -1, -1})).reshape({B, 1, heads, hd}).transpose(1, 2);  // (B, h, 1, hd)
  auto kv_ = kv(x).reshape({B, T, 2, heads, hd}).permute({2, 0, 3, 1, 4});             // (2, B, h, T, hd)
  auto out = proj(attend(q_, kv_[0], kv_[1], attn_out).transpose(1, 2).reshape({B, 1, D}));
  out = out + mlp(norm(out));
  return out.select(1, 0);  // timm pool_type 'token': the latent's output
}

torch::Tensor resample_pos_embed(const torch::Tensor& pos, int64_t prefix, int64_t new_grid, PosResample how) {
  const auto p = pos.dim() == 2 ? pos.unsqueeze(0) : pos;
  const int64_t D = p.size(2), old_tokens = p.size(1) - prefix;
  const auto old_grid = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(old_tokens))));
  if (old_grid * old_grid != old_tokens) throw ModelError("position embeddings are not a square grid");
  if (old_grid == new_grid) return p;
  namespace F = torch::nn::functional;
  auto opts = F::InterpolateFuncOptions().size(std::vector<int64_t>{new_grid, new_grid}).mode(torch::kBicubic);
  switch (how) {  // no default: a new rule is a compile error until it says what it does
    case PosResample::TimmAntialias: opts.align_corners(false).antialias(true); break;
    case PosResample::Bicubic: opts.align_corners(false).antialias(false); break;
    case PosResample::BicubicAlignCorners: opts.align_corners(true).antialias(false); break;
  }
  const auto dtype = p.scalar_type();
  auto grid = p.slice(1, prefix).to(torch::kFloat32).reshape({1, old_grid, old_grid, D}).permute({0, 3, 1, 2});
  auto resized = F::interpolate(grid, opts).permute({0, 2, 3, 1}).reshape({1, new_grid * new_grid, D}).to(dtype);
  return prefix > 0 ? torch::cat({p.slice(1, 0, prefix), resized}, 1) : resized;
}

}  // namespace vit
