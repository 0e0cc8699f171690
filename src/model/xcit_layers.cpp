// XCiT's parts and its config from tensors; see include/vit/model/xcit_layers.h.
#include "vit/model/xcit_layers.h"

#include <cmath>

#include "vit/errors.h"

namespace vit {

namespace {

torch::nn::Conv2d conv2d(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t groups, bool bias) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(kernel / 2).groups(groups).bias(bias));
}

// Conv stages of the patch embedding: 3 for patch 8, 4 for patch 16 (timm has no other).
int64_t patch_stages(int64_t patch) { return patch == 8 ? 3 : 4; }

// Stage i's output width: D / 2^(stages-1-i).
int64_t stage_width(const ViTConfig& c, int64_t i) { return c.dim >> (patch_stages(c.patch_size) - 1 - i); }

// (B, N, D) <-> (B, D, g, g) for the convolutions on the patch grid.
torch::Tensor to_grid(const torch::Tensor& x, int64_t g) { return x.transpose(1, 2).reshape({x.size(0), -1, g, g}); }
torch::Tensor to_tokens(const torch::Tensor& x) { return x.flatten(2).transpose(1, 2); }

}  // namespace

ConvBnImpl::ConvBnImpl(int64_t in, int64_t out) {
  conv = register_module("0", conv2d(in, out, 3, 2, 1, false));
  bn = register_module("1", torch::nn::BatchNorm2d(out));
}

XcitPatchEmbedImpl::XcitPatchEmbedImpl(const ViTConfig& cfg) {
  proj = register_module("proj", std::make_shared<torch::nn::Module>());
  for (int64_t i = 0; i < patch_stages(cfg.patch_size); ++i) {
    const int64_t in = i == 0 ? cfg.in_chans : stage_width(cfg, i - 1);
    stages.push_back(proj->register_module(std::to_string(2 * i), ConvBn(in, stage_width(cfg, i))));
  }
}

torch::Tensor XcitPatchEmbedImpl::forward(const torch::Tensor& images) {
  auto x = images;
  for (size_t i = 0; i < stages.size(); ++i) x = i == 0 ? stages[i](x) : stages[i](torch::gelu(x));
  return to_tokens(x);  // (B, D, S/P, S/P) -> (B, N, D)
}

FourierEncodingImpl::FourierEncodingImpl(int64_t hidden_dim, int64_t dim) : hidden(hidden_dim) {
  token_projection = register_module("token_projection", conv2d(2 * hidden, dim, 1, 1, 1, true));
}

torch::Tensor FourierEncodingImpl::forward(int64_t rows, int64_t cols) {
  // timm's arithmetic in float32: positions 1..n scaled by 2 pi / (n + 1e-6), divided by
  // 10000^(2 floor(i/2) / hidden); sin of the even features, cos of the odd ones, [y, x].
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32);
  const double scale = 2 * M_PI, eps = 1e-6;
  auto y = torch::arange(1, rows + 1, f32);
  auto x = torch::arange(1, cols + 1, f32);
  y = y / (y.slice(0, rows - 1) + eps) * scale;  // the last position + eps, in float32 as timm adds it
  x = x / (x.slice(0, cols - 1) + eps) * scale;
  auto dim_t = torch::arange(hidden, f32);
  dim_t = torch::pow(10000.0, 2 * torch::div(dim_t, 2, "floor") / static_cast<double>(hidden));
  const auto features = [&](const torch::Tensor& p) {  // (n) -> (n, hidden), sin/cos interleaved
    const auto a = p.unsqueeze(1) / dim_t;
    using torch::indexing::None;
    using torch::indexing::Slice;
    return torch::stack({a.index({Slice(), Slice(0, None, 2)}).sin(), a.index({Slice(), Slice(1, None, 2)}).cos()}, 2)
        .flatten(1);
  };
  const auto py = features(y).unsqueeze(1).expand({rows, cols, hidden});
  const auto px = features(x).unsqueeze(0).expand({rows, cols, hidden});
  auto pos = torch::cat({py, px}, 2).permute({2, 0, 1}).unsqueeze(0);  // (1, 2 hidden, rows, cols)
  pos = token_projection(pos.to(token_projection->weight.scalar_type()));
  return to_tokens(pos);  // (1, rows*cols, D)
}

XcaImpl::XcaImpl(const ViTConfig& cfg) : heads(cfg.heads) {
  temperature = register_parameter("temperature", torch::ones({heads, 1, 1}));
  qkv = register_module("qkv", linear(cfg.dim, 3 * cfg.dim, cfg.qkv_bias));
  proj = register_module("proj", linear(cfg.dim, cfg.dim, true));
}

