// The Vision Transformer (Dosovitskiy et al. 2020) as LibTorch modules, one per part of the
// paper. Submodules and parameters are registered under timm's checkpoint names
// (patch_embed.proj, cls_token, pos_embed, blocks.{i}.attn.qkv, ...), so named_parameters()
// is the canonical weight layout that weights.cpp maps every family onto.
// The module knows nothing about files; see weights.h for loading.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "vit/model/config.h"

namespace vit {

// Conv2d(C, D, kernel P, stride P), then flatten: (B, C, H, W) -> (B, N, D).
class PatchEmbedImpl : public torch::nn::Module {
 public:
  explicit PatchEmbedImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Conv2d proj{nullptr};  // weight (D, C, P, P), bias (D)
};
TORCH_MODULE(PatchEmbed);

// Multi-head self-attention with a fused qkv projection. When attn_out is given, the
// softmax weights (B, heads, T, T) are stored there (explain); otherwise they are not kept.
class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t dim, int64_t heads);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr);

  int64_t heads;
  double scale;                     // 1 / sqrt(head_dim)
  torch::nn::Linear qkv{nullptr};   // (3D, D): rows [q; k; v], head h at rows h*hd..h*hd+hd-1
  torch::nn::Linear proj{nullptr};  // (D, D)
};
TORCH_MODULE(Attention);

// fc2(GELU(fc1(x))), exact erf GELU.
class MlpImpl : public torch::nn::Module {
 public:
  MlpImpl(int64_t dim, int64_t hidden);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear fc1{nullptr};  // (hidden, D)
  torch::nn::Linear fc2{nullptr};  // (D, hidden)
};
TORCH_MODULE(Mlp);

// Pre-norm encoder block: x + attn(norm1(x)), then x + mlp(norm2(x)).
class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const ViTConfig& cfg);
  torch::Tensor forward(const torch::Tensor& x, torch::Tensor* attn_out = nullptr);

  torch::nn::LayerNorm norm1{nullptr};
  Attention attn{nullptr};
  torch::nn::LayerNorm norm2{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

class VisionTransformerImpl : public torch::nn::Module {
 public:
  explicit VisionTransformerImpl(const ViTConfig& cfg);

  // images (B, 3, S, S) normalised -> logits (B, classes).
  torch::Tensor forward(const torch::Tensor& images);
  // Same, and fills attentions with one (B, heads, T, T) tensor per block, T = prefix + N, and
  // (when given) tokens with the last block's output before the final norm, (B, T, D).
  torch::Tensor forward_with_attention(const torch::Tensor& images, std::vector<torch::Tensor>& attentions,
                                       torch::Tensor* tokens = nullptr);

  const ViTConfig& config() const { return cfg_; }

  PatchEmbed patch_embed{nullptr};
  torch::Tensor cls_token;   // (1, 1, D)
  torch::Tensor dist_token;  // (1, 1, D), DeiT distilled only
  torch::Tensor pos_embed;   // (1, prefix + N, D)
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};       // (classes, D)
  torch::nn::Linear head_dist{nullptr};  // (classes, D), DeiT distilled only

 private:
  torch::Tensor run(const torch::Tensor& images, std::vector<torch::Tensor>* attentions, torch::Tensor* tokens);
  ViTConfig cfg_;
};
TORCH_MODULE(VisionTransformer);

}  // namespace vit
