// CaiT's blocks, what its tensors say and their shapes; see include/vit/model/cait_layers.h.
#include "vit/model/cait_layers.h"

#include <algorithm>
#include <cmath>

#include "vit/errors.h"

namespace vit {

namespace {

// Mixes the heads of attention logits or weights a (B, h, Tq, T) with a (h, h) linear layer,
// as timm writes it: over the last dimension of a.permute(0, 2, 3, 1).
torch::Tensor mix_heads(torch::nn::Linear& mix, const torch::Tensor& a) {
  return mix(a.permute({0, 2, 3, 1})).permute({0, 3, 1, 2});
}

// The most attention weights (B' h N^2 floats) one group of images holds at once: 16 MB.
constexpr int64_t kTalkingHeadsFloats = int64_t{1} << 22;

}  // namespace

TalkingHeadAttnImpl::TalkingHeadAttnImpl(const ViTConfig& cfg) : heads(cfg.heads) {
  const int64_t D = cfg.dim;
  TORCH_CHECK(heads > 0 && D % heads == 0, "[TalkingHeadAttn] dim ", D, " is not divisible by heads ", heads);
  qkv = register_module("qkv", linear(D, 3 * D, cfg.qkv_bias));
  proj = register_module("proj", linear(D, D, cfg.proj_bias));
  proj_l = register_module("proj_l", torch::nn::Linear(heads, heads));
  proj_w = register_module("proj_w", torch::nn::Linear(heads, heads));
}

torch::Tensor TalkingHeadAttnImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  const int64_t B = x.size(0), N = x.size(1), D = x.size(2), hd = D / heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
  const auto run = [&](const torch::Tensor& images, torch::Tensor* maps) {
    const int64_t b = images.size(0);
    const auto qkv_ = qkv(images).reshape({b, N, 3, heads, hd}).permute({2, 0, 3, 1, 4});  // (3, b, h, N, hd)
    auto a = torch::matmul(qkv_[0] * scale, qkv_[1].transpose(-2, -1));                    // (b, h, N, N)
    a = mix_heads(proj_w, mix_heads(proj_l, a).softmax(-1));
    if (maps) *maps = a;
    return proj(torch::matmul(a, qkv_[2]).transpose(1, 2).reshape({b, N, D}));
  };
  // A long batch a few images at a time: each image's N x N weights per head are its largest
  // tensor (cait_m48_448: 16 heads x 784^2, 39 MB), made several times over by the mixes.
  const int64_t group = std::max<int64_t>(1, kTalkingHeadsFloats / (heads * N * N));
  if (attn_out || B <= group) return run(x, attn_out);
  std::vector<torch::Tensor> parts;
  for (int64_t first = 0; first < B; first += group)
    parts.push_back(run(x.narrow(0, first, std::min(group, B - first)), nullptr));
  return torch::cat(parts, 0);
}

TalkingHeadsBlockImpl::TalkingHeadsBlockImpl(const ViTConfig& cfg) {
  norm1 = register_module("norm1", layer_norm(cfg.dim, cfg.eps));
  attn = register_module("attn", TalkingHeadAttn(cfg));
  if (cfg.layer_scale) ls1 = register_module("ls1", LayerScale(cfg.dim));
  norm2 = register_module("norm2", layer_norm(cfg.dim, cfg.eps));
  mlp = register_module("mlp", Mlp(cfg.dim, cfg.mlp_dim, cfg.act, cfg.proj_bias, false, cfg.eps));
  if (cfg.layer_scale) ls2 = register_module("ls2", LayerScale(cfg.dim));
}

torch::Tensor TalkingHeadsBlockImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  auto a = attn(norm1(x), attn_out);
  auto y = x + (ls1 ? ls1(a) : a);
  auto m = mlp(norm2(y));
  return y + (ls2 ? ls2(m) : m);
}

CaitClassAttnImpl::CaitClassAttnImpl(const ViTConfig& cfg) : heads(cfg.heads) {
  const int64_t D = cfg.dim;
  q = register_module("q", linear(D, D, cfg.qkv_bias));
  k = register_module("k", linear(D, D, cfg.qkv_bias));
  v = register_module("v", linear(D, D, cfg.qkv_bias));
  proj = register_module("proj", linear(D, D, true));  // timm's ClassAttn: always with a bias
}

torch::Tensor CaitClassAttnImpl::forward(const torch::Tensor& u, torch::Tensor* attn_out) {
  const int64_t B = u.size(0), T = u.size(1), D = u.size(2);
  const auto split = [&](const torch::Tensor& t, int64_t rows) {  // (B, rows, D) -> (B, h, rows, hd)
    return t.reshape({B, rows, heads, D / heads}).transpose(1, 2);
  };
  const auto out = attend(split(q(u.narrow(1, 0, 1)), 1), split(k(u), T), split(v(u), T), attn_out);  // (B, h, 1, hd)
  return proj(out.transpose(1, 2).reshape({B, 1, D}));
}