torch::Tensor XcaImpl::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), N = x.size(1), C = x.size(2);
  // (B, N, 3C) -> (3, B, heads, hd, N): each head's channels as rows over the tokens.
  const auto qkv_t = qkv(x).reshape({B, N, 3, heads, C / heads}).permute({2, 0, 3, 4, 1});
  namespace F = torch::nn::functional;
  const auto q = F::normalize(qkv_t[0], F::NormalizeFuncOptions().dim(-1));
  const auto k = F::normalize(qkv_t[1], F::NormalizeFuncOptions().dim(-1));
  const auto attn = (torch::matmul(q, k.transpose(-2, -1)) * temperature).softmax(-1);  // (B, heads, hd, hd)
  const auto out = torch::matmul(attn, qkv_t[2]);                                       // (B, heads, hd, N)
  return proj(out.permute({0, 3, 1, 2}).reshape({B, N, C}));
}

LpiImpl::LpiImpl(int64_t dim, int64_t g) : grid(g) {
  conv1 = register_module("conv1", conv2d(dim, dim, 3, 1, dim, true));
  bn = register_module("bn", torch::nn::BatchNorm2d(dim));
  conv2 = register_module("conv2", conv2d(dim, dim, 3, 1, dim, true));
}

torch::Tensor LpiImpl::forward(const torch::Tensor& x) {
  auto y = torch::gelu(conv1(to_grid(x, grid)));
  return to_tokens(conv2(bn(y)));
}

XcaBlockImpl::XcaBlockImpl(const ViTConfig& cfg) {
  const int64_t D = cfg.dim;
  norm1 = register_module("norm1", layer_norm(D, cfg.eps));
  attn = register_module("attn", Xca(cfg));
  norm3 = register_module("norm3", layer_norm(D, cfg.eps));
  local_mp = register_module("local_mp", Lpi(D, cfg.grid()));
  norm2 = register_module("norm2", layer_norm(D, cfg.eps));
  mlp = register_module("mlp", Mlp(D, cfg.mlp_dim, Activation::Gelu, true, false, cfg.eps));
  gamma1 = register_parameter("gamma1", torch::ones({D}));
  gamma3 = register_parameter("gamma3", torch::ones({D}));
  gamma2 = register_parameter("gamma2", torch::ones({D}));
}

torch::Tensor XcaBlockImpl::forward(const torch::Tensor& x_in, torch::Tensor* /*attn_out*/) {
  auto x = x_in + gamma1 * attn(norm1(x_in));
  x = x + gamma3 * local_mp(norm3(x));
  return x + gamma2 * mlp(norm2(x));
}

ClassAttnImpl::ClassAttnImpl(const ViTConfig& cfg) : heads(cfg.heads) {
  q = register_module("q", linear(cfg.dim, cfg.dim, cfg.qkv_bias));
  k = register_module("k", linear(cfg.dim, cfg.dim, cfg.qkv_bias));
  v = register_module("v", linear(cfg.dim, cfg.dim, cfg.qkv_bias));
  proj = register_module("proj", linear(cfg.dim, cfg.dim, true));
}

torch::Tensor ClassAttnImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2), hd = C / heads;
  const auto qh = q(x.slice(1, 0, 1)).reshape({B, 1, heads, hd}).transpose(1, 2);  // (B, heads, 1, hd)
  const auto kh = k(x).reshape({B, T, heads, hd}).transpose(1, 2);                 // (B, heads, T, hd)
  const auto vh = v(x).reshape({B, T, heads, hd}).transpose(1, 2);
  const auto out = attend(qh, kh, vh, attn_out);  // (B, heads, 1, hd)
  return proj(out.transpose(1, 2).reshape({B, 1, C}));
}

ClassAttentionBlockImpl::ClassAttentionBlockImpl(const ViTConfig& cfg) : tokens_norm(cfg.xcit_tokens_norm) {
  const int64_t D = cfg.dim;
  norm1 = register_module("norm1", layer_norm(D, cfg.eps));
  attn = register_module("attn", ClassAttn(cfg));
  norm2 = register_module("norm2", layer_norm(D, cfg.eps));
  mlp = register_module("mlp", Mlp(D, cfg.mlp_dim, Activation::Gelu, true, false, cfg.eps));
  gamma1 = register_parameter("gamma1", torch::ones({D}));
  gamma2 = register_parameter("gamma2", torch::ones({D}));
}

