// ViT modules; see include/vit/model/vision_transformer.h.
#include "vit/model/vision_transformer.h"

#include <cmath>

namespace vit {

PatchEmbedImpl::PatchEmbedImpl(const ViTConfig& cfg) {
  proj = register_module(
      "proj",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(cfg.in_chans, cfg.dim, cfg.patch_size).stride(cfg.patch_size)));
}

torch::Tensor PatchEmbedImpl::forward(const torch::Tensor& x) {
  return proj(x).flatten(2).transpose(1, 2);  // (B, D, g, g) -> (B, N, D)
}

AttentionImpl::AttentionImpl(int64_t dim, int64_t heads_) : heads(heads_) {
  TORCH_CHECK(heads > 0 && dim % heads == 0, "[Attention] dim ", dim, " is not divisible by heads ", heads);
  scale = 1.0 / std::sqrt(static_cast<double>(dim / heads));
  qkv = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
  proj = register_module("proj", torch::nn::Linear(dim, dim));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  // (B, T, 3D) -> (3, B, heads, T, hd)
  auto qkv_ = qkv(x).reshape({B, T, 3, heads, D / heads}).permute({2, 0, 3, 1, 4});
  auto q = qkv_[0], k = qkv_[1], v = qkv_[2];
  auto attn = torch::matmul(q * scale, k.transpose(-2, -1)).softmax(-1);  // (B, heads, T, T)
  if (attn_out) *attn_out = attn;
  auto out = torch::matmul(attn, v).transpose(1, 2).reshape({B, T, D});  // (B, T, D)
  return proj(out);
}

MlpImpl::MlpImpl(int64_t dim, int64_t hidden) {
  fc1 = register_module("fc1", torch::nn::Linear(dim, hidden));
  fc2 = register_module("fc2", torch::nn::Linear(hidden, dim));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) { return fc2(torch::gelu(fc1(x))); }

BlockImpl::BlockImpl(const ViTConfig& cfg) {
  auto ln = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.dim}).eps(cfg.eps)); };
  norm1 = register_module("norm1", ln());
  attn = register_module("attn", Attention(cfg.dim, cfg.heads));
  norm2 = register_module("norm2", ln());
  mlp = register_module("mlp", Mlp(cfg.dim, cfg.mlp_dim));
}

torch::Tensor BlockImpl::forward(const torch::Tensor& x, torch::Tensor* attn_out) {
  auto h = x + attn(norm1(x), attn_out);
  return h + mlp(norm2(h));
}

VisionTransformerImpl::VisionTransformerImpl(const ViTConfig& cfg) : cfg_(cfg) {
  TORCH_CHECK(cfg.patch_size > 0 && cfg.image_size % cfg.patch_size == 0, "[VisionTransformer] image size ",
              cfg.image_size, " is not a multiple of patch size ", cfg.patch_size);
  patch_embed = register_module("patch_embed", PatchEmbed(cfg));
  cls_token = register_parameter("cls_token", torch::zeros({1, 1, cfg.dim}));
  if (cfg.distilled) dist_token = register_parameter("dist_token", torch::zeros({1, 1, cfg.dim}));
  pos_embed = register_parameter("pos_embed", torch::zeros({1, cfg.num_prefix_tokens() + cfg.num_patches(), cfg.dim}));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < cfg.depth; ++i) blocks->push_back(Block(cfg));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({cfg.dim}).eps(cfg.eps)));
  head = register_module("head", torch::nn::Linear(cfg.dim, cfg.num_classes));
  if (cfg.distilled) head_dist = register_module("head_dist", torch::nn::Linear(cfg.dim, cfg.num_classes));
}

torch::Tensor VisionTransformerImpl::run(const torch::Tensor& images, std::vector<torch::Tensor>* attentions,
                                         torch::Tensor* tokens) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == cfg_.in_chans && images.size(2) == cfg_.image_size &&
                  images.size(3) == cfg_.image_size,
              "[VisionTransformer] expected images (B, ", cfg_.in_chans, ", ", cfg_.image_size, ", ", cfg_.image_size,
              "), got ", images.sizes());
  const int64_t B = images.size(0);
  auto x = patch_embed(images);  // (B, N, D)
  std::vector<torch::Tensor> parts{cls_token.expand({B, -1, -1})};
  if (cfg_.distilled) parts.push_back(dist_token.expand({B, -1, -1}));
  parts.push_back(x);
  x = torch::cat(parts, 1) + pos_embed;  // (B, prefix + N, D)
  if (attentions) attentions->clear();
  for (const auto& m : *blocks) {
    torch::Tensor a;
    x = m->as<Block>()->forward(x, attentions ? &a : nullptr);
    if (attentions) attentions->push_back(a);
  }
  if (tokens) *tokens = x;
  x = norm(x);
  if (cfg_.distilled) return (head(x.select(1, 0)) + head_dist(x.select(1, 1))) / 2;
  return head(x.select(1, 0));  // (B, classes)
}

torch::Tensor VisionTransformerImpl::forward(const torch::Tensor& images) { return run(images, nullptr, nullptr); }

torch::Tensor VisionTransformerImpl::forward_with_attention(const torch::Tensor& images,
                                                            std::vector<torch::Tensor>& attentions,
                                                            torch::Tensor* tokens) {
  return run(images, &attentions, tokens);
}

}  // namespace vit