CaitClassAttnBlockImpl::CaitClassAttnBlockImpl(const ViTConfig& cfg) {
  norm1 = register_module("norm1", layer_norm(cfg.dim, cfg.eps));
  attn = register_module("attn", CaitClassAttn(cfg));
  ls1 = register_module("ls1", LayerScale(cfg.dim));
  norm2 = register_module("norm2", layer_norm(cfg.dim, cfg.eps));
  mlp = register_module("mlp", Mlp(cfg.dim, cfg.token_only_mlp_dim, cfg.act, true, false, cfg.eps));
  ls2 = register_module("ls2", LayerScale(cfg.dim));
}

torch::Tensor CaitClassAttnBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& cls,
                                              torch::Tensor* attn_out) {
  const auto c = cls + ls1(attn(norm1(torch::cat({cls, x}, 1)), attn_out));
  return c + ls2(mlp(norm2(c)));
}

torch::Tensor join_class_token(torch::nn::ModuleList& blocks, const torch::Tensor& cls, const torch::Tensor& x,
                               std::vector<torch::Tensor>* attentions) {
  const int64_t B = x.size(0), N = x.size(1);
  if (attentions) {
    for (auto& a : *attentions) {  // (B, h, N, N) -> (B, h, 1 + N, 1 + N), the class token on itself
      if (!a.defined() || a.size(-1) != N) continue;
      auto full = torch::zeros({a.size(0), a.size(1), 1 + N, 1 + N}, a.options());
      full.select(2, 0).select(2, 0).fill_(1);
      full.narrow(2, 1, N).narrow(3, 1, N).copy_(a);
      a = full;
    }
  }
  auto c = cls.expand({B, -1, -1});
  for (const auto& m : *blocks) {
    torch::Tensor a;  // (B, h, 1, 1 + N)
    c = m->as<CaitClassAttnBlockImpl>()->forward(x, c, attentions ? &a : nullptr);
    if (!attentions) continue;
    auto full = torch::eye(1 + N, a.options()).expand({a.size(0), a.size(1), -1, -1}).clone();
    full.narrow(2, 0, 1).copy_(a);
    attentions->push_back(full);
  }
  return torch::cat({c, x}, 1);
}

void read_cait(const std::map<std::string, torch::Tensor>& t, int64_t hinted_heads, ViTConfig& c) {
  const auto it = t.find("blocks.0.attn.proj_l.weight");
  c.talking_heads = it != t.end();
  if (c.talking_heads) {
    const auto& w = it->second;
    if (w.dim() != 2 || w.size(0) != w.size(1) || w.size(0) <= 0)
      throw ModelError("tensor 'blocks.0.attn.proj_l.weight' has shape " + c10::str(w.sizes()) +
                       ", expected (heads, heads): talking-heads attention mixes the heads");
    if (hinted_heads > 0 && hinted_heads != w.size(0))
      throw ModelError("the config gives " + std::to_string(hinted_heads) +
                       " heads, but talking-heads attention's 'blocks.0.attn.proj_l.weight' mixes " +
                       std::to_string(w.size(0)));
    c.heads = w.size(0);
  }
  int64_t n = 0;
  while (t.count("blocks_token_only." + std::to_string(n) + ".norm1.weight")) ++n;
  c.depth_token_only = n;
  if (n == 0) return;
  if (!c.class_token)
    throw ModelError(
        "class-attention blocks ('blocks_token_only.0.norm1.weight') need a class token, and there is "
        "no 'cls_token'");
  const auto fc1 = t.find("blocks_token_only.0.mlp.fc1.weight");
  if (fc1 == t.end() || fc1->second.dim() != 2)
    throw ModelError(
        "missing tensor 'blocks_token_only.0.mlp.fc1.weight' (a (hidden, D) matrix) of a CaiT "
        "class-attention block");
  c.token_only_mlp_dim = fc1->second.size(0);
}

void cait_shapes(const ViTConfig& c, std::map<std::string, std::vector<int64_t>>& s) {
  const int64_t D = c.dim, h = c.heads, H = c.token_only_mlp_dim;
  if (c.talking_heads)
    for (int64_t i = 0; i < c.depth; ++i)
      for (const char* mix : {"proj_l", "proj_w"}) {
        const std::string b = "blocks." + std::to_string(i) + ".attn." + mix;
        s[b + ".weight"] = {h, h};
        s[b + ".bias"] = {h};
      }
  for (int64_t i = 0; i < c.depth_token_only; ++i) {
    const std::string b = "blocks_token_only." + std::to_string(i) + ".";
    const auto lin = [&](const std::string& n, int64_t out, int64_t in, bool bias) {
      s[b + n + ".weight"] = {out, in};
      if (bias) s[b + n + ".bias"] = {out};
    };
    for (const char* n : {"norm1", "norm2"}) s[b + n + ".weight"] = s[b + n + ".bias"] = {D};
    for (const char* n : {"attn.q", "attn.k", "attn.v"}) lin(n, D, D, c.qkv_bias);
    lin("attn.proj", D, D, true);
    lin("mlp.fc1", H, D, true);
    lin("mlp.fc2", D, H, true);
    s[b + "ls1.gamma"] = s[b + "ls2.gamma"] = {D};
  }
}

}  // namespace vit