torch::Tensor ClassAttentionBlockImpl::forward(const torch::Tensor& x_in, torch::Tensor* attn_out) {
  const auto cls = [](const torch::Tensor& t) { return t.slice(1, 0, 1); };
  const auto patches = [](const torch::Tensor& t) { return t.slice(1, 1); };
  torch::Tensor weights;
  const auto n1 = norm1(x_in);
  auto x = x_in + gamma1 * torch::cat({attn(n1, attn_out ? &weights : nullptr), patches(n1)}, 1);
  x = tokens_norm ? norm2(x) : torch::cat({norm2(cls(x)), patches(x)}, 1);
  // timm adds [gamma2 mlp(class), patches] to x itself: the patch tokens come out doubled.
  x = x + torch::cat({gamma2 * mlp(cls(x)), patches(x)}, 1);
  if (attn_out) {
    const int64_t B = x.size(0), T = x.size(1);
    auto m = torch::eye(T, weights.options()).expand({B, weights.size(1), T, T}).clone();
    m.slice(2, 0, 1).copy_(weights);
    *attn_out = m;
  }
  return x;
}

std::vector<NameRule> xcit_name_rules() {
  return {
      // the official files' pos_embeder is timm's pos_embed
      {"patch_embed.proj.#.0.weight", "$&"},
      {"patch_embed.proj.#.1.{weight|bias|running_mean|running_var}", "$&"},  // batch norm
      {"blocks.#.local_mp.bn.{weight|bias|running_mean|running_var}", "$&"},
      {"patch_embed.proj.#.1.num_batches_tracked", "-"},  // batch norm's training counter
      {"blocks.#.local_mp.bn.num_batches_tracked", "-"},
      {"pos_embed.token_projection.{weight|bias}", "$&"},
      {"pos_embeder.token_projection.(weight|bias)", "pos_embed.token_projection.$1"},
      {"blocks.#.{norm3|local_mp.conv1|local_mp.conv2}.{weight|bias}", "$&"},
      {"blocks.#.{attn.temperature|gamma1|gamma2|gamma3}", "$&"},
      {"cls_attn_blocks.#.{norm1|norm2|attn.q|attn.k|attn.v|attn.proj|mlp.fc1|mlp.fc2}.{weight|bias}", "$&"},
      {"cls_attn_blocks.#.{gamma1|gamma2}", "$&"},
  };
}

bool is_xcit(const std::map<std::string, torch::Tensor>& t) { return t.count(kXcitPatchEmbed) > 0; }

namespace {

const torch::Tensor& need(const std::map<std::string, torch::Tensor>& t, const std::string& name, int64_t dims) {
  const auto it = t.find(name);
  if (it == t.end()) throw ModelError("missing tensor '" + name + "' (an XCiT checkpoint, timm's names)");
  if (it->second.dim() != dims)
    throw ModelError("tensor '" + name + "' has shape " + c10::str(it->second.sizes()) + ", expected " +
                     std::to_string(dims) + " dimensions");
  return it->second;
}

int64_t count_blocks(const std::map<std::string, torch::Tensor>& t, const std::string& prefix) {
  int64_t n = 0;
  while (t.count(prefix + std::to_string(n) + ".norm1.weight")) ++n;
  return n;
}

}  // namespace

void read_xcit(const std::map<std::string, torch::Tensor>& t, const ModelHints& hints, ViTConfig& c) {
  c.xcit = true;
  int64_t stages = 0;
  while (t.count("patch_embed.proj." + std::to_string(2 * stages) + ".0.weight")) ++stages;
  if (stages != 3 && stages != 4)
    throw ModelError("XCiT's convolutional patch embedding has " + std::to_string(stages) +
                     " stages ('patch_embed.proj.N.0.weight'); timm's have 3 (patch 8) or 4 (patch 16)");
  c.patch_size = stages == 3 ? 8 : 16;
  const auto& first = need(t, "patch_embed.proj.0.0.weight", 4);
  const std::string last_name = "patch_embed.proj." + std::to_string(2 * (stages - 1)) + ".0.weight";
  c.dim = need(t, last_name, 4).size(0);
  c.in_chans = first.size(1);
  if (c.in_chans != 3)
    throw ModelError("tensor 'patch_embed.proj.0.0.weight' has shape " + c10::str(first.sizes()) +
                     ": images are fed as RGB (3 channels)");
  if (c.dim <= 0 || c.dim % (int64_t{1} << (stages - 1)) != 0)
    throw ModelError("tensor '" + last_name + "' gives XCiT width " + std::to_string(c.dim) + ", not a multiple of " +
                     std::to_string(int64_t{1} << (stages - 1)) + " as its conv stages need");
  c.depth = count_blocks(t, "blocks.");
  if (c.depth == 0) throw ModelError("missing tensor 'blocks.0.norm1.weight': the XCiT checkpoint has no XCA blocks");
  c.xcit_cls_blocks = count_blocks(t, "cls_attn_blocks.");
  c.heads = need(t, "blocks.0.attn.temperature", 3).size(0);
  if (hints.heads > 0 && hints.heads != c.heads)
    throw ModelError("the config says " + std::to_string(hints.heads) + " heads but 'blocks.0.attn.temperature' has " +
                     std::to_string(c.heads));
  if (c.heads <= 0 || c.dim % c.heads != 0)
    throw ModelError("tensor 'blocks.0.attn.temperature' gives " + std::to_string(c.heads) +
                     " heads, which do not divide width " + std::to_string(c.dim));
  c.mlp_dim = need(t, "blocks.0.mlp.fc1.weight", 2).size(0);
  c.qkv_bias = t.count("blocks.0.attn.qkv.bias") > 0;
  c.class_token = true;  // a missing 'cls_token' is reported with the other missing tensors
  c.xcit_pos_hidden = 0;
  if (t.count("pos_embed.token_projection.weight"))
    c.xcit_pos_hidden = need(t, "pos_embed.token_projection.weight", 4).size(1) / 2;
  if (c.xcit_cls_blocks > 0) {
    if (!hints.xcit_tokens_norm)
      throw ModelError(
          "XCiT's class-attention blocks norm either the class token or every token (timm tokens_norm), and no "
          "tensor says which ('cls_attn_blocks.0.norm2.weight' is there either way): put timm's config.json (its "
          "architecture, xcit_*) beside the weights");
    c.xcit_tokens_norm = *hints.xcit_tokens_norm;
  }
  if (hints.pool && *hints.pool != Pool::Token && *hints.pool != Pool::Avg)
    throw ModelError(std::string("XCiT pools by its class token or the patch mean; global_pool '") +
                     pool_name(*hints.pool) + "' is not one of timm's ('token', 'avg')");
  c.eps = hints.eps ? *hints.eps : 1e-6;
}

void xcit_shapes(const ViTConfig& c, std::map<std::string, std::vector<int64_t>>& s) {
  const int64_t D = c.dim, H = c.mlp_dim;
  const auto bn = [&](const std::string& n, int64_t w) {
    for (const char* p : {".weight", ".bias", ".running_mean", ".running_var"}) s[n + p] = {w};
  };
  for (int64_t i = 0; i < patch_stages(c.patch_size); ++i) {
    const std::string at = "patch_embed.proj." + std::to_string(2 * i);
    s[at + ".0.weight"] = {stage_width(c, i), i == 0 ? c.in_chans : stage_width(c, i - 1), 3, 3};
    bn(at + ".1", stage_width(c, i));
  }
  s["cls_token"] = {1, 1, D};
  if (c.xcit_pos_hidden > 0) {
    s["pos_embed.token_projection.weight"] = {D, 2 * c.xcit_pos_hidden, 1, 1};
    s["pos_embed.token_projection.bias"] = {D};
  }
  s["norm.weight"] = s["norm.bias"] = {D};
  const auto lin = [&](const std::string& n, int64_t out, int64_t in, bool bias) {
    s[n + ".weight"] = {out, in};
    if (bias) s[n + ".bias"] = {out};
  };
  const auto ln = [&](const std::string& n) { s[n + ".weight"] = s[n + ".bias"] = {D}; };
  for (int64_t i = 0; i < c.depth; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    for (const char* n : {"norm1", "norm2", "norm3"}) ln(b + n);
    s[b + "attn.temperature"] = {c.heads, 1, 1};
    lin(b + "attn.qkv", 3 * D, D, c.qkv_bias);
    lin(b + "attn.proj", D, D, true);
    s[b + "local_mp.conv1.weight"] = s[b + "local_mp.conv2.weight"] = {D, 1, 3, 3};
    s[b + "local_mp.conv1.bias"] = s[b + "local_mp.conv2.bias"] = {D};
    bn(b + "local_mp.bn", D);
    lin(b + "mlp.fc1", H, D, true);
    lin(b + "mlp.fc2", D, H, true);
    for (const char* n : {"gamma1", "gamma2", "gamma3"}) s[b + n] = {D};
  }
  for (int64_t i = 0; i < c.xcit_cls_blocks; ++i) {
    const std::string b = "cls_attn_blocks." + std::to_string(i) + ".";
    ln(b + "norm1");
    ln(b + "norm2");
    for (const char* n : {"attn.q", "attn.k", "attn.v"}) lin(b + n, D, D, c.qkv_bias);
    lin(b + "attn.proj", D, D, true);
    lin(b + "mlp.fc1", H, D, true);
    lin(b + "mlp.fc2", D, H, true);
    s[b + "gamma1"] = s[b + "gamma2"] = {D};
  }
}

}  // namespace vit
